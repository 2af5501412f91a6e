/**
 * The COCO caption tokenizer, restated: pycocoevalcap runs Stanford CoreNLP 3.4.1's PTBTokenizer
 * (`-preserveLines -lowerCase`) on each caption and then drops tokens found in its PUNCTUATIONS list.
 * Java is not available to the workbench, so this is a small longest-match lexer with the PTBLexer
 * rules that matter for caption text (see docs/eval.md for what is covered and what differs).
 *
 * Facts it reproduces:
 * - tokenization runs on the text as written; tokens are lower-cased afterwards (so "-LRB-" becomes
 *   "-lrb-", which is NOT in PUNCTUATIONS and therefore stays — as in pycocoevalcap);
 * - clitics split off: "it's" -> it 's, "don't" -> do n't, "can't" -> ca n't, "cannot" -> can not;
 * - hyphenated words, numbers with , and ., "and/or", abbreviations like "mr." stay one token;
 * - quotes become `` '' ` ' ; "..." and dashes become ... and -- ; all of those are then removed;
 * - British spellings of WORD tokens are Americanized ("grey" -> "gray", "colour" -> "color");
 * - "/" and "*" are escaped with a backslash (historical ptb3Escaping).
 */
import { americanize } from "./americanize.ts";

/** pycocoevalcap's PUNCTUATIONS list: tokens removed after tokenization (compared after lower-casing). */
export const COCO_PUNCTUATIONS: ReadonlySet<string> = new Set(["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-",
  ".", "?", "!", ",", ":", "-", "--", "...", ";"]);

