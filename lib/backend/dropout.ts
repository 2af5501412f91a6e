/**
 * Seeded dropout masks, the same numbers on every backend: element i of the mask under key k is 0
 * when the top 24 bits of hash32(k + i·0x9e3779b9) fall below rate·2²⁴, else 1/(1 − rate). A
 * backend may register the mask as one kernel ("SimvlmDropoutMask": the wasm backend's runs in C,
 * native/rows.c, with the same hash); elsewhere it is computed here in JS. tf.dropout instead draws
 * from a JS generator (~7 ns an element) and differs between backends.
 *
 * Model code imports this file directly: it needs no backend file to get its masks.
 */
import * as tf from "@tensorflow/tfjs-core";

export const DROPOUT_MASK_KERNEL = "SimvlmDropoutMask";

/** Chris Wellons' "lowbias32" integer hash (native/rows.c has the same). */
export function hash32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The 32-bit key of dropout call number `counter` under `seed` (any finite number). */
export function dropoutKey(seed: number, counter: number): number {
  const s = Math.floor(Math.abs(seed));
  const hi = Math.floor(s / 2 ** 32) >>> 0,
    lo = s >>> 0;
  return hash32(
    (hash32(lo ^ hash32(hi + (seed < 0 ? 1 : 0))) ^ Math.imul(counter + 1, 0x9e3779b9)) >>> 0,
  );
}

/** The mask kernel's attributes: drop an element when its 24-bit hash is below `threshold`; keep it scaled by `scale`. */
export interface MaskAttrs {
  shape: number[];
  key: number;
  threshold: number;
  scale: number;
}

function maskAttrs(shape: number[], rate: number, key: number): MaskAttrs {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: rate must be in [0, 1), got ${rate}`);
  return { shape, key: key >>> 0, threshold: Math.round(rate * 2 ** 24), scale: 1 / (1 - rate) };
}

/** The mask in JS: element i is 0 when hash32(key + i·0x9e3779b9) >> 8 < threshold, else 1/(1 − rate). */
function maskValues(n: number, a: MaskAttrs): Float32Array {
  const out = new Float32Array(n),
    scale = Math.fround(a.scale);
  for (let i = 0; i < n; i++)
    out[i] = hash32((a.key + Math.imul(i, 0x9e3779b9)) >>> 0) >>> 8 < a.threshold ? 0 : scale;
  return out;
}

/**
 * A dropout mask of `shape`: each element 0 with probability `rate`, else 1/(1 − rate), fixed by
 * `key` (see dropoutKey) and identical on every backend. Multiply the activations by it.
 */
export function dropoutMask(shape: number[], rate: number, key: number): tf.Tensor {
  const a = maskAttrs(shape, rate, key);
  const backend = tf.getBackend();
  if (backend && tf.getKernel(DROPOUT_MASK_KERNEL, backend))
    return tf
      .engine()
      .runKernel(DROPOUT_MASK_KERNEL, {}, a as unknown as tf.NamedAttrMap) as tf.Tensor;
  return tf.tensor(maskValues(tf.util.sizeFromShape(shape), a), shape, "float32");
}
