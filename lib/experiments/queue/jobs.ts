/**
 * What travels through the queue. A job is data only — the run function's name, its parameters,
 * the seed and the submitter's code version — never code: a worker runs only run functions
 * registered in its own process (the built-in ones and the modules it was started with). The job's
 * id is the run's cache key (runKey over run, params, seed and code version), so two submitters of
 * the same grid meet on the same job instead of running it twice.
 *
 * What comes back is the run's result and its small text files (the per-step JSONL, the run's
 * log); checkpoints stay where the worker wrote them (its --store, when it has one).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { runKey } from "../cache.ts";
import type { Params } from "../grid.ts";

export interface RunJobData {
  /** Format of this record; a worker refuses formats it does not know. */
  v: 1;
  /** The run's cache key; equal to the job id. */
  key: string;
  run: string;
  label: string;
  params: Params;
  diff: Params;
  seed: number;
  /** The submitter's code version: a worker at another version refuses the job. */
  codeVersion: string;
  grid: string;
  /**
   * Content hashes of the grid's shared resources (its tokenizer) that are part of the run key. A
   * worker rebuilds them from the run's params (the same spec gives the same content).
   */
  resources?: Record<string, string>;
}

export interface RunJobResult {
  metrics: Record<string, number>;
  /** metric → why it has no meaning for this run (see RunOutput.na). */
  na?: Record<string, string>;
  /** metric → item id → per-item score, for paired bootstraps (see RunOutput.items). */
  items?: Record<string, Record<string, number>>;
  extra?: Record<string, unknown>;
  /** Result files by path relative to the run folder (train.jsonl, run.log, …), as text. */
  files: Record<string, string>;
  /** Files left out (too large), with why. */
  leftOut: string[];
  /** The worker that ran it ("host:pid" unless named). */
  worker: string;
  /** The run's folder in the worker's --store (its checkpoints), when it had one. */
  store?: string;
  startedAt: string;
  finishedAt: string;
  seconds: number;
  /** True when the worker found the finished run in its --store and sent that instead of training. */
  fromStore?: boolean;
}

/** A refusal is written to the job's log as `refused<TAB>worker<TAB>reason` (the submitter reads it). */
export const REFUSED = "refused";

/** Check a job's data field by field; returns the message naming the bad field, or undefined. */
export function jobDataProblem(d: unknown): string | undefined {
  if (!d || typeof d !== "object" || Array.isArray(d)) return "data is not an object";
  const o = d as Record<string, unknown>;
  if (o.v !== 1)
    return `field "v" must be 1 (this worker's job format), got ${JSON.stringify(o.v)}`;
  for (const f of ["key", "run", "label", "codeVersion", "grid"])
    if (typeof o[f] !== "string" || !o[f]) return `field "${f}" must be a non-empty string`;
  for (const f of ["params", "diff"])
    if (!o[f] || typeof o[f] !== "object" || Array.isArray(o[f]))
      return `field "${f}" must be an object`;
  if (!Number.isInteger(o.seed)) return `field "seed" must be an integer`;
  const d2 = o as unknown as RunJobData;
  if (
    o.resources !== undefined &&
    (!o.resources ||
      typeof o.resources !== "object" ||
      Array.isArray(o.resources) ||
      Object.values(o.resources).some((v) => typeof v !== "string"))
  )
    return `field "resources" must be an object of strings`;
  if (runKey(d2, d2.codeVersion, d2.resources) !== d2.key)
    return `field "key" (${d2.key}) is not the key of the job's run, params, seed, resources and code version`;
  return undefined;
}

/** Text files a run leaves that are results: logs and tables. Checkpoint files are not among them. */
const RESULT_FILE = /\.(jsonl|log|csv|txt)$/;
const MAX_FILE = 8 << 20,
  MAX_TOTAL = 32 << 20;

/** The run folder's result files (relative path → text), at most 8 MiB each and 32 MiB in all. */
export function collectResultFiles(dir: string): {
  files: Record<string, string>;
  leftOut: string[];
} {
  const files: Record<string, string> = {};
  const leftOut: string[] = [];
  let total = 0;
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) {
        walk(p);
        continue;
      }
      if (!RESULT_FILE.test(name)) continue;
      const rel = relative(dir, p).split(sep).join("/");
      if (st.size > MAX_FILE || total + st.size > MAX_TOTAL) {
        leftOut.push(
          `${rel} (${(st.size / 2 ** 20).toFixed(1)} MiB: over the ${st.size > MAX_FILE ? "8 MiB per file" : "32 MiB per run"} limit)`,
        );
        continue;
      }
      files[rel] = readFileSync(p, "utf8");
      total += st.size;
    }
  };
  if (existsSync(dir)) walk(dir);
  return { files, leftOut };
}

/** A result file's path is used under the submitter's run folder: only plain relative paths. */
export function safeRelativePath(p: string): boolean {
  return (
    !!p &&
    !p.startsWith("/") &&
    !p.includes("\\") &&
    p.split("/").every((s) => s !== "" && s !== "." && s !== "..")
  );
}
