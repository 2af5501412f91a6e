/**
 * Numbers behind the attention figures: head means, attention rollout (Abnar & Zuidema 2020),
 * the cross-attention from one decoder token to the encoder positions, and bilinear upsampling of
 * a patch-grid map to pixels. Pure functions over plain arrays so they are easy to test.
 */
import type { AttentionCapture, AttentionMap } from "../model/types.ts";
import { UserError } from "../errors.ts";

/** A figure request that does not fit its data (the message names the argument). */
export class VizError extends UserError {}

/** Check the shape of one captured map; `what` names it in the error. */
export function checkAttentionMap(m: AttentionMap, what: string): void {
  if (!m || (!(m.data instanceof Float32Array) && !Array.isArray(m.data)))
    throw new VizError(`${what}: data must be a Float32Array`);
  const n = m.heads * m.queries * m.keys;
  if (!(m.heads > 0 && m.queries > 0 && m.keys > 0) || m.data.length !== n)
    throw new VizError(
      `${what}: data has ${m.data.length} values, expected heads×queries×keys = ${m.heads}×${m.queries}×${m.keys} = ${n}`,
    );
}

/** Validate a capture once so figure code can index it freely. */
export function checkCapture(c: AttentionCapture): void {
  if (!c || !Array.isArray(c.decoderCross) || c.decoderCross.length === 0)
    throw new VizError("attention capture: decoderCross is empty (run the model with capture on)");
  const encLen = c.numPatches + c.prefixTokens.length;
  if (c.grid.h * c.grid.w !== c.numPatches)
    throw new VizError(
      `attention capture: grid ${c.grid.h}×${c.grid.w} does not match numPatches ${c.numPatches}`,
    );
  c.decoderCross.forEach((m, l) => {
    checkAttentionMap(m, `decoderCross[${l}]`);
    if (m.keys !== encLen)
      throw new VizError(
        `decoderCross[${l}]: ${m.keys} keys, expected numPatches + prefix tokens = ${c.numPatches} + ${c.prefixTokens.length}`,
      );
  });
  c.encoderSelf.forEach((m, l) => {
    checkAttentionMap(m, `encoderSelf[${l}]`);
    if (m.keys !== encLen || m.queries !== encLen)
      throw new VizError(`encoderSelf[${l}]: ${m.queries}×${m.keys}, expected ${encLen}×${encLen}`);
  });
}

/** Row `q` of head `h` as a fresh array. */
export function attentionRow(m: AttentionMap, h: number, q: number): Float64Array {
  const off = (h * m.queries + q) * m.keys;
  return Float64Array.from(m.data.subarray(off, off + m.keys));
}

/** Mean over heads: a [queries × keys] matrix (row-major). Rows still sum to 1. */
export function headMean(m: AttentionMap): Float64Array {
  const qk = m.queries * m.keys;
  const out = new Float64Array(qk);
  for (let h = 0; h < m.heads; h++) for (let i = 0; i < qk; i++) out[i]! += m.data[h * qk + i]!;
  for (let i = 0; i < qk; i++) out[i]! /= m.heads;
  return out;
}

/** a [n×k] · b [k×m], row-major. */
export function matMul(
  a: Float64Array,
  b: Float64Array,
  n: number,
  k: number,
  m: number,
): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < k; p++) {
      const v = a[i * k + p]!;
      if (v === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j]! += v * b[p * m + j]!;
    }
  return out;
}

/**
 * Attention rollout through the encoder: per layer take the head mean, add the identity for the
 * residual path and renormalise rows (Â = (A + I) / rowsum), then multiply through the layers,
 * R = Â_L · … · Â_1. Row i of R says how much input position j flows into encoder output i.
 * Rows sum to 1. With no encoder layers R is the identity.
 */
export function encoderRollout(layers: AttentionMap[], size: number): Float64Array {
  let r: Float64Array = new Float64Array(size * size);
  for (let i = 0; i < size; i++) r[i * size + i] = 1;
  for (const m of layers) {
    const a = headMean(m);
    for (let i = 0; i < size; i++) {
      a[i * size + i]! += 1;
      let s = 0;
      for (let j = 0; j < size; j++) s += a[i * size + j]!;
      for (let j = 0; j < size; j++) a[i * size + j]! /= s;
    }
    r = matMul(a, r, size, size, size);
  }
  return r;
}

/** A cross-attention row (over encoder outputs) pushed through the rollout to the inputs. */
export function rollThrough(row: Float64Array, rollout: Float64Array): Float64Array {
  return matMul(row, rollout, 1, row.length, row.length);
}

