/**
 * Data-movement kernels: Transpose, Slice, SplitV, Concat, Pack, Unpack, Tile, PadV2, BroadcastTo
 * and Reverse. Each is one strided copy per piece: a copy that reduces to rows of contiguous
 * elements goes to cudaMemcpy2DAsync ("copyRows"), anything else to the strided-copy kernel.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { CudaBackend } from "../backend.ts";
import { fill } from "./elementwise.ts";
import {
  broadcastStrides,
  collapse,
  kernel,
  pad8,
  reshapeInfo,
  size,
  stridesOf,
  type KernelArgs,
  type TensorInfo,
} from "./util.ts";

/**
 * For every index c of `shape`: y[yOffset + c·yStrides] = x[xOffset + c·xStrides] (elements).
 */
export function copyStrided(
  backend: CudaBackend,
  x: TensorInfo,
  y: TensorInfo,
  shape: readonly number[],
  xStrides: readonly number[],
  yStrides: readonly number[],
  xOffset = 0,
  yOffset = 0,
  what = "copy",
): void {
  const n = size(shape);
  if (n === 0) return;
  const c = collapse(shape, [xStrides, yStrides]);
  const [xs, ys] = c.strides as [number[], number[]];
  const rank = c.shape.length,
    px = backend.ptr(x),
    py = backend.ptr(y);
  const dev = backend.device;
  // Rows of contiguous elements, each row starting past the end of the one before (cudaMemcpy2D's rule: pitch ≥ width).
  const width = c.shape[rank - 1]!;
  if (
    rank <= 2 &&
    xs[rank - 1] === 1 &&
    ys[rank - 1] === 1 &&
    (rank === 1 || (xs[0]! >= width && ys[0]! >= width))
  ) {
    const rows = rank === 2 ? c.shape[0]! : 1;
    dev.launch("copyRows", [
      px + 4 * xOffset,
      rank === 2 ? xs[0]! : width,
      py + 4 * yOffset,
      rank === 2 ? ys[0]! : width,
      rows,
      width,
    ]);
    return;
  }
  dev.launch("stridedCopy", [
    px,
    py,
    n,
    rank,
    xOffset,
    yOffset,
    ...pad8(c.shape, what),
    ...pad8(xs, what),
    ...pad8(ys, what),
  ]);
}

/** x[begin : begin + size] as a new tensor. */
export function slice(
  backend: CudaBackend,
  x: TensorInfo,
  begin: readonly number[],
  sz: readonly number[],
): TensorInfo {
  const y = backend.makeTensorInfo([...sz], x.dtype);
  const xs = stridesOf(x.shape);
  const off = begin.reduce((acc, b, i) => acc + b * xs[i]!, 0);
  copyStrided(backend, x, y, sz, xs, stridesOf(sz), off, 0, "Slice");
  return y;
}

kernel("Transpose", ({ inputs, backend, attrs }: KernelArgs) => {
  const x = inputs.x!,
    perm = attrs.perm as number[];
  const outShape = perm.map((p) => x.shape[p]!);
  const xs = stridesOf(x.shape);
  const y = backend.makeTensorInfo(outShape, x.dtype);
  copyStrided(
    backend,
    x,
    y,
    outShape,
    perm.map((p) => xs[p]!),
    stridesOf(outShape),
    0,
    0,
    "Transpose",
  );
  return y;
});

kernel("Slice", ({ inputs, backend, attrs }: KernelArgs) => {
  const x = inputs.x!;
  const [begin, sz] = tf.slice_util.parseSliceParams(
    x as tf.Tensor,
    attrs.begin as number[],
    attrs.size as number[],
  );
  tf.slice_util.assertParamsValid(x as tf.Tensor, begin, sz);
  return slice(backend, x, begin, sz);
});

kernel("SplitV", ({ inputs, backend, attrs }: KernelArgs) => {
  const x = inputs.x!;
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(
    x as tf.Tensor,
    attrs.numOrSizeSplits as number[] | number,
    axis,
  );
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const sz = x.shape.slice();
    sz[axis] = s;
    const y = slice(backend, x, begin, sz);
    begin[axis]! += s;
    return y;
  });
});

