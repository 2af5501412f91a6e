/**
 * Conv2DBackpropInput for wasm (NHWC), replacing the stock kernel: the input gradient of conv2d.
 *
 *   dX = col2im(dy · Wᵀ)   with dy viewed as [N*Ho*Wo, Cout] and W as [kh*kw*Cin, Cout]
 *
 * The stock tfjs-backend-wasm 4.22 kernel runs a direct loop at 1–2 GFLOP/s, 5–10x slower than
 * the forward conv; here the arithmetic is one plain (untransposed) product on wasm's native
 * BatchMatMul per chunk of output pixels, and the scatter-add of each window back into dX is a
 * run of contiguous floats (kw*Cin) per window row. Wᵀ is small and transposed once in JS.
 */
import * as tf from "@tensorflow/tfjs-core";
import { addCols, chunkRows, convGeometry, transposeInto } from "./conv-util.ts";
import { heapF32, release, runWasmKernel, type TensorInfo, type WasmBackend } from "./heap.ts";

/** Upper bound on the dcols scratch per chunk, in floats (16 MB); tests lower it to exercise chunking. */
export const conv2DBackpropInputTuning = { maxColsFloats: 1 << 22 };

export function conv2DBackpropInputWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: {};
  attrs?: tf.NamedAttrMap;
}): TensorInfo {
  const backend = args.backend as WasmBackend;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  if (dy.dtype !== "float32" || filter.dtype !== "float32")
    throw new Error(
      `Conv2DBackpropInput: dy and filter must be float32, got ${dy.dtype} and ${filter.dtype}`,
    );
  const inputShape = [...attrs.inputShape];
  const g = convGeometry(
    "Conv2DBackpropInput",
    inputShape,
    filter.shape,
    attrs.strides,
    attrs.pad,
    attrs.dimRoundingMode,
    attrs.dataFormat,
  );
  const { N, Ho, Wo, Co, kh, kw, C } = g;
  if (dy.shape.join() !== [N, Ho, Wo, Co].join()) {
    throw new Error(
      `Conv2DBackpropInput: dy shape [${dy.shape}] does not match the conv output [${[N, Ho, Wo, Co]}] for input [${inputShape}] and filter [${filter.shape}]`,
    );
  }
  const K = kh * kw * C;
  const M = N * Ho * Wo;
  const out = backend.makeOutput(inputShape, "float32");
  heapF32(backend, out).fill(0);
  if (M === 0 || K === 0 || Co === 0) return out;

  const wT = backend.makeOutput([1, Co, K], "float32");
  transposeInto(heapF32(backend, wT), heapF32(backend, filter), 0, K, Co);
  const rowsPerChunk = chunkRows(M, Math.max(K, Co), conv2DBackpropInputTuning.maxColsFloats);
  try {
    for (let m0 = 0; m0 < M; m0 += rowsPerChunk) {
      const rows = Math.min(rowsPerChunk, M - m0);
      let dyChunk: TensorInfo = { dataId: dy.dataId, shape: [1, M, Co], dtype: "float32" };
      if (rows < M) {
        dyChunk = backend.makeOutput([1, rows, Co], "float32");
        heapF32(backend, dyChunk).set(heapF32(backend, dy).subarray(m0 * Co, (m0 + rows) * Co));
      }
      const dcols = runWasmKernel(
        backend,
        "BatchMatMul",
        { a: dyChunk, b: wT },
        { transposeA: false, transposeB: false },
      );
      if (rows < M) release(backend, dyChunk);
      // Views after the product's allocation.
      addCols(heapF32(backend, out), heapF32(backend, dcols), m0, rows, g);
      release(backend, dcols);
    }
  } finally {
    release(backend, wT);
  }
  return out;
}
