/**
 * VQA accuracy with the official VQA evaluation rules (vqaEval.py of the VQA API):
 * - the predicted answer: newlines/tabs -> spaces, trimmed, then punctuation processing and
 *   digit/article processing;
 * - the ground-truth answers: used as stored, with punctuation processing only, and only when they
 *   are not all identical (the official code leaves a unanimous set untouched);
 * - accuracy = mean over the 10 leave-one-out subsets of 9 answers of min(1, #matches / 3).
 * Values are in [0, 1] (the official script reports 100x, rounded to 2 decimals).
 */
import { EvalInputError } from "./errors.ts";

const CONTRACTIONS: Record<string, string> = Object.fromEntries(
  `aint ain't|arent aren't|cant can't|couldve could've|couldnt couldn't|couldn'tve couldn't've|couldnt've couldn't've|didnt didn't|doesnt doesn't|dont don't|hadnt hadn't|hadnt've hadn't've|hadn'tve hadn't've|hasnt hasn't|havent haven't|hed he'd|hed've he'd've|he'dve he'd've|hes he's|howd how'd|howll how'll|hows how's|Id've I'd've|I'dve I'd've|Im I'm|Ive I've|isnt isn't|itd it'd|itd've it'd've|it'dve it'd've|itll it'll|let's let's|maam ma'am|mightnt mightn't|mightnt've mightn't've|mightn'tve mightn't've|mightve might've|mustnt mustn't|mustve must've|neednt needn't|notve not've|oclock o'clock|oughtnt oughtn't|ow's'at 'ow's'at|'ows'at 'ow's'at|'ow'sat 'ow's'at|shant shan't|shed've she'd've|she'dve she'd've|she's she's|shouldve should've|shouldnt shouldn't|shouldnt've shouldn't've|shouldn'tve shouldn't've|somebody'd somebodyd|somebodyd've somebody'd've|somebody'dve somebody'd've|somebodyll somebody'll|somebodys somebody's|someoned someone'd|someoned've someone'd've|someone'dve someone'd've|someonell someone'll|someones someone's|somethingd something'd|somethingd've something'd've|something'dve something'd've|somethingll something'll|thats that's|thered there'd|thered've there'd've|there'dve there'd've|therere there're|theres there's|theyd they'd|theyd've they'd've|they'dve they'd've|theyll they'll|theyre they're|theyve they've|twas 'twas|wasnt wasn't|wed've we'd've|we'dve we'd've|weve we've|werent weren't|whatll what'll|whatre what're|whats what's|whatve what've|whens when's|whered where'd|wheres where's|whereve where've|whod who'd|whod've who'd've|who'dve who'd've|wholl who'll|whos who's|whove who've|whyll why'll|whyre why're|whys why's|wont won't|wouldve would've|wouldnt wouldn't|wouldnt've wouldn't've|wouldn'tve wouldn't've|yall y'all|yall'll y'all'll|y'allll y'all'll|yall'd've y'all'd've|y'alld've y'all'd've|y'all'dve y'all'd've|youd you'd|youd've you'd've|you'dve you'd've|youll you'll|youre you're|youve you've`
    .split("|")
    .map((p) => p.split(" ") as [string, string]),
);
const NUMBER_WORDS: Record<string, string> = {
  none: "0",
  zero: "0",
  one: "1",
  two: "2",
  three: "3",
  four: "4",
  five: "5",
  six: "6",
  seven: "7",
  eight: "8",
  nine: "9",
  ten: "10",
};
const ARTICLES = new Set(["a", "an", "the"]);
const PUNCT = [
  ";",
  "/",
  "[",
  "]",
  '"',
  "{",
  "}",
  "(",
  ")",
  "=",
  "+",
  "\\",
  "_",
  "-",
  ">",
  "<",
  "@",
  "`",
  ",",
  "?",
  "!",
];
const COMMA_STRIP = /(\d)(,)(\d)/;
// Official pattern "(?!<=\d)(\.)(?!\d)": the first group is a (mistyped) lookahead that never
// blocks, so a period is removed unless a digit follows. The call passes re.UNICODE as `count`,
// so at most 32 periods are removed.
const PERIOD_STRIP = /\.(?!\d)/g;

