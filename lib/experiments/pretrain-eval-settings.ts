/**
 * The params of the "pretrainEval" run (pretrain-eval.ts), validated with their defaults: shared by
 * the run and by the grid's preparation (protocol-grid.ts), so a bad param fails before any work and
 * the tokenizer and baselines are made for exactly the records the runs use.
 */
import type { AnnotatedImage } from "../data/types.ts";
import { makeWorld, WORLD_DATA_SEED } from "../data/world/index.ts";
import { resolveConfig, type ModelConfig } from "../model/configs.ts";
import {
  TRAIN_OBJECTIVES,
  resolvePrefix,
  type PrefixOptions,
  type TrainObjective,
} from "../train/objectives.ts";
import { FINETUNE_DEFAULTS, PRETRAIN_DEFAULTS } from "../train/defaults.ts";
import { DECAY_KINDS, type DecayKind } from "../train/optimizer.ts";
import { EvalInputError } from "../eval/metrics/errors.ts";
import { PROTOCOL_METRICS } from "../eval/protocol.ts";

export interface PretrainEvalParams {
  /** Preset name or overrides ({ base: "tiny", dModel: 48, … }). Default "tiny". */
  config?: string | (Partial<ModelConfig> & { base?: string });
  /** Pretraining updates; 0 = the from-scratch control (random init, no pretraining). Default 50. */
  steps?: number;
  batch?: number;
  lr?: number;
  /** The pretraining lr schedule after warmup: "linear" (default, the paper's), "cosine" or "constant". */
  decay?: DecayKind;
  objective?: TrainObjective;
  prefix?: PrefixOptions;
  /**
   * The random-T_p distribution the loss metrics (loss_rtp_*) average over, and the image-blind
   * n-gram LM's with them: one per grid, the same for every arm whatever its training prefix (issue
   * 14 item 1: losses at the same prefix lengths for every arm). Must be mode "random". Default
   * { mode: "random" } (kMax = ⌊n/2⌋ text tokens).
   */
  evalPrefix?: PrefixOptions;
  /** Mix text-only documents into pretraining (1 per 8 image-text pairs). Default true. */
  textOnly?: boolean;
  patchEmbed?: "conv" | "linear";
  /** The world (its splits and content). Default WORLD_DATA_SEED; never the run seed. */
  dataSeed?: number;
  /** Test images for captioning, VQA and entailment (default 32). */
  evalN?: number;
  /** Val images for the losses (default = evalN). */
  valN?: number;
  /** Largest T_p of the loss-vs-T_p curve (default 8). */
  maxK?: number;
  /** Most caption tokens generated (default 20). */
  captionMaxLen?: number;
  /** The fixed finetunes (the same for every arm): updates per task, peak lr, batch, train images. */
  finetuneSteps?: number;
  finetuneLr?: number;
  finetuneBatch?: number;
  finetuneImages?: number;
  /** The grid tokenizer's text: this many train records (see lib/eval/protocol.ts tokenizerTexts). */
  tokenizerImages?: number;
  /** Blind baselines (computed once per grid): train records they are fitted on, n-gram LM texts. */
  baselineTrainN?: number;
  ngramTexts?: number;
}

/** Every param with its default applied, validated (errors name the param). */
export interface PretrainEvalSettings {
  config: string | (Partial<ModelConfig> & { base?: string });
  modelConfig: ModelConfig;
  steps: number;
  batch: number;
  lr?: number;
  decay?: DecayKind;
  objective: TrainObjective;
  prefix?: PrefixOptions;
  evalPrefix: PrefixOptions;
  textOnly: boolean;
  dataSeed: number;
  evalN: number;
  valN: number;
  maxK: number;
  captionMaxLen: number;
  finetune: { steps: number; lr: number; batch: number; images: number };
  tokenizerImages: number;
  baselineTrainN: number;
  ngramTexts: number;
}

