/**
 * evalCheckpoint: one task on one split of the built-in world for a checkpoint directory (or an
 * already loaded model) — what `simvlm eval` prints — under the evaluation protocol: the world of
 * the data seed (the checkpoint's, else WORLD_DATA_SEED; never its run seed), the SHA-256 of the
 * records evaluated (`splitHash`), the grounded metric next to BLEU/CIDEr-D for captioning, and the
 * task's blind baselines scored on the same records (`baselines`).
 */
import { initBackend } from "../../backend/index.ts";
import {
  makeWorld,
  recordsHash,
  WORLD_DATA_SEED,
  type WorldSplit,
} from "../../data/world/index.ts";
import type { AnnotatedImage } from "../../data/types.ts";
import type { SimVLM } from "../../model/simvlm.ts";
import type { SimTokenizer } from "../../tokenizer/tokenizer.ts";
import { loadModel } from "../../train/model-io.ts";
import type { LongRunOptions } from "../../runtime.ts";
import { EvalInputError } from "../metrics/errors.ts";
import { evalCaptioning, evalVqa, type CaptionEval, type VqaEval } from "./generation.ts";
import { evalEntailment, type EntailmentEval } from "./entailment.ts";
import { EVAL_TASKS, type EvalTask } from "./task-pairs.ts";
import { groundedOfCaptions } from "../protocol.ts";
import type { GroundedScores } from "../metrics/grounded.ts";
import {
  bestConstantCaption,
  mostFrequentCaption,
  type ConstantCaptionScores,
} from "../baselines/caption.ts";
import { fitVqaPrior, evalVqaPrior } from "../baselines/vqa.ts";
import {
  majorityEntailment,
  fitHypothesisOnly,
  evalHypothesisOnly,
} from "../baselines/entailment.ts";

export interface EvalCheckpointOptions extends LongRunOptions {
  /** A checkpoint directory, or a loaded model + tokenizer (with the world seed to use). */
  ckpt?: string;
  model?: SimVLM;
  tokenizer?: SimTokenizer;
  task: EvalTask;
  split?: WorldSplit;
  /** Images evaluated (default 50). */
  n?: number;
  prompt?: string;
  beam?: number;
  maxLen?: number;
  /** Entailment: the premise as the image (default) or as text. */
  premise?: "image" | "text";
  /** Only scenes with (true) / without (false) a held-out colour+shape pair. */
  heldOut?: boolean;
  /** The world's data seed (default: the one the checkpoint's training data used, else WORLD_DATA_SEED). */
  dataSeed?: number;
  /** @deprecated The old name of `dataSeed` (same meaning). */
  worldSeed?: number;
  samples?: number;
  /** Score the task's blind baselines on the same records (default true). */
  baselines?: boolean;
  /** Train records the baselines are fitted on (default 500). */
  baselineTrain?: number;
}

/** The grounded metric of generated captions, without the per-item map. */
export type GroundedSummary = Omit<GroundedScores, "perItem">;

/** A blind baseline scored on the evaluated records, with the task's metric names. */
export interface CheckpointBaseline {
  name: string;
  metrics: Record<string, number | null>;
  info?: Record<string, unknown>;
}

export type CheckpointEval = (CaptionEval | VqaEval | EntailmentEval) & {
  split: WorldSplit;
  images: number;
  ckpt?: string;
  step?: number;
  /** The world evaluated on, and the SHA-256 of the evaluated records (ids, annotations, pixels). */
  dataSeed: number;
  splitHash: string;
  /** @deprecated = dataSeed. */
  worldSeed: number;
  heldOut?: boolean;
  /** Captioning: objects named in the captions against each scene (P/R/F1, count accuracy). */
  grounded?: GroundedSummary;
  groundedPerItem?: Record<string, number>;
  baselines?: CheckpointBaseline[];
};

/**
 * The data seed of the world a checkpoint was trained on: a pretraining checkpoint's data spec
 * `dataSeed` (built-in world), a finetuned checkpoint's `finetune.dataSeed`, else WORLD_DATA_SEED —
 * never the checkpoint's run `seed`, which only ordered the data, drew the init and the dropout.
 */
