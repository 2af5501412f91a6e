/**
 * What the cuda kernel files share: the kernel signature, registration, and the stride arithmetic
 * behind every strided device kernel (broadcasting, transposes, slices), including collapsing
 * neighbouring axes that are contiguous in every operand — which turns most elementwise calls into
 * flat loops and keeps any tensor within the device kernels' MAXRANK axes.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { CudaBackend } from "../backend.ts";
import { MAXRANK } from "../catalog.ts";
import { CudaError, toCudaError } from "../device.ts";

export type TensorInfo = tf.TensorInfo;
export interface KernelArgs {
  inputs: Record<string, TensorInfo | undefined>;
  backend: CudaBackend;
  attrs: Record<string, unknown>;
}
export type KernelFn = (args: KernelArgs) => TensorInfo | TensorInfo[];

export const BACKEND_NAME = "cuda";

const registered: [string, KernelFn][] = [];

/** Add a kernel to the set registerCudaKernels() installs. */
export function kernel(name: string, fn: KernelFn): void {
  registered.push([name, fn]);
}

/**
 * Register every kernel for the cuda backend (idempotent). Each runs guarded: when it throws (out of
 * memory halfway, a bad argument), the outputs and temporaries it had made are freed, and a device
 * error names the tfjs kernel.
 */
export function registerAll(): string[] {
  for (const [kernelName, fn] of registered) {
    if (tf.getKernel(kernelName, BACKEND_NAME)) continue;
    const guarded = (args: KernelArgs) => {
      const mark = args.backend.markData();
      try {
        return fn(args);
      } catch (e) {
        args.backend.rollbackData(mark);
        throw e instanceof CudaError && !e.message.startsWith("cuda kernel")
          ? toCudaError(e, `cuda kernel ${kernelName}`)
          : e;
      } finally {
        args.backend.unmarkData();
      }
    };
    tf.registerKernel({
      kernelName,
      backendName: BACKEND_NAME,
      kernelFunc: guarded as unknown as tf.KernelFunc,
    });
  }
  return registered.map(([n]) => n);
}

export const size = (shape: readonly number[]) => tf.util.sizeFromShape(shape as number[]);

export function input(args: KernelArgs, name: string, kernelName: string): TensorInfo {
  const t = args.inputs[name];
  if (!t) throw new Error(`cuda ${kernelName}: missing input ${name}`);
  return t;
}

/** Row-major strides of a shape, in elements. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Strides reading `inShape` (right-aligned) at every index of `outShape`: 0 along broadcast axes. */
export function broadcastStrides(
  inShape: readonly number[],
  outShape: readonly number[],
): number[] {
  const s = stridesOf(inShape),
    lead = outShape.length - inShape.length;
  return outShape.map((d, i) => {
    const j = i - lead;
    if (j < 0) return 0;
    return inShape[j] === 1 && d !== 1 ? 0 : s[j]!;
  });
}

/**
 * Merge neighbouring axes that every operand walks contiguously (stride[i] = stride[i+1]·shape[i+1])
 * and drop size-1 axes; returns at least one axis.
 */
export function collapse(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const keep = shape.map((d, i) => i).filter((i) => shape[i] !== 1);
  let sh = keep.map((i) => shape[i]!);
  let st = strides.map((s) => keep.map((i) => s[i]!));
  if (sh.length === 0) return { shape: [1], strides: strides.map(() => [1]) };
  for (let i = sh.length - 2; i >= 0; i--) {
    if (st.every((s) => s[i] === s[i + 1]! * sh[i + 1]!)) {
      sh = [...sh.slice(0, i), sh[i]! * sh[i + 1]!, ...sh.slice(i + 2)];
      st = st.map((s) => [...s.slice(0, i), s[i + 1]!, ...s.slice(i + 2)]);
    }
  }
  return { shape: sh, strides: st };
}

/** An array padded with zeros to MAXRANK entries (the device kernels' fixed argument slots). */
export function pad8(a: readonly number[], what: string): number[] {
  if (a.length > MAXRANK)
    throw new Error(
      `cuda: ${what} needs ${a.length} axes after merging contiguous ones; the device kernels take at most ${MAXRANK}`,
    );
  return [...a, ...new Array<number>(MAXRANK - a.length).fill(0)];
}

/** Same data, new shape (no copy). */
export function reshapeInfo(backend: CudaBackend, t: TensorInfo, shape: number[]): TensorInfo {
  backend.incRef(t.dataId);
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/** Run another registered cuda kernel (intermediates must be disposed by the caller). */
export function runKernel(
  backend: CudaBackend,
  name: string,
  inputs: Record<string, TensorInfo>,
  attrs: Record<string, unknown> = {},
): TensorInfo {
  const k = tf.getKernel(name, BACKEND_NAME);
  if (!k) throw new Error(`cuda kernel ${name} is not registered`);
  const out = k.kernelFunc({
    inputs: inputs as tf.NamedTensorInfoMap,
    backend,
    attrs: attrs as tf.NamedAttrMap,
  });
  return Array.isArray(out) ? out[0]! : out;
}
