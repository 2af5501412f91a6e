/**
 * British -> American spelling, as Stanford CoreNLP's Americanize does for WORD tokens when the
 * PTB tokenizer runs with its historical defaults (which the COCO caption tokenizer, CoreNLP 3.4.1,
 * uses). Applied to the token as written (before lower-casing), so only lower-case words change.
 * Word list and patterns restated from the CoreNLP documentation/source facts; see docs/eval.md.
 */
const MAPPING: Record<string, string> = {};
const PAIRS = `anaesthetic anesthetic|analogue analog|analogues analogs|analyse analyze|analysed analyzed|analysing analyzing|armoured armored|cancelled canceled|cancelling canceling|candour candor|capitalise capitalize|capitalised capitalized|capitalisation capitalization|centre center|chimaeric chimeric|clamour clamor|coloured colored|colouring coloring|colourful colorful|defence defense|Defence Defense|discolour discolor|discolours discolors|discoloured discolored|discolouring discoloring|encyclopaedia encyclopedia|endeavour endeavor|endeavours endeavors|endeavoured endeavored|endeavouring endeavoring|fervour fervor|favour favor|favours favors|favoured favored|favouring favoring|favourite favorite|favourites favorites|fibre fiber|fibres fibers|finalise finalize|finalised finalized|finalising finalizing|flavour flavor|flavours flavors|flavoured flavored|flavouring flavoring|glamour glamour|grey gray|harbour harbor|harbours harbors|homologue homolog|homologues homologs|honour honor|honours honors|honoured honored|honouring honoring|honourable honorable|humour humor|humours humors|humoured humored|humouring humoring|kerb curb|labelled labeled|labelling labeling|labour labor|Labour Labor|labours labors|laboured labored|labouring laboring|leant leaned|learnt learned|localise localize|localised localized|manoeuvre maneuver|manoeuvres maneuvers|maximise maximize|maximised maximized|maximising maximizing|meagre meager|minimise minimize|minimised minimized|minimising minimizing|modernise modernize|modernised modernized|modernising modernizing|misdemeanour misdemeanor|misdemeanours misdemeanors|neighbour neighbor|neighbours neighbors|neighbourhood neighborhood|neighbourhoods neighborhoods|oestrogen estrogen|oestrogens estrogens|organisation organization|organisations organizations|penalise penalize|penalised penalized|popularise popularize|popularised popularized|popularises popularizes|popularising popularizing|practise practice|practised practiced|pressurise pressurize|pressurised pressurized|pressurises pressurizes|pressurising pressurizing|realise realize|realised realized|realising realizing|realises realizes|recognise recognize|recognised recognized|recognising recognizing|recognises recognizes|rumoured rumored|rumouring rumoring|savour savor|savours savors|savoured savored|savouring savoring|splendour splendor|splendours splendors|theatre theater|theatres theaters|titre titer|titres titers|travelled traveled|travelling traveling`;
for (const p of PAIRS.split("|")) {
  const [a, b] = p.split(" ");
  MAPPING[a!] = b!;
}
// Month and day names are capitalised by CoreNLP; the COCO tokenizer lower-cases afterwards anyway.
for (const m of [
  "january",
  "february",
  "april",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
  "monday",
  "tuesday",
  "wednesday",
  "thursday",
  "friday",
  "saturday",
  "sunday",
])
  MAPPING[m] = m[0]!.toUpperCase() + m.slice(1);

const OUR_EXCEPTIONS =
  /abatjour|beflour|bonjour|calambour|carrefour|cornflour|contour|de[tv]our|dortour|dyvour|downpour|giaour|glamour|holour|inpour|outpour|pandour|paramour|pompadour|recontour|repour|ryeflour|sompnour|tambour|troubadour|tregetour|velour/;
// [pattern, replacement, exception]: first pattern that matches (and whose exception does not) wins.
const PATTERNS: Array<[RegExp, string, RegExp | null]> = [
  [/haem(at)?o/g, "hem$1o", null],
  [/aemia$/g, "emia", null],
  [/([lL])eukaem/g, "$1eukem", null],
  [/programme(s?)$/g, "program$1", null],
  [/^([a-z]{3,})our(s?)$/g, "$1or$2", OUR_EXCEPTIONS],
];

export function americanize(word: string): string {
  if (word.length < 4) return word;
  const mapped = MAPPING[word];
  if (mapped !== undefined) return mapped;
  if (word.length < 6) return word;
  for (const [re, rep, ex] of PATTERNS) {
    re.lastIndex = 0;
    if (!re.test(word)) continue;
    if (ex && ex.test(word)) continue;
    re.lastIndex = 0;
    // Java's replaceAll leaves "$1" of an unmatched optional group empty, like JS does.
    return word.replace(re, rep);
  }
  return word;
}
