/**
 * The COCO caption tokenizer, restated: pycocoevalcap runs Stanford CoreNLP 3.4.1's PTBTokenizer
 * (`-preserveLines -lowerCase`) on each caption and then drops tokens found in its PUNCTUATIONS list.
 * Java is not available to the workbench, so this is a small longest-match lexer with the PTBLexer
 * rules of the 2013-14 CoreNLP 3.x lexer that matter for caption text (docs/eval.md lists
 * what is covered and what may differ).
 *
 * Facts it reproduces:
 * - tokenization runs on the text as written; tokens are lower-cased afterwards (so "-LRB-" becomes
 *   "-lrb-", which is NOT in PUNCTUATIONS and therefore stays — as in pycocoevalcap);
 * - clitics split off: "it's" -> it 's, "don't" -> do n't, "can't" -> ca n't, "cannot" -> can not;
 * - hyphenated words, numbers with , and ., "and/or", abbreviations like "mr." stay one token;
 * - quotes become `` '' ` ' ; "..." and dashes become ... and -- ; all of those are then removed;
 * - [ ] < > become -LRB- -RRB- and { } become -LCB- -RCB- (all kept, being lower-cased);
 * - British spellings of WORD tokens are Americanized ("grey" -> "gray", "colour" -> "color");
 * - "/" and "*" are escaped with a backslash (historical ptb3Escaping).
 */
import { americanize } from "./americanize.ts";

/** pycocoevalcap's PUNCTUATIONS list: tokens removed after tokenization (compared after lower-casing). */
export const COCO_PUNCTUATIONS: ReadonlySet<string> = new Set([
  "''",
  "'",
  "``",
  "`",
  "-LRB-",
  "-RRB-",
  "-LCB-",
  "-RCB-",
  ".",
  "?",
  "!",
  ",",
  ":",
  "-",
  "--",
  "...",
  ";",
]);

