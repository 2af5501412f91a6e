/**
 * Run functions by name: what a grid's "run" field refers to. The built-in ones (runs.ts) are
 * registered explicitly by runner.ts's loadRunModules; a grid's "module" registers its own with
 * registerRun when it is imported (in this process and in each worker).
 */
import type { Progress } from "../runtime.ts";
import type { Params, RunSpec } from "./grid.ts";

export interface RunInfo {
  seed: number;
  /** The run's own folder in the cache (checkpoints, logs); it survives interrupts. */
  dir: string;
  label: string;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** What the grid's `prepare` made for this run (plain JSON: it crosses to worker processes). */
  shared?: Record<string, unknown>;
}
export interface RunOutput {
  metrics: Record<string, number>;
  /** Metrics that have no meaning for this run, each with the reason (tables print "n/a"). */
  na?: Record<string, string>;
  /** Per-item scores: metric → item id → score whose mean is the metric (for paired bootstraps). */
  items?: Record<string, Record<string, number>>;
  extra?: Record<string, unknown>;
}
export type RunFn = (params: Params, info: RunInfo) => Promise<RunOutput>;

/** A row shown beside the runs in every table of the grid (a blind baseline): no seed, no training. */
export interface GridBaseline {
  label: string;
  metrics: Record<string, number>;
  na?: Record<string, string>;
  items?: Record<string, Record<string, number>>;
  info?: Record<string, unknown>;
}

/** What a grid's preparation gives: per run (aligned with the specs), and for the grid. */
export interface GridResources {
  runs: {
    /** Content hashes the run's result depends on (a tokenizer's, say): they enter its cache key. */
    key: Record<string, string>;
    /** Passed to the run as `info.shared`. */
    shared: Record<string, unknown>;
  }[];
  baselines?: GridBaseline[];
}

/** Work done once per grid before its runs (train the grid's tokenizer, fit the blind baselines). */
export type GridPrepare = (
  specs: RunSpec[],
  ctx: { cacheDir: string; signal?: AbortSignal; onProgress?: (p: Progress) => void },
) => Promise<GridResources>;

const registry = new Map<string, RunFn>();
const preparers = new Map<string, GridPrepare>();

/** Make a run function available to grids by name (in this process; workers import the grid's `module`). */
export function registerRun(name: string, fn: RunFn, opts: { prepare?: GridPrepare } = {}): void {
  registry.set(name, fn);
  if (opts.prepare) preparers.set(name, opts.prepare);
  else preparers.delete(name);
}
export function registeredRuns(): string[] {
  return [...registry.keys()].sort();
}
export function getRun(name: string): RunFn | undefined {
  return registry.get(name);
}
export function getGridPrepare(name: string): GridPrepare | undefined {
  return preparers.get(name);
}
