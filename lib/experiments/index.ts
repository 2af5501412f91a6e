// Public API of lib/experiments: ablation grids, the content-addressed run cache, the runs table.
export {
  expandGrid,
  validateGrid,
  mergeParams,
  diffParams,
  flattenParams,
  GridError,
} from "./grid.ts";
export type { GridSpec, RunSpec, Params } from "./grid.ts";
export { RunCache, runKey, defaultCacheDir } from "./cache.ts";
export type { RunResult } from "./cache.ts";
export { codeVersion, canonicalJson } from "./hash.ts";
export { runGrid, readGridFile } from "./runner.ts";
export type { GridOptions } from "./runner.ts";
export { registerRun, registeredRuns } from "./registry.ts";
export type {
  RunFn,
  RunInfo,
  RunOutput,
  GridBaseline,
  GridResources,
  GridPrepare,
} from "./registry.ts";
export {
  pretrainEvalRun,
  pretrainEvalConfig,
  pretrainEvalSettings,
  notApplicable,
  protocolRecords,
} from "./pretrain-eval.ts";
export { pretrainCheckpoint } from "./pretrain-run.ts";
export type {
  PretrainEvalParams,
  PretrainEvalInfo,
  PretrainEvalSettings,
} from "./pretrain-eval.ts";
export { ensureGridTokenizer, tokenizerSpecOf, preparePretrainEvalGrid } from "./protocol-grid.ts";
export type { GridTokenizer, TokenizerSpec } from "./protocol-grid.ts";
export { RunsTable } from "./table.ts";
export type { SummaryRow, MetricCell, TableFormat } from "./table.ts";
export { compareArms, welchInterval } from "./compare.ts";
export type { CompareOptions } from "./compare.ts";
export { metricsMarkdown, metricIntervalFigure } from "./report.ts";
export {
  startQueueWorker,
  QueueError,
  DEFAULT_QUEUE_NAME,
  redactUrl,
  checkQueueUrl,
} from "./queue/index.ts";
export type {
  FailedRun,
  QueueEvent,
  QueueGridOptions,
  QueueWorker,
  QueueWorkerOptions,
} from "./queue/index.ts";
