/**
 * The grid run function "pretrain": one pretraining run (lib/train/pretrain.ts) into the run's
 * cache folder, so that a notebook can train its seeds in parallel worker processes (runGrid with
 * `workers`) and a rerun with the same settings and code loads the finished checkpoints instead of
 * training again.
 *
 * Params: any plain-JSON `PretrainOptions` (config, data, steps, batchSize, lr, objective, prefix,
 * textOnlyEvery, …) except `seed` (the run's seed), `outDir` and callbacks, plus
 * - `tokenizerFile`: a tokenizer.json every seed shares (one tokenizer per experiment, issue 14);
 * - `tokenizerSha256`: that file's SHA-256, so a different tokenizer is a different run (cache key).
 *
 * Output: the checkpoint is `<run dir>/checkpoint` (`pretrainCheckpoint(dir)`); metrics are the
 * steps done, seconds, mean examples/s and the mean loss over the first and last tenth of the log
 * (train.jsonl, so a resumed run counts the steps before its interrupt too). Progress carries every
 * log row as `metrics`, which a live training plot draws.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AbortedError } from "../runtime.ts";
import { sha256 } from "./hash.ts";
import { GridError } from "./grid.ts";
import type { Params } from "./grid.ts";
import type { RunInfo, RunOutput } from "./registry.ts";
import type { PretrainOptions } from "../train/pretrain.ts";
import { readTrainLog } from "../train/train-log.ts";

/** Where a "pretrain" run keeps its checkpoint, given the run's cache folder. */
export function pretrainCheckpoint(runDir: string): string {
  return join(runDir, "checkpoint");
}

const NOT_PARAMS = ["seed", "outDir", "resume", "until", "onStep", "tokenizer", "signal"];

export async function pretrainRun(params: Params, info: RunInfo): Promise<RunOutput> {
  const bad = NOT_PARAMS.filter((k) => k in params);
  if (bad.length)
    throw new GridError(
      `run "pretrain": ${bad.map((k) => `"${k}"`).join(", ")} cannot be a param (the seed is the run's, the folder is the cache's; share a tokenizer with tokenizerFile)`,
    );
  const { tokenizerFile, tokenizerSha256, ...opts } = params as Record<string, unknown>;
  const [{ pretrain }, { SimTokenizer }, { hasCheckpoint }] = await Promise.all([
    import("../train/pretrain.ts"),
    import("../tokenizer/tokenizer.ts"),
    import("../train/checkpoint.ts"),
  ]);
  let tokenizer;
  if (tokenizerFile !== undefined) {
    if (typeof tokenizerFile !== "string" || !existsSync(tokenizerFile))
      throw new GridError(
        `run "pretrain": tokenizerFile ${JSON.stringify(tokenizerFile)} is not a file`,
      );
    const json = readFileSync(tokenizerFile, "utf8");
    if (tokenizerSha256 !== undefined && sha256(json) !== tokenizerSha256)
      throw new GridError(
        `run "pretrain": ${tokenizerFile} changed since the grid was made (its SHA-256 is not tokenizerSha256)`,
      );
    tokenizer = SimTokenizer.fromJSON(json, tokenizerFile);
  }
  const outDir = pretrainCheckpoint(info.dir);
  const total = Number(opts.steps);
  const r = await pretrain({
    ...(opts as unknown as PretrainOptions),
    seed: info.seed,
    outDir,
    resume: hasCheckpoint(outDir),
    progress: false,
    ...(tokenizer ? { tokenizer } : {}),
    ...(info.signal ? { signal: info.signal } : {}),
    onStep: (row) =>
      info.onProgress?.({
        step: row.step,
        total,
        metrics: row as unknown as Record<string, number>,
      }),
  });
  r.model.dispose();
  if (r.stopped === "aborted") throw new AbortedError(`pretraining seed ${info.seed} interrupted`);
  const rows = readTrainLog(outDir);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const tenth = Math.max(1, Math.floor(rows.length / 10));
  return {
    metrics: {
      steps: r.step,
      seconds: r.rows.at(-1)?.elapsed_s ?? 0,
      examples_per_s: mean(rows.map((x) => x.examples_per_s)),
      first_tenth_loss: mean(rows.slice(0, tenth).map((x) => x.loss)),
      last_tenth_loss: mean(rows.slice(-tenth).map((x) => x.loss)),
      mean_k: mean(rows.map((x) => x.mean_k)),
      text_only_batches: rows.filter((x) => x.text_only > 0).length,
      logged_steps: rows.length,
    },
  };
}
