/**
 * Finetuning = continued training on task pairs with the same step as pretraining (lib/train's
 * trainStep and AdamW, warmup + linear decay): captioning (image → caption, prefix k = 0), VQA
 * (image + question → answer) or entailment (text premise + hypothesis → label word, or the image
 * as premise). `finetuneCheckpoint` reads a checkpoint and writes a new one in the same format.
 */
import path from "node:path";
import type { AnnotatedImage, VqaItem } from "../data/types.ts";
import { makeWorld } from "../data/world/index.ts";
import type { SimVLM } from "../model/simvlm.ts";
import type { SimTokenizer } from "../tokenizer/tokenizer.ts";
import { AdamW, learningRate, type LrSchedule } from "./optimizer.ts";
import { trainStepAsync } from "./step.ts";
import { disposeBatch } from "./batch.ts";
import { saveCheckpoint, hasCheckpoint, readCheckpointMeta } from "./checkpoint.ts";
import { loadModel, weightsToArrays, trainCodeVersion } from "./model-io.ts";
import { Rng } from "../util/rng.ts";
import { initBackend } from "../backend/index.ts";
import { AbortedError, runSignal, startProgress, type LongRunOptions } from "../runtime.ts";
import { EvalInputError } from "../eval/metrics/errors.ts";
import { TrainConfigError } from "./errors.ts";
import { pairBatch, type TaskPair } from "../eval/tasks/pairs.ts";
import { entailmentPairs, type PrefixFit } from "../eval/tasks/entailment.ts";

export type EvalTask = "caption" | "vqa" | "entailment";
export const EVAL_TASKS: readonly EvalTask[] = ["caption", "vqa", "entailment"];

/** The most frequent answer (ties: the first seen) — the VQA training target. */
export function majorityAnswer(q: VqaItem): string {
  const c = new Map<string, number>();
  for (const a of q.answers) c.set(a, (c.get(a) ?? 0) + 1);
  let best = q.answers[0]!, n = 0;
  for (const [a, k] of c) if (k > n) { best = a; n = k; }
  return best;
}

/** Check a task and its pair options (what taskPairs takes), before any work is done. */
export function checkTaskChoice(task: EvalTask, opts: { fraction?: number; textOnly?: boolean }): void {
  const fraction = opts.fraction ?? 1;
  if (!(fraction > 0 && fraction <= 1)) throw new EvalInputError(`fraction must be in (0, 1], got ${fraction}`, { option: "fraction" });
  if (!EVAL_TASKS.includes(task)) throw new EvalInputError(`task must be one of ${EVAL_TASKS.join(", ")}, got ${JSON.stringify(task)}`, { option: "task" });
  if (opts.textOnly && task !== "entailment") {
    throw new EvalInputError(`textOnly: text-only finetuning is for the entailment task (premise as text); task "${task}" needs the images`, { option: "textOnly" });
  }
}

/**
 * Finetuning pairs for a task from annotated images. `fraction` keeps that share of the images
 * (seeded choice, at least one) — the few-shot setting. `textOnly` (entailment only) puts the
 * premise in as text and leaves the image out.
 */
export function taskPairs(task: EvalTask, items: AnnotatedImage[], opts: { fraction?: number; textOnly?: boolean; seed?: number; fit?: PrefixFit } = {}): TaskPair[] {
  checkTaskChoice(task, opts);
  const fraction = opts.fraction ?? 1;
  if (!items.length) throw new EvalInputError("taskPairs: no images");
  const keep = Math.max(1, Math.round(items.length * fraction));
  const chosen = fraction < 1 ? new Rng(opts.seed ?? 0).shuffle([...items]).slice(0, keep) : items;
  switch (task) {
    case "caption": return chosen.flatMap((it) => it.captions.map((c, j) => ({ id: `${it.id}#${j}`, image: it.image, prefix: "", target: c })));
    case "vqa": return chosen.flatMap((it) => it.vqa.map((q, j) => ({ id: `${it.id}#${j}`, image: it.image, prefix: q.question, target: majorityAnswer(q) })));
    case "entailment": return entailmentPairs(chosen, opts.textOnly ? "text" : "image", opts.fit);
  }
}

