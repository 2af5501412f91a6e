/**
 * The ablation run "pretrainEval" (a built-in run: runs.ts): pretrain on the built-in
 * world with one prefix strategy, then measure it — captioning BLEU-4 / CIDEr-D on the test split,
 * VQA accuracy (zero-shot, question as the prefix), the validation loss and the loss by T_p.
 *
 * With `vqaFinetuneSteps` > 0 the VQA number is measured after that many VQA finetuning steps
 * (the paper's ablations report finetuned VQA); the zero-shot number is kept in extra.
 *
 * The checkpoint lives in the run's own folder, so an interrupted grid resumes the run from its
 * last checkpoint. val_loss is the same quantity for every strategy — the loss of the whole alt-text
 * given only the image (T_p = 0) on the val split — so strategies with different objectives compare.
 */
import path from "node:path";
import type { Example } from "../data/types.ts";
import { makeWorld } from "../data/world/index.ts";
import type { ModelConfig } from "../model/configs.ts";
import { pretrain } from "../train/pretrain.ts";
import { hasCheckpoint } from "../train/checkpoint.ts";
import { TRAIN_OBJECTIVES, type PrefixOptions, type TrainObjective } from "../train/objectives.ts";
import { AbortedError, type Progress } from "../runtime.ts";
import { EvalInputError } from "../eval/metrics/errors.ts";
import { evalCaptioning, evalVqa } from "../eval/tasks/generation.ts";
import { validationLoss, lossByPrefixLength } from "../eval/tasks/loss.ts";
import { finetuneModel } from "../train/finetune.ts";
import { PRETRAIN_DEFAULTS } from "../train/defaults.ts";
import { taskPairs } from "../eval/tasks/task-pairs.ts";

export interface PretrainEvalParams {
  /** Preset name or overrides ({ base: "tiny", dModel: 48, … }). Default "tiny". */
  config?: string | (Partial<ModelConfig> & { base?: string });
  steps?: number;
  batch?: number;
  lr?: number;
  objective?: TrainObjective;
  prefix?: PrefixOptions;
  /** Mix text-only documents into pretraining (1 per 8 image-text pairs). Default true. */
  textOnly?: boolean;
  patchEmbed?: "conv" | "linear";
  /** Test images for captioning and VQA (default 32). */
  evalN?: number;
  /** Val images for the losses (default = evalN). */
  valN?: number;
  /** Largest T_p of the loss-by-T_p curve (default 6). */
  maxK?: number;
  /** Decoder prompt for the captioning evaluation (default none). */
  prompt?: string;
  /** Most caption tokens generated (default 20). */
  captionMaxLen?: number;
  /**
   * VQA finetuning steps before the VQA evaluation (default 0: zero-shot VQA, which a model
   * pretrained on alt-text alone cannot do — expect 0). The finetune uses the train split's
   * questions, batch `batch`, and leaves the saved checkpoint untouched.
   */
  vqaFinetuneSteps?: number;
}

export interface PretrainEvalInfo { seed: number; dir: string; signal?: AbortSignal; onProgress?: (p: Progress) => void }

