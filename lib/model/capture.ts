/**
 * Turn captured attention tensors [B, heads, Tq, Tk] into per-example AttentionCapture objects,
 * keeping only the real positions: an example's patches only when it has an image, its non-padding
 * prefix tokens, and its non-padding decoder positions. Masked keys carry exactly zero weight, so the
 * kept rows still sum to 1.
 */
import type { tf } from "../backend/index.ts";
import type { ModelInputs, AttentionCapture, AttentionMap } from "./types.ts";

interface Captured {
  encProbs: tf.Tensor4D[];
  selfProbs: tf.Tensor4D[];
  crossProbs: tf.Tensor4D[];
}

function pick(
  full: Float32Array,
  b: number,
  heads: number,
  Tq: number,
  Tk: number,
  qIdx: number[],
  kIdx: number[],
): AttentionMap {
  const out = new Float32Array(heads * qIdx.length * kIdx.length);
  let o = 0;
  for (let h = 0; h < heads; h++) {
    for (const q of qIdx) {
      const row = ((b * heads + h) * Tq + q) * Tk;
      for (const k of kIdx) out[o++] = full[row + k]!;
    }
  }
  return { heads, queries: qIdx.length, keys: kIdx.length, data: out };
}

export function buildCaptures(
  inputs: ModelInputs,
  cap: Captured,
  grid: number,
  tokenString: (id: number) => string,
): AttentionCapture[] {
  const [B, Te] = inputs.encIds.shape;
  const Td = inputs.decIn.shape[1];
  const encIds = inputs.encIds.dataSync(),
    decIn = inputs.decIn.dataSync();
  const has = inputs.images
    ? inputs.hasImage
      ? inputs.hasImage.dataSync()
      : new Float32Array(B).fill(1)
    : new Float32Array(B);
  const P = inputs.images ? grid * grid : 0;
  const enc = cap.encProbs.map((t) => ({ t, data: t.dataSync() as Float32Array }));
  const self = cap.selfProbs.map((t) => ({ t, data: t.dataSync() as Float32Array }));
  const cross = cap.crossProbs.map((t) => ({ t, data: t.dataSync() as Float32Array }));
  const out: AttentionCapture[] = [];
  for (let b = 0; b < B; b++) {
    const withImage = P > 0 && has[b]! > 0;
    const encIdx: number[] = [];
    if (withImage) for (let i = 0; i < P; i++) encIdx.push(i);
    const prefixTokens: string[] = [];
    for (let j = 0; j < Te; j++) {
      const id = encIds[b * Te + j]!;
      if (id !== 0) {
        encIdx.push(P + j);
        prefixTokens.push(tokenString(id));
      }
    }
    const decIdx: number[] = [],
      decoderTokens: string[] = [];
    for (let j = 0; j < Td; j++) {
      const id = decIn[b * Td + j]!;
      if (id !== 0 || j === 0) {
        decIdx.push(j);
        decoderTokens.push(tokenString(id));
      }
    }
    const map = (x: { t: tf.Tensor4D; data: Float32Array }, q: number[], k: number[]) =>
      pick(x.data, b, x.t.shape[1], x.t.shape[2], x.t.shape[3], q, k);
    out.push({
      encoderSelf: enc.map((x) => map(x, encIdx, encIdx)),
      decoderSelf: self.map((x) => map(x, decIdx, decIdx)),
      decoderCross: cross.map((x) => map(x, decIdx, encIdx)),
      grid: withImage ? { h: grid, w: grid } : { h: 0, w: 0 },
      numPatches: withImage ? P : 0,
      prefixTokens,
      decoderTokens,
    });
  }
  return out;
}