export interface FinetuneOptions extends LongRunOptions {
  steps: number;
  batchSize?: number;
  /** Peak learning rate (default 5e-4). */
  lr?: number;
  warmupSteps?: number;
  weightDecay?: number;
  clipNorm?: number;
  /** Seeds the pair order and the dropout masks (default 0). */
  seed?: number;
  onStep?: (row: { step: number; loss: number; lr: number; grad_norm: number }) => void;
}

export interface FinetuneResult { steps: number; rows: { step: number; loss: number; lr: number; grad_norm: number }[]; optimizer: AdamW }

/** Check finetuning's options (each error names its option), before any work is done. */
export function checkFinetuneOptions(opts: Partial<FinetuneOptions>): void {
  const check = (ok: boolean, option: string, message: string) => { if (!ok) throw new TrainConfigError(message, { option }); };
  const isInt = (v: number | undefined, min: number) => v === undefined || (Number.isInteger(v) && v >= min);
  check(opts.steps !== undefined && isInt(opts.steps, 1), "steps", `steps must be an integer ≥ 1, got ${opts.steps}`);
  check(isInt(opts.batchSize, 1), "batchSize", `batchSize must be an integer ≥ 1, got ${opts.batchSize}`);
  check(opts.lr === undefined || opts.lr > 0, "lr", `lr must be > 0, got ${opts.lr}`);
  check(isInt(opts.warmupSteps, 0), "warmupSteps", `warmupSteps must be an integer ≥ 0, got ${opts.warmupSteps}`);
  check(isInt(opts.seed, 0), "seed", `seed must be an integer ≥ 0, got ${opts.seed}`);
}

/**
 * Continue training `model` in place on `pairs`. Returns the log and the optimizer (the caller
 * saves or disposes it). On interrupt the weights keep the steps done and AbortedError is thrown.
 */
export async function finetuneModel(model: SimVLM, tokenizer: SimTokenizer, pairs: TaskPair[], opts: FinetuneOptions): Promise<FinetuneResult> {
  checkFinetuneOptions(opts);
  const bs = opts.batchSize ?? 16;
  if (!pairs.length) throw new TrainConfigError("finetune: no training pairs");
  const schedule: LrSchedule = { peakLr: opts.lr ?? 5e-4, totalSteps: opts.steps, warmupSteps: opts.warmupSteps ?? Math.max(1, Math.round(0.05 * opts.steps)), decay: "linear" };
  const optimizer = new AdamW(model.weights(), { weightDecay: opts.weightDecay ?? 0.01, clipNorm: opts.clipNorm ?? 1 });
  const rng = new Rng(opts.seed ?? 0), order = rng.fork(), dropout = rng.fork();
  const signal = runSignal(opts);
  const progress = startProgress("finetune", opts.steps, opts);
  const rows: FinetuneResult["rows"] = [];
  let queue: TaskPair[] = [];
  try {
    for (let step = 1; step <= opts.steps; step++) {
      if (signal?.aborted) throw new AbortedError(`finetune interrupted at step ${step - 1}`);
      const exs: TaskPair[] = [];
      while (exs.length < bs) { if (!queue.length) queue = order.shuffle([...pairs]); exs.push(queue.pop()!); }
      const batch = pairBatch(exs, tokenizer, model.config);
      const lr = learningRate(schedule, step);
      let r;
      try { r = await trainStepAsync(model, optimizer, batch, { lr, dropoutSeed: dropout.nextUint32() }); } finally { disposeBatch(batch); }
      const row = { step, loss: r.loss, lr, grad_norm: r.gradNorm };
      rows.push(row);
      opts.onStep?.(row);
      progress.update({ step, total: opts.steps, message: `loss ${r.loss.toFixed(4)}`, metrics: { loss: r.loss } });
    }
  } catch (e) { optimizer.dispose(); progress.done("stopped"); throw e; }
  progress.done(`step ${opts.steps}`);
  return { steps: opts.steps, rows, optimizer };
}

