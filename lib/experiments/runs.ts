/**
 * Built-in run functions for grids. `pretrainEval` pretrains a model on the built-in world and
 * evaluates it (captioning CIDEr-D, VQA accuracy, validation loss; see lib/experiments/pretrain-eval.ts).
 */
import { registerRun } from "./runner.ts";

/** A trivial run used by tests and as an example of the run-function contract. */
registerRun("echo", async (params, info) => {
  const steps = Number(params.steps ?? 3);
  for (let s = 1; s <= steps; s++) {
    if (info.signal?.aborted) throw new Error("interrupted");
    await new Promise((r) => setTimeout(r, Number(params.sleepMs ?? 0)));
    info.onProgress?.({ step: s, total: steps });
  }
  const x = Number(params.x ?? 0);
  return { metrics: { value: x * 10 + info.seed, steps } };
});

/**
 * Pretrain on the built-in world with one prefix strategy, then evaluate (lib/experiments/pretrain-eval.ts).
 * Imported on first use, so grids of other run functions do not load tfjs.
 */
registerRun("pretrainEval", async (params, info) => {
  const { pretrainEvalRun } = await import("./pretrain-eval.ts");
  return pretrainEvalRun(params, info);
});
