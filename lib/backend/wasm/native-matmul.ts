/**
 * The native matmul path for the wasm backend: BatchMatMul and _FusedMatMul computed by OpenBLAS
 * (native/blas.c, through ../native-addon.ts) directly on the wasm heap, so no tensor is copied.
 * OpenBLAS uses every core and AVX2/AVX-512 FMA, which 128-bit wasm SIMD cannot. Everything else
 * stays on wasm. Without the addon (no compiler, no libopenblas-dev, SIMVLM_NATIVE=0) the wasm fast
 * path (./fast-matmul.ts) keeps the products and `simvlm info` says why in one line.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { NativeAddon } from "../native-addon.ts";
import {
  heapU8,
  offset,
  type KernelArgs,
  type KernelFn,
  type TensorInfo,
  type WasmBackend,
} from "./heap.ts";

let addon: NativeAddon | undefined;
let fallback: { bmm: KernelFn; fused: KernelFn; sum: KernelFn } | undefined;

/** Shapes a product reduces to, or undefined when the batch shapes need real broadcasting. */
function plan(a: TensorInfo, b: TensorInfo, tA: boolean, tB: boolean) {
  const ra = a.shape.length,
    rb = b.shape.length;
  const M = tA ? a.shape[ra - 1]! : a.shape[ra - 2]!,
    K = tA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const Kb = tB ? b.shape[rb - 1]! : b.shape[rb - 2]!,
    N = tB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const dA = a.shape.slice(0, -2),
    dB = b.shape.slice(0, -2),
    batchA = tf.util.sizeFromShape(dA),
    batchB = tf.util.sizeFromShape(dB);
  if (!(batchA === 1 || batchB === 1 || tf.util.arraysEqual(dA, dB))) return undefined;
  if (K !== Kb)
    throw new Error(
      `Error in matMul: inner shapes (${K}) and (${Kb}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${tA} and transposeB=${tB} must match.`,
    );
  return { M, N, K, batchA, batchB, outBatch: tf.backend_util.assertAndGetBroadcastShape(dA, dB) };
}

/**
 * Products with a handful of rows against one weight matrix (decoding a few sequences) stay on
 * XNNPACK: it keeps the packed weights cached across calls, while OpenBLAS pays its thread
 * hand-off on every tiny call (measured 1x256x4000: 69 us wasm vs 259 us native).
 */
const SMALL_ROWS = 8;
const smallRows = (p: NonNullable<ReturnType<typeof plan>>) =>
  p.batchB === 1 && p.batchA * p.M <= SMALL_ROWS;

/** C = op(A)·op(B) into a fresh output of shape [...outBatch, M, N]. */
function product(
  backend: WasmBackend,
  a: TensorInfo,
  b: TensorInfo,
  tA: boolean,
  tB: boolean,
  p: NonNullable<ReturnType<typeof plan>>,
  outShape: number[],
): TensorInfo {
  const { M, N, K, batchA, batchB } = p;
  const out = backend.makeOutput(outShape, "float32");
  // Read the heap after makeOutput: an allocation can grow (and replace) the wasm memory.
  const heap = heapU8(backend);
  const aOff = offset(backend, a),
    bOff = offset(backend, b),
    cOff = offset(backend, out);
  if (batchB === 1 && !tA) {
    // Rows of every batch entry of A are contiguous: one [batchA*M, K]·[K, N] product.
    addon!.sgemm(heap, 1, batchA * M, N, K, 0, tB ? 1 : 0, aOff, bOff, cOff, 0, 0);
  } else {
    const batch = Math.max(batchA, batchB);
    addon!.sgemm(
      heap,
      batch,
      M,
      N,
      K,
      tA ? 1 : 0,
      tB ? 1 : 0,
      aOff,
      bOff,
      cOff,
      batchA === 1 ? 0 : M * K,
      batchB === 1 ? 0 : K * N,
    );
  }
  return out;
}

function nativeBatchMatMul(args: KernelArgs): TensorInfo {
  const { backend } = args;
  const a = args.inputs.a!,
    b = args.inputs.b!;
  const tA = Boolean(args.attrs.transposeA),
    tB = Boolean(args.attrs.transposeB);
  if (a.dtype !== "float32" || b.dtype !== "float32") return fallback!.bmm(args);
  const p = plan(a, b, tA, tB);
  if (!p || smallRows(p)) return fallback!.bmm(args);
  return product(backend, a, b, tA, tB, p, [...p.outBatch, p.M, p.N]);
}

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1 };