export function checkpointDataSeed(meta: { train?: unknown; finetune?: unknown }): number {
  const data = (meta.train as { data?: { source?: unknown; dataSeed?: unknown } } | undefined)
    ?.data;
  if (data?.source === "shapes" && Number.isInteger(data.dataSeed)) return data.dataSeed as number;
  const ft = meta.finetune as { dataSeed?: unknown; worldSeed?: unknown } | undefined;
  const d = ft?.dataSeed ?? ft?.worldSeed;
  return Number.isInteger(d) ? (d as number) : WORLD_DATA_SEED;
}

export async function evalCheckpoint(opts: EvalCheckpointOptions): Promise<CheckpointEval> {
  const check = (ok: boolean, option: string, message: string) => {
    if (!ok) throw new EvalInputError(message, { option });
  };
  const isInt = (v: number | undefined, min: number) =>
    v === undefined || (Number.isInteger(v) && v >= min);
  check(
    EVAL_TASKS.includes(opts.task),
    "task",
    `task must be one of ${EVAL_TASKS.join(", ")}, got ${JSON.stringify(opts.task)}`,
  );
  const split = opts.split ?? "test";
  check(
    ["train", "val", "test"].includes(split),
    "split",
    `split must be train, val or test, got ${JSON.stringify(split)}`,
  );
  const n = opts.n ?? 50;
  check(isInt(n, 1), "n", `n must be an integer ≥ 1, got ${opts.n}`);
  check(
    !opts.premise || ["image", "text"].includes(opts.premise),
    "premise",
    `premise must be image or text, got ${JSON.stringify(opts.premise)}`,
  );
  check(
    !opts.premise || opts.task === "entailment",
    "premise",
    `premise applies to the entailment task, not ${opts.task}`,
  );
  check(
    opts.prompt === undefined || opts.task === "caption",
    "prompt",
    `prompt (a decoder prompt) applies to the caption task, not ${opts.task}`,
  );
  check(
    isInt(opts.dataSeed, 0),
    "dataSeed",
    `dataSeed must be an integer ≥ 0, got ${opts.dataSeed}`,
  );
  check(
    isInt(opts.worldSeed, 0),
    "worldSeed",
    `worldSeed must be an integer ≥ 0, got ${opts.worldSeed}`,
  );
  check(
    opts.dataSeed === undefined || opts.worldSeed === undefined || opts.dataSeed === opts.worldSeed,
    "dataSeed",
    `dataSeed (${opts.dataSeed}) and its deprecated alias worldSeed (${opts.worldSeed}) differ; give one`,
  );
  check(isInt(opts.samples, 0), "samples", `samples must be an integer ≥ 0, got ${opts.samples}`);
  check(
    isInt(opts.baselineTrain, 1),
    "baselineTrain",
    `baselineTrain must be an integer ≥ 1, got ${opts.baselineTrain}`,
  );
  await initBackend();
  let owned = false,
    model = opts.model,
    tokenizer = opts.tokenizer,
    step: number | undefined,
    seed = opts.dataSeed ?? opts.worldSeed;
  if (!model || !tokenizer) {
    if (!opts.ckpt)
      throw new EvalInputError(
        "evalCheckpoint needs a checkpoint directory (ckpt) or a model and tokenizer",
      );
    const l = await loadModel(opts.ckpt);
    model = l.model;
    tokenizer = l.tokenizer;
    step = l.meta.step;
    owned = true;
    seed ??= checkpointDataSeed(l.meta);
  }
  try {
    const worldSeed = seed ?? WORLD_DATA_SEED;
    // Scan enough records to find n of the wanted kind when filtering by heldOut.
    let items = makeWorld({
      dataSeed: worldSeed,
      split,
      n: opts.heldOut === undefined ? n : n * 8,
      size: model.config.imageSize,
    });
    if (opts.heldOut !== undefined) {
      if (opts.heldOut && split === "train")
        throw new EvalInputError(
          "the train split has no held-out colour+shape pairs; use val or test",
        );
      items = items.filter((it) => !!it.heldOut === opts.heldOut).slice(0, n);
    }
    const common = {
      signal: opts.signal,
      onProgress: opts.onProgress,
      progress: opts.progress,
      samples: opts.samples,
      beam: opts.beam,
      maxLen: opts.maxLen,
    };
    const r =
      opts.task === "caption"
        ? await evalCaptioning(model, tokenizer, items, { ...common, prompt: opts.prompt })
        : opts.task === "vqa"
          ? await evalVqa(model, tokenizer, items, { ...common, maxLen: opts.maxLen ?? 6 })
          : await evalEntailment(model, tokenizer, items, {
              ...common,
              premise: opts.premise ?? "image",
            });
    let grounded: Pick<CheckpointEval, "grounded" | "groundedPerItem"> = {};
    if (r.task === "caption") {
      const { perItem, ...g } = groundedOfCaptions(r.captions, items);
      grounded = {
        grounded: g,
        groundedPerItem: Object.fromEntries(Object.entries(perItem).map(([id, x]) => [id, x.f1])),
      };
    }
    const baselines =
      opts.baselines === false
        ? {}
        : {
            baselines: taskBaselines(opts.task, items, worldSeed, split, opts.baselineTrain ?? 500),
          };
    return {
      ...r,
      ...grounded,
      split,
      images: items.length,
      dataSeed: worldSeed,
      splitHash: recordsHash(items),
      worldSeed,
      ...baselines,
      ...(opts.ckpt ? { ckpt: opts.ckpt } : {}),
      ...(step !== undefined ? { step } : {}),
      ...(opts.heldOut !== undefined ? { heldOut: opts.heldOut } : {}),
    };
  } finally {
    if (owned) model.dispose();
  }
}