// Case-insensitive literal (JFlex %caseless affects literals but not character classes).
const ci = (s: string) => s.replace(/[A-Za-z]/g, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`);
const ciAlt = (words: string) => words.split("|").map(ci).join("|");

// Macros as in the PTBLexer of the CoreNLP 3.x line (2013-2014) that the COCO jar belongs to.
const LETTER = "[\\p{L}\\p{M}\\u00AD]";
const DIGIT = "\\p{Nd}";
const LD = `(?:${LETTER}|${DIGIT})`;
const APOS = "(?:['\\u0092\\u2019]|&apos;)";
const APOSETC = "(?:['\\u0092\\u2019\\u0091\\u2018\\u201B]|&apos;)";
const SPACE = "[ \\t\\u00A0\\u2000-\\u200A\\u3000]";
const NLCH = "[\\r\\n\\u2028\\u2029\\u000B\\u000C\\u0085]";
const SPACENL = `(?:${SPACE}|${NLCH})`;
const SGML = "<\\/?[A-Za-z!?][^>\\r\\n]*>";
const HYPHEN = "[-_\\u058A\\u2010\\u2011]";
// JS alternation takes the first alternative that fits, JFlex the longest: longer alternatives go first.
const NUM = `(?:${DIGIT}*(?:[.:,\\u00AD\\u066B\\u066C]${DIGIT}+)+|${DIGIT}+)`;
const WORD = `(?:${LETTER}+)`;
const REDAUX = `(?:${APOS}(?:[msdMSD]|${ci("re")}|${ci("ve")}|${ci("ll")}))`;
const SWORD = "(?:[A-Za-z\\u00AD]*[A-MO-Za-mo-z]\\u00AD*)";
const SREDAUX = `(?:[nN]${APOSETC}[tT])`;
const APOWORD = `(?:${APOS}[nN]${APOS}?|[lLdDjJ]${APOS}|${ci("Dunkin")}${APOS}|${ci("somethin")}${APOS}|${ci("ol")}${APOS}|${APOS}${ci("em")}|[A-HJ-XZn]${APOSETC}\\p{L}{2}\\p{L}*|${APOS}[2-9]0[sS]|${APOS}${ci("til")}[lL]?|\\p{L}+[aeiouyAEIOUY]${APOSETC}[aeiouA-Z]\\p{L}*|${APOS}${ci("cause")}|${ci("cont'd")}\\.?|'${ci("twas")}|${ci("nor'easter")}|${ci("c'mon")}|${ci("e'er")}|${ci("s'mores")}|${ci("ev'ry")}|${ci("li'l")}|${ci("nat'l")})`;
const ACRO = `(?:[A-Za-z](?:\\.[A-Za-z])+|(?:${ciAlt("Canada|Sino|Korean|EU|Japan|non")})-${ci("U")}\\.${ci("S")}|${ci("U")}\\.${ci("S")}\\.-(?:${ci("U")}\\.${ci("K")}|${ci("U")}\\.${ci("S")}\\.${ci("S")}\\.${ci("R")}))`;
// Abbreviation lists; [X] marks a letter that must be upper case (a character class is not caseless).
const cased = (alts: string) =>
  alts
    .split("|")
    .map((a) => (a.startsWith("[") ? a.slice(0, 3) + ci(a.slice(3)) : ci(a)))
    .join("|");
const ABBREV1 = `(?:(?:${cased("Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec|Mon|Tues|Tue|Wed|Thurs|Thu|Fri|Ala|Ariz|[A]rk|Calif|Colo|Conn|Dak|Del|Fla|Ga|[I]ll|Ind|Kans|Kan|Ky|La|[M]ass|Md|Mich|Minn|[M]iss|Mo|Mont|Neb|Nev|Okla|[O]re|Pa|Penn|Tenn|Tex|Va|Vt|[W]ash|Wisc|Wis|Wyo|Inc|Cos|Co|Corp|Pptys|Ppty|Ptys|Pty|Ltd|Plc|Bancorp|Dept|Bhd|Assn|Univ|Intl|Sys|Nos|No|Prop|Ph|tel|est|ext|sq|ft|Jr|Sr|Bros|Blvd|Rd|Esq|etc|al|seq")}|(?:${ci("Ed")}|${ci("Ph")})\\.${ci("D")})\\.)`;
const ABTITLE = `(?:${cased("Mrs|Mr|Ms|[M]iss|Drs|Dr|Profs|Prof|Sens|Sen|Reps|Rep|Attys|Atty|Lt|Col|Gen|Messrs|Govs|Gov|Adm|Rev|Maj|Sgt|Cpl|Pvt|Mt|Capt|Ste|St|Ave|Pres|Lieut|Hon|Brig|Comdr|Cmdr|Pfc|Spc|Supts|Supt|Det")})`;
const ABBREV4 = `(?:${ACRO}|${ci("a")}\\.${ci("k")}\\.${ci("a")}|${ABTITLE}|${cased("vs|Alex|Wm|Jos|Cie|cf|TREAS|Invt|Elec|Natl|Mfg|Mtg")}|[A-Za-z])`;
const INSENTP = "[,;:\\u3001]";
const QUOTES = `(?:''|[\`\\u2018\\u2019\\u201A\\u201B\\u201C\\u201D\\u0091\\u0092\\u0093\\u0094\\u201E\\u201F\\u2039\\u203A\\u00AB\\u00BB]{1,2}|${APOS})`;
const DBLQUOT = '(?:"|&quot;)';
const HTHING = `(?:[A-Za-z0-9][A-Za-z0-9.,\\u00AD]*(?:-(?:${ACRO}\\.|[A-Za-z0-9\\u00AD]+))+)`;
const THING_PIECE = `(?:[dDoOlL]${APOSETC}${LD})?`;
const THING = `(?:${THING_PIECE}${LD}+(?:${HYPHEN}${THING_PIECE}${LD}+)*)`;
const THINGA = "(?:[A-Z]+(?:(?:[+&]|&amp;)[A-Z]+)+)";
const THING3 =
  "(?:[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}(?:\\\\?\\/[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}){1,2})";
const LDOTS = "(?:\\.{3,5}|(?:\\.[ \\u00A0]){2,4}\\.|[\\u0085\\u2026])";
const MISCSYMBOL =
  "[+%&~^|\\\\\\u00A6\\u00A7\\u00A8\\u00A9\\u00AC\\u00AE\\u00AF\\u00B0-\\u00B3\\u00B4-\\u00BA\\u00D7\\u00F7\\u0387\\u05BE\\u05C0\\u05C3\\u05C6\\u05F3\\u05F4\\u0600-\\u0603\\u0606-\\u060A\\u060C\\u0614\\u061B\\u061E\\u066A\\u066D\\u0703-\\u070D\\u07F6\\u07F7\\u07F8\\u0964\\u0965\\u0E4F\\u1FBD\\u2016\\u2017\\u2020-\\u2023\\u2030-\\u2038\\u203B\\u203E-\\u2042\\u2044\\u207A-\\u207F\\u208A-\\u208E\\u2100-\\u214F\\u2190-\\u21FF\\u2200-\\u2BFF\\u3012\\u30FB\\uFF01-\\uFF0F\\uFF1A-\\uFF20\\uFF3B-\\uFF40\\uFF5B-\\uFF65]";
const PHONE =
  "(?:(?:\\([0-9]{2,3}\\)[ \\u00A0]?|(?:\\+\\+?)?(?:[0-9]{2,4}[- \\u00A0])?[0-9]{2,4}[- \\u00A0])[0-9]{3,4}[- \\u00A0]?[0-9]{3,5}|(?:(?:\\+\\+?)?[0-9]{2,4}\\.)?[0-9]{2,4}\\.[0-9]{3,4}\\.[0-9]{3,5})";
const FULLURL =
  '(?:[hH][tT][tT][pP][sS]?:\\/\\/[^ \\t\\n\\f\\r"<>|()]+[^ \\t\\n\\f\\r"<>|.!?(){},-])';
const LIKELYURL = `(?:(?:(?:www\\.(?:[^ \\t\\n\\f\\r"<>|.!?(){},]+\\.)+[a-zA-Z]{2,4})|(?:(?:[^ \\t\\n\\f\\r"\`'<>|.!?(){},\\-_$]+\\.)+(?:${ciAlt("com|net|org|edu")})))(?:\\/[^ \\t\\n\\f\\r"<>|()]+[^ \\t\\n\\f\\r"<>|.!?(){},-])?)`;
const EMAIL =
  '(?:[a-zA-Z0-9][^ \\t\\n\\f\\r"<>|()\\u00A0]*@(?:[^ \\t\\n\\f\\r"<>|().\\u00A0]+\\.)*[^ \\t\\n\\f\\r"<>|().\\u00A0]+)';
const TWITTER = `(?:@[a-zA-Z_][a-zA-Z_0-9]*|#${WORD})`;

// Token text transforms (the historical defaults: latex quotes, escaped / and *, -LRB- brackets).
const escapeChar = (s: string, c: string) =>
  s.replace(
    new RegExp(`(^|[^\\\\])(\\${c}+)`, "g"),
    (_m, pre: string, run: string) =>
      pre +
      run
        .split("")
        .map((x) => "\\" + x)
        .join(""),
  );
const escSlash = (s: string) => escapeChar(s, "/");
const noSoftHyphen = (s: string) => s.replace(/\u00AD/g, "") || "-";
function latexQuotes(s: string, probablyLeft: boolean): string {
  const t = probablyLeft
    ? s.replace(/&apos;|'/g, "`").replace(/"|&quot;/g, "``")
    : s.replace(/&apos;|'/g, "'").replace(/"|&quot;/g, "''");
  return t
    .replace(/[\u0091\u2018\u201B\u2039]/g, "`")
    .replace(/[\u0092\u2019\u203A]/g, "'")
    .replace(/[\u0093\u201C\u00AB]/g, "``")
    .replace(/[\u0094\u201D\u00BB]/g, "''");
}
const amp = (s: string) => s.replace(/&amp;/gi, "&");

interface Rule {
  re: RegExp;
  /** Token text for the main part, or null to emit nothing (whitespace, untokenizable). */
  out: (main: string) => string | null;
  /** How many characters of the main part to hand back to the input (JFlex yypushback). */
  pushback?: (main: string) => number;
}
const rule = (
  main: string,
  ctx: string | null,
  out: Rule["out"],
  pushback?: Rule["pushback"],
): Rule => ({
  re: new RegExp(`(${main})${ctx === null ? "" : `(?:${ctx})`}`, "uy"),
  out,
  pushback,
});
const same = (s: string) => s;

// In PTBLexer's order: on equal match length (trailing context included) the earlier rule wins.
const RULES: Rule[] = [
  rule(
    ci("cannot"),
    null,
    (s) => s.slice(0, -3),
    () => 3,
  ), // "can" + "not"
  rule(SGML, null, (s) => s.replace(/ /g, "\u00A0")),
  rule("&(?:MD|mdash|ndash);|[\\u0096\\u0097\\u2013\\u2014\\u2015]", null, () => "--"),
  rule(ci("&amp;"), null, amp),
  rule("&(?:HT|TL|UR|LR|QC|QL|QR|odq|cdq|#[0-9]+);", null, same),
  rule(WORD, REDAUX, (s) => americanize(noSoftHyphen(s))),
  rule(SWORD, SREDAUX, noSoftHyphen),
  rule(WORD, null, (s) => americanize(noSoftHyphen(s))),
  rule(APOWORD, null, same),
  rule(`[yY]${APOS}`, "\\p{L}", same),
  rule(FULLURL, null, (s) => escapeChar(escSlash(s), "*")),
  rule(LIKELYURL, null, (s) => escapeChar(escSlash(s), "*")),
  rule(EMAIL, null, same),
  rule(TWITTER, null, same),
  rule(REDAUX, "[^A-Za-z]", (s) => latexQuotes(s, false)),
  rule(SREDAUX, null, (s) => latexQuotes(s, false)),
  rule(`${DIGIT}{1,2}[-/]${DIGIT}{1,2}[-/]${DIGIT}{2,4}`, null, escSlash),
  rule(`[-+]?${NUM}`, null, noSoftHyphen),
  rule(
    "[\\u207A\\u207B\\u208A\\u208B]?(?:[\\u2070\\u00B9\\u00B2\\u00B3\\u2074-\\u2079]+|[\\u2080-\\u2089]+)",
    null,
    same,
  ),
  rule(`(?:${DIGIT}{1,4}[- \\u00A0])?${DIGIT}{1,4}(?:\\\\?\\/|\\u2044)${DIGIT}{1,4}`, null, (s) =>
    escSlash(s).replace(/ /g, "\u00A0"),
  ),
  // The 2014 code maps U+2153 twice instead of U+2154, so only these four change.
  rule(
    "[\\u00BC\\u00BD\\u00BE\\u2153-\\u215E]",
    null,
    (s) =>
      (
        ({ "\u00BC": "1\\/4", "\u00BD": "1\\/2", "\u00BE": "3\\/4", "\u2153": "1\\/3" }) as Record<
          string,
          string
        >
      )[s] ?? s,
  ),
  rule(
    `-(?:RRB|LRB|RCB|LCB|RSB|LSB)-|${ci("C")}\\.${ci("D")}\\.${ci("s")}|${ci("pro")}-|${ci("anti")}-|${ci("S")}(?:&|&amp;)${ci("P")}-500|${ci("S")}(?:&|&amp;)${ci("Ls")}|${ci("Cap")}${APOS}${ci("n")}|${ci("c")}${APOS}${ci("est")}`,
    null,
    amp,
  ),
  rule(THING3, null, escSlash),
  rule("[A-Z]*\\$|#", null, same),
  rule(
    "[\\u00A2\\u00A3\\u00A4\\u00A5\\u0080\\u20A0\\u20AC\\u060B\\u0E3F\\u20A4\\uFFE0\\uFFE1\\uFFE5\\uFFE6]",
    null,
    (s) =>
      s === "\u00A2"
        ? "cents"
        : s === "\u00A3"
          ? "#"
          : /[\u0080\u00A4\u20A0\u20AC]/.test(s)
            ? "$"
            : s,
  ),
  // (The rule that splits an acronym before a capitalised sentence starter only duplicates a
  // period, which the COCO punctuation filter removes again, so it is left out.)
  rule(ABBREV1, `${SPACENL}(?:${SPACENL}|[A-Z]|${SGML})`, same, () => 1),
  rule(ABBREV1, null, same),
  rule(`${ABBREV4}\\.`, null, same),
  rule(ABBREV4, SPACE, same),
  rule(ACRO, SPACENL, same),
  rule(`${APOS}[0-9][0-9]`, SPACENL, same),
  rule(`${WORD}\\.`, INSENTP, noSoftHyphen),
  rule(PHONE, null, (s) =>
    s.replace(/ /g, "\u00A0").replace(/\(/g, "-LRB-").replace(/\)/g, "-RRB-"),
  ),
  rule(DBLQUOT, "[A-Za-z0-9$]", (s) => latexQuotes(s, true)),
  rule(DBLQUOT, null, (s) => latexQuotes(s, false)),
  rule(ci("0x7f"), null, () => null), // the 2014 lexer wrote this rule for DEL but it matches the text "0x7f"
  rule("[<\\[]|&lt;", null, () => "-LRB-"),
  rule("[>\\]]|&gt;", null, () => "-RRB-"),
  rule("\\{", null, () => "-LCB-"),
  rule("\\}", null, () => "-RCB-"),
  rule("\\(", null, () => "-LRB-"),
  rule("\\)", null, () => "-RRB-"),
  rule("-+", null, (s) => (s.length === 3 || s.length === 4 ? "--" : s)),
  rule(LDOTS, null, () => "..."),
  rule("@+|#+|_+", null, same),
  rule("\\*+|(?:\\\\\\*){1,3}", null, (s) => escapeChar(s, "*")),
  rule(INSENTP, null, same),
  rule("[?!]+", null, same),
  rule("[.\\u00A1\\u00BF\\u037E\\u0589\\u061F\\u06D4\\u0700-\\u0702\\u07FA\\u3002]", null, same),
  rule("=", null, same),
  rule("\\/", null, () => "\\/"),
  rule(`${HTHING}\\.`, INSENTP, noSoftHyphen),
  rule(HTHING, null, noSoftHyphen),
  rule(`${THING}\\.`, INSENTP, same),
  rule(THING, null, same),
  rule(`${THINGA}\\.`, INSENTP, amp),
  rule(THINGA, null, amp),
  rule("'", "[A-Za-z][^ \\t\\n\\r\\u00A0]", (s) => latexQuotes(s, true)),
  rule(REDAUX, null, (s) => latexQuotes(s, false)),
  rule(QUOTES, null, (s) => latexQuotes(s, false)),
  rule("<<|>>", null, same),
  rule(MISCSYMBOL, null, same),
  rule(`(?:${SPACE}|${NLCH}|[\\u0000\\u200B\\u200E\\u200F\\uFEFF]|&nbsp;)+`, null, () => null),
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
      if (m && m[0].length > 0 && (!best || m[0].length > best.total))
        best = { rule: r, main: m[1]!, total: m[0].length };
    }
    if (!best) {
      pos += String.fromCodePoint(s.codePointAt(pos)!).length;
      continue;
    } // untokenizable: deleted
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
  return ptbTokens(text)
    .map((t) => t.toLowerCase())
    .filter((t) => !COCO_PUNCTUATIONS.has(t))
    .join(" ");
}
