// Public API of lib/experiments: ablation grids, the content-addressed run cache, the runs table.
export { expandGrid, validateGrid, mergeParams, diffParams, flattenParams, GridError } from "./grid.ts";
export type { GridSpec, RunSpec, Params } from "./grid.ts";
export { RunCache, runKey, defaultCacheDir } from "./cache.ts";
export type { RunResult } from "./cache.ts";
export { codeVersion, canonicalJson } from "./hash.ts";
export { runGrid, registerRun, registeredRuns, readGridFile } from "./runner.ts";
export type { RunFn, RunInfo, RunOutput, GridOptions } from "./runner.ts";
export { pretrainEvalRun, pretrainEvalConfig } from "./pretrain-eval.ts";
export type { PretrainEvalParams, PretrainEvalInfo } from "./pretrain-eval.ts";
export { RunsTable } from "./table.ts";
export type { SummaryRow } from "./table.ts";
