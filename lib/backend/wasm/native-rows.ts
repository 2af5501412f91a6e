/**
 * Row-wise wasm kernels on native/rows.c (the ops that use the fused ones: ../fused-ops.ts and
 * ../dropout.ts):
 *   Slice, SplitV, Concat — strided row copies in C. The stock wasm kernels copy one row at a time
 *     from JavaScript (subarray + set per row), which made splitting the fused q|k|v projection
 *     cost ~3 ms a call on the reference step.
 *   SimvlmSoftmaxXent / SimvlmSoftmaxXentGrad — token cross-entropy and its gradient in one pass
 *     each, instead of log-softmax, one-hot, multiply and sum forward and their gradients backward.
 *   SimvlmDropoutMask — a seeded dropout mask from a counter-based hash in C; every other backend
 *     gets the same numbers from the JS version in ../dropout.ts, so a seed means the same masks
 *     everywhere (tf.dropout draws from a JS generator, ~7 ns an element, ~30 ms of the reference step).
 * Anything these do not cover (other dtypes, slices along several axes, empty inputs) goes to the
 * stock kernel registered before.
 */
import * as tf from "@tensorflow/tfjs-core";
import { hasFunctions, type NativeAddon, type WithFunctions } from "../native-addon.ts";
import { XENT_KERNEL, XENT_GRAD_KERNEL } from "../fused-ops.ts";
import { DROPOUT_MASK_KERNEL, type MaskAttrs } from "../dropout.ts";
import {
  heapU8,
  offset,
  type KernelArgs,
  type KernelFn,
  type TensorInfo,
  type WasmBackend,
} from "./heap.ts";

const FUNCTIONS = ["copyRows", "softmaxXentFwd", "softmaxXentBwd", "dropoutMask"] as const;
type RowsAddon = WithFunctions<(typeof FUNCTIONS)[number]>;
const FOUR_BYTE = new Set(["float32", "int32"]);

let addon: RowsAddon | undefined;
const stock: Partial<Record<"Slice" | "SplitV" | "Concat", KernelFn>> = {};

/**
 * A slice that cuts only axis `axis` is `rows` runs of `width` elements, `srcStride` apart,
 * starting at element `start`.
 */
function copyPlan(shape: readonly number[], axis: number, begin: number, size: number) {
  const inner = tf.util.sizeFromShape(shape.slice(axis + 1));
  return {
    rows: tf.util.sizeFromShape(shape.slice(0, axis)),
    width: size * inner,
    srcStride: shape[axis]! * inner,
    start: begin * inner,
  };
}

function copySlice(
  backend: WasmBackend,
  x: TensorInfo,
  axis: number,
  begin: number,
  size: number,
  outShape: number[],
): TensorInfo {
  const out = backend.makeOutput(outShape, x.dtype);
  const p = copyPlan(x.shape, axis, begin, size);
  if (p.rows * p.width > 0) {
    addon!.copyRows(
      heapU8(backend),
      offset(backend, x) + 4 * p.start,
      p.srcStride,
      offset(backend, out),
      p.width,
      p.rows,
      p.width,
    );
  }
  return out;
}

function nativeSlice(args: KernelArgs): TensorInfo {
  const x = args.inputs.x!;
  if (!FOUR_BYTE.has(x.dtype) || x.shape.length === 0) return stock.Slice!(args);
  const [begin, size] = tf.slice_util.parseSliceParams(
    x as tf.Tensor,
    args.attrs.begin as number[],
    args.attrs.size as number[],
  );
  const cut = x.shape.map((_, i) => i).filter((i) => size[i] !== x.shape[i]);
  if (cut.length > 1) return stock.Slice!(args);
  const axis = cut[0] ?? 0;
  return copySlice(args.backend, x, axis, begin[axis]!, size[axis]!, size);
}

