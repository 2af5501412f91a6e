/**
 * Small helpers shared by the extra wasm kernels: typed views of tensors living on the wasm heap,
 * and calls into other registered wasm kernels (so a kernel can reuse the backend's native
 * BatchMatMul/Transpose/Sum instead of looping in JS).
 *
 * Heap views go stale when the wasm memory grows (any allocation may grow it), so every helper
 * here re-derives its view on demand: take views only after the last allocation of a step.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

export type WasmBackend = BackendWasm;
export type TensorInfo = tf.TensorInfo;

/** A float32 (or int32) view of a tensor's data on the wasm heap; valid until the next allocation. */
export function heapF32(backend: WasmBackend, t: TensorInfo): Float32Array {
  const v = backend.typedArrayFromHeap(t);
  if (!(v instanceof Float32Array)) throw new Error(`expected a float32 tensor, got ${t.dtype} of shape [${t.shape}]`);
  return v;
}

export function heapI32(backend: WasmBackend, t: TensorInfo): Int32Array {
  const v = backend.typedArrayFromHeap(t);
  if (!(v instanceof Int32Array)) throw new Error(`expected an int32 tensor, got ${t.dtype} of shape [${t.shape}]`);
  return v;
}

/**
 * Run another kernel registered for "wasm" (looked up at call time, so a faster replacement
 * registered later — e.g. a fast BatchMatMul — is picked up). The result is an intermediate that
 * the caller must release with `release` unless it is returned as the kernel's output.
 */
export function runWasmKernel(backend: WasmBackend, name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): TensorInfo {
  const k = tf.getKernel(name, "wasm");
  if (!k) throw new Error(`wasm kernel ${name} is not registered`);
  const out = k.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error(`wasm kernel ${name} returned several outputs`);
  return out;
}

export function release(backend: WasmBackend, t: TensorInfo): void {
  backend.disposeData(t.dataId);
}

/** Same data, another shape (no copy; the backend's refcount keeps the data alive). */
export function reshapeInfo(backend: WasmBackend, t: TensorInfo, shape: number[]): TensorInfo {
  return runWasmKernel(backend, "Reshape", { x: t }, { shape });
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
