/**
 * Contracts between the model, training, decoding and the visualizers.
 */
import type { tf } from "../backend/index.ts";

/** Inputs for one batch. Token id 0 is padding everywhere. */
export interface ModelInputs {
  /** [B, H, W, 3] float32 in [0, 1], or null for a batch with no images at all. */
  images: tf.Tensor4D | null;
  /** [B] float32: 1 where the example has an image, 0 for text-only documents (their patches are masked). */
  hasImage?: tf.Tensor1D;
  /** [B, Te] int32: the text prefix read by the encoder (bidirectionally, after the image patches). */
  encIds: tf.Tensor2D;
  /** [B, Td] int32: decoder input (bos + suffix without its last token). */
  decIn: tf.Tensor2D;
}

/** One attention tensor for one example: row-major [heads, queries, keys]; rows sum to 1. */
export interface AttentionMap {
  heads: number;
  queries: number;
  keys: number;
  data: Float32Array;
}

/** Attention captured for one example (forward with capture on). */
export interface AttentionCapture {
  /** Per encoder layer; queries = keys = [image patches ; prefix tokens]. */
  encoderSelf: AttentionMap[];
  /** Per decoder layer; causal over decoder positions. */
  decoderSelf: AttentionMap[];
  /** Per decoder layer; queries = decoder positions, keys = encoder positions [patches ; prefix]. */
  decoderCross: AttentionMap[];
  /** The patch grid (numPatches = h × w; 0 × 0 when the example had no image). */
  grid: { h: number; w: number };
  numPatches: number;
  /** Token strings for the encoder's text prefix and the decoder's positions (for labels). */
  prefixTokens: string[];
  decoderTokens: string[];
}
