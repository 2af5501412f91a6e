// Public API of lib/train (re-exported by lib/index.ts). See docs/train.md.
export { pretrain } from "./pretrain.ts";
export type { PretrainOptions, TrainResult } from "./pretrain.ts";
export { trainSteps } from "./loop.ts";
export { readTrainLog, trainLogPath } from "./train-log.ts";
export type { TrainLogRow, StopReason, StepLoopOptions, StepLoopResult } from "./loop.ts";
export {
  OPTIMIZER_DEFAULTS,
  PRETRAIN_DEFAULTS,
  FINETUNE_DEFAULTS,
  defaultWarmup,
} from "./defaults.ts";
export type { Default } from "./defaults.ts";
export {
  trainStep,
  trainStepAsync,
  batchLoss,
  exampleLosses,
  maskedCrossEntropy,
  tokenLosses,
} from "./step.ts";
export type { TrainableModel, TrainStepOptions, TrainStepResult } from "./step.ts";
export {
  makeBatch,
  disposeBatch,
  spanSentinelIds,
  SPAN_SENTINELS,
  TRAIN_SPECIALS,
} from "./batch.ts";
export type {
  TrainBatch,
  BatchInfo,
  BatchExampleInfo,
  MakeBatchOptions,
  BatchTokenizer,
  BatchModelConfig,
} from "./batch.ts";
export { arrangeExample, corruptSpans, drawPrefixLength, TRAIN_OBJECTIVES } from "./objectives.ts";
export type { TrainObjective, PrefixOptions, SpanOptions, Arranged } from "./objectives.ts";
export {
  AdamW,
  learningRate,
  globalGradNorm,
  defaultDecayFilter,
  DECAY_KINDS,
} from "./optimizer.ts";
export type { AdamWOptions, LrSchedule, DecayKind } from "./optimizer.ts";
export {
  saveCheckpoint,
  loadCheckpoint,
  readCheckpointMeta,
  hasCheckpoint,
  CHECKPOINT_FILES,
  CHECKPOINT_FORMAT,
} from "./checkpoint.ts";
export type { CheckpointMeta, CheckpointContent } from "./checkpoint.ts";
export { loadModel, weightsToArrays, assignWeights, trainCodeVersion } from "./model-io.ts";
export type { LoadedModel } from "./model-io.ts";
export { encodeSafetensors, decodeSafetensors } from "./safetensors.ts";
export type { NamedArray, SafetensorDtype, SafetensorsContent } from "./safetensors.ts";
export { memoryExampleStream, examplesFingerprint } from "./stream.ts";
export { pairBatch } from "./pair-batch.ts";
export type { TaskPair } from "./pair-batch.ts";
export { finetuneModel, checkFinetuneOptions } from "./finetune.ts";
export type { FinetuneOptions, FinetuneResult } from "./finetune.ts";
export { CheckpointError, TrainConfigError, TrainDivergedError } from "./errors.ts";
