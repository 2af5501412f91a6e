/**
 * The native matmul path for the wasm backend: BatchMatMul and _FusedMatMul computed by OpenBLAS
 * (native/blas.c, a small N-API addon) directly on the wasm heap — the addon receives the heap as
 * a Uint8Array and byte offsets, so no tensor is copied. OpenBLAS uses every core and AVX2/AVX-512
 * FMA, which 128-bit wasm SIMD cannot. Everything else stays on wasm.
 *
 * The addon is built by `node native/build.mjs` (npm's prepare step) or, when missing, on first use;
 * if it cannot be built or loaded (no compiler, no libopenblas-dev) the wasm fast path
 * (./wasm-fast.ts) is used and `simvlm info` says why in one line. SIMVLM_NATIVE=0 turns it off.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { tf } from "./index.ts";
import { registerNativeFused } from "./native-fused.ts";
import { registerNativeAdamW } from "./native-adamw.ts";
import { registerNativeRows } from "./native-rows.ts";

export interface BlasAddon {
  sgemm(heap: Uint8Array, batch: number, M: number, N: number, K: number, tA: number, tB: number,
    aOff: number, bOff: number, cOff: number, strideA: number, strideB: number): void;
  biasAct(heap: Uint8Array, cOff: number, rows: number, N: number, biasOff: number, act: number): void;
  reduceSum?(heap: Uint8Array, inOff: number, outOff: number, outer: number, mid: number, inner: number): void;
  threads(): number;
  /** The fused kernels of native/fused.c, adamw.c, rows.c (typed where they are registered). */
  [name: string]: unknown;
}
type TensorInfo = tf.TensorInfo;
export interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
}
export type KernelArgs = { inputs: Record<string, TensorInfo | undefined>; backend: WasmBackend; attrs: Record<string, unknown> };
export type KernelFn = (args: KernelArgs) => TensorInfo;

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL("../../", import.meta.url));
export const NATIVE_ADDON_PATH = `${root}native/build/simvlm_blas.node`;

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

let addon: BlasAddon | undefined;
let fallback: { bmm: KernelFn; fused: KernelFn; sum: KernelFn } | undefined;

/** Load (building first if needed) the addon; returns it or a one-line reason it is unavailable. */
export async function loadBlasAddon(): Promise<BlasAddon | string> {
  if (process.env.SIMVLM_NATIVE === "0") return "off (SIMVLM_NATIVE=0)";
  type Build = { addonIsCurrent(): boolean; buildNativeAddon(quiet: boolean): { ok: boolean; reason?: string } };
  let build: Build;
  try { build = await import("../../native/build.mjs" as string) as Build; } catch (e) {
    return `not built: native/build.mjs missing (${(e instanceof Error ? e.message : String(e)).split("\n")[0]})`;
  }
  if (!build.addonIsCurrent()) {
    const r = build.buildNativeAddon(true);
    if (!r.ok) return `not built: ${r.reason}`;
  }
  try { return require(NATIVE_ADDON_PATH) as BlasAddon; } catch (e) {
    return `did not load: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`;
  }
}

/** Byte offset of a tensor's data on the wasm heap. */
export function offset(backend: WasmBackend, t: TensorInfo): number { return backend.dataIdMap.get(t.dataId).memoryOffset; }

/** Shapes a product reduces to, or undefined when the batch shapes need real broadcasting. */
function plan(a: TensorInfo, b: TensorInfo, tA: boolean, tB: boolean) {
  const ra = a.shape.length, rb = b.shape.length;
  const M = tA ? a.shape[ra - 1]! : a.shape[ra - 2]!, K = tA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const Kb = tB ? b.shape[rb - 1]! : b.shape[rb - 2]!, N = tB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const dA = a.shape.slice(0, -2), dB = b.shape.slice(0, -2), batchA = prod(dA), batchB = prod(dB);
  if (!(batchA === 1 || batchB === 1 || sameShape(dA, dB))) return undefined;
  if (K !== Kb) throw new Error(`Error in matMul: inner shapes (${K}) and (${Kb}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${tA} and transposeB=${tB} must match.`);
  return { M, N, K, batchA, batchB, outBatch: tf.backend_util.assertAndGetBroadcastShape(dA, dB) };
}

/**
 * Products with a handful of rows against one weight matrix (decoding a few sequences) stay on
 * XNNPACK: it keeps the packed weights cached across calls, while OpenBLAS pays its thread
 * hand-off on every tiny call (measured 1x256x4000: 69 us wasm vs 259 us native).
 */
const SMALL_ROWS = 8;
const smallRows = (p: NonNullable<ReturnType<typeof plan>>) => p.batchB === 1 && p.batchA * p.M <= SMALL_ROWS;

