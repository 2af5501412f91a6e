/**
 * The on-disk run cache: one folder per run key holding spec.json (written when the run starts),
 * the run's own files (train.jsonl, checkpoints) and result.json (written atomically when it ends).
 * A run is done exactly when result.json exists; an interrupted run leaves its folder, so the run
 * function can resume from its checkpoint next time.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { canonicalJson, codeVersion, sha256 } from "./hash.ts";
import type { Params, RunSpec } from "./grid.ts";

export interface RunResult {
  key: string;
  run: string;
  label: string;
  params: Params;
  diff: Params;
  seed: number;
  codeVersion: string;
  metrics: Record<string, number>;
  /** Metrics with no meaning for this run, each with its reason. */
  na?: Record<string, string>;
  /** Per-item scores: metric → item id → score. */
  items?: Record<string, Record<string, number>>;
  /** Content hashes of the grid resources the run used (its tokenizer's, say); part of its key. */
  resources?: Record<string, string>;
  /** Anything else the run returns (sample outputs, curves). */
  extra?: Record<string, unknown>;
  startedAt: string;
  finishedAt: string;
  seconds: number;
  grid?: string;
  /** Set when a queue worker ran it (lib/experiments/queue): which worker, and where its checkpoints are. */
  remote?: { worker: string; store?: string; checkpoints: string };
}

export function defaultCacheDir(): string {
  return resolve(process.env.SIMVLM_CACHE_DIR ?? ".simvlm-cache");
}

/**
 * A run's cache key: its run function, params, seed, the code version and the content hashes of the
 * grid resources it uses (`resources`, e.g. { tokenizer: sha256 }), so a run measured with another
 * tokenizer never hits an old result.
 */
export function runKey(
  spec: Pick<RunSpec, "run" | "params" | "seed">,
  version = codeVersion(),
  resources?: Record<string, string>,
): string {
  const res = resources && Object.keys(resources).length ? { resources } : {};
  return sha256(
    canonicalJson({ run: spec.run, params: spec.params, seed: spec.seed, code: version, ...res }),
  ).slice(0, 20);
}

export class RunCache {
  readonly root: string;
  constructor(dir = defaultCacheDir()) {
    this.root = resolve(dir);
  }
  runDir(key: string): string {
    return join(this.root, "runs", key);
  }
  has(key: string): boolean {
    return existsSync(join(this.runDir(key), "result.json"));
  }
  get(key: string): RunResult | undefined {
    const p = join(this.runDir(key), "result.json");
    if (!existsSync(p)) return undefined;
    try {
      return JSON.parse(readFileSync(p, "utf8")) as RunResult;
    } catch {
      return undefined;
    }
  }
  begin(key: string, spec: RunSpec): string {
    const dir = this.runDir(key);
    mkdirSync(dir, { recursive: true });
    writeAtomic(
      join(dir, "spec.json"),
      JSON.stringify({ key, ...spec, codeVersion: codeVersion() }, null, 2),
    );
    return dir;
  }
  finish(result: RunResult): void {
    writeAtomic(join(this.runDir(result.key), "result.json"), JSON.stringify(result, null, 2));
  }
  /** Every finished run in the cache (any grid, any code version). */
  all(): RunResult[] {
    const dir = join(this.root, "runs");
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .map((k) => this.get(k))
      .filter((r): r is RunResult => !!r)
      .sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
  }
}

export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
