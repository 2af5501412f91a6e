/**
 * makeBatch: examples → the model's input tensors, the targets and the loss mask, plus a plain
 * description of what was built (per-example lengths, prefix lengths k, spans) for tests and the
 * visualizers (e.g. loss against T_p).
 *
 * Mixed batches: examples with an image are image-text pairs, those without are text-only documents
 * (hasImage = 0, a blank placeholder image whose patches the model masks). The mix ratio is the
 * stream's (DataSpec.textOnlyEvery; the paper's 4,096 : 512 is textOnlyEvery = 8).
 * Padding: every row is padded with id 0 to the longest row of the batch; the loss mask is 1 exactly
 * on real target positions.
 */
import { tf } from "../backend/index.ts";
import type { Example } from "../data/types.ts";
import { imagesToTensor, blankImage } from "../model/image.ts";
import type { ModelInputs } from "../model/types.ts";
import type { Rng } from "../util/rng.ts";
import {
  arrangeExample,
  validateSpanOptions,
  resolvePrefix,
  type Arranged,
  type PrefixOptions,
  type SpanOptions,
  type SpecialIds,
  type TrainObjective,
} from "./objectives.ts";
import { TrainConfigError } from "./errors.ts";

/** The specials of the tokenizer contract (SPECIAL_IDS: PAD=0, BOS=1, EOS=2, UNK=3). */
export const TRAIN_SPECIALS: SpecialIds = { pad: 0, bos: 1, eos: 2 };

/**
 * Span corruption's sentinels are the top rows of the model's embedding table (T5's convention:
 * sentinel 0 is the highest id). Pretraining trains the tokenizer with vocabSize − SPAN_SENTINELS
 * entries so these rows are never real tokens, whatever the objective (checkpoints stay comparable).
 */
export const SPAN_SENTINELS = 16;
export function spanSentinelIds(vocabSize: number, count = SPAN_SENTINELS): number[] {
  return Array.from({ length: count }, (_, i) => vocabSize - 1 - i);
}

/** What makeBatch needs of a tokenizer (SimTokenizer fits). */
export interface BatchTokenizer {
  encode(text: string): number[];
  readonly vocabSize?: number;
}
/** What makeBatch needs of a model config (ModelConfig fits). */
export interface BatchModelConfig {
  imageSize: number;
  maxTextLen: number;
  vocabSize: number;
}

export interface MakeBatchOptions {
  objective: TrainObjective;
  prefix?: PrefixOptions;
  span?: SpanOptions;
  rng: Rng;
}

export interface BatchExampleInfo {
  id: string;
  hasImage: boolean;
  /** Text tokens (after truncation). */
  textLen: number;
  /** prefixlm: T_p, text tokens in the encoder; lm: 0; span: corrupted tokens. */
  k: number;
  /** Text positions the encoder reads (excluding padding) and decoder positions (target length). */
  encLen: number;
  decLen: number;
  truncated: number;
  spans?: [number, number][];
  /** The token ids themselves, for tests and displays. */
  enc: number[];
  target: number[];
}

export interface BatchInfo {
  objective: TrainObjective;
  size: number;
  withImage: number;
  textOnly: number;
  /** Padded widths: encoder text positions Te, decoder positions Td. */
  encWidth: number;
  decWidth: number;
  /** Number of positions the loss averages over. */
  lossTokens: number;
  examples: BatchExampleInfo[];
}

export interface TrainBatch {
  inputs: ModelInputs;
  /** [B, Td] int32, 0 at padding. */
  targets: tf.Tensor2D;
  /** [B, Td] float32: 1 on target positions, 0 on padding. */
  lossMask: tf.Tensor2D;
  info: BatchInfo;
}

export function disposeBatch(b: TrainBatch): void {
  const ts: (tf.Tensor | null | undefined)[] = [
    b.inputs.images,
    b.inputs.hasImage,
    b.inputs.encIds,
    b.inputs.decIn,
    b.targets,
    b.lossMask,
  ];
  for (const t of ts) t?.dispose();
}

