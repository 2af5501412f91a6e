/**
 * What every wasm kernel of ours shares: the backend's type (tfjs-backend-wasm's own BackendWasm),
 * a kernel's arguments, where a tensor's data sits on the wasm heap, typed views of it, and calls
 * into other registered wasm kernels (so a kernel can reuse the backend's BatchMatMul/Transpose/Sum
 * instead of looping in JS).
 *
 * Heap views go stale when the wasm memory grows (any allocation may grow it), so every helper
 * here re-derives its view on demand: take views only after the last allocation of a step.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

export type WasmBackend = BackendWasm;
export type TensorInfo = tf.TensorInfo;
/** What tfjs passes a kernel function registered for "wasm". */
export type KernelArgs = {
  inputs: Record<string, TensorInfo | undefined>;
  backend: WasmBackend;
  attrs: Record<string, unknown>;
};
export type KernelFn = (args: KernelArgs) => TensorInfo;

/**
 * The whole wasm heap as bytes (what the native addon's functions take). Read it after the last
 * allocation: growing the memory replaces the buffer. (Emscripten's module type, which declares
 * HEAPU8, is not among tfjs-backend-wasm's typings.)
 */
export function heapU8(backend: WasmBackend): Uint8Array {
  return (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8;
}

/** Byte offset of a tensor's data on the wasm heap (what the native addon's functions take). */
export function offset(backend: WasmBackend, t: TensorInfo): number {
  return backend.getMemoryOffset(t.dataId);
}

/** A float32 (or int32) view of a tensor's data on the wasm heap; valid until the next allocation. */
export function heapF32(backend: WasmBackend, t: TensorInfo): Float32Array {
  const v = backend.typedArrayFromHeap(t);
  if (!(v instanceof Float32Array))
    throw new Error(`expected a float32 tensor, got ${t.dtype} of shape [${t.shape}]`);
  return v;
}

export function heapI32(backend: WasmBackend, t: TensorInfo): Int32Array {
  const v = backend.typedArrayFromHeap(t);
  if (!(v instanceof Int32Array))
    throw new Error(`expected an int32 tensor, got ${t.dtype} of shape [${t.shape}]`);
  return v;
}

/**
 * Run another kernel registered for "wasm" (looked up at call time, so a faster replacement
 * registered later — e.g. a fast BatchMatMul — is picked up). The result is an intermediate that
 * the caller must release with `release` unless it is returned as the kernel's output.
 */
export function runWasmKernel(
  backend: WasmBackend,
  name: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): TensorInfo {
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
