export {
  captionScores,
  checkCaptionInputs,
  type CaptionScores,
  type CaptionScoreOptions,
} from "./caption.ts";
export { corpusBleu, combineBleuStats, bleuCaptionStats, type BleuStats } from "./bleu.ts";
export { ciderD, ciderDScorer, type CiderResult, type CiderDScorer } from "./cider.ts";
export { cocoTokenize, ptbTokens, COCO_PUNCTUATIONS } from "./ptb-tokenizer.ts";
export {
  vqaAccuracy,
  vqaAnswerAccuracy,
  vqaNormalizeAnswer,
  vqaProcessPunctuation,
  vqaProcessDigitArticle,
  type VqaAccuracy,
} from "./vqa.ts";
export { EvalInputError } from "./errors.ts";
export {
  parseObjectMentions,
  groundedItemScore,
  groundedScores,
  WORLD_GROUNDED_VOCABULARY,
  type GroundedVocabulary,
  type ObjectMention,
  type ParsedObjects,
  type GroundedObject,
  type GroundedItemScore,
  type GroundedScores,
} from "./grounded.ts";
export {
  prefixLengthSupport,
  suffixChars,
  summarizePrefixLosses,
  type LossAtTp,
  type ExamplePrefixLosses,
  type LossSummary,
  type PrefixLossReport,
} from "./prefix-loss.ts";
export {
  captionItemStats,
  captionStatistic,
  groundedPairCounts,
  CAPTION_ITEM_METRICS,
  type CaptionItemStats,
  type CaptionItemMetric,
  type GroundedPairCounts,
  type PairClassCounts,
} from "./caption-items.ts";