function nativeSplitV(args: KernelArgs): TensorInfo[] {
  const x = args.inputs.x!;
  if (!FOUR_BYTE.has(x.dtype)) return stock.SplitV!(args) as unknown as TensorInfo[];
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(
    x as tf.Tensor,
    args.attrs.numOrSizeSplits as number[] | number,
    axis,
  );
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
  if (
    !first ||
    inputs.length < 2 ||
    !FOUR_BYTE.has(first.dtype) ||
    inputs.some((t) => t.dtype !== first.dtype || tf.util.sizeFromShape(t.shape) === 0)
  ) {
    return stock.Concat!(args);
  }
  const axis = tf.util.parseAxisParam(args.attrs.axis as number, first.shape)[0]!;
  const shapes = inputs.map((t) => t.shape);
  tf.backend_util.assertParamsConsistent(shapes, axis);
  const outShape = tf.backend_util.computeOutShape(shapes, axis);
  const { backend } = args;
  const out = backend.makeOutput(outShape, first.dtype);
  const heap = heapU8(backend),
    outOff = offset(backend, out);
  const rows = tf.util.sizeFromShape(first.shape.slice(0, axis)),
    widths = inputs.map((t) => tf.util.sizeFromShape(t.shape.slice(axis)));
  const total = widths.reduce((a, b) => a + b, 0);
  let col = 0;
  inputs.forEach((t, i) => {
    addon!.copyRows(
      heap,
      offset(backend, t),
      widths[i]!,
      outOff + 4 * col,
      total,
      rows,
      widths[i]!,
    );
    col += widths[i]!;
  });
  return out;
}

/** Inputs logits [R, V] float32, targets [R] int32 → [loss [R], logsumexp [R]]. */
function xentForward(args: KernelArgs): TensorInfo[] {
  const { backend } = args;
  const x = args.inputs.logits!,
    t = args.inputs.targets!;
  const [R, V] = x.shape as [number, number];
  const loss = backend.makeOutput([R], "float32"),
    lse = backend.makeOutput([R], "float32");
  addon!.softmaxXentFwd(
    heapU8(backend),
    offset(backend, x),
    offset(backend, t),
    offset(backend, loss),
    offset(backend, lse),
    R,
    V,
  );
  return [loss, lse];
}

/** Inputs logits, targets, lse, dy [R] → dlogits [R, V]. */
function xentBackward(args: KernelArgs): TensorInfo {
  const { backend } = args;
  const x = args.inputs.logits!,
    t = args.inputs.targets!,
    lse = args.inputs.lse!,
    dy = args.inputs.dy!;
  const [R, V] = x.shape as [number, number];
  const dx = backend.makeOutput([R, V], "float32");
  addon!.softmaxXentBwd(
    heapU8(backend),
    offset(backend, x),
    offset(backend, t),
    offset(backend, lse),
    offset(backend, dy),
    offset(backend, dx),
    R,
    V,
  );
  return dx;
}

function maskKernel(args: KernelArgs): TensorInfo {
  const a = args.attrs as unknown as MaskAttrs,
    { backend } = args;
  const out = backend.makeOutput(a.shape, "float32");
  addon!.dropoutMask(
    heapU8(backend),
    offset(backend, out),
    tf.util.sizeFromShape(a.shape),
    a.key,
    a.threshold,
    a.scale,
  );
  return out;
}

/** Registers the kernels for the wasm backend (called once the addon has loaded). */
export function registerNativeRows(got: NativeAddon, notes: string[]): void {
  if (!hasFunctions(got, FUNCTIONS)) return;
  addon = got;
  const replaced: Record<"Slice" | "SplitV" | "Concat", (args: KernelArgs) => unknown> = {
    Slice: nativeSlice,
    SplitV: nativeSplitV,
    Concat: nativeConcat,
  };
  for (const [name, fn] of Object.entries(replaced) as [
    "Slice" | "SplitV" | "Concat",
    (args: KernelArgs) => unknown,
  ][]) {
    const k = tf.getKernel(name, "wasm");
    if (!k) continue;
    stock[name] = k.kernelFunc as unknown as KernelFn;
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ ...k, kernelFunc: fn as unknown as tf.KernelFunc });
  }
  for (const [name, fn] of [
    [XENT_KERNEL, xentForward],
    [XENT_GRAD_KERNEL, xentBackward],
    [DROPOUT_MASK_KERNEL, maskKernel],
  ] as const) {
    if (!tf.getKernel(name, "wasm"))
      tf.registerKernel({
        kernelName: name,
        backendName: "wasm",
        kernelFunc: fn as unknown as tf.KernelFunc,
      });
  }
  notes.push(
    "native row kernels: Slice/SplitV/Concat copies, fused softmax cross-entropy, dropout masks",
  );
}