const KNOWN = new Set([
  "config",
  "steps",
  "batch",
  "lr",
  "decay",
  "objective",
  "prefix",
  "evalPrefix",
  "textOnly",
  "patchEmbed",
  "dataSeed",
  "evalN",
  "valN",
  "maxK",
  "captionMaxLen",
  "finetuneSteps",
  "finetuneLr",
  "finetuneBatch",
  "finetuneImages",
  "tokenizerImages",
  "baselineTrainN",
  "ngramTexts",
]);

const int = (v: unknown, name: string, dflt: number, min = 1): number => {
  const x = v === undefined ? dflt : v;
  if (typeof x !== "number" || !Number.isInteger(x) || x < min)
    throw new EvalInputError(
      `pretrainEval: param "${name}" must be an integer ≥ ${min}, got ${JSON.stringify(v)}`,
    );
  return x;
};
const positive = (v: unknown, name: string): number | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v))
    throw new EvalInputError(
      `pretrainEval: param "${name}" must be a number > 0, got ${JSON.stringify(v)}`,
    );
  return v;
};

/**
 * Refuses a T_p strategy param (`prefix`, `evalPrefix`) that is not an object of the `mode` asked for
 * (any mode when none is named) or that resolvePrefix refuses, naming the param.
 * @throws EvalInputError
 */
function prefixParam(name: string, value: unknown, shape: string, mode?: string): void {
  if (
    value === null ||
    typeof value !== "object" ||
    Array.isArray(value) ||
    (mode !== undefined && (value as { mode?: unknown }).mode !== mode)
  )
    throw new EvalInputError(
      `pretrainEval: param "${name}" must be ${shape}, got ${JSON.stringify(value)}`,
    );
  try {
    resolvePrefix(value as PrefixOptions);
  } catch (e) {
    throw new EvalInputError(`pretrainEval: param "${name}": ${(e as Error).message}`);
  }
}

/** Resolve the params into pretrain's config spec (the patch stage override applied). */
export function pretrainEvalConfig(
  p: PretrainEvalParams,
): string | (Partial<ModelConfig> & { base?: string }) {
  // `=== undefined`, not `??`: an explicit null is bad input to refuse, not a request for the default.
  const c = p.config === undefined ? PRETRAIN_DEFAULTS.config.value : p.config;
  if (p.patchEmbed !== undefined && p.patchEmbed !== "conv" && p.patchEmbed !== "linear")
    throw new EvalInputError(
      `pretrainEval: param "patchEmbed" must be "conv" or "linear", got ${JSON.stringify(p.patchEmbed)}`,
    );
  if (typeof c === "string") return p.patchEmbed ? { base: c, patchEmbed: p.patchEmbed } : c;
  if (c === null || typeof c !== "object" || Array.isArray(c))
    throw new EvalInputError(
      `pretrainEval: param "config" must be a preset name or an object of overrides, got ${JSON.stringify(c)}`,
    );
  return p.patchEmbed ? { ...c, patchEmbed: p.patchEmbed } : c;
}

