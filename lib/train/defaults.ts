/**
 * Every training default, stated once with the reason for it. `pretrain`, `finetuneModel`, AdamW and
 * the span objective read their defaults from here; `simvlm pretrain --help` and `simvlm finetune
 * --help` print them; docs/train.md's "Defaults" tables list them (test/train/defaults.test.ts checks
 * that the tables match these values).
 *
 * The paper's settings (Wang et al. 2021, §4.1): AdamW with β1 0.9, β2 0.999 and weight decay 0.01;
 * the learning rate warms up over the first 2% of updates to its peak (5e-4 for Base) and then decays
 * linearly; batches hold 4,096 image-text pairs and 512 text-only documents.
 */
/** A default and why it is that value. */
export interface Default<T> {
  readonly value: T;
  readonly why: string;
}

// `const T` keeps literal values ("linear", { mode: "random" }) as their literal types.
const d = <const T>(value: T, why: string): Default<T> => ({ value, why });

/** AdamW's hyperparameters (pretraining and finetuning alike; also `new AdamW(params)`'s defaults). */
export const OPTIMIZER_DEFAULTS = {
  beta1: d(0.9, "the paper's AdamW β1"),
  beta2: d(0.999, "the paper's AdamW β2"),
  eps: d(1e-8, "Adam's ε (Kingma & Ba; PyTorch's default)"),
  weightDecay: d(0.01, "the paper's decoupled weight decay"),
  clipNorm: d(
    1.0,
    "global-norm clipping at 1 keeps the first updates of a fresh model stable; 0 turns it off",
  ),
} as const;

export const PRETRAIN_DEFAULTS = {
  config: d(
    "tiny",
    "trains in seconds on a CPU: for tests and first runs (the notebooks use small)",
  ),
  data: d("shapes", "the built-in seeded world: no download"),
  seed: d(0, "any fixed value: the seed fixes init, data order, prefix lengths and dropout"),
  batchSize: d(
    16,
    "small enough for a CPU step of tiny or small; the paper's 4,096 needs a TPU pod",
  ),
  lr: d(1e-3, "peak rate for our narrow models (tiny, small); the paper's Base uses 5e-4"),
  warmupFraction: d(
    0.02,
    "the paper warms up over the first 2% of the updates (at least 1 update)",
  ),
  decay: d("linear", "the paper decays linearly after warmup"),
  minLrRatio: d(0, "decay towards 0 at the last update, as the paper"),
  objective: d("prefixlm", "SimVLM's single pretraining objective"),
  prefix: d({ mode: "random" }, "the paper draws the prefix length T_p at random for each example"),
  textOnlyEvery: d(8, "the paper's batch mix: 4,096 image-text pairs to 512 text-only documents"),
  spanDensity: d(
    0.15,
    "T5's span corruption corrupts 15% of the tokens (Raffel et al. 2020, §3.3.4)",
  ),
  spanMeanLength: d(3, "T5's mean span length (Raffel et al. 2020, §3.3.4)"),
  tokenizerExamples: d(2000, "enough text to see every word of the built-in world's captions"),
  saveEvery: d(0, "save only at the end, at until and on interrupt; 0 = no periodic saves"),
} as const;

export const FINETUNE_DEFAULTS = {
  steps: d(100, "a short run that a CPU finishes in minutes; raise it for real results"),
  images: d(200, "a few hundred train-split images: varied scenes, quick to generate"),
  batchSize: d(16, "as pretraining"),
  lr: d(5e-4, "half of pretraining's peak: the weights are already trained"),
  warmupFraction: d(0.05, "short runs (~100 updates) still warm up over a few updates"),
  decay: d("linear", "as pretraining"),
  seed: d(0, "any fixed value: the seed fixes the pair order and dropout"),
} as const;

/** A fraction as a percentage for help texts: 0.05 → "5%". */
export function percent(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}

/** Default warmup of a run of `steps` updates: the fraction of them, rounded, at least 1. */
export function defaultWarmup(steps: number, fraction: number): number {
  return Math.max(1, Math.round(fraction * steps));
}
