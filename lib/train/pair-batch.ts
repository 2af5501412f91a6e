/**
 * Task pairs — (image?, encoder text prefix, decoder target) triples, the shape every downstream
 * task has (captioning: image → caption; VQA: image + question → answer; entailment: premise +
 * hypothesis → label word) — as a training batch (TrainBatch), so finetuning runs the same step as
 * pretraining and scoring (lib/eval/tasks/pairs.ts) the same loss.
 *
 * The prefix and the target are tokenised separately, exactly as `generate` tokenises a prefix, so
 * the scores of a pair and the generation for its prefix see the same encoder input.
 */
import { tf } from "../backend/index.ts";
import type { RgbImage } from "../data/types.ts";
import type { ModelConfig } from "../model/configs.ts";
import type { SimTokenizer } from "../tokenizer/tokenizer.ts";
import { imagesToTensor, blankImage } from "../model/image.ts";
import { TRAIN_SPECIALS, type TrainBatch } from "./batch.ts";
import { TrainConfigError } from "./errors.ts";

export interface TaskPair {
  id: string;
  /** Absent for text-only pairs (the model masks the placeholder image). */
  image?: RgbImage;
  /** Encoder text read after the image patches ("" for none). */
  prefix: string;
  /** What the decoder should produce. */
  target: string;
}

/**
 * Build the model inputs for a list of pairs (padding id 0; loss mask 1 on target positions). Texts
 * longer than the model's positions are cut: the target to maxTextLen − 1 tokens (+ eos), the prefix
 * to maxTextLen tokens. With decoderPositions "continue" (the target's positions follow the
 * prefix's) the prefix keeps at most maxTextLen − 1 tokens and the target's end is cut to fit after it.
 */
export function pairBatch(
  pairs: TaskPair[],
  tokenizer: Pick<SimTokenizer, "encode">,
  config: Pick<ModelConfig, "imageSize" | "maxTextLen"> &
    Partial<Pick<ModelConfig, "decoderPositions">>,
): TrainBatch {
  if (!pairs.length) throw new TrainConfigError("pairBatch: no pairs");
  const { bos, eos } = TRAIN_SPECIALS;
  const enc = pairs.map((p, i) => {
    if (typeof p.prefix !== "string" || typeof p.target !== "string")
      throw new TrainConfigError(
        `pair ${JSON.stringify(p.id ?? i)}: prefix and target must be strings`,
      );
    return tokenizer.encode(p.prefix).slice(0, config.maxTextLen);
  });
  const tgt = pairs.map((p) => [
    ...tokenizer.encode(p.target).slice(0, config.maxTextLen - 1),
    eos,
  ]);
  // With continuing positions prefix and target share the maxTextLen positions: the prefix (the
  // input) keeps priority, and the target's end is cut to what it leaves (never the prefix by the
  // target's length: that cut would depend on the label). Entailment prefixes are fitted beforehand
  // (entailmentFit) so their labels are never cut.
  if (config.decoderPositions === "continue")
    enc.forEach((e, i) => {
      e.splice(config.maxTextLen - 1);
      const t = tgt[i]!;
      if (e.length + t.length > config.maxTextLen)
        t.splice(config.maxTextLen - e.length - 1, Infinity, eos);
    });
  const B = pairs.length;
  const anyImage = pairs.some((p) => p.image);
  const Te = Math.max(anyImage ? 0 : 1, ...enc.map((e) => e.length));
  const Td = Math.max(...tgt.map((t) => t.length));
  const pad = (rows: number[][], w: number) => {
    const out = new Int32Array(rows.length * w);
    rows.forEach((r, i) => out.set(r, i * w));
    return out;
  };
  const mask = new Float32Array(B * Td);
  tgt.forEach((t, i) => mask.fill(1, i * Td, i * Td + t.length));
  return {
    inputs: {
      // Text-only rows get a blank placeholder (hasImage = 0 makes the model mask its patches), as in makeBatch.
      images: anyImage
        ? imagesToTensor(
            pairs.map((p) => p.image ?? blankImage(config.imageSize)),
            config,
          )
        : null,
      hasImage: tf.tensor1d(
        pairs.map((p) => (p.image ? 1 : 0)),
        "float32",
      ),
      encIds: tf.tensor2d(pad(enc, Te), [B, Te], "int32"),
      decIn: tf.tensor2d(
        pad(
          tgt.map((t) => [bos, ...t.slice(0, -1)]),
          Td,
        ),
        [B, Td],
        "int32",
      ),
    },
    targets: tf.tensor2d(pad(tgt, Td), [B, Td], "int32"),
    lossMask: tf.tensor2d(mask, [B, Td], "float32"),
    info: {
      objective: "prefixlm",
      size: B,
      withImage: pairs.filter((p) => p.image).length,
      textOnly: pairs.filter((p) => !p.image).length,
      encWidth: Te,
      decWidth: Td,
      lossTokens: tgt.reduce((s, t) => s + t.length, 0),
      examples: pairs.map((p, i) => ({
        id: p.id,
        hasImage: !!p.image,
        textLen: enc[i]!.length + tgt[i]!.length - 1,
        k: enc[i]!.length,
        encLen: enc[i]!.length,
        decLen: tgt[i]!.length,
        truncated: 0,
        enc: enc[i]!,
        target: tgt[i]!,
      })),
    },
  };
}
