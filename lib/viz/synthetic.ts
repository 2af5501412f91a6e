/**
 * A synthetic AttentionCapture with softmax rows, for trying the figures without a model and for
 * tests. `focus` makes every head of every decoder layer put almost all attention from one decoder
 * token on one patch, so a figure's peak can be checked against a known place.
 */
import type { AttentionCapture, AttentionMap } from "../model/types.ts";
import { Rng } from "../util/rng.ts";

export interface SyntheticCaptureOptions {
  grid?: { h: number; w: number };
  prefixTokens?: string[];
  decoderTokens?: string[];
  encoderLayers?: number;
  decoderLayers?: number;
  heads?: number;
  seed?: number;
  /** Decoder position `token` attends to patch `patch` with weight `weight` (default 0.97). */
  focus?: { token: number; patch: number; weight?: number };
}

function softmaxMap(
  rng: Rng,
  heads: number,
  queries: number,
  keys: number,
  allowed?: (q: number, k: number) => boolean,
): AttentionMap {
  const data = new Float32Array(heads * queries * keys);
  for (let hq = 0; hq < heads * queries; hq++) {
    const q = hq % queries;
    let s = 0;
    for (let k = 0; k < keys; k++) {
      const e = allowed && !allowed(q, k) ? 0 : Math.exp(1.5 * rng.normal());
      data[hq * keys + k] = e;
      s += e;
    }
    for (let k = 0; k < keys; k++) data[hq * keys + k]! /= s;
  }
  return { heads, queries, keys, data };
}

export function syntheticAttentionCapture(opts: SyntheticCaptureOptions = {}): AttentionCapture {
  const grid = opts.grid ?? { h: 4, w: 4 };
  const prefixTokens = opts.prefixTokens ?? ["a", "red"];
  const decoderTokens = opts.decoderTokens ?? ["<bos>", "circle", "on", "the", "left"];
  const heads = opts.heads ?? 2,
    rng = new Rng(opts.seed ?? 1);
  const numPatches = grid.h * grid.w,
    enc = numPatches + prefixTokens.length,
    dec = decoderTokens.length;
  const encoderSelf = Array.from({ length: opts.encoderLayers ?? 2 }, () =>
    softmaxMap(rng, heads, enc, enc),
  );
  const decoderSelf = Array.from({ length: opts.decoderLayers ?? 2 }, () =>
    softmaxMap(rng, heads, dec, dec, (q, k) => k <= q),
  );
  const decoderCross = Array.from({ length: opts.decoderLayers ?? 2 }, () =>
    softmaxMap(rng, heads, dec, enc),
  );
  const f = opts.focus;
  if (f) {
    const wt = f.weight ?? 0.97;
    for (const m of decoderCross)
      for (let h = 0; h < heads; h++) {
        const off = (h * dec + f.token) * enc;
        for (let k = 0; k < enc; k++) m.data[off + k] = k === f.patch ? wt : (1 - wt) / (enc - 1);
      }
  }
  return { encoderSelf, decoderSelf, decoderCross, grid, numPatches, prefixTokens, decoderTokens };
}
