/**
 * Conv2DBackpropFilter for wasm (NHWC): the filter gradient of conv2d.
 *
 *   dW[i, j, c, o] = sum over n, oh, ow of x[n, oh*sh + i - padTop, ow*sw + j - padLeft, c] * dy[n, oh, ow, o]
 *
 * Computed as im2col + one matrix product per chunk of output pixels: cols[m, (i, j, c)] holds the
 * input window of output pixel m (zeros where it hangs over the padding), and dW = colsᵀ · dy. The
 * product runs on the wasm backend's native BatchMatMul, whose transposed-operand path is ~10x
 * slower than its plain path, so the smaller operand is transposed in JS (blocked, ~3 ns/float):
 * dWᵀ = dyᵀ · cols when Cout <= kh*kw*Cin (the usual case), else dW = colsᵀ · dy. Building a row of
 * cols is kh contiguous copies of kw*Cin floats; chunking over output pixels bounds the scratch
 * memory for large images. A 1x1 stride-1 unpadded conv needs no im2col (cols is x).
 * Gradients of conv2d with dilation > 1 are refused by tfjs itself, so dilation is always 1 here.
 */
import * as tf from "@tensorflow/tfjs-core";
import { heapF32, release, runWasmKernel, type TensorInfo, type WasmBackend } from "./wasm-util.ts";

/** Upper bound on the im2col scratch per chunk, in floats (4M floats = 16 MB); tests lower it to exercise chunking. */
export const conv2DBackpropFilterTuning = { maxColsFloats: 1 << 22 };

export function conv2DBackpropFilterWasm(args: { inputs: tf.NamedTensorInfoMap; backend: {}; attrs?: tf.NamedAttrMap }): TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (x.dtype !== "float32" || dy.dtype !== "float32") throw new Error(`Conv2DBackpropFilter: x and dy must be float32, got ${x.dtype} and ${dy.dtype}`);
  const dataFormat = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? "NHWC");
  if (dataFormat !== "channelsLast") {
    throw new Error(`wasm backend Conv2DBackpropFilter does not support dataFormat '${attrs.dataFormat}'; use 'NHWC' (as wasm's Conv2D requires).`);
  }
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape,
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, dataFormat);
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo, outChannels: Co,
    filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const padTop = info.padInfo.top, padLeft = info.padInfo.left;
  if (dy.shape.join() !== [N, Ho, Wo, Co].join()) {
    throw new Error(`Conv2DBackpropFilter: dy shape [${dy.shape}] does not match the conv output [${[N, Ho, Wo, Co]}]`);
  }
  const g: Geometry = { H, W, C, Ho, Wo, kh, kw, sh, sw, padTop, padLeft };
  const K = kh * kw * C;
  const M = N * Ho * Wo;
  const out = backend.makeOutput(attrs.filterShape, "float32");
  if (M === 0 || K === 0 || Co === 0) { heapF32(backend, out).fill(0); return out; }
  // 1x1, stride 1, no padding: the im2col matrix is x itself, viewed as [M, C].
  const colsIsX = kh === 1 && kw === 1 && sh === 1 && sw === 1 && padTop === 0 && padLeft === 0 && Ho === H && Wo === W;
  const dyFirst = Co <= K; // true: compute dWᵀ = dyᵀ·cols (transpose dy); false: dW = colsᵀ·dy (transpose cols)

  const rowsPerChunk = Math.max(1, Math.min(M, Math.floor(conv2DBackpropFilterTuning.maxColsFloats / Math.max(K, Co))));
  const acc = new Float32Array(K * Co); // dWᵀ [Co, K] when dyFirst, else dW [K, Co]
  const scratch = !dyFirst && !colsIsX ? new Float32Array(rowsPerChunk * K) : undefined;
  for (let m0 = 0; m0 < M; m0 += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, M - m0);
    let a: TensorInfo, b: TensorInfo;
    const own: TensorInfo[] = [];
    if (dyFirst) {
      a = backend.makeOutput([1, Co, rows], "float32"); own.push(a);
      if (colsIsX && rows === M) b = { dataId: x.dataId, shape: [1, M, K], dtype: "float32" };
      else { b = backend.makeOutput([1, rows, K], "float32"); own.push(b); }
      // Views only after the allocations above (an allocation may grow and detach the heap).
      transposeInto(heapF32(backend, a), heapF32(backend, dy), m0 * Co, rows, Co);
      if (own.length === 2) {
        if (colsIsX) heapF32(backend, b).set(heapF32(backend, x).subarray(m0 * K, (m0 + rows) * K));
        else fillCols(heapF32(backend, b), heapF32(backend, x), m0, rows, g);
      }
    } else {
      a = backend.makeOutput([1, K, rows], "float32"); own.push(a);
      if (rows === M) b = { dataId: dy.dataId, shape: [1, M, Co], dtype: "float32" };
      else { b = backend.makeOutput([1, rows, Co], "float32"); own.push(b); }
      if (own.length === 2) heapF32(backend, b).set(heapF32(backend, dy).subarray(m0 * Co, (m0 + rows) * Co));
      if (colsIsX) transposeInto(heapF32(backend, a), heapF32(backend, x), m0 * K, rows, K);
      else {
        fillCols(scratch!, heapF32(backend, x), m0, rows, g);
        transposeInto(heapF32(backend, a), scratch!, 0, rows, K);
      }
    }
    const prod = runWasmKernel(backend, "BatchMatMul", { a, b }, { transposeA: false, transposeB: false });
    for (const t of own) release(backend, t);
    const p = heapF32(backend, prod);
    for (let i = 0; i < acc.length; i++) acc[i] += p[i]!;
    release(backend, prod);
  }
  const o = heapF32(backend, out);
  if (dyFirst) transposeInto(o, acc, 0, Co, K);
  else o.set(acc);
  return out;
}