/** Bilinear upsampling of an h×w grid of patch values to H×W pixels (patch centres are the samples). */
export function upsampleBilinear(
  grid: ArrayLike<number>,
  h: number,
  w: number,
  H: number,
  W: number,
): Float32Array {
  const out = new Float32Array(H * W);
  for (let y = 0; y < H; y++) {
    const gy = Math.min(h - 1, Math.max(0, ((y + 0.5) * h) / H - 0.5));
    const y0 = Math.floor(gy),
      y1 = Math.min(h - 1, y0 + 1),
      fy = gy - y0;
    for (let x = 0; x < W; x++) {
      const gx = Math.min(w - 1, Math.max(0, ((x + 0.5) * w) / W - 0.5));
      const x0 = Math.floor(gx),
        x1 = Math.min(w - 1, x0 + 1),
        fx = gx - x0;
      const top = grid[y0 * w + x0]! * (1 - fx) + grid[y0 * w + x1]! * fx;
      const bot = grid[y1 * w + x0]! * (1 - fx) + grid[y1 * w + x1]! * fx;
      out[y * W + x] = top * (1 - fy) + bot * fy;
    }
  }
  return out;
}

/** Round to `digits` decimals (keeps saved figures small). */
export function roundTo(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** A flat h×w map as rows of rounded numbers (plotly heatmap z). */
export function toRows(values: ArrayLike<number>, h: number, w: number, digits = 3): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < h; i++) {
    const r: number[] = [];
    for (let j = 0; j < w; j++) r.push(roundTo(values[i * w + j]!, digits));
    rows.push(r);
  }
  return rows;
}

/** One selectable view of the cross-attention: a layer and a head, the head mean, or rollout. */
export interface AttentionView {
  label: string;
  layer: number | "all";
  head: number | "mean" | "rollout";
}

/**
 * The attention from decoder position `t` to the encoder inputs [patches ; prefix] under a view.
 * "rollout" combines the head-mean cross-attention of the chosen layer (or the mean over layers)
 * with the encoder rollout. `rollout` may be passed precomputed.
 */
export function crossAttentionFor(
  c: AttentionCapture,
  t: number,
  view: AttentionView,
  rollout?: Float64Array,
): Float64Array {
  const layers = view.layer === "all" ? c.decoderCross.map((_, i) => i) : [view.layer];
  const keys = c.decoderCross[0]!.keys;
  const acc = new Float64Array(keys);
  for (const l of layers) {
    const m = c.decoderCross[l];
    if (!m)
      throw new VizError(`decoder layer ${l} not in capture (it has ${c.decoderCross.length})`);
    if (t < 0 || t >= m.queries)
      throw new VizError(`token index ${t} out of range: decoder has ${m.queries} positions`);
    const heads = typeof view.head === "number" ? [view.head] : [...Array(m.heads).keys()];
    for (const h of heads) {
      if (h >= m.heads)
        throw new VizError(`head ${h} not in decoder layer ${l} (it has ${m.heads})`);
      const row = attentionRow(m, h, t);
      for (let k = 0; k < keys; k++) acc[k]! += row[k]! / (heads.length * layers.length);
    }
  }
  if (view.head !== "rollout") return acc;
  return rollThrough(acc, rollout ?? encoderRollout(c.encoderSelf, keys));
}

/** The views a figure offers: per decoder layer its head mean, each head and rollout; then layer means. */
export function attentionViews(
  c: AttentionCapture,
  opts: { heads?: boolean; layers?: number[] } = {},
): AttentionView[] {
  const views: AttentionView[] = [];
  const layers = opts.layers ?? c.decoderCross.map((_, i) => i);
  for (const l of layers) {
    const m = c.decoderCross[l];
    if (!m)
      throw new VizError(`decoder layer ${l} not in capture (it has ${c.decoderCross.length})`);
    views.push({ label: `layer ${l + 1} · head mean`, layer: l, head: "mean" });
    if (opts.heads !== false)
      for (let h = 0; h < m.heads; h++)
        views.push({ label: `layer ${l + 1} · head ${h + 1}`, layer: l, head: h });
  }
  views.push({ label: "all layers · head mean", layer: "all", head: "mean" });
  views.push({ label: "all layers · rollout", layer: "all", head: "rollout" });
  return views;
}

/**
 * Names for decoder positions. Position t reads token t (bos first) and predicts token t + 1, so
 * by default a position is named for the token it predicts ("<eos>" after the last one); "input"
 * names it for the token it reads.
 */
export function decoderPositionLabels(
  c: AttentionCapture,
  by: "predicted" | "input" = "predicted",
): string[] {
  const n = c.decoderCross[0]?.queries ?? c.decoderTokens.length;
  return Array.from(
    { length: n },
    (_, t) =>
      (by === "input" ? c.decoderTokens[t] : (c.decoderTokens[t + 1] ?? "<eos>")) ?? `#${t}`,
  );
}
