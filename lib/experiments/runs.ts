/**
 * Built-in run functions for grids, registered by `registerBuiltinRuns` (runner.ts calls it before a
 * grid runs). `pretrainEval` pretrains a model on the built-in world and evaluates it (captioning
 * CIDEr-D, VQA accuracy, validation loss; see pretrain-eval.ts).
 */
import { AbortedError, isInterrupted } from "../runtime.ts";
import { registerRun, type RunFn } from "./registry.ts";

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

export function registerBuiltinRuns(): void {
  registerRun("echo", echo);
  registerRun("pretrainEval", pretrainEval);
}
