/**
 * Fast matrix products for the wasm backend. tfjs-backend-wasm 4.22 runs a product through
 * XNNPACK (25-40 GFLOP/s) only when neither side is transposed and both batch sizes are 1; every
 * other product — each backward matmul and each attention product — takes a scalar loop at
 * 1-3 GFLOP/s. These kernels override BatchMatMul and _FusedMatMul on "wasm" and reshape the
 * work into that fast case:
 *   - transposes are done explicitly (a Transpose kernel is a cheap copy next to the product);
 *   - a batched left side times an unbatched right side (x·W in any rank) folds the batch into rows;
 *   - truly batched products (attention) run as one fast product per batch entry on copies.
 * The stock kernels still do the arithmetic, so results match them up to float summation order.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { KernelArgs, KernelFn, TensorInfo, WasmBackend } from "./heap.ts";

/** Stock kernels, captured before we override them. */
let stock: { bmm: KernelFn; fused: KernelFn; transpose: KernelFn; reshape: KernelFn } | undefined;

function kernelFn(name: string): KernelFn {
  const k = tf.getKernel(name, "wasm");
  if (!k) throw new Error(`tfjs-backend-wasm has no ${name} kernel`);
  return k.kernelFunc as unknown as KernelFn;
}

function reshape(backend: WasmBackend, x: TensorInfo, shape: number[]): TensorInfo {
  return stock!.reshape({ inputs: { x }, backend, attrs: { shape } });
}

/** x with its last two axes swapped, as a new rank-3 [batch, cols, rows] tensor. */
function transposed3d(backend: WasmBackend, x: TensorInfo): TensorInfo {
  const r = x.shape.length,
    rows = x.shape[r - 2]!,
    cols = x.shape[r - 1]!,
    batch = tf.util.sizeFromShape(x.shape.slice(0, -2));
  const x3 = reshape(backend, x, [batch, rows, cols]);
  const t = stock!.transpose({ inputs: { x: x3 }, backend, attrs: { perm: [0, 2, 1] } });
  backend.disposeData(x3.dataId);
  return t;
}

/** x as rank 3 [batch, rows, cols] (transposed first when asked); the caller disposes it. */
function asPlain3d(backend: WasmBackend, x: TensorInfo, transpose: boolean): TensorInfo {
  if (transpose) return transposed3d(backend, x);
  return reshape(backend, x, [
    tf.util.sizeFromShape(x.shape.slice(0, -2)),
    x.shape[x.shape.length - 2]!,
    x.shape[x.shape.length - 1]!,
  ]);
}

/** One untransposed product per batch entry, each on batch-1 copies so XNNPACK takes it. */
function perBatch(backend: WasmBackend, a3: TensorInfo, b3: TensorInfo): TensorInfo {
  const [batch, M, K] = a3.shape as [number, number, number];
  const N = b3.shape[2]!;
  const batchA = a3.shape[0]!,
    batchB = b3.shape[0]!;
  const out = backend.makeOutput([batch === 1 ? batchB : batch, M, N], "float32");
  const n = out.shape[0]!;
  // Each slice must be a fresh tensor: XNNPACK caches packed weights under the right operand's id.
  for (let i = 0; i < n; i++) {
    const ai = backend.makeOutput([1, M, K], "float32"),
      bi = backend.makeOutput([1, K, N], "float32");
    // Views are re-made after each allocation: growing the wasm heap detaches older views.
    const ia = batchA === 1 ? 0 : i,
      ib = batchB === 1 ? 0 : i;
    backend
      .typedArrayFromHeap(ai)
      .set(backend.typedArrayFromHeap(a3).subarray(ia * M * K, (ia + 1) * M * K));
    backend
      .typedArrayFromHeap(bi)
      .set(backend.typedArrayFromHeap(b3).subarray(ib * K * N, (ib + 1) * K * N));
    const oi = stock!.bmm({
      inputs: { a: ai, b: bi },
      backend,
      attrs: { transposeA: false, transposeB: false },
    });
    backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(oi), i * M * N);
    backend.disposeData(ai.dataId);
    backend.disposeData(bi.dataId);
    backend.disposeData(oi.dataId);
  }
  return out;
}

