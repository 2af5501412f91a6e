// Downstream tasks on trained models (see docs/eval-tasks.md).
export { scorePairs, batchRowStats, type PairScores } from "./pairs.ts";
export {
  validationLoss,
  lossByPrefixLength,
  prefixLosses,
  type ValidationLoss,
  type LossObjective,
  type LossOptions,
  type LossByPrefixOptions,
  type PrefixLossPoint,
  type PrefixLossOptions,
} from "./loss.ts";
export {
  evalCaptioning,
  evalVqa,
  zeroShotCaptioning,
  evalCompositional,
  type CaptionItem,
  type VqaImage,
  type GenerationTaskOptions,
  type CaptionEval,
  type CaptionMetrics,
  type VqaEval,
  type CompositionalEval,
} from "./generation.ts";
export {
  evalEntailment,
  entailmentPairs,
  labelLogLikelihoods,
  ENTAILMENT_LABELS,
  ENTAILMENT_PREMISES,
  entailmentPrefix,
  textPremisePrefix,
  imagePremisePrefix,
  fitTextPremise,
  fitEntailmentPrefix,
  entailmentFit,
  type PrefixFit,
  type EntailmentEval,
  type EntailmentPair,
  type EntailmentPremise,
} from "./entailment.ts";
export {
  taskPairs,
  majorityAnswer,
  checkTaskChoice,
  EVAL_TASKS,
  type EvalTask,
} from "./task-pairs.ts";
export {
  finetuneCheckpoint,
  type FinetuneCheckpointOptions,
  type FinetuneSummary,
} from "./checkpoint-finetune.ts";
export {
  evalCheckpoint,
  type EvalCheckpointOptions,
  type CheckpointEval,
} from "./checkpoint-eval.ts";