export interface FinetuneCheckpointOptions extends Omit<FinetuneOptions, "steps"> {
  ckpt: string;
  out: string;
  task: EvalTask;
  textOnly?: boolean;
  fraction?: number;
  steps?: number;
  /** Training images read from the built-in world's train split (default 200). */
  images?: number;
  /** World seed (default: the checkpoint's seed, i.e. the world it was pretrained on). */
  worldSeed?: number;
}

export interface FinetuneSummary {
  task: EvalTask; textOnly: boolean; fraction: number; ckpt: string; out: string;
  steps: number; pairs: number; images: number; baseStep: number;
  firstLoss: number; lastLoss: number; meanLastLoss: number; seconds: number;
}

/** Load `ckpt`, finetune on the built-in world's train split, save a checkpoint in `out`. */
export async function finetuneCheckpoint(opts: FinetuneCheckpointOptions): Promise<FinetuneSummary> {
  const t0 = performance.now();
  const steps = opts.steps ?? 100, nImages = opts.images ?? 200;
  checkTaskChoice(opts.task, opts);
  checkFinetuneOptions({ ...opts, steps });
  const check = (ok: boolean, option: string, message: string) => { if (!ok) throw new TrainConfigError(message, { option }); };
  check(Number.isInteger(nImages) && nImages >= 1, "images", `images must be an integer ≥ 1, got ${opts.images}`);
  check(opts.worldSeed === undefined || (Number.isInteger(opts.worldSeed) && opts.worldSeed >= 0), "worldSeed", `worldSeed must be an integer ≥ 0, got ${opts.worldSeed}`);
  check(path.resolve(opts.out) !== path.resolve(opts.ckpt), "out", `out ${opts.out} is the input checkpoint: write the finetuned model elsewhere`);
  if (hasCheckpoint(opts.out)) throw new TrainConfigError(`${opts.out} already holds a checkpoint (step ${readCheckpointMeta(opts.out).step}): choose another output directory`);
  await initBackend();
  const { model, tokenizer, config, meta } = await loadModel(opts.ckpt);
  try {
    const worldSeed = opts.worldSeed ?? meta.seed ?? 0;
    const items = makeWorld({ seed: worldSeed, split: "train", n: nImages, size: config.imageSize });
    const pairs = taskPairs(opts.task, items, { fraction: opts.fraction, textOnly: opts.textOnly, seed: opts.seed, fit: { tokenizer, maxTextLen: config.maxTextLen } });
    const r = await finetuneModel(model, tokenizer, pairs, { ...opts, steps });
    // A finetuned checkpoint records where it came from; it carries no `train` state, so pretrain
    // will not try to resume it as a pretraining run.
    const ckMeta = {
      step: meta.step + steps, seed: meta.seed, codeVersion: trainCodeVersion(),
      finetune: { from: path.resolve(opts.ckpt), fromStep: meta.step, task: opts.task, textOnly: !!opts.textOnly, fraction: opts.fraction ?? 1, steps, pairs: pairs.length, worldSeed },
    };
    try {
      saveCheckpoint(opts.out, {
        config: config as unknown as Record<string, unknown>, tokenizerJson: tokenizer.toJSON(),
        weights: weightsToArrays(model.weights()), optimizer: r.optimizer.exportState(), meta: ckMeta,
      });
    } finally { r.optimizer.dispose(); }
    const last = r.rows.slice(-Math.min(10, r.rows.length));
    return {
      task: opts.task, textOnly: !!opts.textOnly, fraction: opts.fraction ?? 1, ckpt: opts.ckpt, out: opts.out,
      steps, pairs: pairs.length, images: new Set(pairs.map((p) => p.id.split("#")[0])).size, baseStep: meta.step,
      firstLoss: r.rows[0]!.loss, lastLoss: r.rows.at(-1)!.loss, meanLastLoss: last.reduce((a, x) => a + x.loss, 0) / last.length,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally { model.dispose(); }
}
