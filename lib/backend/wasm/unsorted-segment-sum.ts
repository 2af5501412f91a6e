/**
 * UnsortedSegmentSum for wasm: out[s, ...] = sum of x[i, ...] over every i with segmentIds[i] = s.
 * It is the gradient of gather (so of every embedding lookup): dy rows are scattered-added into the
 * rows of the embedding table they were read from. Ids outside [0, numSegments) are dropped, as in
 * TensorFlow and the cpu backend.
 */
import * as tf from "@tensorflow/tfjs-core";
import { heapI32, type TensorInfo, type WasmBackend } from "./heap.ts";

export function unsortedSegmentSumWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: {};
  attrs?: tf.NamedAttrMap;
}): TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const numSegments = Number((args.attrs as { numSegments: number }).numSegments);
  if (!Number.isInteger(numSegments) || numSegments < 0)
    throw new Error(
      `UnsortedSegmentSum: numSegments must be a non-negative integer, got ${numSegments}`,
    );
  if (segmentIds.dtype !== "int32")
    throw new Error(`UnsortedSegmentSum: segmentIds must be int32, got ${segmentIds.dtype}`);
  if (x.dtype !== "float32" && x.dtype !== "int32")
    throw new Error(`UnsortedSegmentSum: x must be float32 or int32, got ${x.dtype}`);
  const idRank = segmentIds.shape.length;
  for (let d = 0; d < idRank; d++) {
    if (x.shape[d] !== segmentIds.shape[d]) {
      throw new Error(
        `UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`,
      );
    }
  }
  const innerShape = x.shape.slice(idRank);
  const inner = tf.util.sizeFromShape(innerShape);
  const nIds = tf.util.sizeFromShape(segmentIds.shape);

  const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);
  // Views only after the allocation above (it may grow and detach the heap).
  const o = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
  const xs = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const ids = heapI32(backend, segmentIds);
  o.fill(0);
  for (let i = 0; i < nIds; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += xs[src + j]!;
  }
  return out;
}
