/**
 * The device under the cuda backend: a narrow interface (alloc / free / upload / download / launch /
 * gemm, plus sync, memory info and fences) that the CUDA addon (native/cuda/addon.cpp) implements,
 * and that the tests implement again in JavaScript (test/backend/cuda-fake-device.ts) to check the
 * backend's bookkeeping and argument plumbing on machines without a GPU.
 *
 * Device addresses are plain numbers (CUDA's are below 2^53). Work is queued in order on one stream;
 * `download` waits for it. Errors from the addon become CudaError (or CudaOutOfMemoryError): one
 * JavaScript error naming the operation and the CUDA error, never a dead process.
 */
import { KERNELS, type KernelName, type Precision, PRECISION } from "./catalog.ts";

export interface DeviceInfo {
  /** "cuda" for a real GPU, "fake" for the tests' JavaScript device. */
  kind: "cuda" | "fake";
  name: string;
  /** e.g. "9.0" for an H100/H200. */
  computeCapability: string;
  totalBytes: number;
  multiprocessors: number;
  /** e.g. "13.0". */
  runtimeVersion: string;
  driverVersion: string;
  cublasVersion: string;
  cublasPath: string;
}

/** Row-major C_i[M, N] = alpha·op(A_i)·op(B_i) + beta·C_i for i < batch; strides in elements (0 repeats one matrix). */
export interface GemmArgs {
  batch: number;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  a: number;
  strideA: number;
  b: number;
  strideB: number;
  c: number;
  strideC: number;
  alpha?: number;
  beta?: number;
  precision: Precision;
}

export interface CudaDevice {
  readonly info: DeviceInfo;
  alloc(bytes: number): number;
  free(ptr: number): void;
  upload(ptr: number, src: ArrayBufferView): void;
  /** Waits for the queued work, then copies. */
  download(ptr: number, dst: ArrayBufferView): void;
  launch(kernel: KernelName, args: readonly number[]): void;
  gemm(g: GemmArgs): void;
  sync(): void;
  memInfo(): { free: number; total: number };
  /** A poll that turns true once the work queued before this call has finished (for async reads). */
  fence(): () => boolean;
  /**
   * CUDA Graphs: from graphBegin on, launches and products are recorded instead of run (no
   * allocation, upload or download may happen in between); graphEnd returns a graph that
   * graphLaunch replays with the same arguments and addresses — reading memory as it is then.
   */
  graphBegin(): void;
  graphEnd(): number;
  graphLaunch(id: number): void;
  graphFree(id: number): void;
}

/** A CUDA or cuBLAS error, with the CUDA error name in `cudaError` where there is one. */
export class CudaError extends Error {
  override name = "CudaError";
  constructor(
    message: string,
    readonly cudaError?: string,
    readonly lost = false,
  ) {
    super(message);
  }
}

/** Out of device memory: the message says how much was asked and what is in use. */
export class CudaOutOfMemoryError extends CudaError {
  override name = "CudaOutOfMemoryError";
}

/** Turn an addon exception into a CudaError (codes SIMVLM_CUDA, SIMVLM_CUDA_OOM, SIMVLM_CUDA_LOST, SIMVLM_CUBLAS). */
export function toCudaError(e: unknown, context?: string): Error {
  if (!(e instanceof Error)) return new CudaError(String(e));
  if (e instanceof CudaError)
    return context
      ? new (e.constructor as typeof CudaError)(`${context}: ${e.message}`, e.cudaError, e.lost)
      : e;
  const code = (e as { code?: string }).code;
  if (!code?.startsWith("SIMVLM_CU")) return e;
  const msg = context ? `${context}: ${e.message}` : e.message;
  const name = /CUDA error (\w+)/.exec(e.message)?.[1] ?? /cuBLAS error (\w+)/.exec(e.message)?.[1];
  if (code === "SIMVLM_CUDA_OOM") return new CudaOutOfMemoryError(msg, "cudaErrorMemoryAllocation");
  return new CudaError(msg, name, code === "SIMVLM_CUDA_LOST");
}

/** What the addon exports (native/cuda/addon.cpp). */
export interface CudaAddon {
  kernels(): [string, number][];
  probe(): {
    runtimeVersion: number;
    driverVersion: number;
    deviceCount: number;
    error?: string;
    devices: {
      name: string;
      major: number;
      minor: number;
      totalBytes: number;
      multiprocessors: number;
    }[];
  };
  init(
    args: Float64Array,
    cublasPaths: string[],
    device: number,
    workspaceBytes: number,
    syncEach: boolean,
  ): {
    name: string;
    major: number;
    minor: number;
    totalBytes: number;
    multiprocessors: number;
    runtimeVersion: number;
    driverVersion: number;
    cublasVersion: number;
    cublasPath: string;
  };
  alloc(bytes: number): number;
  free(ptr: number): void;
  upload(ptr: number, src: ArrayBufferView): void;
  download(ptr: number, dst: ArrayBufferView): void;
  sync(): void;
  memInfo(): [number, number];
  launch(index: number, count: number): void;
  gemm(): void;
  fence(): number;
  fenceDone(id: number): boolean;
  graphBegin(): void;
  graphEnd(): number;
  graphLaunch(id: number): void;
  graphFree(id: number): void;
}