function padRows(rows: number[][], width: number): Int32Array {
  const out = new Int32Array(rows.length * width); // zeros = PAD
  rows.forEach((r, i) => out.set(r, i * width));
  return out;
}

/** Build one training batch. Draws prefix lengths / spans from `opts.rng` in example order. */
export function makeBatch(
  examples: Example[],
  tokenizer: BatchTokenizer,
  config: BatchModelConfig,
  opts: MakeBatchOptions,
): TrainBatch {
  if (examples.length === 0) throw new TrainConfigError("makeBatch: no examples");
  if (opts.objective === "prefixlm") resolvePrefix(opts.prefix);
  let sentinels: number[] | undefined;
  if (opts.objective === "span") {
    validateSpanOptions(opts.span);
    sentinels = spanSentinelIds(config.vocabSize);
    const tv = tokenizer.vocabSize;
    if (tv !== undefined && tv > config.vocabSize - SPAN_SENTINELS) {
      throw new TrainConfigError(
        `objective "span" needs the top ${SPAN_SENTINELS} ids free for sentinels: the tokenizer has ${tv} tokens but config.vocabSize is ${config.vocabSize} (train the tokenizer with vocabSize ≤ ${config.vocabSize - SPAN_SENTINELS})`,
      );
    }
  }
  const arranged: Arranged[] = examples.map((ex) => {
    if (typeof ex.text !== "string")
      throw new TrainConfigError(`example ${JSON.stringify(ex.id)}: text must be a string`);
    const tokens = tokenizer.encode(ex.text);
    return arrangeExample(
      tokens,
      ex.image !== undefined,
      {
        objective: opts.objective,
        prefix: opts.prefix,
        span: opts.span,
        maxTextLen: config.maxTextLen,
        specials: TRAIN_SPECIALS,
        sentinels,
      },
      opts.rng,
    );
  });
  const B = examples.length;
  const anyImage = examples.some((e) => e.image !== undefined);
  // The model needs some encoder input: with no image in the batch, keep at least one (padding) text column.
  const Te = Math.max(anyImage ? 0 : 1, ...arranged.map((a) => a.enc.length));
  const Td = Math.max(...arranged.map((a) => a.target.length));
  const mask = new Float32Array(B * Td);
  arranged.forEach((a, i) => mask.fill(1, i * Td, i * Td + a.target.length));
  // Each tensor is made directly from host arrays (no intermediates to tidy).
  const inputs: ModelInputs = {
    // Text-only rows get a black placeholder (hasImage = 0 makes the model mask its patches).
    images: anyImage
      ? imagesToTensor(
          examples.map((e) => e.image ?? blankImage(config.imageSize)),
          config,
        )
      : null,
    hasImage: tf.tensor1d(
      examples.map((e) => (e.image ? 1 : 0)),
      "float32",
    ),
    encIds: tf.tensor2d(
      padRows(
        arranged.map((a) => a.enc),
        Te,
      ),
      [B, Te],
      "int32",
    ),
    decIn: tf.tensor2d(
      padRows(
        arranged.map((a) => a.decIn),
        Td,
      ),
      [B, Td],
      "int32",
    ),
  };
  const targets = tf.tensor2d(
    padRows(
      arranged.map((a) => a.target),
      Td,
    ),
    [B, Td],
    "int32",
  );
  const lossMask = tf.tensor2d(mask, [B, Td], "float32");
  const info: BatchInfo = {
    objective: opts.objective,
    size: B,
    withImage: examples.filter((e) => e.image).length,
    textOnly: examples.filter((e) => !e.image).length,
    encWidth: Te,
    decWidth: Td,
    lossTokens: arranged.reduce((s, a) => s + a.target.length, 0),
    examples: arranged.map((a, i) => ({
      id: examples[i]!.id,
      hasImage: examples[i]!.image !== undefined,
      textLen: a.textLen,
      k: a.k,
      encLen: a.enc.length,
      decLen: a.target.length,
      truncated: a.truncated,
      ...(a.spans ? { spans: a.spans } : {}),
      enc: a.enc,
      target: a.target,
    })),
  };
  return { inputs, targets, lossMask, info };
}
