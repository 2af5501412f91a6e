// Blind baselines of the evaluation protocol (issue 14): pure functions over world records.
export {
  bestConstantCaption,
  mostFrequentCaption,
  scoreConstantCaption,
  constantCaptionCandidates,
  NGRAM_CANDIDATES,
  type CaptionRecord,
  type ConstantCaptionScores,
  type BestConstantCaption,
} from "./caption.ts";
export {
  questionTemplate,
  fitVqaPrior,
  vqaPriorAnswer,
  evalVqaPrior,
  type VqaRecord,
  type VqaPrior,
  type VqaPriorEval,
} from "./vqa.ts";
export {
  majorityEntailment,
  fitHypothesisOnly,
  evalHypothesisOnly,
  hypothesisWords,
  ENTAILMENT_BASELINE_LABELS,
  type EntailmentRecord,
  type EntailmentBaselineEval,
  type HypothesisOnlyModel,
} from "./entailment.ts";
export {
  fitNgramLm,
  fitNgramBaseline,
  ngramPrefixLosses,
  type NgramLm,
  type NgramOptions,
  type NgramTokenizer,
} from "./ngram.ts";
