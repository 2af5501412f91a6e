/**
 * Row-wise wasm kernels on native/rows.c:
 *   Slice, SplitV, Concat — strided row copies in C. The stock wasm kernels copy one row at a time
 *     from JavaScript (subarray + set per row), which made splitting the fused q|k|v projection
 *     cost ~3 ms a call on the reference step.
 *   SimvlmSoftmaxXent / SimvlmSoftmaxXentGrad — token cross-entropy and its gradient in one pass
 *     each, instead of log-softmax, one-hot, multiply and sum forward and their gradients backward.
 *   SimvlmDropoutMask — a seeded dropout mask from a counter-based hash in C; every other backend
 *     gets the same numbers from the JS version here, so a seed means the same masks everywhere
 *     (tf.dropout draws from a JS generator, ~7 ns an element, ~30 ms of the reference step).
 * Anything these do not cover (other dtypes, slices along several axes, empty inputs) goes to the
 * stock kernel registered before.
 */
import { tf } from "./index.ts";
import { offset, type BlasAddon, type KernelArgs, type KernelFn, type WasmBackend } from "./wasm-fast-native.ts";

interface RowsAddon {
  copyRows(heap: Uint8Array, src: number, srcStride: number, dst: number, dstStride: number, rows: number, width: number): void;
  softmaxXentFwd(heap: Uint8Array, x: number, t: number, loss: number, lse: number, rows: number, V: number): void;
  softmaxXentBwd(heap: Uint8Array, x: number, t: number, lse: number, dy: number, dx: number, rows: number, V: number): void;
  dropoutMask(heap: Uint8Array, out: number, n: number, key: number, threshold: number, scale: number): void;
}
type TensorInfo = tf.TensorInfo;

const XENT = "SimvlmSoftmaxXent", XENT_GRAD = "SimvlmSoftmaxXentGrad", DROPOUT_MASK = "SimvlmDropoutMask";
const FOUR_BYTE = new Set(["float32", "int32"]);

let addon: RowsAddon | undefined;
const stock: Partial<Record<"Slice" | "SplitV" | "Concat", KernelFn>> = {};

/**
 * A slice that cuts only axis `axis` is `rows` runs of `width` elements, `srcStride` apart,
 * starting at element `start`.
 */
function copyPlan(shape: readonly number[], axis: number, begin: number, size: number) {
  const inner = tf.util.sizeFromShape(shape.slice(axis + 1));
  return { rows: tf.util.sizeFromShape(shape.slice(0, axis)), width: size * inner, srcStride: shape[axis]! * inner, start: begin * inner };
}

function copySlice(backend: WasmBackend, x: TensorInfo, axis: number, begin: number, size: number, outShape: number[]): TensorInfo {
  const out = backend.makeOutput(outShape, x.dtype);
  const p = copyPlan(x.shape, axis, begin, size);
  if (p.rows * p.width > 0) {
    addon!.copyRows(backend.wasm.HEAPU8, offset(backend, x) + 4 * p.start, p.srcStride, offset(backend, out), p.width, p.rows, p.width);
  }
  return out;
}

function nativeSlice(args: KernelArgs): TensorInfo {
  const x = args.inputs.x!;
  if (!FOUR_BYTE.has(x.dtype) || x.shape.length === 0) return stock.Slice!(args);
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, args.attrs.begin as number[], args.attrs.size as number[]);
  const cut = x.shape.map((_, i) => i).filter((i) => size[i] !== x.shape[i]);
  if (cut.length > 1) return stock.Slice!(args);
  const axis = cut[0] ?? 0;
  return copySlice(args.backend, x, axis, begin[axis]!, size[axis]!, size);
}

function nativeSplitV(args: KernelArgs): TensorInfo[] {
  const x = args.inputs.x!;
  if (!FOUR_BYTE.has(x.dtype)) return stock.SplitV!(args) as unknown as TensorInfo[];
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, args.attrs.numOrSizeSplits as number[] | number, axis);
  let begin = 0;
  return sizes.map((s) => {
    const shape = x.shape.slice();
    shape[axis] = s;
    const out = copySlice(args.backend, x, axis, begin, s, shape);
    begin += s;
    return out;
  });
}

