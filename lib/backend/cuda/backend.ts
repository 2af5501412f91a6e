/**
 * The `cuda` tfjs backend: tensors live in GPU memory. A dataId maps to a device block from the
 * caching allocator (allocator.ts), plus — for tensors written from JavaScript — a host copy that
 * is uploaded on first use. Small host copies are kept, so a scalar such as the 0.5 of tf.mul(x, 0.5)
 * never needs uploading (binary kernels take it as an immediate) and reads of small inputs need no
 * device round trip. Kernel outputs exist only on the device; reading one waits for the stream.
 *
 * Kernels (./kernels/*.ts) queue work through the device interface without waiting; the only
 * host-device synchronisations are reads (readSync / read / dataSync / data) and `time`.
 *
 * tf.memory() includes numBytesInGPU (bytes held by live tensors' blocks), numBytesInGPUAllocated
 * (held from the device, cache included) and numBytesInGPUFree (cached, reusable).
 */
import * as tf from "@tensorflow/tfjs-core";
import { CachingAllocator, type Block } from "./allocator.ts";
import { CudaError, type CudaDevice } from "./device.ts";
import { CAST, DTYPE, type Precision } from "./catalog.ts";

type DataId = object;
type Values = Float32Array | Int32Array | Uint8Array;

interface TensorData {
  dtype: tf.DataType;
  /** Elements. */
  size: number;
  refCount: number;
  block?: Block;
  /** Values written from JavaScript (kept when small, dropped after upload otherwise). */
  host?: Values;
}

/**
 * Host copies kept after upload: small tensors (scalars become immediates), and integer tensors up
 * to 1M elements — token ids, which the model reads back to check them (a device read would wait
 * for the stream in the middle of every step).
 */
const keepHost = (size: number, dtype: tf.DataType) =>
  size <= 4096 || (dtype !== "float32" && size <= 2 ** 20);

export interface CudaBackendOptions {
  /** Matrix-product precision (SIMVLM_CUDA_MATMUL): fp32 (default), tf32 or bf16 (fp32 accumulation). */
  precision?: Precision;
}

export class CudaBackend extends tf.KernelBackend {
  readonly allocator: CachingAllocator;
  /** Matrix-product precision: SIMVLM_CUDA_MATMUL at start; may be changed between steps (the GPU bench compares fp32 and bf16). */
  precision: Precision;
  private readonly data = new WeakMap<DataId, TensorData>();
  private count = 0;
  private nextId = 0;

  constructor(
    readonly device: CudaDevice,
    opts: CudaBackendOptions = {},
  ) {
    super();
    this.allocator = new CachingAllocator(device);
    this.precision = opts.precision ?? "fp32";
  }

  // ------------------------------------------------------------------ storage

  override write(
    values: tf.backend_util.BackendValues,
    shape: number[],
    dtype: tf.DataType,
  ): DataId {
    const dataId = { id: this.nextId++ };
    this.store(dataId, values, shape, dtype, 1);
    return dataId;
  }

  override move(
    dataId: DataId,
    values: tf.backend_util.BackendValues,
    shape: number[],
    dtype: tf.DataType,
    refCount: number,
  ): void {
    this.store(dataId, values, shape, dtype, refCount);
  }

  private store(
    dataId: DataId,
    values: tf.backend_util.BackendValues | null,
    shape: number[],
    dtype: tf.DataType,
    refCount: number,
  ): void {
    if (dtype === "string" || dtype === "complex64")
      throw new CudaError(`the cuda backend has no ${dtype} tensors (shape [${shape}])`);
    const size = tf.util.sizeFromShape(shape);
    const d: TensorData = { dtype, size, refCount };
    if (values != null) d.host = hostValues(values, dtype, size);
    if (!this.data.has(dataId)) this.count++;
    this.data.set(dataId, d);
  }

  /** A new output on the device (uninitialised; the kernel writes it). */
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo {
    const dataId = { id: this.nextId++ };
    const size = tf.util.sizeFromShape(shape);
    this.data.set(dataId, {
      dtype,
      size,
      refCount: 1,
      block: this.allocator.alloc(Math.max(1, size) * 4),
    });
    this.count++;
    if (this.marks) this.made.push(dataId);
    return { dataId, shape, dtype };
  }

  // What kernels made since a mark, so that a kernel that throws halfway frees its outputs and temporaries.
  private made: DataId[] = [];
  private marks = 0;
  markData(): number {
    this.marks++;
    return this.made.length;
  }
  /** End of a kernel; an enclosing kernel still sees what this one made (its rollback frees those too). */
  unmarkData(): void {
    if (--this.marks === 0) this.made.length = 0;
  }
  rollbackData(mark: number): void {
    for (const id of this.made.splice(mark)) if (this.data.has(id)) this.disposeData(id, true);
  }

  /** A tensor for JS values (kept on the host until a kernel needs it). */
  makeHostTensorInfo(values: Values, shape: number[], dtype: tf.DataType): tf.TensorInfo {
    return { dataId: this.write(values, shape, dtype), shape, dtype };
  }