kernel("Concat", ({ inputs, backend, attrs }: KernelArgs) => {
  const xs = Object.values(inputs) as TensorInfo[];
  const axis = tf.util.parseAxisParam(attrs.axis as number, xs[0]!.shape)[0]!;
  const nonEmpty = xs.filter((t) => size(t.shape) > 0);
  const shapes = (nonEmpty.length ? nonEmpty : xs).map((t) => t.shape);
  tf.backend_util.assertParamsConsistent(shapes, axis);
  const outShape = tf.backend_util.computeOutShape(
    xs.map((t) => t.shape),
    axis,
  );
  const dtype = xs.map((t) => t.dtype).reduce((a, b) => tf.upcastType(a, b));
  if (xs.some((t) => t.dtype !== dtype))
    throw new Error(
      `cuda Concat: inputs of different dtypes (${xs.map((t) => t.dtype).join(", ")})`,
    );
  const y = backend.makeTensorInfo(outShape, dtype);
  const ys = stridesOf(outShape);
  let at = 0;
  for (const t of xs) {
    copyStrided(backend, t, y, t.shape, stridesOf(t.shape), ys, 0, at * ys[axis]!, "Concat");
    at += t.shape[axis]!;
  }
  return y;
});

kernel("Pack", ({ inputs, backend, attrs }: KernelArgs) => {
  const xs = Object.values(inputs) as TensorInfo[];
  const first = xs[0]!;
  const axis = tf.util.parseAxisParam(attrs.axis as number, [...first.shape, 1])[0]!;
  for (const t of xs)
    if (!tf.util.arraysEqual(t.shape, first.shape) || t.dtype !== first.dtype)
      throw new Error("cuda Pack: all inputs must have one shape and dtype");
  const outShape = [...first.shape.slice(0, axis), xs.length, ...first.shape.slice(axis)];
  const y = backend.makeTensorInfo(outShape, first.dtype);
  const ys = stridesOf(outShape);
  const part = [...first.shape.slice(0, axis), 1, ...first.shape.slice(axis)];
  xs.forEach((t, i) =>
    copyStrided(backend, t, y, part, stridesOf(part), ys, 0, i * ys[axis]!, "Pack"),
  );
  return y;
});

kernel("Unpack", ({ inputs, backend, attrs }: KernelArgs) => {
  const x = inputs.value!;
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
  const outShape = [...x.shape.slice(0, axis), ...x.shape.slice(axis + 1)];
  const begin = new Array<number>(x.shape.length).fill(0);
  const sz = x.shape.slice();
  sz[axis] = 1;
  return Array.from({ length: x.shape[axis]! }, (_, i) => {
    begin[axis] = i;
    const s = slice(backend, x, begin, sz);
    const r = reshapeInfo(backend, s, outShape);
    backend.disposeIntermediate(s);
    return r;
  });
});

kernel("Tile", ({ inputs, backend, attrs }: KernelArgs) => {
  const x = inputs.x!,
    reps = attrs.reps as number[];
  const outShape = x.shape.map((d, i) => d * reps[i]!);
  const y = backend.makeTensorInfo(outShape, x.dtype);
  // Output axis i as (repetition, position): [r0, d0, r1, d1, …], dense in y, stride 0 in x over repetitions.
  const view = x.shape.flatMap((d, i) => [reps[i]!, d]);
  const xs = stridesOf(x.shape);
  copyStrided(
    backend,
    x,
    y,
    view,
    x.shape.flatMap((_, i) => [0, xs[i]!]),
    stridesOf(view),
    0,
    0,
    "Tile",
  );
  return y;
});

kernel("BroadcastTo", ({ inputs, backend, attrs }: KernelArgs) => {
  const x = inputs.x!,
    shape = attrs.shape as number[];
  const y = backend.makeTensorInfo(shape, x.dtype);
  copyStrided(
    backend,
    x,
    y,
    shape,
    broadcastStrides(x.shape, shape),
    stridesOf(shape),
    0,
    0,
    "BroadcastTo",
  );
  return y;
});

kernel("PadV2", ({ inputs, backend, attrs }: KernelArgs) => {
  const x = inputs.x!,
    paddings = attrs.paddings as [number, number][];
  const outShape = x.shape.map((d, i) => paddings[i]![0] + d + paddings[i]![1]);
  const y = fill(backend, outShape, x.dtype, Number(attrs.constantValue ?? 0));
  const ys = stridesOf(outShape);
  const off = paddings.reduce((acc, [before], i) => acc + before * ys[i]!, 0);
  copyStrided(backend, x, y, x.shape, stridesOf(x.shape), ys, 0, off, "PadV2");
  return y;
});

kernel("Reverse", ({ inputs, backend, attrs }: KernelArgs) => {
  const x = inputs.x!;
  const dims = tf.util.parseAxisParam(attrs.dims as number | number[], x.shape);
  const xs = stridesOf(x.shape);
  let off = 0;
  const rs = xs.map((s, i) => {
    if (!dims.includes(i)) return s;
    off += (x.shape[i]! - 1) * s;
    return -s;
  });
  const y = backend.makeTensorInfo(x.shape, x.dtype);
  copyStrided(backend, x, y, x.shape, rs, stridesOf(x.shape), off, 0, "Reverse");
  return y;
});
