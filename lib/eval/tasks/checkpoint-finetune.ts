/**
 * finetuneCheckpoint: load a checkpoint, finetune it (lib/train's finetuneModel) on a task of the
 * built-in world's train split, and save a checkpoint in the same format — what `simvlm finetune`
 * does. An interrupt stops at a step boundary and saves the steps done (`stopped: "aborted"`).
 */
import path from "node:path";
import { initBackend } from "../../backend/index.ts";
import { makeWorld } from "../../data/world/index.ts";
import { saveCheckpoint, hasCheckpoint, readCheckpointMeta } from "../../train/checkpoint.ts";
import { loadModel, weightsToArrays, trainCodeVersion } from "../../train/model-io.ts";
import { finetuneModel, checkFinetuneOptions, type FinetuneOptions } from "../../train/finetune.ts";
import { FINETUNE_DEFAULTS as D } from "../../train/defaults.ts";
import type { StopReason } from "../../train/loop.ts";
import { AbortedError } from "../../runtime.ts";
import { EvalInputError } from "../metrics/errors.ts";
import { checkpointDataSeed } from "./checkpoint-eval.ts";
import { taskPairs, checkTaskChoice, type EvalTask } from "./task-pairs.ts";
import { entailmentFit } from "./entailment.ts";

export interface FinetuneCheckpointOptions extends Omit<FinetuneOptions, "steps"> {
  ckpt: string;
  out: string;
  task: EvalTask;
  textOnly?: boolean;
  fraction?: number;
  steps?: number;
  /** Training images read from the built-in world's train split. */
  images?: number;
  /** The world's data seed (default: the one the checkpoint was trained on, else WORLD_DATA_SEED; never its run seed). */
  dataSeed?: number;
  /** @deprecated The old name of `dataSeed` (same meaning). */
  worldSeed?: number;
}

export interface FinetuneSummary {
  task: EvalTask;
  textOnly: boolean;
  fraction: number;
  ckpt: string;
  out: string;
  /** Updates done (fewer than asked when interrupted). */
  steps: number;
  stopped: StopReason;
  pairs: number;
  images: number;
  baseStep: number;
  firstLoss: number;
  lastLoss: number;
  meanLastLoss: number;
  seconds: number;
  /** The world trained on (its train split's first `images` records). */
  dataSeed: number;
}

export async function finetuneCheckpoint(
  opts: FinetuneCheckpointOptions,
): Promise<FinetuneSummary> {
  const t0 = performance.now();
  const steps = opts.steps ?? D.steps.value,
    nImages = opts.images ?? D.images.value;
  checkTaskChoice(opts.task, opts);
  checkFinetuneOptions({ ...opts, steps });
  const check = (ok: boolean, option: string, message: string) => {
    if (!ok) throw new EvalInputError(message, { option });
  };
  check(
    Number.isInteger(nImages) && nImages >= 1,
    "images",
    `images must be an integer ≥ 1, got ${opts.images}`,
  );
  for (const k of ["dataSeed", "worldSeed"] as const)
    check(
      opts[k] === undefined || (Number.isInteger(opts[k]) && opts[k]! >= 0),
      k,
      `${k} must be an integer ≥ 0, got ${opts[k]}`,
    );
  check(
    opts.dataSeed === undefined || opts.worldSeed === undefined || opts.dataSeed === opts.worldSeed,
    "dataSeed",
    `dataSeed (${opts.dataSeed}) and its deprecated alias worldSeed (${opts.worldSeed}) differ; give one`,
  );
  check(
    path.resolve(opts.out) !== path.resolve(opts.ckpt),
    "out",
    `out ${opts.out} is the input checkpoint: write the finetuned model elsewhere`,
  );
  if (hasCheckpoint(opts.out))
    throw new EvalInputError(
      `${opts.out} already holds a checkpoint (step ${readCheckpointMeta(opts.out).step}): choose another output directory`,
    );
  await initBackend();
  const { model, tokenizer, config, meta } = await loadModel(opts.ckpt);
  try {
    const dataSeed = opts.dataSeed ?? opts.worldSeed ?? checkpointDataSeed(meta);
    const items = makeWorld({ dataSeed, split: "train", n: nImages, size: config.imageSize });
    const pairs = taskPairs(opts.task, items, {
      fraction: opts.fraction,
      textOnly: opts.textOnly,
      seed: opts.seed,
      fit: entailmentFit(config, tokenizer),
    });
    const r = await finetuneModel(model, tokenizer, pairs, { ...opts, steps });
    try {
      if (r.steps === 0)
        throw new AbortedError("finetune interrupted before its first step: nothing saved");
      // A finetuned checkpoint records where it came from; it carries no `train` state, so pretrain
      // will not try to resume it as a pretraining run.
      const ckMeta = {
        step: meta.step + r.steps,
        seed: meta.seed,
        codeVersion: trainCodeVersion(),
        finetune: {
          from: path.resolve(opts.ckpt),
          fromStep: meta.step,
          task: opts.task,
          textOnly: !!opts.textOnly,
          fraction: opts.fraction ?? 1,
          steps: r.steps,
          pairs: pairs.length,
          dataSeed,
          worldSeed: dataSeed,
        },
      };
      saveCheckpoint(opts.out, {
        config: config as unknown as Record<string, unknown>,
        tokenizerJson: tokenizer.toJSON(),
        weights: weightsToArrays(model.weights()),
        optimizer: r.optimizer.exportState(),
        meta: ckMeta,
      });
    } finally {
      r.optimizer.dispose();
    }
    const last = r.rows.slice(-Math.min(10, r.rows.length));
    return {
      task: opts.task,
      textOnly: !!opts.textOnly,
      fraction: opts.fraction ?? 1,
      ckpt: opts.ckpt,
      out: opts.out,
      steps: r.steps,
      stopped: r.stopped,
      pairs: pairs.length,
      images: new Set(pairs.map((p) => p.id.split("#")[0])).size,
      baseStep: meta.step,
      firstLoss: r.rows[0]!.loss,
      lastLoss: r.rows.at(-1)!.loss,
      meanLastLoss: last.reduce((a, x) => a + x.loss, 0) / last.length,
      seconds: (performance.now() - t0) / 1000,
      dataSeed,
    };
  } finally {
    model.dispose();
  }
}