function fastBatchMatMul(args: KernelArgs): TensorInfo {
  const { backend } = args;
  const a = args.inputs.a!,
    b = args.inputs.b!;
  const transposeA = Boolean(args.attrs.transposeA),
    transposeB = Boolean(args.attrs.transposeB);
  const batchDimsA = a.shape.slice(0, -2),
    batchDimsB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(batchDimsA),
    batchB = tf.util.sizeFromShape(batchDimsB);
  // Broadcasting between two real batch shapes keeps the stock path (never used by our model).
  const simple = batchB === 1 || batchA === 1 || tf.util.arraysEqual(batchDimsA, batchDimsB);
  if (a.dtype !== "float32" || b.dtype !== "float32" || !simple) return stock!.bmm(args);
  if (batchA === 1 && batchB === 1 && !transposeA && !transposeB) return stock!.bmm(args);

  const outBatch = tf.backend_util.assertAndGetBroadcastShape(batchDimsA, batchDimsB);
  const a3 = asPlain3d(backend, a, transposeA),
    b3 = asPlain3d(backend, b, transposeB);
  const [, M, K] = a3.shape as [number, number, number];
  const N = b3.shape[2]!;
  if (b3.shape[1] !== K) {
    backend.disposeData(a3.dataId);
    backend.disposeData(b3.dataId);
    throw new Error(
      `Error in matMul: inner shapes (${K}) and (${b3.shape[1]}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  let out: TensorInfo;
  if (batchB === 1) {
    // x·W with any number of leading axes on x: one [batchA*M, K]·[K, N] product.
    const aFold = reshape(backend, a3, [1, batchA * M, K]);
    out = stock!.bmm({
      inputs: { a: aFold, b: b3 },
      backend,
      attrs: { transposeA: false, transposeB: false },
    });
    backend.disposeData(aFold.dataId);
  } else {
    out = perBatch(backend, a3, b3);
  }
  backend.disposeData(a3.dataId);
  backend.disposeData(b3.dataId);
  const shaped = reshape(backend, out, [...outBatch, M, N]);
  backend.disposeData(out.dataId);
  return shaped;
}

function fastFusedMatMul(args: KernelArgs): TensorInfo {
  const { backend } = args;
  const a = args.inputs.a!,
    b = args.inputs.b!;
  const transposeA = Boolean(args.attrs.transposeA),
    transposeB = Boolean(args.attrs.transposeB);
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2)),
    batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const prelu = args.inputs.preluActivationWeights;
  if (
    a.dtype !== "float32" ||
    b.dtype !== "float32" ||
    a.shape.length !== 3 ||
    b.shape.length !== 3
  )
    return stock!.fused(args);
  const fold = batchB === 1 && batchA > 1 && !prelu;
  if (!transposeA && !transposeB && !fold) return stock!.fused(args);
  const a3 = asPlain3d(backend, a, transposeA),
    b3 = asPlain3d(backend, b, transposeB);
  const [, M, K] = a3.shape as [number, number, number];
  const N = b3.shape[2]!;
  const attrs = { ...args.attrs, transposeA: false, transposeB: false };
  let out: TensorInfo;
  if (fold) {
    const aFold = reshape(backend, a3, [1, batchA * M, K]);
    const o = stock!.fused({ inputs: { ...args.inputs, a: aFold, b: b3 }, backend, attrs });
    backend.disposeData(aFold.dataId);
    out = reshape(backend, o, [batchA, M, N]);
    backend.disposeData(o.dataId);
  } else {
    out = stock!.fused({ inputs: { ...args.inputs, a: a3, b: b3 }, backend, attrs });
  }
  backend.disposeData(a3.dataId);
  backend.disposeData(b3.dataId);
  return out;
}

/**
 * Identity without a copy: the stock wasm kernel copies the tensor, and autodiff calls it for
 * every pass-through gradient (~1,000 times per reference step). No wasm kernel writes into its
 * inputs, so sharing the data (with a reference count, as the cpu backend does) is safe.
 */
function sharedIdentity(args: KernelArgs): TensorInfo {
  const x = args.inputs.x!;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Replace the wasm BatchMatMul and _FusedMatMul kernels with the fast-path routing above. */
export function registerWasmFastMatMul(notes: string[]): void {
  if (process.env.SIMVLM_WASM_FAST === "0") {
    notes.push("fast matmul routing off (SIMVLM_WASM_FAST=0)");
    return;
  }
  if (stock) return;
  const bmmK = tf.getKernel("BatchMatMul", "wasm"),
    fusedK = tf.getKernel("_FusedMatMul", "wasm");
  if (!bmmK || !fusedK) throw new Error("tfjs-backend-wasm lacks BatchMatMul/_FusedMatMul");
  stock = {
    bmm: kernelFn("BatchMatMul"),
    fused: kernelFn("_FusedMatMul"),
    transpose: kernelFn("Transpose"),
    reshape: kernelFn("Reshape"),
  };
  const idK = tf.getKernel("Identity", "wasm");
  const overrides: [tf.KernelConfig, unknown][] = [
    [bmmK, fastBatchMatMul],
    [fusedK, fastFusedMatMul],
  ];
  if (idK) overrides.push([idK, sharedIdentity]);
  for (const [k, fn] of overrides) {
    tf.unregisterKernel(k.kernelName, "wasm");
    // setupFunc stays the stock one: it binds the wasm entry points the stock kernelFunc calls.
    tf.registerKernel({ ...k, kernelFunc: fn as unknown as tf.KernelFunc });
  }
  notes.push(
    "fast matmul routing: transposed and batched products use XNNPACK; zero-copy Identity (SIMVLM_WASM_FAST=0 turns off)",
  );
}