const int = (v: unknown, name: string, dflt: number, min = 1): number => {
  const x = v === undefined ? dflt : v;
  if (typeof x !== "number" || !Number.isInteger(x) || x < min) throw new EvalInputError(`pretrainEval: param "${name}" must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return x;
};

/** Resolve the params into pretrain's config spec (the patch stage override applied). */
export function pretrainEvalConfig(p: PretrainEvalParams): string | (Partial<ModelConfig> & { base?: string }) {
  const c = p.config ?? PRETRAIN_DEFAULTS.config.value;
  if (p.patchEmbed !== undefined && p.patchEmbed !== "conv" && p.patchEmbed !== "linear") throw new EvalInputError(`pretrainEval: param "patchEmbed" must be "conv" or "linear", got ${JSON.stringify(p.patchEmbed)}`);
  if (typeof c === "string") return p.patchEmbed ? { base: c, patchEmbed: p.patchEmbed } : c;
  if (c === null || typeof c !== "object" || Array.isArray(c)) throw new EvalInputError(`pretrainEval: param "config" must be a preset name or an object of overrides, got ${JSON.stringify(c)}`);
  return p.patchEmbed ? { ...c, patchEmbed: p.patchEmbed } : c;
}

export async function pretrainEvalRun(params: Record<string, unknown>, info: PretrainEvalInfo): Promise<{ metrics: Record<string, number>; extra: Record<string, unknown> }> {
  const p = params as PretrainEvalParams;
  const steps = int(p.steps, "steps", 50), batch = int(p.batch, "batch", 8), evalN = int(p.evalN, "evalN", 32);
  const vqaSteps = int(p.vqaFinetuneSteps, "vqaFinetuneSteps", 0, 0);
  const valN = int(p.valN, "valN", evalN), maxK = int(p.maxK, "maxK", 6, 0), captionMaxLen = int(p.captionMaxLen, "captionMaxLen", 20);
  const objective = p.objective ?? PRETRAIN_DEFAULTS.objective.value;
  if (!TRAIN_OBJECTIVES.includes(objective)) throw new EvalInputError(`pretrainEval: param "objective" must be one of ${TRAIN_OBJECTIVES.join(", ")}, got ${JSON.stringify(objective)}`);
  const t0 = performance.now();
  const ckptDir = path.join(info.dir, "ckpt");
  const resumed = hasCheckpoint(ckptDir);
  const trained = await pretrain({
    config: pretrainEvalConfig(p), steps, batchSize: batch, ...(p.lr !== undefined ? { lr: p.lr } : {}), objective,
    ...(p.prefix ? { prefix: p.prefix } : {}), textOnlyEvery: p.textOnly === false ? 0 : PRETRAIN_DEFAULTS.textOnlyEvery.value,
    seed: info.seed, outDir: ckptDir, resume: resumed, saveEvery: Math.max(10, Math.ceil(steps / 4)),
    signal: info.signal, progress: false,
    onStep: (row) => info.onProgress?.({ step: row.step, total: steps, message: `pretrain loss ${row.loss.toFixed(4)}` }),
  });
  const { model, tokenizer, config } = trained;
  try {
    if (trained.stopped === "aborted") throw new AbortedError(`pretrainEval interrupted at step ${trained.step} (checkpoint in ${ckptDir})`);
    const tTrain = performance.now();
    info.onProgress?.({ step: steps, total: steps, message: "evaluating" });
    const test = makeWorld({ seed: info.seed, split: "test", n: evalN, size: config.imageSize });
    const val: Example[] = makeWorld({ seed: info.seed, split: "val", n: valN, size: config.imageSize }).map((r) => ({ id: r.id, image: r.image, text: r.altText }));
    const common = { signal: info.signal, progress: false as const };
    const cap = await evalCaptioning(model, tokenizer, test, { ...common, maxLen: captionMaxLen, prompt: p.prompt, samples: 3 });
    const vl = validationLoss(model, tokenizer, val, { objective: "prefixlm", prefix: { mode: "none" } }, common);
    const own = objective === "prefixlm" && (!p.prefix || p.prefix.mode === "none") ? vl
      : validationLoss(model, tokenizer, val, { objective, ...(p.prefix ? { prefix: p.prefix } : {}) }, common);
    const byTp = lossByPrefixLength(model, tokenizer, val, { ...common, maxK });
    const zeroShotVqa = await evalVqa(model, tokenizer, test, { ...common, maxLen: 4, samples: 3 });
    let vqa = zeroShotVqa;
    if (vqaSteps > 0) {
      // Last, because it changes the weights (in memory only: the checkpoint stays the pretrained one).
      const train = makeWorld({ seed: info.seed, split: "train", n: Math.max(64, evalN), size: config.imageSize });
      const ft = await finetuneModel(model, tokenizer, taskPairs("vqa", train), { steps: vqaSteps, batchSize: batch, lr: p.lr ?? PRETRAIN_DEFAULTS.lr.value, seed: info.seed, ...common });
      ft.optimizer.dispose();
      if (ft.stopped === "aborted") throw new AbortedError(`pretrainEval interrupted in VQA finetuning at step ${ft.steps}`);
      vqa = await evalVqa(model, tokenizer, test, { ...common, maxLen: 4, samples: 3 });
    }
    const tEval = performance.now();
    const trainLoss = trained.rows.length ? trained.rows.slice(-5).reduce((a, r) => a + r.loss, 0) / Math.min(5, trained.rows.length) : NaN;
    return {
      metrics: { cider: cap.metrics.cider, bleu4: cap.metrics.bleu4, vqa: vqa.metrics.accuracy, val_loss: vl.loss },
      extra: {
        vqa_zero_shot: zeroShotVqa.metrics.accuracy, vqa_finetune_steps: vqaSteps,
        val_accuracy: vl.accuracy, val_loss_objective: own.loss, train_loss: trainLoss, steps: trained.step, resumed,
        config: config.name, patchEmbed: config.patchEmbed, lossByTp: byTp, vqaByKind: vqa.metrics,
        captionSamples: cap.samples, vqaSamples: vqa.samples,
        seconds: { train: (tTrain - t0) / 1000, eval: (tEval - tTrain) / 1000 },
      },
    };
  } finally { model.dispose(); }
}