const captionBaseline = (
  name: string,
  s: ConstantCaptionScores,
  info: Record<string, unknown>,
): CheckpointBaseline => ({
  name,
  info: { caption: s.caption, ...info },
  metrics: {
    bleu4: s.bleu4,
    cider: s.cider,
    object_precision: s.grounded.precision,
    object_recall: s.grounded.recall,
    object_f1: s.grounded.f1,
    count_accuracy: s.grounded.countAccuracy,
  },
});

/**
 * The task's blind baselines on the evaluated records, fitted on the first `trainN` train records
 * of the same world: captioning — the best constant caption (chosen on val records that are not
 * evaluated) and the most frequent train caption; VQA — the question-type prior; entailment — the
 * majority label and the hypothesis-only classifier (both ignore the premise, text or image).
 */
function taskBaselines(
  task: EvalTask,
  items: AnnotatedImage[],
  dataSeed: number,
  split: WorldSplit,
  trainN: number,
): CheckpointBaseline[] {
  const train = makeWorld({ dataSeed, split: "train", n: trainN, size: 8 });
  if (task === "caption") {
    // Choose the constant caption on val records other than the evaluated ones.
    const lastIndex = Math.max(-1, ...items.map((it) => Number(it.id.split("-").pop())));
    const val = makeWorld({
      dataSeed,
      split: "val",
      n: 100,
      size: 8,
      ...(split === "val" ? { start: lastIndex + 1 } : {}),
    });
    const best = bestConstantCaption(train, val, items);
    const freq = mostFrequentCaption(train, items);
    return [
      captionBaseline("best constant caption", best.test, {
        chosenOn: `${val.length} val records`,
        valCider: best.valCider,
      }),
      captionBaseline("most frequent train caption", freq, { count: freq.count }),
    ];
  }
  if (task === "vqa") {
    const p = evalVqaPrior(fitVqaPrior(train), items);
    return [
      {
        name: "question-type prior",
        metrics: {
          accuracy: p.accuracy,
          ...Object.fromEntries(Object.entries(p.perKind).map(([k, v]) => [`accuracy_${k}`, v])),
        },
      },
    ];
  }
  const maj = majorityEntailment(train, items);
  return [
    { name: "majority label", metrics: { accuracy: maj.accuracy }, info: { label: maj.label } },
    {
      name: "hypothesis-only",
      metrics: { accuracy: evalHypothesisOnly(fitHypothesisOnly(train), items).accuracy },
    },
  ];
}
