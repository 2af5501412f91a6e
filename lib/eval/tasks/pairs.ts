/**
 * Task pairs: (image?, encoder text prefix, decoder target) triples — the shape every downstream
 * task has (captioning: image → caption; VQA: image + question → answer; entailment: premise +
 * hypothesis → label word). They become the same tensors as a training batch (lib/train's
 * TrainBatch), so finetuning reuses trainStep and scoring reuses the training loss.
 *
 * The prefix and the target are tokenised separately, exactly as `generate` tokenises a prefix, so
 * the scores of a pair and the generation for its prefix see the same encoder input.
 */
import { tf } from "../../backend/index.ts";
import type { RgbImage } from "../../data/types.ts";
import type { SimVLM } from "../../model/simvlm.ts";
import type { ModelConfig } from "../../model/configs.ts";
import type { SimTokenizer } from "../../tokenizer/tokenizer.ts";
import { disposeBatch, TRAIN_SPECIALS, type TrainBatch } from "../../train/batch.ts";
import { imagesToTensor, blankImage } from "../../model/image.ts";
import { tokenLosses } from "../../train/step.ts";
import { runSignal, throwIfAborted, type LongRunOptions } from "../../runtime.ts";
import { EvalInputError } from "../metrics/errors.ts";

export interface TaskPair {
  id: string;
  /** Absent for text-only pairs (the model masks the placeholder image). */
  image?: RgbImage;
  /** Encoder text read after the image patches ("" for none). */
  prefix: string;
  /** What the decoder should produce. */
  target: string;
}

/** Per-pair scores under teacher forcing. */
export interface PairScores {
  /** Sum of log p(target token) over the target tokens incl. eos (a log-likelihood, ≤ 0). */
  logLik: number[];
  /** Target tokens scored (incl. eos). */
  tokens: number[];
  /** Target tokens the model ranks first (argmax = target). */
  correct: number[];
}

/** Build the model inputs for a list of pairs (padding id 0; loss mask 1 on target positions). */
export function pairBatch(pairs: TaskPair[], tokenizer: Pick<SimTokenizer, "encode">, config: Pick<ModelConfig, "imageSize" | "maxTextLen">): TrainBatch {
  if (!pairs.length) throw new EvalInputError("pairBatch: no pairs");
  const { bos, eos } = TRAIN_SPECIALS;
  const enc = pairs.map((p, i) => {
    if (typeof p.prefix !== "string" || typeof p.target !== "string") throw new EvalInputError(`pair ${JSON.stringify(p.id ?? i)}: prefix and target must be strings`);
    return tokenizer.encode(p.prefix).slice(0, config.maxTextLen);
  });
  const tgt = pairs.map((p) => [...tokenizer.encode(p.target).slice(0, config.maxTextLen - 1), eos]);
  const B = pairs.length;
  const anyImage = pairs.some((p) => p.image);
  const Te = Math.max(anyImage ? 0 : 1, ...enc.map((e) => e.length));
  const Td = Math.max(...tgt.map((t) => t.length));
  const pad = (rows: number[][], w: number) => { const out = new Int32Array(rows.length * w); rows.forEach((r, i) => out.set(r, i * w)); return out; };
  const mask = new Float32Array(B * Td);
  tgt.forEach((t, i) => mask.fill(1, i * Td, i * Td + t.length));
  return {
    inputs: {
      // Text-only rows get a blank placeholder (hasImage = 0 makes the model mask its patches), as in makeBatch.
      images: anyImage ? imagesToTensor(pairs.map((p) => p.image ?? blankImage(config.imageSize)), config) : null,
      hasImage: tf.tensor1d(pairs.map((p) => (p.image ? 1 : 0)), "float32"),
      encIds: tf.tensor2d(pad(enc, Te), [B, Te], "int32"),
      decIn: tf.tensor2d(pad(tgt.map((t) => [bos, ...t.slice(0, -1)]), Td), [B, Td], "int32"),
    },
    targets: tf.tensor2d(pad(tgt, Td), [B, Td], "int32"),
    lossMask: tf.tensor2d(mask, [B, Td], "float32"),
    info: {
      objective: "prefixlm", size: B, withImage: pairs.filter((p) => p.image).length, textOnly: pairs.filter((p) => !p.image).length,
      encWidth: Te, decWidth: Td, lossTokens: tgt.reduce((s, t) => s + t.length, 0),
      examples: pairs.map((p, i) => ({
        id: p.id, hasImage: !!p.image, textLen: enc[i]!.length + tgt[i]!.length - 1, k: enc[i]!.length,
        encLen: enc[i]!.length, decLen: tgt[i]!.length, truncated: 0, enc: enc[i]!, target: tgt[i]!,
      })),
    },
  };
}

/**
 * Per-row sums over the batch's target positions: negative log-likelihood, token count and tokens
 * ranked first. Evaluation mode (no dropout). Shared by pair scoring and validation losses.
 */
export function batchRowStats(model: Pick<SimVLM, "apply">, batch: TrainBatch): { nll: Float32Array; tokens: Float32Array; correct: Float32Array } {
  const [nll, tokens, correct] = tf.tidy(() => {
    const { logits } = model.apply(batch.inputs, { training: false });
    const m = batch.lossMask;
    const hit = tf.cast(tf.equal(tf.argMax(logits, -1), tf.cast(batch.targets, "int32")), "float32");
    return [tf.sum(tf.mul(tokenLosses(logits, batch.targets), m), 1), tf.sum(m, 1), tf.sum(tf.mul(hit, m), 1)];
  });
  try {
    return { nll: nll.dataSync() as Float32Array, tokens: tokens.dataSync() as Float32Array, correct: correct.dataSync() as Float32Array };
  } finally { tf.dispose([nll, tokens, correct]); }
}

/** Teacher-forced log-likelihood of each pair's target given its image and prefix, in batches. */
export function scorePairs(model: Pick<SimVLM, "apply" | "config">, tokenizer: Pick<SimTokenizer, "encode">, pairs: TaskPair[],
  opts: LongRunOptions & { batchSize?: number } = {}): PairScores {
  const bs = opts.batchSize ?? 32;
  const signal = runSignal(opts);
  const out: PairScores = { logLik: [], tokens: [], correct: [] };
  for (let i = 0; i < pairs.length; i += bs) {
    throwIfAborted(signal, "scoring");
    const batch = pairBatch(pairs.slice(i, i + bs), tokenizer, model.config);
    try {
      const s = batchRowStats(model, batch);
      s.nll.forEach((v, r) => { out.logLik.push(-v); out.tokens.push(s.tokens[r]!); out.correct.push(s.correct[r]!); });
    } finally { disposeBatch(batch); }
  }
  return out;
}