function nativeConcat(args: KernelArgs): TensorInfo {
  const inputs = args.inputs as unknown as TensorInfo[];
  const first = inputs[0];
  if (!first || inputs.length < 2 || !FOUR_BYTE.has(first.dtype) || inputs.some((t) => t.dtype !== first.dtype || tf.util.sizeFromShape(t.shape) === 0)) {
    return stock.Concat!(args);
  }
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, first.shape)[0]!;
  const shapes = inputs.map((t) => t.shape);
  tf.backend_util.assertParamsConsistent(shapes, axis);
  const outShape = tf.backend_util.computeOutShape(shapes, axis);
  const { backend } = args;
  const out = backend.makeOutput(outShape, first.dtype);
  const heap = backend.wasm.HEAPU8, outOff = offset(backend, out);
  const rows = tf.util.sizeFromShape(first.shape.slice(0, axis)), widths = inputs.map((t) => tf.util.sizeFromShape(t.shape.slice(axis)));
  const total = widths.reduce((a, b) => a + b, 0);
  let col = 0;
  inputs.forEach((t, i) => {
    addon!.copyRows(heap, offset(backend, t), widths[i]!, outOff + 4 * col, total, rows, widths[i]!);
    col += widths[i]!;
  });
  return out;
}

/** Inputs logits [R, V] float32, targets [R] int32 → [loss [R], logsumexp [R]]. */
function xentForward(args: KernelArgs): TensorInfo[] {
  const { backend } = args;
  const x = args.inputs.logits!, t = args.inputs.targets!;
  const [R, V] = x.shape as [number, number];
  const loss = backend.makeOutput([R], "float32"), lse = backend.makeOutput([R], "float32");
  addon!.softmaxXentFwd(backend.wasm.HEAPU8, offset(backend, x), offset(backend, t), offset(backend, loss), offset(backend, lse), R, V);
  return [loss, lse];
}

/** Inputs logits, targets, lse, dy [R] → dlogits [R, V]. */
function xentBackward(args: KernelArgs): TensorInfo {
  const { backend } = args;
  const x = args.inputs.logits!, t = args.inputs.targets!, lse = args.inputs.lse!, dy = args.inputs.dy!;
  const [R, V] = x.shape as [number, number];
  const dx = backend.makeOutput([R, V], "float32");
  addon!.softmaxXentBwd(backend.wasm.HEAPU8, offset(backend, x), offset(backend, t), offset(backend, lse), offset(backend, dy), offset(backend, dx), R, V);
  return dx;
}

/**
 * −log softmax(logits)[target] per row: logits [R, V], targets [R] (any numeric dtype; a target
 * outside [0, V) gives loss 0 and no gradient, as tf.oneHot's all-zero row does). Returns undefined
 * where the fused kernel is not available for the current backend; the caller then composes it.
 */
export function fusedSoftmaxCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D | undefined {
  if (!addon || logits.dtype !== "float32" || !tf.getKernel(XENT, tf.getBackend())) return undefined;
  if (targets.shape[0] !== logits.shape[0]) {
    throw new Error(`softmax cross-entropy: targets have shape [${targets.shape}], logits [${logits.shape}] need [${logits.shape[0]}]`);
  }
  return tf.tidy(() => {
    const t = targets.dtype === "int32" ? targets : tf.cast(targets, "int32");
    const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
      const [loss, lse] = tf.engine().runKernel(XENT, { logits: x, targets: t }, {}) as tf.Tensor[];
      save([x, t, lse!]);
      return {
        value: loss!,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          tf.engine().runKernel(XENT_GRAD, { logits: saved[0]!, targets: saved[1]!, lse: saved[2]!, dy }, {}) as tf.Tensor,
      };
    });
    return f(logits) as tf.Tensor1D;
  });
}