  override refCount(dataId: DataId): number {
    return this.data.get(dataId)?.refCount ?? 0;
  }
  override incRef(dataId: DataId): void {
    this.get(dataId).refCount++;
  }
  override numDataIds(): number {
    return this.count;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const d = this.data.get(dataId);
    if (!d) return true;
    d.refCount--;
    if (!force && d.refCount > 0) return false;
    if (d.block) this.allocator.release(d.block);
    this.data.delete(dataId);
    this.count--;
    return true;
  }

  /** Free an intermediate made by a kernel (stream order makes reuse safe at once). */
  disposeIntermediate(t: tf.TensorInfo): void {
    this.disposeData(t.dataId);
  }

  private get(dataId: DataId): TensorData {
    const d = this.data.get(dataId);
    if (!d) throw new CudaError("cuda backend: a tensor's data is gone (used after dispose?)");
    return d;
  }

  // ------------------------------------------------------------------ what kernels use

  /** The device address of a tensor's data, uploading its host values on first use. */
  ptr(t: tf.TensorInfo): number {
    const d = this.get(t.dataId);
    if (!d.block) {
      d.block = this.allocator.alloc(Math.max(1, d.size) * 4);
      if (d.size > 0) this.device.upload(d.block.ptr, deviceWords(d.host!, d.dtype));
      if (!keepHost(d.size, d.dtype)) d.host = undefined;
    }
    return d.block.ptr;
  }

  /** The value of a one-element tensor whose value is known on the host (else undefined). */
  scalarValue(t: tf.TensorInfo): number | undefined {
    const d = this.get(t.dataId);
    return d.size === 1 && d.host ? d.host[0] : undefined;
  }

  /** Host values when known without a device read (small JS-written tensors), else undefined. */
  hostValues(t: tf.TensorInfo): Values | undefined {
    return this.get(t.dataId).host;
  }

  /** A scratch block for one kernel; give it back with releaseTemp after queuing the work that uses it. */
  tempBlock(bytes: number): Block {
    return this.allocator.alloc(Math.max(4, bytes));
  }
  releaseTemp(b: Block): void {
    this.allocator.release(b);
  }

  // ------------------------------------------------------------------ reads

  override readSync(dataId: DataId): tf.backend_util.BackendValues {
    const d = this.get(dataId);
    if (d.host) return d.host.slice();
    const words = d.dtype === "float32" ? new Float32Array(d.size) : new Int32Array(d.size);
    if (d.size > 0) this.device.download(d.block!.ptr, words);
    if (d.dtype === "bool") return Uint8Array.from(words as Int32Array);
    return words;
  }

  override async read(dataId: DataId): Promise<tf.backend_util.BackendValues> {
    const d = this.get(dataId);
    if (!d.host && d.size > 0) {
      // Let the event loop run while the GPU works (a notebook kernel stays responsive): poll at
      // once for the first few milliseconds (a training step's read waits about that long), then each millisecond.
      const done = this.device.fence(),
        t0 = performance.now();
      while (!done())
        await new Promise((r) => (performance.now() - t0 < 5 ? setImmediate(r) : setTimeout(r, 1)));
    }
    return this.readSync(dataId);
  }

  // ------------------------------------------------------------------ the rest of KernelBackend

  override memory(): {
    unreliable: boolean;
    reasons?: string[];
    numBytesInGPU: number;
    numBytesInGPUAllocated: number;
    numBytesInGPUFree: number;
  } {
    const s = this.allocator.stats();
    return {
      unreliable: false,
      numBytesInGPU: s.inUse,
      numBytesInGPUAllocated: s.allocated,
      numBytesInGPUFree: s.cached,
    };
  }

  override async time(f: () => void): Promise<tf.BackendTimingInfo> {
    this.device.sync();
    const t0 = performance.now();
    f();
    this.device.sync();
    return { kernelMs: performance.now() - t0 };
  }

  override timerAvailable(): boolean {
    return true;
  }
  override floatPrecision(): 16 | 32 {
    return 32;
  }
  override epsilon(): number {
    return 1e-7;
  }

  override dispose(): void {
    this.device.sync();
    this.allocator.emptyCache();
  }

  /** Device dtype code of a tensor (bool and int32 are int32 words). */
  static dtypeCode(dtype: tf.DataType): number {
    return dtype === "float32" ? DTYPE.F32 : DTYPE.I32;
  }
  static castCode(dtype: tf.DataType): number {
    return dtype === "float32" ? CAST.F32 : dtype === "bool" ? CAST.BOOL : CAST.I32;
  }
}

/** JS values as the typed array of their dtype (tfjs may hand over plain arrays). */
function hostValues(
  values: tf.backend_util.BackendValues,
  dtype: tf.DataType,
  size: number,
): Values {
  if (dtype === "float32")
    return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  if (dtype === "bool")
    return values instanceof Uint8Array ? values : Uint8Array.from(values as ArrayLike<number>);
  if (values instanceof Int32Array) return values;
  const out = new Int32Array(size);
  const v = values as ArrayLike<number>;
  for (let i = 0; i < size; i++) out[i] = v[i]!;
  return out;
}

/** What the device stores: 4-byte words (bool as int32 0/1). */
function deviceWords(host: Values, dtype: tf.DataType): Float32Array | Int32Array {
  if (dtype === "bool") return Int32Array.from(host as Uint8Array, (x) => (x ? 1 : 0));
  return host as Float32Array | Int32Array;
}