// Case-insensitive literal (JFlex %caseless affects literals but not character classes).
const ci = (s: string) => s.replace(/[A-Za-z]/g, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`);
const ciAlt = (words: string) => words.split("|").map(ci).join("|");

const LETTER = "[\\p{L}\\p{M}\\u00AD]";
const DIGIT = "\\p{Nd}";
const ALPHA = "\\p{Alphabetic}";
const AD = `[${ALPHA}${DIGIT}]`;
const APOS = "(?:['\\u0092\\u2019\\u00B4]|&apos;)";
const APOSETC = "(?:['\\u0092\\u2019\\u00B4`\\u0091\\u2018\\u201B]|&apos;)";
const SPACE = "[ \\t\\u00A0\\u2000-\\u200A\\u3000]";
const NLCH = "[\\r\\n\\u2028\\u2029\\u000B\\u000C\\u0085]";
const SPACENL = `(?:${SPACE}|${NLCH})`;
const HYPHEN = "[-_\\u058A\\u2010\\u2011]";
const NUM = `(?:${DIGIT}*(?:[.,\\u066B\\u066C]${DIGIT}+)+|${DIGIT}+(?:[.:,\\u00AD\\u066B\\u066C\\u2009\\u202F]${DIGIT}+)*)`;
const NUMBER = `(?:[-+]?${NUM})`;
const WORD = `(?:${LETTER}(?:${LETTER}|${DIGIT})*(?:[.!?]${LETTER}(?:${LETTER}|${DIGIT})*)*)`;
const REDAUX = `(?:${APOS}(?:[msdMSD]|${ci("re")}|${ci("ve")}|${ci("ll")}))`;
const SWORD = `(?:[${ALPHA}\\u00AD]*[A-MO-Za-mo-z]\\u00AD*)`;
const SREDAUX = `(?:[nN]${APOSETC}[tT])`;
const APOWORD = `(?:${APOS}[nN]${APOS}?|[lLdDjJ]${APOS}|${ci("Dunkin")}${APOS}|${ci("somethin")}${APOS}|${ci("ol")}${APOS}|${APOS}${ci("em")}|${ci("diff")}${APOSETC}${ci("rent")}|[A-HJ-XZn]${APOSETC}\\p{L}{2}\\p{L}*|${APOS}[2-9]0[sS]|${APOS}${ci("til")}[lL]?|\\p{L}+[aeiouyAEIOUY]${APOSETC}[aeiouA-Z]\\p{L}*|${APOS}${ci("cause")}|${ci("cont'd")}\\.?|${ci("nor'easter")}|${ci("c'mon")}|${ci("e'er")}|${ci("s'mores")}|${ci("ev'ry")}|${ci("li'l")}|${ci("nat'l")}|O${APOSETC}[oO])`;
const ACRO = "(?:[A-Za-z](?:\\.[A-Za-z])*)";
const ACRO2 = "(?:[A-Za-z](?:\\.[A-Za-z])+)";
const ABBREV1 = `(?:(?:${ciAlt("Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Mon|Tue|Tues|Wed|Thu|Thurs|Fri|Ala|Ariz|Calif|Colo|Conn|Ct|Dak|Fla|Ga|Ind|Kans|Kan|Ky|Md|Mich|Minn|Mo|Mont|Neb|Nev|Okla|Penn|Tenn|Va|Vt|Wisc|Wis|Wyo|Inc|Cos|Co|Corp|Ltd|Plc|Rt|Bancorp|Bhd|Assn|Univ|Intl|Sys|tel|est|ext|sq|Jr|Bros|Esq|etc|al|seq|Bldg")}|${ci("Pp")}?${ci("t")}[yeYE][sS]?|[A]${ci("z")}|[A]${ci("rk")}|[D]${ci("el")}|[I]${ci("ll")}|[L]${ci("a")}|[M]${ci("ass")}|[M]${ci("iss")}|[O]${ci("re")}|[P]${ci("a")}|[T]${ci("ex")}|[W]${ci("ash")}|(?:${ci("Ed")}|${ci("Ph")})\\.${ci("D")})\\.)`;
const ABTITLE = `(?:${ciAlt("Mrs|Mr|Ms|Mx|Drs|Dr|Profs|Prof|Sens|Sen|Reps|Rep|Attys|Atty|Lt|Col|Gen|Messrs|Govs|Gov|Adm|Rev|Maj|Sgt|Cpl|Pvt|Capt|Ste|St|Ave|Pres|Lieut|Rt|Hon|Brig|Comdr|Cmdr|Pfc|Spc|Supts|Supt|Det|Mt|Ft|Adj|Adv|Asst|Assoc|Ens|Insp|Mlle|Mme|Msgr|Sfc|Sr")}|[M]${ci("iss")})`;
const ABBREV4 = `(?:${ABTITLE}|${ciAlt("vs|Alex|Wm|Jos|Cie|a.k.a|cf|TREAS|Ph|Invt|Elec|Natl|Mfg|Mtg|Dept|Blvd|Rd|Ave").replace(/\./g, "\\.")}|[v]|${ACRO})`;
const ABBREV3 = `(?:(?:${ciAlt("ca|figs|fig|prop|nos|no|sects|sect|secs|sec|arts|art|paras|para|bldg|pp|op|approx|rs")}|[P][t])\\.)`;
const INSENTP = "[,;:\\u3001]";
const QUOTES = `(?:${APOS}|[\`\\u2018-\\u201F\\u0082\\u0084\\u0091-\\u0094\\u2039\\u203A\\u00AB\\u00BB]{1,2})`;
const DBLQUOT = `(?:"|&quot;|[\`'\\u0091\\u0092\\u2018\\u2019]')`;
const HTHING = `(?:${AD}[${ALPHA}${DIGIT}.,\\u00AD]*(?:-(?:[${ALPHA}${DIGIT}\\u00AD]+(?:\\.${DIGIT}+)?|${ACRO2}\\.))+)`;
const THING_PIECE = `(?:[dDoOlL]${APOSETC}${AD})?`;
const THING = `(?:${THING_PIECE}(?:${AD}+|${NUMBER})(?:${HYPHEN}${THING_PIECE}(?:${AD}+|${NUM}))*)`;
const THINGA = "(?:[A-Za-z]+(?:(?:[+&]|&amp;)[A-Za-z]+)+)";
const THING3 = `(?:${AD}+(?:-[${ALPHA}]+){0,2}(?:\\\\?\\/${AD}+(?:-[${ALPHA}]+){0,2}){1,2})`;
const LDOTS = "(?:\\.\\.\\.+|[\\u0085\\u2026])";
const SPACEDLDOTS = "(?:\\.[ \\u00A0](?:\\.[ \\u00A0])+\\.)";
const MISCSYMBOL = "[+%&~^|\\\\\\u00A6\\u00A7\\u00A8\\u00A9\\u00AC\\u00AE\\u00AF\\u00B0-\\u00B3\\u00B4-\\u00BA\\u00D7\\u00F7\\u2020-\\u2025\\u2030-\\u2038\\u203B\\u203C\\u2100-\\u214F\\u2190-\\u21FF\\u2200-\\u2BFF]";
const PHONE = `(?:(?:\\([0-9]{2,3}\\)[ \\u00A0]?|(?:\\+\\+?)?(?:[0-9]{2,4}[- \\u00A0])?[0-9]{2,4}[- \\u00A0])[0-9]{3,4}[- \\u00A0]?[0-9]{3,5}|(?:(?:\\+\\+?)?[0-9]{2,4}\\.)?[0-9]{2,4}\\.[0-9]{3,4}\\.[0-9]{3,5})`;
const URL = `(?:(?:ftp|svn|svn\\+ssh|http|https|mailto):\\/\\/[^ \\t\\n\\f\\r"<>|(){}\\[\\]]+[^ \\t\\n\\f\\r"'<>|.!?(){},;:&\\[\\]-])`;
const LIKELYURL = `(?:(?:(?:www\\.(?:[^ \\t\\n\\f\\r"<>|.!?(){},]+\\.)+[a-zA-Z]{2,4})|(?:(?:[^ \\t\\n\\f\\r"\`'<>|.!?(){},\\-_$]+\\.)+(?:com|net|org|edu)))(?:\\/[^ \\t\\n\\f\\r"<>|()]+[^ \\t\\n\\f\\r"<>|.!?(){},-])?)`;
const EMAIL = "(?:(?:&lt;|<)?[a-zA-Z0-9._%+-]+@[A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9](?:&gt;|>)?)";
const FILENAME = `(?:[\\p{L}\\p{Nd}]+(?:[-._/][\\p{L}\\p{Nd}]+)*\\.(?:${ciAlt("bat|bmp|bz2|c|class|cgi|cpp|dll|doc|docx|exe|gif|gz|h|htm|html|jar|java|jpeg|jpg|mov|mp3|pdf|php|pl|png|ppt|ps|py|sql|tar|txt|wav|x|xml|zip")}))`;