/** C = op(A)·op(B) into a fresh output of shape [...outBatch, M, N]. */
function product(backend: WasmBackend, a: TensorInfo, b: TensorInfo, tA: boolean, tB: boolean, p: NonNullable<ReturnType<typeof plan>>, outShape: number[]): TensorInfo {
  const { M, N, K, batchA, batchB } = p;
  const out = backend.makeOutput(outShape, "float32");
  // Read the heap after makeOutput: an allocation can grow (and replace) the wasm memory.
  const heap = backend.wasm.HEAPU8;
  const aOff = offset(backend, a), bOff = offset(backend, b), cOff = offset(backend, out);
  if (batchB === 1 && !tA) {
    // Rows of every batch entry of A are contiguous: one [batchA*M, K]·[K, N] product.
    addon!.sgemm(heap, 1, batchA * M, N, K, 0, tB ? 1 : 0, aOff, bOff, cOff, 0, 0);
  } else {
    const batch = Math.max(batchA, batchB);
    addon!.sgemm(heap, batch, M, N, K, tA ? 1 : 0, tB ? 1 : 0, aOff, bOff, cOff, batchA === 1 ? 0 : M * K, batchB === 1 ? 0 : K * N);
  }
  return out;
}

function nativeBatchMatMul(args: KernelArgs): TensorInfo {
  const { backend } = args;
  const a = args.inputs.a!, b = args.inputs.b!;
  const tA = Boolean(args.attrs.transposeA), tB = Boolean(args.attrs.transposeB);
  if (a.dtype !== "float32" || b.dtype !== "float32") return fallback!.bmm(args);
  const p = plan(a, b, tA, tB);
  if (!p || smallRows(p)) return fallback!.bmm(args);
  return product(backend, a, b, tA, tB, p, [...p.outBatch, p.M, p.N]);
}

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1 };

function nativeFusedMatMul(args: KernelArgs): TensorInfo {
  const { backend } = args;
  const a = args.inputs.a!, b = args.inputs.b!, bias = args.inputs.bias;
  const tA = Boolean(args.attrs.transposeA), tB = Boolean(args.attrs.transposeB);
  const act = ACTIVATIONS[String(args.attrs.activation ?? "linear")];
  if (a.dtype !== "float32" || b.dtype !== "float32" || act === undefined || args.inputs.preluActivationWeights) return fallback!.fused(args);
  const p = plan(a, b, tA, tB);
  if (!p || smallRows(p) || (bias && (bias.shape.length !== 1 || (bias.shape[0] !== p.N && bias.shape[0] !== 1)))) return fallback!.fused(args);
  if (bias && bias.shape[0] === 1 && p.N !== 1) return fallback!.fused(args);
  const out = product(backend, a, b, tA, tB, p, [...p.outBatch, p.M, p.N]);
  if (bias || act !== 0) {
    addon!.biasAct(backend.wasm.HEAPU8, offset(backend, out), prod(out.shape) / p.N, p.N, bias ? offset(backend, bias) : -1, act);
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
  if (x.dtype !== "float32" || !addon!.reduceSum || x.shape.length === 0) return fallback!.sum(args);
  const axes = tf.util.parseAxisParam(args.attrs.axis as number | number[], x.shape).sort((a, b) => a - b);
  const first = axes[0]!, last = axes[axes.length - 1]!;
  if (axes.length === 0 || last - first + 1 !== axes.length || last === x.shape.length - 1) return fallback!.sum(args);
  const outer = prod(x.shape.slice(0, first)), mid = prod(x.shape.slice(first, last + 1)), inner = prod(x.shape.slice(last + 1));
  const outShape = args.attrs.keepDims ? x.shape.map((s, i) => (i >= first && i <= last ? 1 : s)) : x.shape.filter((_, i) => i < first || i > last);
  const out = backend.makeOutput(outShape, "float32");
  addon!.reduceSum(backend.wasm.HEAPU8, offset(backend, x), offset(backend, out), outer, mid, inner);
  return out;
}

/**
 * Route wasm BatchMatMul/_FusedMatMul through OpenBLAS; the kernels registered before (the wasm fast
 * path) handle what the native path does not (non-float32, broadcast batches, prelu and other activations).
 */
export async function registerNativeMatMul(notes: string[]): Promise<boolean> {
  if (addon) return true;
  const got = await loadBlasAddon();
  if (typeof got === "string") { notes.push(`native BLAS matmul ${got}; matrix products stay on wasm`); return false; }
  const bmmK = tf.getKernel("BatchMatMul", "wasm"), fusedK = tf.getKernel("_FusedMatMul", "wasm"), sumK = tf.getKernel("Sum", "wasm");
  if (!bmmK || !fusedK || !sumK) return false;
  addon = got;
  fallback = { bmm: bmmK.kernelFunc as unknown as KernelFn, fused: fusedK.kernelFunc as unknown as KernelFn, sum: sumK.kernelFunc as unknown as KernelFn };
  for (const [k, fn] of [[bmmK, nativeBatchMatMul], [fusedK, nativeFusedMatMul], [sumK, nativeSum]] as const) {
    tf.unregisterKernel(k.kernelName, "wasm");
    tf.registerKernel({ ...k, kernelFunc: fn as unknown as tf.KernelFunc });
  }
  registerNativeFused(got, notes);
  registerNativeAdamW(got, notes);
  registerNativeRows(got, notes);
  notes.push(`native BLAS matmul: OpenBLAS on the wasm heap, ${got.threads()} thread(s), plus in-place sums over outer axes (SIMVLM_NATIVE=0 turns off)`);
  return true;
}
