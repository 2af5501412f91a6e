/**
 * Model configurations: plain JSON-serialisable objects (stored in every checkpoint as config.json
 * and hashed by the run cache). `resolveConfig` accepts a preset name, a path to a JSON file, or an
 * object, fills defaults, and rejects bad fields with one ConfigError that names them.
 */
import { readFileSync, existsSync } from "node:fs";
import { UserError } from "../errors.ts";

export interface ModelConfig {
  /** Preset name or a free label. */
  name: string;
  /** Embedding rows (≥ the tokenizer's vocabSize; rows beyond it are simply never used). */
  vocabSize: number;
  dModel: number;
  heads: number;
  encLayers: number;
  decLayers: number;
  /** Hidden width of the feed-forward block. */
  ffn: number;
  /** Square input images are resized to imageSize × imageSize. */
  imageSize: number;
  /** Pixels per patch side; the patch grid is (imageSize / patchSize)². For the conv stage it must be a power of two ≥ 2. */
  patchSize: number;
  /** "conv": ResNet-style conv stage (the paper); "linear": flattened patches × one matrix (the ablation). */
  patchEmbed: "conv" | "linear";
  /** Channels of the conv stage: [stem, block 1, block 2, …]; log2(patchSize) entries (stem and each block halve the resolution). */
  convChannels: number[];
  /** Longest text sequence on each side (encoder prefix, decoder input): the size of each 1-D position table. */
  maxTextLen: number;
  dropout: number;
  layerNormEps: number;
  /**
   * Where the decoder's positions start. "continue" (PrefixLM's one sequence split at T_p, arXiv
   * 2108.10904 §3.1): the first generated token sits at position T_p, the number of prefix text tokens
   * the encoder reads, so the decoder knows whether it starts the text or continues it. "restart":
   * every decoder input starts at position 0 — what checkpoints written before this field did (a
   * config without the field means "restart"). Measured on single-object captions with random T_p:
   * colour accuracy 0.28 after 800 steps with "restart", 0.997 with "continue" (issue 14 notes).
   */
  decoderPositions: "continue" | "restart";
}

/** A model config with a bad field (the message names the file and the fields). */
export class ConfigError extends UserError {}

export const MODEL_CONFIGS: Record<"tiny" | "small" | "base" | "reference", ModelConfig> = {
  /** Tests: a training step well under a second on wasm. 32 px / 8 → 4 × 4 patch grid. */
  tiny: {
    name: "tiny",
    vocabSize: 300,
    dModel: 32,
    heads: 2,
    encLayers: 2,
    decLayers: 2,
    ffn: 64,
    imageSize: 32,
    patchSize: 8,
    patchEmbed: "conv",
    convChannels: [8, 16, 32],
    maxTextLen: 24,
    dropout: 0.1,
    layerNormEps: 1e-5,
    decoderPositions: "continue",
  },
  /** Notebooks: useful in minutes on a laptop CPU. 64 px / 8 → 8 × 8 grid. */
  small: {
    name: "small",
    vocabSize: 1000,
    dModel: 128,
    heads: 4,
    encLayers: 3,
    decLayers: 3,
    ffn: 512,
    imageSize: 64,
    patchSize: 8,
    patchEmbed: "conv",
    convChannels: [32, 64, 128],
    maxTextLen: 32,
    dropout: 0.1,
    layerNormEps: 1e-5,
    decoderPositions: "continue",
  },
  /**
   * The paper's Base shape (ViT-Base-like width; 12 encoder + 12 decoder layers), 224 px with a
   * 16 × 16 patch → 14 × 14 grid. The paper's conv stage is the first three blocks of a ResNet; ours
   * is a stem plus three residual blocks of matching widths (64, 256, 512, 1024).
   */
  base: {
    name: "base",
    vocabSize: 32000,
    dModel: 768,
    heads: 12,
    encLayers: 12,
    decLayers: 12,
    ffn: 3072,
    imageSize: 224,
    patchSize: 16,
    patchEmbed: "conv",
    convChannels: [64, 256, 512, 1024],
    maxTextLen: 64,
    dropout: 0.1,
    layerNormEps: 1e-6,
    decoderPositions: "continue",
  },
  /** The issue 9 benchmark shape: d 256, 4 heads, 4 + 4 layers, FFN 1024, 128 px / 16 → 64 patches, 32 tokens, vocab 4000. */
  reference: {
    name: "reference",
    vocabSize: 4000,
    dModel: 256,
    heads: 4,
    encLayers: 4,
    decLayers: 4,
    ffn: 1024,
    imageSize: 128,
    patchSize: 16,
    patchEmbed: "linear",
    convChannels: [32, 64, 128, 256],
    maxTextLen: 32,
    dropout: 0.1,
    layerNormEps: 1e-5,
    decoderPositions: "continue",
  },
};

export type ModelConfigName = keyof typeof MODEL_CONFIGS;

/** The preset whose values fill the fields a config object or file leaves out (unless it names a `base`): the notebooks' model. */
const DEFAULT_BASE: ModelConfigName = "small";

/** Patch grid side: imageSize / patchSize. */
export function gridSide(config: ModelConfig): number {
  return config.imageSize / config.patchSize;
}