// Token text transforms (CoreNLP's defaults: latex quotes, escaped / and *, -LRB- style brackets).
const escapeChar = (s: string, c: string) => s.replace(new RegExp(`(^|[^\\\\])(\\${c}+)`, "g"), (_m, pre: string, run: string) => pre + run.split("").map((x) => "\\" + x).join(""));
const escSlash = (s: string) => escapeChar(s, "/");
const noSoftHyphen = (s: string) => s.replace(/\u00AD/g, "");
function latexQuotes(s: string, probablyLeft: boolean): string {
  let t = probablyLeft ? s.replace(/&apos;|'/g, "`").replace(/"|''|'`|`'|&quot;/g, "``")
    : s.replace(/&apos;|'/g, "'").replace(/"|''|'`|`'|&quot;/g, "''");
  t = t.replace(/[\u0091\u2018]'/g, "``").replace(/[\u0092\u2019]'/g, "''");
  t = t.replace(/[\u0082\u008B\u0091\u2018\u201A\u201B\u2039]/g, "`").replace(/[\u0092\u009B\u00B4\u2019\u203A]/g, "'");
  return t.replace(/[\u0084\u0093\u201C\u201E\u00AB]/g, "``").replace(/[\u0094\u201D\u00BB]/g, "''");
}
const parens = (s: string) => s.replace(/\(/g, "-LRB-").replace(/\)/g, "-RRB-");

interface Rule {
  re: RegExp;
  /** Token text for the main part, or null to emit nothing (whitespace, untokenizable). */
  out: (main: string) => string | null;
  /** How many characters of the main part to hand back to the input (JFlex yypushback). */
  pushback?: (main: string) => number;
}
const rule = (main: string, ctx: string | null, out: Rule["out"], pushback?: Rule["pushback"]): Rule =>
  ({ re: new RegExp(`(${main})${ctx === null ? "" : `(?:${ctx})`}`, "uy"), out, pushback });
const same = (s: string) => s;

// In PTBLexer's order: on equal match length (trailing context included) the earlier rule wins.
const RULES: Rule[] = [
  // "cannot" -> "can" "not" (the only assimilation CoreNLP split in the 2014 era; gonna/wanna stay whole).
  rule(ci("cannot"), null, (s) => s.slice(0, -3), () => 3),
  rule("&(?:MD|mdash|ndash);|[\\u0096\\u0097\\u2013\\u2014\\u2015]", null, () => "--"),
  rule(ci("&amp;"), null, () => "&"),
  rule(WORD, REDAUX, (s) => americanize(noSoftHyphen(s))),
  rule(SWORD, SREDAUX, noSoftHyphen),
  rule(WORD, null, (s) => americanize(noSoftHyphen(s))),
  rule(APOWORD, null, (s) => latexQuotes(s, false)),
  rule(`[yY]${APOS}`, "\\p{L}", same),
  rule(URL, null, escSlash),
  rule(LIKELYURL, null, escSlash),
  rule(EMAIL, null, same),
  rule(REDAUX, `[^${ALPHA}]`, (s) => latexQuotes(s, false)),
  rule(SREDAUX, `[^${ALPHA}]`, (s) => latexQuotes(s, false)),
  rule(`${DIGIT}{1,2}[-/]${DIGIT}{1,2}[-/]${DIGIT}{2,4}`, null, escSlash),
  rule(NUMBER, null, (s) => s.replace(/[\u00AD\u066C\u2009\u202F]/g, "")),
  rule(`(?:${DIGIT}{1,4}[- \\u00A0])?${DIGIT}{1,4}(?:\\\\?\\/|\\u2044)${DIGIT}{1,4}`, null, (s) => escSlash(s).replace(/ /g, "\u00A0")),
  rule("[\\u00BC\\u00BD\\u00BE\\u2153\\u2154]", null, (s) => ({ "\u00BC": "1\\/4", "\u00BD": "1\\/2", "\u00BE": "3\\/4", "\u2153": "1\\/3", "\u2154": "2\\/3" })[s]!),
  rule(`-(?:RRB|LRB|RCB|LCB|RSB|LSB)-|${ci("C.D.s").replace(/\./g, "\\.")}|${ci("pro")}-|${ci("anti")}-|${ci("S")}(?:&|&amp;)${ci("P")}-500|${ci("S")}(?:&|&amp;)${ci("Ls")}|${ci("Cap")}${APOS}${ci("n")}|${ci("c")}${APOS}${ci("est")}`, null, (s) => s.replace(/&amp;/gi, "&")),
  rule(`(?:${ciAlt("E|Yahoo|Jeopardy")})!`, null, same),
  rule(THING3, null, escSlash),
  rule("[A-Z]*\\$|#", null, same),
  rule("[\\u00A2\\u00A3\\u00A4\\u00A5\\u0080\\u20A0\\u20AC]", null, (s) => s === "\u00A2" ? "cents" : s === "\u00A3" ? "#" : s === "\u00A5" ? s : "$"),
  rule(ABBREV3, `${SPACENL}?${DIGIT}`, same),
  rule(`(?:${ci("pt")}[eyEY]|${ci("co")})\\.`, `${SPACE}(?:${ci("ltd")}|${ci("lim")})`, same),
  rule(ABBREV1, `${SPACENL}(?:${SPACENL}|\\p{Lu})`, same, () => 1),
  rule(ABBREV1, "[^][^]", same),
  rule(ABBREV1, null, same, () => 1),
  rule(`${ABBREV4}\\.`, null, same),
  rule(ABBREV4, SPACE, same),
  rule(ACRO, SPACENL, same),
  rule(`${APOS}[0-9][0-9]`, SPACENL, same),
  rule(FILENAME, `${SPACENL}|[.?!,"'<]`, same),
  rule(`${WORD}\\.`, INSENTP, noSoftHyphen),
  rule(PHONE, null, (s) => parens(s.replace(/ /g, "\u00A0"))),
  rule(DBLQUOT, `[${ALPHA}${DIGIT}$]`, (s) => latexQuotes(s, true)),
  rule(DBLQUOT, null, (s) => latexQuotes(s, false)),
  rule("<|&lt;", null, () => "<"),
  rule(">|&gt;", null, () => ">"),
  rule("\\{", null, () => "-LCB-"),
  rule("\\}", null, () => "-RCB-"),
  rule("\\[", null, () => "-LSB-"),
  rule("\\]", null, () => "-RSB-"),
  rule("\\(", null, () => "-LRB-"),
  rule("\\)", null, () => "-RRB-"),
  rule("-+", null, (s) => (s.length === 3 || s.length === 4 ? "--" : s)),
  rule(LDOTS, `\\.${SPACENL}+\\p{L}`, () => "..."),
  rule(`${LDOTS}|${SPACEDLDOTS}`, null, () => "..."),
  rule("@+|#+|_+", null, same),
  rule("\\*+|(?:\\\\\\*){1,3}", null, (s) => escapeChar(s, "*")),
  rule(INSENTP, null, same),
  rule("[?!]+", null, same),
  rule("[.\\u00A1\\u00BF\\u037E\\u0589\\u061F\\u06D4\\u0700-\\u0702\\u07FA\\u3002]", null, same),
  rule("=+", null, same),
  rule("\\/", null, () => "\\/"),
  rule(HTHING, null, noSoftHyphen),
  rule(`${HTHING}\\.`, INSENTP, noSoftHyphen),
  rule(THING, null, (s) => latexQuotes(s, false)),
  rule(`${THINGA}\\.`, INSENTP, (s) => s.replace(/&amp;/gi, "&")),
  rule(THINGA, null, (s) => s.replace(/&amp;/gi, "&")),
  rule(QUOTES, `\\p{L}[^ \\t\\u00A0\\u2000-\\u200A\\u3000\\r\\n\\u2028\\u2029\\u000B\\u000C\\u0085]`, (s) => latexQuotes(s, true)),
  rule(QUOTES, `[AaIiUu]${SPACENL}`, (s) => latexQuotes(s, true)),
  rule(QUOTES, null, (s) => latexQuotes(s, false)),
  rule(REDAUX, null, (s) => latexQuotes(s, false)),
  rule(SREDAUX, null, (s) => latexQuotes(s, false)),
  rule("<<|>>", null, same),
  rule(MISCSYMBOL, null, same),
  rule(`(?:${SPACE}|${NLCH}|[\\u0000\\u200B\\u200E\\u200F\\uFEFF])+`, null, () => null),
];

/** PTB tokens of one caption, as CoreNLP would print them before lower-casing. */
export function ptbTokens(text: string): string[] {
  // Each caption is one line of the file CoreNLP reads; the newline after it is visible to rules
  // that look one or two characters ahead.
  const s = text.replace(/\n/g, " ") + "\n";
  const out: string[] = [];
  let pos = 0;
  while (pos < s.length) {
    let best: { rule: Rule; main: string; total: number } | null = null;
    for (const r of RULES) {
      r.re.lastIndex = pos;
      const m = r.re.exec(s);
      if (m && m[0].length > 0 && (!best || m[0].length > best.total)) best = { rule: r, main: m[1]!, total: m[0].length };
    }
    if (!best) { pos += String.fromCodePoint(s.codePointAt(pos)!).length; continue; } // untokenizable: deleted
    const back = best.rule.pushback?.(best.main) ?? 0;
    const main = best.main.slice(0, best.main.length - back);
    const tok = best.rule.out(back ? best.main : main);
    if (tok !== null && tok !== "") out.push(tok);
    pos += main.length;
  }
  return out;
}

/** One caption as pycocoevalcap's PTBTokenizer leaves it: lower-cased tokens, punctuation removed. */
export function cocoTokenize(text: string): string {
  return ptbTokens(text).map((t) => t.toLowerCase()).filter((t) => !COCO_PUNCTUATIONS.has(t)).join(" ");
}