/** dst[c, r] = src[offset + r*cols + c] for r < rows, c < cols, in 16x16 blocks (cache-friendly both ways). */
function transposeInto(dst: Float32Array, src: Float32Array, offset: number, rows: number, cols: number): void {
  const B = 16;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) {
        let s = offset + r * cols + c0;
        let d = c0 * rows + r;
        for (let c = c0; c < c1; c++, s++, d += rows) dst[d] = src[s]!;
      }
    }
  }
}

interface Geometry { H: number; W: number; C: number; Ho: number; Wo: number; kh: number; kw: number; sh: number; sw: number; padTop: number; padLeft: number }

/** cols[r, (i*kw + j)*C + c] = x at the window of output pixel m0 + r, or 0 in the padding. */
function fillCols(cols: Float32Array, x: Float32Array, m0: number, rows: number, g: Geometry): void {
  const { H, W, C, Ho, Wo, kh, kw, sh, sw, padTop, padLeft } = g;
  const K = kh * kw * C;
  const rowRun = kw * C;
  for (let r = 0; r < rows; r++) {
    const m = m0 + r;
    const ow = m % Wo;
    const t = (m - ow) / Wo;
    const oh = t % Ho;
    const n = (t - oh) / Ho;
    const ih0 = oh * sh - padTop;
    const iw0 = ow * sw - padLeft;
    const rowBase = r * K;
    // Columns of the window that fall inside the image: [jLo, jHi).
    const jLo = Math.max(0, -iw0);
    const jHi = Math.min(kw, W - iw0);
    for (let i = 0; i < kh; i++) {
      const ih = ih0 + i;
      const dst = rowBase + i * rowRun;
      if (ih < 0 || ih >= H || jHi <= jLo) { cols.fill(0, dst, dst + rowRun); continue; }
      if (jLo > 0) cols.fill(0, dst, dst + jLo * C);
      const src = ((n * H + ih) * W + iw0 + jLo) * C;
      cols.set(x.subarray(src, src + (jHi - jLo) * C), dst + jLo * C);
      if (jHi < kw) cols.fill(0, dst + jHi * C, dst + rowRun);
    }
  }
}
