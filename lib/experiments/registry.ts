/**
 * Run functions by name: what a grid's "run" field refers to. The built-in ones (runs.ts) are
 * registered explicitly by runner.ts's loadRunModules; a grid's "module" registers its own with
 * registerRun when it is imported (in this process and in each worker).
 */
import type { Progress } from "../runtime.ts";
import type { Params } from "./grid.ts";

export interface RunInfo {
  seed: number;
  /** The run's own folder in the cache (checkpoints, logs); it survives interrupts. */
  dir: string;
  label: string;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}
export interface RunOutput { metrics: Record<string, number>; extra?: Record<string, unknown> }
export type RunFn = (params: Params, info: RunInfo) => Promise<RunOutput>;

const registry = new Map<string, RunFn>();

/** Make a run function available to grids by name (in this process; workers import the grid's `module`). */
export function registerRun(name: string, fn: RunFn): void { registry.set(name, fn); }
export function registeredRuns(): string[] { return [...registry.keys()].sort(); }
export function getRun(name: string): RunFn | undefined { return registry.get(name); }