export function vqaProcessPunctuation(inText: string): string {
  let out = inText;
  const hasCommaNumber = COMMA_STRIP.test(inText);
  for (const p of PUNCT) {
    if (inText.includes(p + " ") || inText.includes(" " + p) || hasCommaNumber)
      out = out.split(p).join("");
    else out = out.split(p).join(" ");
  }
  let n = 0;
  return out.replace(PERIOD_STRIP, (m) => (n++ < 32 ? "" : m));
}

export function vqaProcessDigitArticle(inText: string): string {
  const words: string[] = [];
  // Python's str.split() with no argument: runs of whitespace, no empty strings.
  for (let w of inText.toLowerCase().split(/\s+/u).filter(Boolean)) {
    w = NUMBER_WORDS[w] ?? w;
    if (!ARTICLES.has(w)) words.push(w);
  }
  return words.map((w) => CONTRACTIONS[w] ?? w).join(" ");
}

/** The official normalisation of a predicted answer. */
export function vqaNormalizeAnswer(answer: string): string {
  const a = answer.replace(/\n/g, " ").replace(/\t/g, " ").trim();
  return vqaProcessDigitArticle(vqaProcessPunctuation(a));
}

/** Accuracy of one prediction against its ground-truth answers (normally 10). */
export function vqaAnswerAccuracy(gtAnswers: string[], pred: string): number {
  const res = vqaNormalizeAnswer(pred);
  // Ground truth is used as stored (no trimming), punctuation-processed only when not unanimous.
  const gts = new Set(gtAnswers).size > 1 ? gtAnswers.map(vqaProcessPunctuation) : gtAnswers;
  let sum = 0;
  for (let i = 0; i < gts.length; i++) {
    let matches = 0;
    for (let j = 0; j < gts.length; j++) if (j !== i && gts[j] === res) matches++;
    sum += Math.min(1, matches / 3);
  }
  return sum / gts.length;
}

export interface VqaAccuracy {
  overall: number;
  perQuestion: Record<string, number>;
}

export function vqaAccuracy(
  gt: Record<string, string[]>,
  preds: Record<string, string>,
): VqaAccuracy {
  if (gt === null || typeof gt !== "object")
    throw new EvalInputError(
      "vqaAccuracy: gt must be an object mapping question id -> array of answers",
    );
  if (preds === null || typeof preds !== "object")
    throw new EvalInputError("vqaAccuracy: preds must be an object mapping question id -> answer");
  const ids = Object.keys(preds);
  const unknown = ids.filter((id) => !(id in gt));
  if (unknown.length)
    throw new EvalInputError(
      `vqaAccuracy: predicted question ids not in gt: ${unknown
        .slice(0, 10)
        .map((s) => JSON.stringify(s))
        .join(", ")}${unknown.length > 10 ? ` (${unknown.length} in all)` : ""}`,
    );
  const missing = Object.keys(gt).filter((id) => !(id in preds));
  if (missing.length)
    throw new EvalInputError(
      `vqaAccuracy: gt question ids without a prediction: ${missing
        .slice(0, 10)
        .map((s) => JSON.stringify(s))
        .join(", ")}${missing.length > 10 ? ` (${missing.length} in all)` : ""}`,
    );
  if (!ids.length) throw new EvalInputError("vqaAccuracy: no questions to score");
  const perQuestion: Record<string, number> = {};
  let total = 0;
  for (const id of ids) {
    const answers = gt[id];
    if (!Array.isArray(answers) || answers.length < 2 || answers.some((a) => typeof a !== "string"))
      throw new EvalInputError(
        `vqaAccuracy: gt[${JSON.stringify(id)}] must be an array of answer strings (normally 10), got ${JSON.stringify(answers)?.slice(0, 80)}`,
      );
    if (typeof preds[id] !== "string")
      throw new EvalInputError(
        `vqaAccuracy: preds[${JSON.stringify(id)}] is ${typeof preds[id]}, expected a string`,
      );
    const acc = vqaAnswerAccuracy(answers, preds[id]!);
    perQuestion[id] = acc;
    total += acc;
  }
  return { overall: total / ids.length, perQuestion };
}
