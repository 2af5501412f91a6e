/**
 * The training loop that pretraining (pretrain.ts) and finetuning (finetune.ts) share: per update a
 * batch, the schedule's learning rate, one dropout seed, one AdamW step (trainStepAsync), a log row,
 * progress and, every `saveEvery` updates, a save. Setup (model, optimizer, data, resume) is the
 * caller's; the loop only steps.
 *
 * One interrupt behaviour: when the signal trips, the loop stops at the next step boundary, saves
 * (when the caller gave `save`) and returns `stopped: "aborted"` — it does not throw, so the model in
 * hand is the one saved and training can continue from it.
 */
import type { SimVLM } from "../model/simvlm.ts";
import type { Rng } from "../util/rng.ts";
import { isInterrupted, startProgress, runSignal, type LongRunOptions } from "../runtime.ts";
import { disposeBatch, type TrainBatch } from "./batch.ts";
import { learningRate, type AdamW, type LrSchedule } from "./optimizer.ts";
import { trainStepAsync } from "./step.ts";

/** One line of DIR/train.jsonl, and what `onStep` receives. */
export interface TrainLogRow {
  step: number;
  loss: number;
  lr: number;
  grad_norm: number;
  examples_per_s: number;
  /** Target tokens per second. */
  tokens_per_s: number;
  /** Seconds since this call started. */
  elapsed_s: number;
  text_only: number;
  /** Mean prefix length T_p (text tokens in the encoder) of the batch. */
  mean_k: number;
}

/** "done": reached the schedule's end; "until": stopped at `until`; "aborted": the signal stopped it at a step boundary. */
export type StopReason = "done" | "until" | "aborted";

export interface StepLoopOptions extends LongRunOptions {
  /** Progress label ("pretrain", "finetune"). */
  label: string;
  model: SimVLM;
  optimizer: AdamW;
  schedule: LrSchedule;
  /** The batch for update `step` (1-based); the loop disposes it. */
  nextBatch: (step: number) => Promise<TrainBatch>;
  /** Draws one dropout seed per update. */
  dropoutRng: Rng;
  /** Updates done before this call (a resumed run's step) and the last update to do now. */
  from: number;
  to: number;
  /** Save the state after update `step`; returns where. Called every `saveEvery` updates and once at the end. */
  save?: (step: number) => string;
  saveEvery?: number;
  onStep?: (row: TrainLogRow) => void;
}

export interface StepLoopResult {
  step: number;
  stopped: StopReason;
  rows: TrainLogRow[];
  checkpoint?: string;
}

export async function trainSteps(o: StepLoopOptions): Promise<StepLoopResult> {
  const signal = runSignal(o);
  const progress = startProgress(o.label, o.schedule.totalSteps, o);
  const rows: TrainLogRow[] = [];
  const t0 = performance.now();
  let step = o.from,
    checkpoint: string | undefined,
    aborted = false;
  try {
    while (step < o.to) {
      // A synchronous check (lib/runtime.ts): a step never yields to the event loop.
      if (isInterrupted(signal)) {
        aborted = true;
        break;
      }
      const ts = performance.now();
      const batch = await o.nextBatch(step + 1);
      const lr = learningRate(o.schedule, step + 1);
      let r;
      try {
        r = await trainStepAsync(o.model, o.optimizer, batch, {
          lr,
          dropoutSeed: o.dropoutRng.nextUint32(),
        });
      } finally {
        disposeBatch(batch);
      }
      step++;
      const row = logRow(
        step,
        r,
        lr,
        batch,
        (performance.now() - ts) / 1000,
        (performance.now() - t0) / 1000,
      );
      rows.push(row);
      o.onStep?.(row);
      // Each quantity once: the loss in the message (what a grid's progress line repeats), the rest as metrics.
      progress.update({
        step,
        total: o.schedule.totalSteps,
        message: `loss ${r.loss.toFixed(4)}`,
        metrics: { lr },
      });
      if (o.save && o.saveEvery && step % o.saveEvery === 0 && step < o.to)
        checkpoint = o.save(step);
    }
    if (o.save && step > o.from) checkpoint = o.save(step);
  } catch (e) {
    progress.done(`failed at step ${step + 1}`);
    throw e;
  }
  const stopped: StopReason = aborted
    ? "aborted"
    : step >= o.schedule.totalSteps
      ? "done"
      : "until";
  progress.done(
    aborted
      ? `interrupted at step ${step}${checkpoint ? ` (checkpoint saved in ${checkpoint})` : ""}`
      : "done",
  );
  return { step, stopped, rows, ...(checkpoint ? { checkpoint } : {}) };
}

function logRow(
  step: number,
  r: { loss: number; gradNorm: number },
  lr: number,
  batch: TrainBatch,
  stepSeconds: number,
  elapsed: number,
): TrainLogRow {
  const info = batch.info;
  return {
    step,
    loss: r.loss,
    lr,
    grad_norm: r.gradNorm,
    examples_per_s: round(info.size / stepSeconds),
    tokens_per_s: round(info.lossTokens / stepSeconds),
    elapsed_s: round(elapsed),
    text_only: info.textOnly,
    mean_k: round(info.examples.reduce((a, e) => a + e.k, 0) / info.size),
  };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
