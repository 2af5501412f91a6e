/**
 * A caching allocator for device memory, as PyTorch's CUDA allocator does it in spirit: a freed
 * block goes to a free list for its size class instead of back to CUDA, and the next request of that
 * class takes it. A training step repeats the same sizes every step, so after the first step almost
 * no request reaches the device. All work runs in order on one stream, so a block freed after its
 * last use may be handed out at once: any later kernel that writes it runs after the earlier reads.
 *
 * Size classes: 512 bytes minimum, then steps of 1/8 of the power of two below (≤ 12.5% waste).
 * When the device is out of memory the cache is emptied and the request retried once; the error
 * after that names the request, the bytes in use and the bytes cached.
 */
import { CudaOutOfMemoryError, type CudaDevice } from "./device.ts";

export interface Block {
  readonly ptr: number;
  readonly bytes: number;
}

export interface AllocatorStats {
  /** Bytes in blocks handed out and not yet released. */
  inUse: number;
  /** Bytes in cached free blocks. */
  cached: number;
  /** inUse + cached: what the allocator holds from the device. */
  allocated: number;
  peakInUse: number;
  /** Requests served from the cache / from the device. */
  hits: number;
  deviceAllocs: number;
  deviceFrees: number;
}

/** The size class of a request in bytes. */
export function sizeClass(bytes: number): number {
  if (bytes <= 512) return 512;
  const step = Math.max(512, 2 ** (Math.floor(Math.log2(bytes)) - 3));
  return Math.ceil(bytes / step) * step;
}

const MIB = 2 ** 20;
const mib = (b: number) => `${(b / MIB).toFixed(1)} MiB`;

export class CachingAllocator {
  private readonly free = new Map<number, number[]>();
  private readonly live = new Map<number, number>();
  private s: AllocatorStats = {
    inUse: 0,
    cached: 0,
    allocated: 0,
    peakInUse: 0,
    hits: 0,
    deviceAllocs: 0,
    deviceFrees: 0,
  };

  constructor(private readonly device: Pick<CudaDevice, "alloc" | "free" | "memInfo">) {}

  alloc(bytes: number): Block {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let ptr = list?.pop();
    if (ptr !== undefined) {
      this.s.hits++;
      this.s.cached -= size;
    } else {
      ptr = this.fromDevice(size, bytes);
    }
    this.live.set(ptr, size);
    this.s.inUse += size;
    this.s.allocated = this.s.inUse + this.s.cached;
    if (this.s.inUse > this.s.peakInUse) this.s.peakInUse = this.s.inUse;
    return { ptr, bytes: size };
  }

  /** Give a block back (to the cache). Releasing a block twice is an error: it would be handed out twice. */
  release(block: Block): void {
    const size = this.live.get(block.ptr);
    if (size === undefined)
      throw new Error(
        `cuda allocator: block ${block.ptr.toString(16)} released twice or never allocated`,
      );
    this.live.delete(block.ptr);
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(block.ptr);
    this.s.inUse -= size;
    this.s.cached += size;
    this.s.allocated = this.s.inUse + this.s.cached;
  }

  /** Return every cached block to the device. */
  emptyCache(): void {
    for (const [size, list] of this.free) {
      for (const ptr of list) {
        this.device.free(ptr);
        this.s.deviceFrees++;
        this.s.cached -= size;
      }
    }
    this.free.clear();
    this.s.allocated = this.s.inUse + this.s.cached;
  }

  stats(): AllocatorStats {
    return { ...this.s };
  }

  /** Number of blocks handed out and not released. */
  liveBlocks(): number {
    return this.live.size;
  }

  private fromDevice(size: number, asked: number): number {
    try {
      return this.countAlloc(size);
    } catch (e) {
      if (!(e instanceof CudaOutOfMemoryError)) throw e;
      // Cached blocks of other sizes may be what is missing: give them back and try once more.
      this.emptyCache();
      try {
        return this.countAlloc(size);
      } catch (e2) {
        if (!(e2 instanceof CudaOutOfMemoryError)) throw e2;
        let dev = "";
        try {
          const m = this.device.memInfo();
          dev = `; the device has ${mib(m.free)} free of ${mib(m.total)}`;
        } catch {
          /* report without it */
        }
        throw new CudaOutOfMemoryError(
          `CUDA out of memory: asked for ${mib(asked)} (a ${mib(size)} block); ` +
            `in use by tensors ${mib(this.s.inUse)} (peak ${mib(this.s.peakInUse)}), cached 0 after emptying the cache${dev}. ` +
            `Use a smaller batch or model, or dispose tensors you no longer need.`,
          "cudaErrorMemoryAllocation",
        );
      }
    }
  }

  private countAlloc(size: number): number {
    const ptr = this.device.alloc(size);
    this.s.deviceAllocs++;
    return ptr;
  }
}