/** Validate the params and apply the defaults (before any work: a grid fails at once, naming the param). */
export function pretrainEvalSettings(params: Record<string, unknown>): PretrainEvalSettings {
  if ("vqaFinetuneSteps" in params)
    throw new EvalInputError(
      `pretrainEval: param "vqaFinetuneSteps" was replaced by "finetuneSteps" (the same fixed finetune for captioning, VQA and entailment)`,
    );
  const unknown = Object.keys(params).filter((k) => !KNOWN.has(k));
  if (unknown.length)
    throw new EvalInputError(
      `pretrainEval: unknown param${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k}"`).join(", ")} (known: ${[...KNOWN].join(", ")})`,
    );
  const p = params as PretrainEvalParams;
  const objective = p.objective === undefined ? PRETRAIN_DEFAULTS.objective.value : p.objective;
  if (!TRAIN_OBJECTIVES.includes(objective))
    throw new EvalInputError(
      `pretrainEval: param "objective" must be one of ${TRAIN_OBJECTIVES.join(", ")}, got ${JSON.stringify(objective)}`,
    );
  if (p.textOnly !== undefined && typeof p.textOnly !== "boolean")
    throw new EvalInputError(
      `pretrainEval: param "textOnly" must be true or false, got ${JSON.stringify(p.textOnly)}`,
    );
  const config = pretrainEvalConfig(p);
  const evalPrefix = p.evalPrefix === undefined ? { mode: "random" as const } : p.evalPrefix;
  prefixParam(
    "evalPrefix",
    evalPrefix,
    'a random-T_p distribution ({ "mode": "random", "kMax"?: k })',
    "random",
  );
  if (p.prefix !== undefined)
    prefixParam(
      "prefix",
      p.prefix,
      'a T_p strategy object ({ "mode": "random" | "fixed" | "none", … })',
    );
  if (p.decay !== undefined && !DECAY_KINDS.includes(p.decay))
    throw new EvalInputError(
      `pretrainEval: param "decay" must be one of ${DECAY_KINDS.join(", ")}, got ${JSON.stringify(p.decay)}`,
    );
  const batch = int(p.batch, "batch", 8),
    evalN = int(p.evalN, "evalN", 32);
  return {
    config,
    modelConfig: resolveConfig(config),
    steps: int(p.steps, "steps", 50, 0),
    batch,
    lr: positive(p.lr, "lr"),
    ...(p.decay !== undefined ? { decay: p.decay } : {}),
    objective,
    ...(p.prefix !== undefined ? { prefix: p.prefix } : {}),
    evalPrefix,
    textOnly: p.textOnly ?? true,
    dataSeed: int(p.dataSeed, "dataSeed", WORLD_DATA_SEED, 0),
    evalN,
    valN: int(p.valN, "valN", evalN),
    maxK: int(p.maxK, "maxK", 8, 0),
    captionMaxLen: int(p.captionMaxLen, "captionMaxLen", 20),
    finetune: {
      steps: int(p.finetuneSteps, "finetuneSteps", 50),
      lr: positive(p.finetuneLr, "finetuneLr") ?? FINETUNE_DEFAULTS.lr.value,
      batch: int(p.finetuneBatch, "finetuneBatch", batch),
      images: int(p.finetuneImages, "finetuneImages", FINETUNE_DEFAULTS.images.value),
    },
    tokenizerImages: int(
      p.tokenizerImages,
      "tokenizerImages",
      PRETRAIN_DEFAULTS.tokenizerExamples.value,
    ),
    baselineTrainN: int(p.baselineTrainN, "baselineTrainN", 500),
    ngramTexts: int(p.ngramTexts, "ngramTexts", 2000),
  };
}

/** Why each metric has no meaning for an objective (the table prints n/a with this reason). */
export function notApplicable(objective: TrainObjective): Record<string, string> {
  if (objective !== "span") return {};
  const why =
    "span corruption's decoder only learns to restore sentinel-marked spans of a corrupted text, never to write a whole text or its continuation: an LM loss measures a task it never trained on";
  return Object.fromEntries(
    Object.keys(PROTOCOL_METRICS)
      .filter((m) => m.startsWith("loss_"))
      .map((m) => [m, why]),
  );
}

/** The records a grid's runs are scored on (for the baselines, which must see the same items). */
export function protocolRecords(
  s: PretrainEvalSettings,
  size = 8,
): { train: AnnotatedImage[]; val: AnnotatedImage[]; test: AnnotatedImage[] } {
  return {
    train: makeWorld({ dataSeed: s.dataSeed, split: "train", n: s.baselineTrainN, size }),
    val: makeWorld({ dataSeed: s.dataSeed, split: "val", n: s.valN, size }),
    test: makeWorld({ dataSeed: s.dataSeed, split: "test", n: s.evalN, size }),
  };
}
