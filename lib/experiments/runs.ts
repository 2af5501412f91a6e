/**
 * Built-in run functions for grids, registered by `registerBuiltinRuns` (runner.ts calls it before a
 * grid runs). `pretrain` only pretrains (pretrain-run.ts); `pretrainEval` pretrains a model on the built-in world and measures it with the
 * evaluation protocol (losses, zero-shot and finetuned captioning, VQA, entailment; see
 * pretrain-eval.ts); its grid preparation trains the grid's one tokenizer and fits the blind baselines.
 */
import { AbortedError, isInterrupted } from "../runtime.ts";
import { registerRun, type GridPrepare, type RunFn } from "./registry.ts";

/** A trivial run used by tests and as an example of the run-function contract. */
const echo: RunFn = async (params, info) => {
  const steps = Number(params.steps ?? 3);
  for (let s = 1; s <= steps; s++) {
    if (isInterrupted(info.signal)) throw new AbortedError("echo interrupted");
    await new Promise((r) => setTimeout(r, Number(params.sleepMs ?? 0)));
    info.onProgress?.({ step: s, total: steps });
  }
  const x = Number(params.x ?? 0);
  return { metrics: { value: x * 10 + info.seed, steps } };
};

/** Imported on first use, so grids of other run functions do not load tfjs. */
const pretrainEval: RunFn = async (params, info) => {
  const { pretrainEvalRun } = await import("./pretrain-eval.ts");
  return pretrainEvalRun(params, info);
};

/** One pretraining run into the run's folder (pretrain-run.ts): a notebook's seeds in parallel workers. */
const pretrainOnly: RunFn = async (params, info) => {
  const { pretrainRun } = await import("./pretrain-run.ts");
  return pretrainRun(params, info);
};

/** Once per grid: the grid's tokenizer and the blind baselines (protocol-grid.ts). */
const preparePretrainEval: GridPrepare = async (specs, ctx) => {
  const { preparePretrainEvalGrid } = await import("./protocol-grid.ts");
  return preparePretrainEvalGrid(specs, ctx);
};

export function registerBuiltinRuns(): void {
  registerRun("echo", echo);
  registerRun("pretrainEval", pretrainEval, { prepare: preparePretrainEval });
  registerRun("pretrain", pretrainOnly);
}