/** Chris Wellons' "lowbias32" integer hash (native/rows.c has the same). */
export function hash32(x: number): number {
  x ^= x >>> 16; x = Math.imul(x, 0x7feb352d); x ^= x >>> 15; x = Math.imul(x, 0x846ca68b); x ^= x >>> 16;
  return x >>> 0;
}

/** The 32-bit key of dropout call number `counter` under `seed` (any finite number). */
export function dropoutKey(seed: number, counter: number): number {
  const s = Math.floor(Math.abs(seed));
  const hi = Math.floor(s / 2 ** 32) >>> 0, lo = s >>> 0;
  return hash32((hash32(lo ^ hash32(hi + (seed < 0 ? 1 : 0))) ^ Math.imul(counter + 1, 0x9e3779b9)) >>> 0);
}

interface MaskAttrs { shape: number[]; key: number; threshold: number; scale: number }

function maskAttrs(shape: number[], rate: number, key: number): MaskAttrs {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: rate must be in [0, 1), got ${rate}`);
  return { shape, key: key >>> 0, threshold: Math.round(rate * 2 ** 24), scale: 1 / (1 - rate) };
}

/** The mask in JS: element i is 0 when hash32(key + i·0x9e3779b9) >> 8 < threshold, else 1/(1 − rate). */
function maskValues(n: number, a: MaskAttrs): Float32Array {
  const out = new Float32Array(n), scale = Math.fround(a.scale);
  for (let i = 0; i < n; i++) out[i] = hash32((a.key + Math.imul(i, 0x9e3779b9)) >>> 0) >>> 8 < a.threshold ? 0 : scale;
  return out;
}

function maskKernel(args: KernelArgs): TensorInfo {
  const a = args.attrs as unknown as MaskAttrs, { backend } = args;
  const out = backend.makeOutput(a.shape, "float32");
  addon!.dropoutMask(backend.wasm.HEAPU8, offset(backend, out), tf.util.sizeFromShape(a.shape), a.key, a.threshold, a.scale);
  return out;
}

/**
 * A dropout mask of `shape`: each element 0 with probability `rate`, else 1/(1 − rate), fixed by
 * `key` (see dropoutKey) and identical on every backend. Multiply the activations by it.
 */
export function dropoutMask(shape: number[], rate: number, key: number): tf.Tensor {
  const a = maskAttrs(shape, rate, key);
  if (addon && tf.getKernel(DROPOUT_MASK, tf.getBackend())) return tf.engine().runKernel(DROPOUT_MASK, {}, a as unknown as tf.NamedAttrMap) as tf.Tensor;
  return tf.tensor(maskValues(tf.util.sizeFromShape(shape), a), shape, "float32");
}

/** Registers the kernels for the wasm backend (called once the addon has loaded). */
export function registerNativeRows(got: BlasAddon, notes: string[]): void {
  const a = got as unknown as Partial<RowsAddon>;
  if (["copyRows", "softmaxXentFwd", "softmaxXentBwd", "dropoutMask"].some((f) => typeof a[f as keyof RowsAddon] !== "function")) return;
  addon = a as RowsAddon;
  const replaced: Record<"Slice" | "SplitV" | "Concat", (args: KernelArgs) => unknown> = { Slice: nativeSlice, SplitV: nativeSplitV, Concat: nativeConcat };
  for (const [name, fn] of Object.entries(replaced) as ["Slice" | "SplitV" | "Concat", (args: KernelArgs) => unknown][]) {
    const k = tf.getKernel(name, "wasm");
    if (!k) continue;
    stock[name] = k.kernelFunc as unknown as KernelFn;
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ ...k, kernelFunc: fn as unknown as tf.KernelFunc });
  }
  for (const [name, fn] of [[XENT, xentForward], [XENT_GRAD, xentBackward], [DROPOUT_MASK, maskKernel]] as const) {
    if (!tf.getKernel(name, "wasm")) tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: fn as unknown as tf.KernelFunc });
  }
  notes.push("native row kernels: Slice/SplitV/Concat copies, fused softmax cross-entropy, dropout masks");
}