function nativeFusedMatMul(args: KernelArgs): TensorInfo {
  const { backend } = args;
  const a = args.inputs.a!,
    b = args.inputs.b!,
    bias = args.inputs.bias;
  const tA = Boolean(args.attrs.transposeA),
    tB = Boolean(args.attrs.transposeB);
  const act = ACTIVATIONS[String(args.attrs.activation ?? "linear")];
  if (
    a.dtype !== "float32" ||
    b.dtype !== "float32" ||
    act === undefined ||
    args.inputs.preluActivationWeights
  )
    return fallback!.fused(args);
  const p = plan(a, b, tA, tB);
  if (
    !p ||
    smallRows(p) ||
    (bias && (bias.shape.length !== 1 || (bias.shape[0] !== p.N && bias.shape[0] !== 1)))
  )
    return fallback!.fused(args);
  if (bias && bias.shape[0] === 1 && p.N !== 1) return fallback!.fused(args);
  const out = product(backend, a, b, tA, tB, p, [...p.outBatch, p.M, p.N]);
  if (bias || act !== 0) {
    addon!.biasAct(
      heapU8(backend),
      offset(backend, out),
      tf.util.sizeFromShape(out.shape) / p.N,
      p.N,
      bias ? offset(backend, bias) : -1,
      act,
    );
  }
  return out;
}

/**
 * Sum over a run of adjacent axes that are not the innermost (bias and broadcast gradients: rows of
 * [N, d] summed to [d]): the stock kernel transposes the whole input first; this reads it in place.
 */
function nativeSum(args: KernelArgs): TensorInfo {
  const { backend } = args;
  const x = args.inputs.x!;
  if (x.dtype !== "float32" || !addon!.reduceSum || x.shape.length === 0)
    return fallback!.sum(args);
  const axes = tf.util
    .parseAxisParam(args.attrs.axis as number | number[], x.shape)
    .sort((a, b) => a - b);
  const first = axes[0]!,
    last = axes[axes.length - 1]!;
  if (axes.length === 0 || last - first + 1 !== axes.length || last === x.shape.length - 1)
    return fallback!.sum(args);
  const outer = tf.util.sizeFromShape(x.shape.slice(0, first)),
    mid = tf.util.sizeFromShape(x.shape.slice(first, last + 1)),
    inner = tf.util.sizeFromShape(x.shape.slice(last + 1));
  const outShape = args.attrs.keepDims
    ? x.shape.map((s, i) => (i >= first && i <= last ? 1 : s))
    : x.shape.filter((_, i) => i < first || i > last);
  const out = backend.makeOutput(outShape, "float32");
  addon!.reduceSum(heapU8(backend), offset(backend, x), offset(backend, out), outer, mid, inner);
  return out;
}

/**
 * Route wasm BatchMatMul/_FusedMatMul (and outer-axis Sum) through OpenBLAS; the kernels registered
 * before (the wasm fast path) handle what the native path does not (non-float32, broadcast batches,
 * prelu and other activations).
 */
export function registerNativeMatMul(got: NativeAddon, notes: string[]): boolean {
  if (addon) return true;
  const bmmK = tf.getKernel("BatchMatMul", "wasm"),
    fusedK = tf.getKernel("_FusedMatMul", "wasm"),
    sumK = tf.getKernel("Sum", "wasm");
  if (!bmmK || !fusedK || !sumK) return false;
  addon = got;
  fallback = {
    bmm: bmmK.kernelFunc as unknown as KernelFn,
    fused: fusedK.kernelFunc as unknown as KernelFn,
    sum: sumK.kernelFunc as unknown as KernelFn,
  };
  for (const [k, fn] of [
    [bmmK, nativeBatchMatMul],
    [fusedK, nativeFusedMatMul],
    [sumK, nativeSum],
  ] as const) {
    tf.unregisterKernel(k.kernelName, "wasm");
    tf.registerKernel({ ...k, kernelFunc: fn as unknown as tf.KernelFunc });
  }
  notes.push(
    `native BLAS matmul: OpenBLAS on the wasm heap, ${got.threads()} thread(s), plus in-place sums over outer axes (SIMVLM_NATIVE=0 turns off)`,
  );
  return true;
}
