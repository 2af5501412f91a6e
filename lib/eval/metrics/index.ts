export { captionScores, checkCaptionInputs, type CaptionScores, type CaptionScoreOptions } from "./caption.ts";
export { corpusBleu, bleuCaptionStats, type BleuStats } from "./bleu.ts";
export { ciderD, type CiderResult } from "./cider.ts";
export { cocoTokenize, ptbTokens, COCO_PUNCTUATIONS } from "./ptb-tokenizer.ts";
export { vqaAccuracy, vqaAnswerAccuracy, vqaNormalizeAnswer, vqaProcessPunctuation, vqaProcessDigitArticle, type VqaAccuracy } from "./vqa.ts";
export { EvalInputError } from "./errors.ts";
export { parseObjectMentions, groundedItemScore, groundedScores, WORLD_GROUNDED_VOCABULARY, type GroundedVocabulary, type ObjectMention, type ParsedObjects, type GroundedObject, type GroundedItemScore, type GroundedScores } from "./grounded.ts";