/** A preset name, a path to a JSON file (a whole config, or { "base": "tiny", …overrides }), or an object. */
export function resolveConfig(
  spec: string | (Partial<ModelConfig> & { base?: string }),
): ModelConfig {
  let raw: Record<string, unknown>;
  let where: string;
  if (typeof spec === "string") {
    if (spec in MODEL_CONFIGS)
      return {
        ...MODEL_CONFIGS[spec as ModelConfigName],
        convChannels: [...MODEL_CONFIGS[spec as ModelConfigName].convChannels],
      };
    if (!existsSync(spec)) {
      throw new ConfigError(
        `config "${spec}" is neither a preset (${Object.keys(MODEL_CONFIGS).join(", ")}) nor an existing JSON file`,
      );
    }
    try {
      raw = JSON.parse(readFileSync(spec, "utf8")) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(`config file ${spec}: not valid JSON (${(e as Error).message})`);
    }
    if (!raw || typeof raw !== "object" || Array.isArray(raw))
      throw new ConfigError(`config file ${spec}: must hold a JSON object`);
    where = `config file ${spec}`;
  } else {
    raw = { ...spec };
    where = "config";
  }
  // Without a base the label is "custom"; with one, the preset's name (either unless the config names itself).
  let baseCfg: ModelConfig = { ...MODEL_CONFIGS[DEFAULT_BASE], name: "custom" };
  if (raw.base !== undefined) {
    if (typeof raw.base !== "string" || !(raw.base in MODEL_CONFIGS)) {
      throw new ConfigError(
        `${where}: field "base" must be one of ${Object.keys(MODEL_CONFIGS).join(", ")}, got ${JSON.stringify(raw.base)}`,
      );
    }
    baseCfg = MODEL_CONFIGS[raw.base as ModelConfigName];
    delete raw.base;
  }
  const merged = { ...baseCfg, ...raw } as Record<string, unknown>;
  return validateConfig(merged, where);
}

/** Check every field; throws one ConfigError listing all problems. */
export function validateConfig(c: Record<string, unknown>, where = "config"): ModelConfig {
  const errs: string[] = [];
  // Configs written before decoderPositions existed decoded from position 0.
  if (!("decoderPositions" in c)) c = { ...c, decoderPositions: "restart" };
  if (c.decoderPositions !== "continue" && c.decoderPositions !== "restart")
    errs.push(
      `"decoderPositions" must be "continue" or "restart", got ${JSON.stringify(c.decoderPositions)}`,
    );
  const known = new Set(Object.keys(MODEL_CONFIGS[DEFAULT_BASE]));
  for (const k of Object.keys(c)) if (!known.has(k)) errs.push(`unknown field "${k}"`);
  const posInt = (k: string) => {
    const v = c[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0)
      errs.push(`"${k}" must be a positive integer, got ${JSON.stringify(v)}`);
  };
  for (const k of [
    "vocabSize",
    "dModel",
    "heads",
    "encLayers",
    "decLayers",
    "ffn",
    "imageSize",
    "patchSize",
    "maxTextLen",
  ])
    posInt(k);
  if (typeof c.name !== "string") errs.push(`"name" must be a string`);
  if (typeof c.vocabSize === "number" && c.vocabSize < 5)
    errs.push(`"vocabSize" must be at least 5 (4 specials + 1), got ${c.vocabSize}`);
  if (typeof c.dropout !== "number" || !(c.dropout >= 0 && c.dropout < 1))
    errs.push(`"dropout" must be in [0, 1), got ${JSON.stringify(c.dropout)}`);
  if (typeof c.layerNormEps !== "number" || !(c.layerNormEps > 0))
    errs.push(`"layerNormEps" must be > 0, got ${JSON.stringify(c.layerNormEps)}`);
  if (c.patchEmbed !== "conv" && c.patchEmbed !== "linear")
    errs.push(`"patchEmbed" must be "conv" or "linear", got ${JSON.stringify(c.patchEmbed)}`);
  const d = c.dModel as number,
    h = c.heads as number;
  if (Number.isInteger(d) && Number.isInteger(h) && h > 0 && d % h !== 0)
    errs.push(`"dModel" (${d}) must be divisible by "heads" (${h})`);
  const img = c.imageSize as number,
    p = c.patchSize as number;
  if (Number.isInteger(img) && Number.isInteger(p) && p > 0 && img % p !== 0)
    errs.push(`"imageSize" (${img}) must be a multiple of "patchSize" (${p})`);
  if (c.patchEmbed === "conv") {
    const levels = Math.log2(p);
    if (!Number.isInteger(levels) || levels < 1)
      errs.push(`"patchSize" must be a power of two ≥ 2 for patchEmbed "conv", got ${p}`);
    const ch = c.convChannels;
    if (!Array.isArray(ch) || !ch.every((x) => Number.isInteger(x) && x > 0))
      errs.push(`"convChannels" must be an array of positive integers`);
    else if (Number.isInteger(levels) && ch.length !== levels) {
      errs.push(
        `"convChannels" must have log2(patchSize) = ${levels} entries (stem + ${levels - 1} residual blocks), got ${ch.length}`,
      );
    }
  } else if (!Array.isArray(c.convChannels))
    errs.push(`"convChannels" must be an array (unused with patchEmbed "linear")`);
  if (errs.length) throw new ConfigError(`${where}: ${errs.join("; ")}`);
  return { ...(c as unknown as ModelConfig), convChannels: [...(c.convChannels as number[])] };
}
