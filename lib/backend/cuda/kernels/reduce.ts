/**
 * Reductions (Sum, Mean, Max, Min, Prod, Any, All, ArgMax, ArgMin) and Softmax. The axes are
 * reduced as the middle of [outer, mid, inner] when they are one contiguous run — the usual case
 * (a last-axis sum, a bias gradient over rows) needs no transpose — and are moved last by one
 * transpose otherwise. Long reductions run in two passes over chunks, so a sum over 12,544 rows
 * uses many threads instead of one per output.
 */
import * as tf from "@tensorflow/tfjs-core";
import { CudaBackend } from "../backend.ts";
import { REDUCE } from "../catalog.ts";
import { castTo } from "./elementwise.ts";
import { copyStrided } from "./shape.ts";
import { kernel, reshapeInfo, size, stridesOf, type KernelArgs, type TensorInfo } from "./util.ts";

/** Chunk length for the first pass, or 0 for a single pass. */
function chunkFor(outer: number, mid: number, inner: number, op: number): number {
  if (op === REDUCE.ARGMAX || op === REDUCE.ARGMIN) return 0;
  if (inner > 1 && mid >= 512 && outer * inner < 32768)
    return Math.ceil(mid / Math.min(128, Math.ceil(mid / 128)));
  if (inner === 1 && mid > 32768 && outer < 256) return 8192;
  return 0;
}

/** Reduce `x` over `axes` with `op`; the result has the kept axes (keepDims is the caller's reshape). */
export function reduce(
  backend: CudaBackend,
  x: TensorInfo,
  axes: number[],
  op: number,
  mean = false,
): TensorInfo {
  const rank = x.shape.length;
  axes = [...new Set(axes.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
  const keptShape = x.shape.filter((_, i) => !axes.includes(i));
  const outDtype: tf.DataType =
    op === REDUCE.ARGMAX || op === REDUCE.ARGMIN
      ? "int32"
      : op === REDUCE.ANY || op === REDUCE.ALL
        ? "bool"
        : mean
          ? "float32"
          : x.dtype === "bool"
            ? "int32"
            : x.dtype;
  let src = mean && x.dtype !== "float32" ? castTo(backend, x, "float32") : x;
  const contiguous = axes.length === 0 || axes[axes.length - 1]! - axes[0]! === axes.length - 1;
  let outer: number, mid: number, inner: number;
  if (contiguous && axes.length) {
    outer = size(x.shape.slice(0, axes[0]));
    mid = size(x.shape.slice(axes[0], axes[axes.length - 1]! + 1));
    inner = size(x.shape.slice(axes[axes.length - 1]! + 1));
  } else if (!axes.length) {
    outer = size(x.shape);
    mid = 1;
    inner = 1;
  } else {
    // Move the reduced axes last: [kept…, reduced…].
    const perm = [...x.shape.keys()].filter((i) => !axes.includes(i)).concat(axes);
    const tShape = perm.map((p) => x.shape[p]!),
      xs = stridesOf(x.shape);
    const t = backend.makeTensorInfo(tShape, src.dtype);
    copyStrided(
      backend,
      src,
      t,
      tShape,
      perm.map((p) => xs[p]!),
      stridesOf(tShape),
      0,
      0,
      "reduce transpose",
    );
    if (src !== x) backend.disposeIntermediate(src);
    src = t;
    outer = size(keptShape);
    mid = size(axes.map((a) => x.shape[a]!));
    inner = 1;
  }
  const y = backend.makeTensorInfo(keptShape, outDtype);
  if (size(keptShape) === 0) {
    if (src !== x) backend.disposeIntermediate(src);
    return y;
  }
  if (mid === 0) {
    // An empty reduction: the op's identity (0 for sums, 1 for products).
    backend.device.launch("fill", [
      backend.ptr(y),
      size(keptShape),
      op === REDUCE.PROD || op === REDUCE.ALL ? 1 : 0,
      CudaBackend.dtypeCode(outDtype),
    ]);
    if (src !== x) backend.disposeIntermediate(src);
    return y;
  }
  const dt = CudaBackend.dtypeCode(src.dtype),
    scale = mean ? 1 / mid : 1;
  const chunk = chunkFor(outer, mid, inner, op);
  if (chunk && chunk < mid) {
    const nChunks = Math.ceil(mid / chunk);
    const partDtype = src.dtype === "bool" ? "int32" : src.dtype;
    const part = backend.makeTensorInfo(
      [outer, nChunks, inner],
      op === REDUCE.ANY || op === REDUCE.ALL ? "bool" : partDtype,
    );
    backend.device.launch("reduce", [
      op,
      dt,
      backend.ptr(src),
      backend.ptr(part),
      outer,
      mid,
      inner,
      chunk,
      1,
    ]);
    backend.device.launch("reduce", [
      op,
      CudaBackend.dtypeCode(part.dtype),
      backend.ptr(part),
      backend.ptr(y),
      outer,
      nChunks,
      inner,
      nChunks,
      scale,
    ]);
    backend.disposeIntermediate(part);
  } else {
    backend.device.launch("reduce", [
      op,
      dt,
      backend.ptr(src),
      backend.ptr(y),
      outer,
      mid,
      inner,
      mid,
      scale,
    ]);
  }
  if (src !== x) backend.disposeIntermediate(src);
  return y;
}

function reductionKernel(name: string, op: number, mean = false) {
  kernel(name, ({ inputs, backend, attrs }: KernelArgs) => {
    const x = inputs.x!;
    // Max calls its axes reductionIndices; the others axis.
    const axes = tf.util.parseAxisParam(
      (attrs.axis ?? attrs.reductionIndices) as number | number[],
      x.shape,
    );
    const y = reduce(backend, x, axes, op, mean);
    if (!attrs.keepDims) return y;
    const r = reshapeInfo(backend, y, tf.backend_util.expandShapeToKeepDim(y.shape, axes));
    backend.disposeIntermediate(y);
    return r;
  });
}

reductionKernel("Sum", REDUCE.SUM);
reductionKernel("Mean", REDUCE.SUM, true);
reductionKernel("Max", REDUCE.MAX);
reductionKernel("Min", REDUCE.MIN);
reductionKernel("Prod", REDUCE.PROD);
reductionKernel("Any", REDUCE.ANY);
reductionKernel("All", REDUCE.ALL);

for (const [name, op] of [
  ["ArgMax", REDUCE.ARGMAX],
  ["ArgMin", REDUCE.ARGMIN],
] as const) {
  kernel(name, ({ inputs, backend, attrs }: KernelArgs) => {
    const x = inputs.x!;
    const axes = tf.util.parseAxisParam(attrs.axis as number, x.shape);
    if (axes.length !== 1) throw new Error(`cuda ${name}: one axis, got [${axes}]`);
    return reduce(backend, x, axes, op);
  });
}

kernel("Softmax", ({ inputs, backend, attrs }: KernelArgs) => {
  const x = inputs.logits!;
  const rank = x.shape.length,
    dim = Number(attrs.dim ?? -1);
  if (dim !== -1 && dim !== rank - 1)
    throw new Error(`cuda Softmax: only the last axis (got dim ${dim} for rank ${rank})`);
  const cols = x.shape[rank - 1] ?? 1;
  const src = x.dtype === "float32" ? x : castTo(backend, x, "float32");
  const y = backend.makeTensorInfo(x.shape, "float32");
  if (size(x.shape) > 0)
    backend.device.launch("softmax", [
      backend.ptr(src),
      backend.ptr(y),
      size(x.shape) / cols,
      cols,
    ]);
  if (src !== x) backend.disposeIntermediate(src);
  return y;
});
