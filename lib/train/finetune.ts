/**
 * Finetuning: continued training of a model on task pairs (pair-batch.ts) with the step loop that
 * pretraining uses (loop.ts) — AdamW, warmup + linear decay, one dropout seed per step, the same
 * interrupt behaviour (stop at a step boundary, return `stopped: "aborted"`). Which pairs a task
 * has lives with the tasks (lib/eval/tasks/task-pairs.ts); finetuning a checkpoint on a world task
 * is lib/eval/tasks/checkpoint-finetune.ts. Defaults: FINETUNE_DEFAULTS (defaults.ts).
 */
import type { SimVLM } from "../model/simvlm.ts";
import type { SimTokenizer } from "../tokenizer/tokenizer.ts";
import { Rng } from "../util/rng.ts";
import type { LongRunOptions } from "../runtime.ts";
import { AdamW, type LrSchedule } from "./optimizer.ts";
import { pairBatch, type TaskPair } from "./pair-batch.ts";
import { FINETUNE_DEFAULTS as D, OPTIMIZER_DEFAULTS, defaultWarmup } from "./defaults.ts";
import { trainSteps, type StopReason, type TrainLogRow } from "./loop.ts";
import { TrainConfigError } from "./errors.ts";

export interface FinetuneOptions extends LongRunOptions {
  steps: number;
  batchSize?: number;
  /** Peak learning rate. */
  lr?: number;
  /** Warmup updates (default: a fraction of steps, at least 1). */
  warmupSteps?: number;
  weightDecay?: number;
  clipNorm?: number;
  /** Seeds the pair order and the dropout masks. */
  seed?: number;
  onStep?: (row: TrainLogRow) => void;
}

export interface FinetuneResult {
  /** Updates done: `steps`, or fewer when interrupted. */
  steps: number;
  stopped: StopReason;
  rows: TrainLogRow[];
  /** The optimizer with its state (the caller saves or disposes it). */
  optimizer: AdamW;
}

/** Check finetuning's options (each error names its option), before any work is done. */
export function checkFinetuneOptions(opts: Partial<FinetuneOptions>): void {
  const check = (ok: boolean, option: string, message: string) => {
    if (!ok) throw new TrainConfigError(message, { option });
  };
  const isInt = (v: number | undefined, min: number) =>
    v === undefined || (Number.isInteger(v) && v >= min);
  check(
    opts.steps !== undefined && isInt(opts.steps, 1),
    "steps",
    `steps must be an integer ≥ 1, got ${opts.steps}`,
  );
  check(
    isInt(opts.batchSize, 1),
    "batchSize",
    `batchSize must be an integer ≥ 1, got ${opts.batchSize}`,
  );
  check(opts.lr === undefined || opts.lr > 0, "lr", `lr must be > 0, got ${opts.lr}`);
  check(
    isInt(opts.warmupSteps, 0),
    "warmupSteps",
    `warmupSteps must be an integer ≥ 0, got ${opts.warmupSteps}`,
  );
  check(
    opts.weightDecay === undefined || opts.weightDecay >= 0,
    "weightDecay",
    `weightDecay must be ≥ 0, got ${opts.weightDecay}`,
  );
  check(
    opts.clipNorm === undefined || opts.clipNorm >= 0,
    "clipNorm",
    `clipNorm must be ≥ 0 (0: no clipping), got ${opts.clipNorm}`,
  );
  check(isInt(opts.seed, 0), "seed", `seed must be an integer ≥ 0, got ${opts.seed}`);
}

/**
 * Continue training `model` in place on `pairs`, in epochs of a seeded shuffle. Returns the log and
 * the optimizer (the caller saves or disposes it). On interrupt the weights keep the steps done and
 * `stopped` is "aborted".
 */
export async function finetuneModel(
  model: SimVLM,
  tokenizer: SimTokenizer,
  pairs: TaskPair[],
  opts: FinetuneOptions,
): Promise<FinetuneResult> {
  checkFinetuneOptions(opts);
  if (!pairs.length) throw new TrainConfigError("finetune: no training pairs");
  const batchSize = opts.batchSize ?? D.batchSize.value;
  const schedule: LrSchedule = {
    peakLr: opts.lr ?? D.lr.value,
    totalSteps: opts.steps,
    decay: D.decay.value,
    warmupSteps: opts.warmupSteps ?? defaultWarmup(opts.steps, D.warmupFraction.value),
  };
  const optimizer = new AdamW(model.weights(), {
    weightDecay: opts.weightDecay ?? OPTIMIZER_DEFAULTS.weightDecay.value,
    clipNorm: opts.clipNorm ?? OPTIMIZER_DEFAULTS.clipNorm.value,
  });
  const rng = new Rng(opts.seed ?? D.seed.value),
    order = rng.fork(),
    dropoutRng = rng.fork();
  let queue: TaskPair[] = [];
  const nextBatch = async () => {
    const exs: TaskPair[] = [];
    while (exs.length < batchSize) {
      if (!queue.length) queue = order.shuffle([...pairs]);
      exs.push(queue.pop()!);
    }
    return pairBatch(exs, tokenizer, model.config);
  };
  try {
    const r = await trainSteps({
      label: "finetune",
      model,
      optimizer,
      schedule,
      nextBatch,
      dropoutRng,
      from: 0,
      to: opts.steps,
      onStep: opts.onStep,
      signal: opts.signal,
      onProgress: opts.onProgress,
      progress: opts.progress,
    });
    return { steps: r.step, stopped: r.stopped, rows: r.rows, optimizer };
  } catch (e) {
    optimizer.dispose();
    throw e;
  }
}
