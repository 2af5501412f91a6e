/**
 * The `cuda` backend: set-up and registration. lib/backend/index.ts tries it first in automatic
 * mode (it is chosen where an NVIDIA GPU, the CUDA kernels and cuBLAS are all present) and
 * SIMVLM_BACKEND=cuda forces it.
 *
 *   catalog.ts     the device kernels' names, arguments and op codes (shared with native/cuda/ops.h)
 *   device.ts      the device interface, its CUDA implementation and errors
 *   loader.ts      finding the addon, the driver and cuBLAS (and why not)
 *   allocator.ts   the caching allocator
 *   backend.ts     the tfjs KernelBackend: dataIds, reads, writes, memory
 *   kernels/*.ts   the tfjs kernels, registered for "cuda"
 *
 * Switches: SIMVLM_CUDA_MATMUL=fp32 (default) | tf32 | bf16 — the precision of every matrix
 * product (docs/backend.md gives the expected effect); SIMVLM_CUDA_SYNC=1 waits after every kernel
 * (slow; an asynchronous error then names its kernel).
 */
import * as tf from "@tensorflow/tfjs-core";
import { CudaBackend } from "./backend.ts";
import type { CudaDevice } from "./device.ts";
import { openCudaDevice } from "./loader.ts";
import { BACKEND_NAME, registerAll } from "./kernels/util.ts";
import { PRECISION, type Precision } from "./catalog.ts";
import "./kernels/elementwise.ts";
import "./kernels/shape.ts";
import "./kernels/reduce.ts";
import "./kernels/gather.ts";
import "./kernels/matmul.ts";
import "./kernels/conv.ts";
import "./kernels/fused.ts";

export { CudaBackend } from "./backend.ts";
export type { CudaDevice, DeviceInfo, GemmArgs } from "./device.ts";
export { CudaError, CudaOutOfMemoryError } from "./device.ts";

/** Register every cuda kernel with tfjs (idempotent); returns their names. */
export function registerCudaKernels(): string[] {
  return registerAll();
}

/** SIMVLM_CUDA_MATMUL, checked. */
export function cudaPrecision(env: NodeJS.ProcessEnv = process.env): Precision {
  const v = (env.SIMVLM_CUDA_MATMUL ?? "fp32").trim() || "fp32";
  if (!(v in PRECISION))
    throw new Error(
      `SIMVLM_CUDA_MATMUL="${v}" is not a precision: use fp32 (default), tf32 or bf16`,
    );
  return v as Precision;
}

/** Register the `cuda` tfjs backend over `device` (a real GPU, or the tests' fake). */
export function registerCudaBackend(
  device: CudaDevice,
  precision: Precision = "fp32",
): CudaBackend {
  registerCudaKernels();
  const backend = new CudaBackend(device, { precision });
  if (tf.findBackend(BACKEND_NAME) || tf.engine().registryFactory[BACKEND_NAME])
    tf.removeBackend(BACKEND_NAME);
  tf.registerBackend(BACKEND_NAME, () => backend, 1);
  return backend;
}

const MIB = 2 ** 20;

/**
 * For lib/backend/index.ts: open the GPU (unless given one already opened by loader.ts's
 * openCudaDevice), register the backend and activate it; throws a one-line reason.
 */
export async function initCuda(
  activate: (name: string) => Promise<void>,
  notes: string[],
  opened?: CudaDevice,
): Promise<{ tfBackend: string; threads: number; versions: Record<string, string> }> {
  const precision = cudaPrecision();
  const device = opened ?? (await openCudaDevice());
  if (typeof device === "string") throw new Error(device);
  registerCudaBackend(device, precision);
  await activate(BACKEND_NAME);
  const i = device.info;
  notes.push(
    `GPU: ${i.name} (compute capability ${i.computeCapability}, ${Math.round(i.totalBytes / MIB)} MiB, ${i.multiprocessors} SMs)`,
  );
  notes.push(
    `CUDA runtime ${i.runtimeVersion}, driver ${i.driverVersion}; cuBLAS ${i.cublasVersion} from ${i.cublasPath}`,
  );
  notes.push(
    `matrix products in ${precision}${precision === "fp32" ? " (SIMVLM_CUDA_MATMUL=tf32|bf16 for tensor cores)" : ""}`,
  );
  return {
    tfBackend: BACKEND_NAME,
    threads: 1,
    versions: {
      cuda: i.runtimeVersion,
      "cuda-driver": i.driverVersion,
      cublas: i.cublasVersion,
      gpu: i.name,
    },
  };
}