/** CUDA's integer versions (13000) as "13.0"; cuBLAS's (130100) as "13.1.0". */
export const cudaVersion = (v: number) =>
  v ? `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}` : "none";
export const cublasVersionString = (v: number) =>
  `${Math.floor(v / 10000)}.${Math.floor((v % 10000) / 100)}.${v % 100}`;

/** The addon as a CudaDevice: arguments go through one shared Float64Array, kernels by table index. */
export class NativeCudaDevice implements CudaDevice {
  readonly info: DeviceInfo;
  private readonly args = new Float64Array(256);
  private readonly index = new Map<string, number>();

  constructor(
    private readonly addon: CudaAddon,
    opts: { cublasPaths: string[]; device?: number; workspaceBytes?: number; syncEach?: boolean },
  ) {
    addon.kernels().forEach(([name, n], i) => {
      const want = KERNELS[name as KernelName];
      if (want && want.length !== n)
        throw new CudaError(
          `the CUDA addon's kernel ${name} takes ${n} arguments, lib/backend/cuda/catalog.ts says ${want.length}: rebuild it (node native/cuda/build.mjs)`,
        );
      this.index.set(name, i);
    });
    const missing = Object.keys(KERNELS).filter((k) => !this.index.has(k));
    if (missing.length)
      throw new CudaError(
        `the CUDA addon lacks kernels ${missing.join(", ")}: rebuild it (node native/cuda/build.mjs)`,
      );
    let r: ReturnType<CudaAddon["init"]>;
    try {
      r = addon.init(
        this.args,
        opts.cublasPaths,
        opts.device ?? 0,
        opts.workspaceBytes ?? 32 * 2 ** 20,
        opts.syncEach ?? false,
      );
    } catch (e) {
      throw toCudaError(e);
    }
    this.info = {
      kind: "cuda",
      name: r.name,
      computeCapability: `${r.major}.${r.minor}`,
      totalBytes: r.totalBytes,
      multiprocessors: r.multiprocessors,
      runtimeVersion: cudaVersion(r.runtimeVersion),
      driverVersion: cudaVersion(r.driverVersion),
      cublasVersion: cublasVersionString(r.cublasVersion),
      cublasPath: r.cublasPath,
    };
  }

  alloc(bytes: number): number {
    try {
      return this.addon.alloc(bytes);
    } catch (e) {
      throw toCudaError(e);
    }
  }
  free(ptr: number): void {
    try {
      this.addon.free(ptr);
    } catch (e) {
      throw toCudaError(e);
    }
  }
  upload(ptr: number, src: ArrayBufferView): void {
    try {
      this.addon.upload(ptr, src);
    } catch (e) {
      throw toCudaError(e);
    }
  }
  download(ptr: number, dst: ArrayBufferView): void {
    try {
      this.addon.download(ptr, dst);
    } catch (e) {
      throw toCudaError(e);
    }
  }
  sync(): void {
    try {
      this.addon.sync();
    } catch (e) {
      throw toCudaError(e);
    }
  }
  memInfo(): { free: number; total: number } {
    const [free, total] = this.addon.memInfo();
    return { free, total };
  }

  launch(kernel: KernelName, args: readonly number[]): void {
    const id = this.index.get(kernel);
    if (id === undefined) throw new CudaError(`no CUDA kernel ${kernel}`);
    const a = this.args;
    for (let i = 0; i < args.length; i++) a[i] = args[i]!;
    try {
      this.addon.launch(id, args.length);
    } catch (e) {
      throw toCudaError(e);
    }
  }

  gemm(g: GemmArgs): void {
    const a = this.args;
    a[0] = g.batch;
    a[1] = g.M;
    a[2] = g.N;
    a[3] = g.K;
    a[4] = g.transA ? 1 : 0;
    a[5] = g.transB ? 1 : 0;
    a[6] = g.a;
    a[7] = g.strideA;
    a[8] = g.b;
    a[9] = g.strideB;
    a[10] = g.c;
    a[11] = g.strideC;
    a[12] = g.alpha ?? 1;
    a[13] = g.beta ?? 0;
    a[14] = PRECISION[g.precision];
    try {
      this.addon.gemm();
    } catch (e) {
      throw toCudaError(e);
    }
  }

  graphBegin(): void {
    try {
      this.addon.graphBegin();
    } catch (e) {
      throw toCudaError(e);
    }
  }
  graphEnd(): number {
    try {
      return this.addon.graphEnd();
    } catch (e) {
      throw toCudaError(e);
    }
  }
  graphLaunch(id: number): void {
    try {
      this.addon.graphLaunch(id);
    } catch (e) {
      throw toCudaError(e);
    }
  }
  graphFree(id: number): void {
    try {
      this.addon.graphFree(id);
    } catch (e) {
      throw toCudaError(e);
    }
  }

  fence(): () => boolean {
    const id = this.addon.fence();
    let done = false;
    return () => {
      if (!done) {
        try {
          done = this.addon.fenceDone(id);
        } catch (e) {
          throw toCudaError(e);
        }
      }
      return done;
    };
  }
}
