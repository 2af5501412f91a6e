/**
 * Index kernels: GatherV2 (embedding lookups, picking rows), UnsortedSegmentSum (gather's gradient:
 * an atomic scatter-add, so the last bits of a sum may vary with the order of the additions), and
 * OneHot.
 */
import * as tf from "@tensorflow/tfjs-core";
import { CudaBackend } from "../backend.ts";
import { castTo, fill } from "./elementwise.ts";
import { kernel, size, type KernelArgs } from "./util.ts";

kernel("GatherV2", ({ inputs, backend, attrs }: KernelArgs) => {
  const x = inputs.x!,
    indices = inputs.indices!;
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0]!;
  const batchDims = Number(attrs.batchDims ?? 0);
  if (batchDims !== 0)
    throw new Error(`cuda GatherV2: batchDims ${batchDims} is not supported (only 0)`);
  const outShape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  const y = backend.makeTensorInfo(outShape, x.dtype);
  if (size(outShape) === 0) return y;
  const idx = indices.dtype === "int32" ? indices : castTo(backend, indices, "int32");
  backend.device.launch("gather", [
    backend.ptr(x),
    backend.ptr(idx),
    backend.ptr(y),
    size(x.shape.slice(0, axis)),
    size(indices.shape),
    size(x.shape.slice(axis + 1)),
    x.shape[axis]!,
  ]);
  if (idx !== indices) backend.disposeIntermediate(idx);
  return y;
});

kernel("UnsortedSegmentSum", ({ inputs, backend, attrs }: KernelArgs) => {
  const x = inputs.x!,
    ids = inputs.segmentIds!;
  const numSegments = Number(attrs.numSegments);
  const k = ids.shape.length;
  if (!tf.util.arraysEqual(ids.shape, x.shape.slice(0, k))) {
    throw new Error(
      `cuda UnsortedSegmentSum: segmentIds [${ids.shape}] must be a prefix of x's shape [${x.shape}]`,
    );
  }
  const inner = size(x.shape.slice(k));
  const outShape = [numSegments, ...x.shape.slice(k)];
  const src = x.dtype === "float32" ? x : castTo(backend, x, "float32");
  const y = fill(backend, outShape, "float32", 0);
  const idx = ids.dtype === "int32" ? ids : castTo(backend, ids, "int32");
  if (size(x.shape) > 0)
    backend.device.launch("scatterAdd", [
      backend.ptr(src),
      backend.ptr(idx),
      backend.ptr(y),
      1,
      size(ids.shape),
      inner,
      numSegments,
    ]);
  if (idx !== ids) backend.disposeIntermediate(idx);
  if (src !== x) {
    backend.disposeIntermediate(src);
    const out = castTo(backend, y, x.dtype);
    backend.disposeIntermediate(y);
    return out;
  }
  return y;
});

kernel("OneHot", ({ inputs, backend, attrs }: KernelArgs) => {
  const indices = inputs.indices!;
  const depth = Number(attrs.depth),
    dtype = (attrs.dtype as tf.DataType) ?? "int32";
  const y = backend.makeTensorInfo([...indices.shape, depth], dtype);
  const n = size(indices.shape);
  if (n === 0 || depth === 0) return y;
  const idx = indices.dtype === "int32" ? indices : castTo(backend, indices, "int32");
  backend.device.launch("oneHot", [
    backend.ptr(idx),
    backend.ptr(y),
    n,
    depth,
    Number(attrs.onValue ?? 1),
    Number(attrs.offValue ?? 0),
    CudaBackend.dtypeCode(dtype),
  ]);
  if (idx !== indices) backend.disposeIntermediate(idx);
  return y;
});
