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
import { chunkRows, convGeometry, fillCols, transposeInto } from "./conv-util.ts";
import { heapF32, release, runWasmKernel, type TensorInfo, type WasmBackend } from "./heap.ts";

/** Upper bound on the im2col scratch per chunk, in floats (4M floats = 16 MB); tests lower it to exercise chunking. */
export const conv2DBackpropFilterTuning = { maxColsFloats: 1 << 22 };

export function conv2DBackpropFilterWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: {};
  attrs?: tf.NamedAttrMap;
}): TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (x.dtype !== "float32" || dy.dtype !== "float32")
    throw new Error(
      `Conv2DBackpropFilter: x and dy must be float32, got ${x.dtype} and ${dy.dtype}`,
    );
  const g = convGeometry(
    "Conv2DBackpropFilter",
    x.shape,
    attrs.filterShape,
    attrs.strides,
    attrs.pad,
    attrs.dimRoundingMode,
    attrs.dataFormat,
  );
  const { N, H, W, C, Ho, Wo, Co, kh, kw, sh, sw, padTop, padLeft } = g;
  if (dy.shape.join() !== [N, Ho, Wo, Co].join()) {
    throw new Error(
      `Conv2DBackpropFilter: dy shape [${dy.shape}] does not match the conv output [${[N, Ho, Wo, Co]}]`,
    );
  }
  const K = kh * kw * C;
  const M = N * Ho * Wo;
  const out = backend.makeOutput(attrs.filterShape, "float32");
  if (M === 0 || K === 0 || Co === 0) {
    heapF32(backend, out).fill(0);
    return out;
  }
  // 1x1, stride 1, no padding: the im2col matrix is x itself, viewed as [M, C].
  const colsIsX =
    kh === 1 &&
    kw === 1 &&
    sh === 1 &&
    sw === 1 &&
    padTop === 0 &&
    padLeft === 0 &&
    Ho === H &&
    Wo === W;
  const dyFirst = Co <= K; // true: compute dWᵀ = dyᵀ·cols (transpose dy); false: dW = colsᵀ·dy (transpose cols)

  const rowsPerChunk = chunkRows(M, Math.max(K, Co), conv2DBackpropFilterTuning.maxColsFloats);
  const acc = new Float32Array(K * Co); // dWᵀ [Co, K] when dyFirst, else dW [K, Co]
  const scratch = !dyFirst && !colsIsX ? new Float32Array(rowsPerChunk * K) : undefined;
  for (let m0 = 0; m0 < M; m0 += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, M - m0);
    let a: TensorInfo, b: TensorInfo;
    const own: TensorInfo[] = [];
    if (dyFirst) {
      a = backend.makeOutput([1, Co, rows], "float32");
      own.push(a);
      if (colsIsX && rows === M) b = { dataId: x.dataId, shape: [1, M, K], dtype: "float32" };
      else {
        b = backend.makeOutput([1, rows, K], "float32");
        own.push(b);
      }
      // Views only after the allocations above (an allocation may grow and detach the heap).
      transposeInto(heapF32(backend, a), heapF32(backend, dy), m0 * Co, rows, Co);
      if (own.length === 2) {
        if (colsIsX) heapF32(backend, b).set(heapF32(backend, x).subarray(m0 * K, (m0 + rows) * K));
        else fillCols(heapF32(backend, b), heapF32(backend, x), m0, rows, g);
      }
    } else {
      a = backend.makeOutput([1, K, rows], "float32");
      own.push(a);
      if (rows === M) b = { dataId: dy.dataId, shape: [1, M, Co], dtype: "float32" };
      else {
        b = backend.makeOutput([1, rows, Co], "float32");
        own.push(b);
      }
      if (own.length === 2)
        heapF32(backend, b).set(heapF32(backend, dy).subarray(m0 * Co, (m0 + rows) * Co));
      if (colsIsX) transposeInto(heapF32(backend, a), heapF32(backend, x), m0 * K, rows, K);
      else {
        fillCols(scratch!, heapF32(backend, x), m0, rows, g);
        transposeInto(heapF32(backend, a), scratch!, 0, rows, K);
      }
    }
    const prod = runWasmKernel(
      backend,
      "BatchMatMul",
      { a, b },
      { transposeA: false, transposeB: false },
    );
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
