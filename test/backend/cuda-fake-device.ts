/**
 * A CUDA device in JavaScript, behind the same interface as the addon (lib/backend/cuda/device.ts):
 * memory is ArrayBuffers at fake addresses (allocation id · 2^32 + offset), and every kernel of
 * lib/backend/cuda/catalog.ts is computed here with the semantics of its CUDA source (native/cuda/*.cu).
 * With it the whole TypeScript side of the cuda backend — dataIds, refcounts, the allocator,
 * uploads, strides, every kernel's arguments — runs and is checked against the cpu backend on a
 * machine without a GPU. It also checks what a GPU would not: every address must lie inside a live
 * allocation, so a use-after-free or an out-of-bounds operand is an error here.
 *
 * What it does not check: the CUDA code itself (test/backend/cuda-device.test.ts does, on a GPU).
 */
import {
  CudaOutOfMemoryError,
  type CudaDevice,
  type DeviceInfo,
  type GemmArgs,
} from "../../lib/backend/cuda/device.ts";
import {
  ACT,
  BINARY,
  BOOL_BINARY,
  KERNELS,
  MAXRANK,
  REDUCE,
  UNARY,
  type KernelName,
} from "../../lib/backend/cuda/catalog.ts";
import { hash32 } from "../../lib/backend/dropout.ts";

const SLOT = 2 ** 32;
const fr = Math.fround;

interface Alloc {
  buf: ArrayBuffer;
  bytes: number;
}

export interface FakeDeviceOptions {
  totalBytes?: number;
}

export class FakeCudaDevice implements CudaDevice {
  readonly info: DeviceInfo;
  private readonly mem = new Map<number, Alloc>();
  private nextId = 1;
  private used = 0;
  /** Kernel launches by name, gemm calls, uploads and downloads (for tests that count work). */
  readonly counts = {
    launches: new Map<string, number>(),
    gemms: 0,
    uploads: 0,
    downloads: 0,
    allocs: 0,
    frees: 0,
  };

  constructor(opts: FakeDeviceOptions = {}) {
    const total = opts.totalBytes ?? 2 ** 30;
    this.info = {
      kind: "fake",
      name: "fake CUDA device (JavaScript)",
      computeCapability: "0.0",
      totalBytes: total,
      multiprocessors: 1,
      runtimeVersion: "none",
      driverVersion: "none",
      cublasVersion: "none",
      cublasPath: "none",
    };
  }

  // ------------------------------------------------------------------ memory

  /** Change the device's size (a test runs out of memory without filling a gibibyte of host memory). */
  setTotalBytes(bytes: number): void {
    (this.info as { totalBytes: number }).totalBytes = bytes;
  }

  /** Bytes allocated from the device now. */
  usedBytes(): number {
    return this.used;
  }

  alloc(bytes: number): number {
    this.notCapturing("alloc");
    if (this.used + bytes > this.info.totalBytes) {
      const e = new CudaOutOfMemoryError(
        `CUDA out of memory: asked for ${(bytes / 2 ** 20).toFixed(1)} MiB`,
        "cudaErrorMemoryAllocation",
      );
      throw e;
    }
    const id = this.nextId++;
    this.mem.set(id, { buf: new ArrayBuffer(Math.max(4, bytes)), bytes });
    this.used += bytes;
    this.counts.allocs++;
    return id * SLOT;
  }

  free(ptr: number): void {
    const id = Math.floor(ptr / SLOT),
      a = this.mem.get(id);
    if (!a || ptr % SLOT !== 0)
      throw new Error(`fake device: free of ${ptr} which is not a live allocation`);
    this.used -= a.bytes;
    this.mem.delete(id);
    this.counts.frees++;
  }

  /** [buffer, byte offset] of an address, checking that `bytes` from it lie inside a live allocation. */
  private at(ptr: number, bytes: number): [ArrayBuffer, number] {
    const id = Math.floor(ptr / SLOT),
      off = ptr - id * SLOT,
      a = this.mem.get(id);
    if (!a)
      throw new Error(
        `fake device: address ${id}:${off} is not in a live allocation (freed, or never allocated)`,
      );
    if (off < 0 || off + bytes > a.bytes || off % 4)
      throw new Error(
        `fake device: ${bytes} bytes at ${id}:${off} overrun an allocation of ${a.bytes}`,
      );
    return [a.buf, off];
  }

  private f32(ptr: number, n: number): Float32Array {
    const [b, o] = this.at(ptr, 4 * n);
    return new Float32Array(b, o, n);
  }
  private i32(ptr: number, n: number): Int32Array {
    const [b, o] = this.at(ptr, 4 * n);
    return new Int32Array(b, o, n);
  }
  private u32(ptr: number, n: number): Uint32Array {
    const [b, o] = this.at(ptr, 4 * n);
    return new Uint32Array(b, o, n);
  }
  private f64(ptr: number, n: number): Float64Array {
    const [b, o] = this.at(ptr, 8 * n);
    return new Float64Array(b, o, n);
  }
  /** Words from ptr to the end of its allocation (strided kernels index relative to ptr). */
  private rest(ptr: number): Uint32Array {
    const id = Math.floor(ptr / SLOT),
      off = ptr - id * SLOT,
      a = this.mem.get(id);
    if (!a) throw new Error(`fake device: address ${id}:${off} is not in a live allocation`);
    return new Uint32Array(a.buf, off, (a.bytes - off) >> 2);
  }

  upload(ptr: number, src: ArrayBufferView): void {
    this.notCapturing("upload");
    const [b, o] = this.at(ptr, src.byteLength);
    new Uint8Array(b, o, src.byteLength).set(
      new Uint8Array(src.buffer, src.byteOffset, src.byteLength),
    );
    this.counts.uploads++;
  }

  download(ptr: number, dst: ArrayBufferView): void {
    this.notCapturing("download");
    const [b, o] = this.at(ptr, dst.byteLength);
    new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(
      new Uint8Array(b, o, dst.byteLength),
    );
    this.counts.downloads++;
  }

  sync(): void {
    this.notCapturing("sync");
  }

  // CUDA Graphs: record closures while capturing; replay runs them again, reading memory as it is then.
  private capturing: (() => void)[] | undefined;
  private readonly graphs: ((() => void)[] | undefined)[] = [];
  private notCapturing(what: string): void {
    if (this.capturing)
      throw new Error(
        `fake device: ${what} during graph capture (cudaErrorStreamCaptureUnsupported)`,
      );
  }
  graphBegin(): void {
    this.notCapturing("graphBegin");
    this.capturing = [];
  }
  graphEnd(): number {
    if (!this.capturing) throw new Error("fake device: graphEnd without graphBegin");
    this.graphs.push(this.capturing);
    this.capturing = undefined;
    return this.graphs.length - 1;
  }
  graphLaunch(id: number): void {
    const g = this.graphs[id];
    if (!g) throw new Error(`fake device: no graph ${id}`);
    for (const f of g) f();
  }
  graphFree(id: number): void {
    this.graphs[id] = undefined;
  }
  memInfo() {
    return { free: this.info.totalBytes - this.used, total: this.info.totalBytes };
  }
  fence(): () => boolean {
    return () => true;
  }
  liveAllocations(): number {
    return this.mem.size;
  }

  // ------------------------------------------------------------------ kernels

  launch(kernel: KernelName, a: readonly number[]): void {
    const spec = KERNELS[kernel];
    if (!spec) throw new Error(`fake device: no kernel ${kernel}`);
    if (a.length !== spec.length)
      throw new Error(
        `fake device: kernel ${kernel} takes ${spec.length} arguments, got ${a.length}`,
      );
    for (const v of a)
      if (
        typeof v !== "number" ||
        (Number.isNaN(v) && kernel !== "fill" && kernel !== "binaryScalar")
      )
        throw new Error(`fake device: kernel ${kernel} got a non-number argument ${v}`);
    this.counts.launches.set(kernel, (this.counts.launches.get(kernel) ?? 0) + 1);
    const run = () => (this.impl[kernel] as (a: readonly number[]) => void)(a.slice());
    if (this.capturing) this.capturing.push(run);
    else run();
  }

  gemm(g: GemmArgs): void {
    if (this.capturing) {
      const copy = { ...g };
      this.capturing.push(() => this.gemm(copy));
      return;
    }
    this.counts.gemms++;
    const { batch, M, N, K, transA, transB } = g;
    const alpha = g.alpha ?? 1,
      beta = g.beta ?? 0;
    const A = this.f32(g.a, g.strideA * (batch - 1) + M * K),
      B = this.f32(g.b, g.strideB * (batch - 1) + K * N);
    const C = this.f32(g.c, g.strideC * (batch - 1) + M * N);
    const round =
      g.precision === "tf32"
        ? (x: number) => roundMantissa(x, 10)
        : g.precision === "bf16"
          ? (x: number) => roundMantissa(x, 7)
          : (x: number) => x;
    for (let b = 0; b < batch; b++) {
      const ao = b * g.strideA,
        bo = b * g.strideB,
        co = b * g.strideC;
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          let acc = 0;
          for (let k = 0; k < K; k++) {
            const av = A[ao + (transA ? k * M + i : i * K + k)]!,
              bv = B[bo + (transB ? j * K + k : k * N + j)]!;
            acc += round(av) * round(bv);
          }
          C[co + i * N + j] = alpha * acc + (beta ? beta * C[co + i * N + j]! : 0);
        }
      }
    }
  }

  private readonly impl: Record<KernelName, (a: readonly number[]) => void> = {
    fill: ([y, n, value, dtype]) => {
      const out = dtype === 0 ? this.f32(y!, n!) : this.i32(y!, n!);
      out.fill(value!);
    },
    unary: ([op, dtype, x, y, n, alpha]) => {
      if (dtype === 0) {
        const X = this.f32(x!, n!),
          Y = this.u32(y!, n!),
          Yf = new Float32Array(Y.buffer, Y.byteOffset, n!);
        const boolOut =
          op === UNARY.ISNAN ||
          op === UNARY.ISINF ||
          op === UNARY.ISFINITE ||
          op === UNARY.LOGICAL_NOT;
        for (let i = 0; i < n!; i++) {
          const v = unaryF(op!, X[i]!, alpha!);
          if (boolOut) Y[i] = v !== 0 ? 1 : 0;
          else Yf[i] = v;
        }
      } else {
        const X = this.i32(x!, n!),
          Y = this.i32(y!, n!);
        for (let i = 0; i < n!; i++) Y[i] = unaryI(op!, X[i]!);
      }
    },
    binary: (a) => {
      const [op, dtype, pa, pb, py, n, rank] = a as number[];
      const shape = a.slice(7, 7 + rank!),
        sa = a.slice(7 + MAXRANK, 7 + MAXRANK + rank!),
        sb = a.slice(7 + 2 * MAXRANK, 7 + 2 * MAXRANK + rank!);
      const A = this.rest(pa!),
        B = this.rest(pb!),
        Y = this.u32(py!, n!);
      forEachIndex(shape, [sa, sb], n!, (i, [ia, ib]) => {
        Y[i] = binaryElem(op!, dtype!, A[ia!]!, B[ib!]!);
      });
    },
    binaryScalar: ([op, dtype, pa, s, py, n, left]) => {
      const A = this.u32(pa!, n!),
        Y = this.u32(py!, n!);
      const sb = dtype === 0 ? f32bits(s!) : (s! | 0) >>> 0;
      for (let i = 0; i < n!; i++)
        Y[i] = left ? binaryElem(op!, dtype!, sb, A[i]!) : binaryElem(op!, dtype!, A[i]!, sb);
    },
    select: (a) => {
      const [pc, pa, pb, py, n, rank] = a as number[];
      const shape = a.slice(6, 6 + rank!),
        off = (k: number) => a.slice(6 + k * MAXRANK, 6 + k * MAXRANK + rank!);
      const C = this.rest(pc!),
        A = this.rest(pa!),
        B = this.rest(pb!),
        Y = this.u32(py!, n!);
      forEachIndex(shape, [off(1), off(2), off(3)], n!, (i, [ic, ia, ib]) => {
        Y[i] = C[ic!] ? A[ia!]! : B[ib!]!;
      });
    },
    cast: ([x, y, n, from, to]) => {
      const X = this.u32(x!, n!),
        Y = this.u32(y!, n!);
      for (let i = 0; i < n!; i++) {
        const v = X[i]!;
        if (to === 2) Y[i] = from === 0 ? Number(bitsF32(v) !== 0) : Number(v !== 0);
        else if (from === 0 && to === 1) {
          const f = bitsF32(v);
          Y[i] = Number.isNaN(f) ? 0 : (Math.trunc(f) | 0) >>> 0;
        } else if (from !== 0 && to === 0) Y[i] = f32bits(v | 0);
        else Y[i] = v;
      }
    },
    stridedCopy: (a) => {
      const [px, py, n, rank, xo, yo] = a as number[];
      const shape = a.slice(6, 6 + rank!),
        xs = a.slice(6 + MAXRANK, 6 + MAXRANK + rank!),
        ys = a.slice(6 + 2 * MAXRANK, 6 + 2 * MAXRANK + rank!);
      const X = this.rest(px!),
        Y = this.rest(py!);
      forEachIndex(shape, [xs, ys], n!, (_, [ix, iy]) => {
        const s = xo! + ix!,
          d = yo! + iy!;
        if (s < 0 || s >= X.length || d < 0 || d >= Y.length)
          throw new Error(
            `fake device: stridedCopy index out of bounds (${s} of ${X.length}, ${d} of ${Y.length})`,
          );
        Y[d] = X[s]!;
      });
    },
    copyRows: ([x, xStride, y, yStride, rows, width]) => {
      if (rows! <= 0 || width! <= 0) return;
      // cudaMemcpy2DAsync rejects a pitch below the row width.
      if (xStride! < width! || yStride! < width!)
        throw new Error(
          `fake device: copyRows pitch (${xStride}, ${yStride}) below the width ${width} (cudaErrorInvalidPitchValue)`,
        );
      const X = this.u32(x!, (rows! - 1) * xStride! + width!),
        Y = this.u32(y!, (rows! - 1) * yStride! + width!);
      for (let r = 0; r < rows!; r++)
        Y.set(X.subarray(r * xStride!, r * xStride! + width!), r * yStride!);
    },
    gather: ([x, idx, y, outer, nIdx, inner, axisDim]) => {
      const X = this.u32(x!, outer! * axisDim! * inner!),
        I = this.i32(idx!, nIdx!),
        Y = this.u32(y!, outer! * nIdx! * inner!);
      for (let o = 0; o < outer!; o++)
        for (let i = 0; i < nIdx!; i++) {
          const j = I[i]!;
          for (let k = 0; k < inner!; k++)
            Y[(o * nIdx! + i) * inner! + k] =
              j >= 0 && j < axisDim! ? X[(o * axisDim! + j) * inner! + k]! : 0;
        }
    },
    scatterAdd: ([x, idx, y, outer, nIdx, inner, segs]) => {
      const X = this.f32(x!, outer! * nIdx! * inner!),
        I = this.i32(idx!, nIdx!),
        Y = this.f32(y!, outer! * segs! * inner!);
      for (let o = 0; o < outer!; o++)
        for (let i = 0; i < nIdx!; i++) {
          const j = I[i]!;
          if (j < 0 || j >= segs!) continue;
          for (let k = 0; k < inner!; k++)
            Y[(o * segs! + j) * inner! + k]! += X[(o * nIdx! + i) * inner! + k]!;
        }
    },
    oneHot: ([idx, y, n, depth, on, off, dtype]) => {
      const I = this.i32(idx!, n!),
        Y = dtype === 0 ? this.f32(y!, n! * depth!) : this.i32(y!, n! * depth!);
      for (let t = 0; t < n! * depth!; t++)
        Y[t] = I[Math.floor(t / depth!)] === t % depth! ? on! : off!;
    },
    addN: (a) => {
      const [y, n, dtype, count] = a as number[];
      const ps = a
        .slice(4, 4 + count!)
        .map((p) => (dtype === 0 ? this.f32(p, n!) : this.i32(p, n!)));
      const Y = dtype === 0 ? this.f32(y!, n!) : this.i32(y!, n!);
      const acc = new Float64Array(n!);
      for (const p of ps)
        for (let i = 0; i < n!; i++)
          acc[i] = dtype === 0 ? fr(acc[i]! + p[i]!) : (acc[i]! + p[i]!) | 0;
      Y.set(acc);
    },
    reduce: ([op, dtype, x, y, outer, mid, inner, chunk, scale]) => {
      const nChunks = Math.ceil(mid! / chunk!);
      const X = this.u32(x!, outer! * mid! * inner!),
        Y = this.u32(y!, outer! * nChunks * inner!);
      for (let o = 0; o < outer!; o++)
        for (let c = 0; c < nChunks; c++)
          for (let k = 0; k < inner!; k++) {
            const vals: number[] = [];
            for (let m = c * chunk!; m < Math.min(mid!, (c + 1) * chunk!); m++)
              vals.push(
                dtype === 0
                  ? bitsF32(X[(o * mid! + m) * inner! + k]!)
                  : X[(o * mid! + m) * inner! + k]! | 0,
              );
            Y[(o * nChunks + c) * inner! + k] = reduceVals(op!, dtype!, vals, c * chunk!, scale!);
          }
    },
    softmax: ([x, y, rows, cols]) => {
      const X = this.f32(x!, rows! * cols!),
        Y = this.f32(y!, rows! * cols!);
      for (let r = 0; r < rows!; r++) {
        let mx = -Infinity;
        for (let j = 0; j < cols!; j++) mx = Math.max(mx, X[r * cols! + j]!);
        let s = 0;
        for (let j = 0; j < cols!; j++) s += Math.exp(X[r * cols! + j]! - mx);
        for (let j = 0; j < cols!; j++) Y[r * cols! + j] = Math.exp(X[r * cols! + j]! - mx) / s;
      }
    },
    sumSquares: ([x, n, acc]) => {
      const X = this.f32(x!, n!),
        A = this.f64(acc!, 1);
      let s = 0;
      for (let i = 0; i < n!; i++) s += X[i]! * X[i]!;
      A[0]! += s;
    },
    f64ToF32: ([x, y, n]) => {
      this.f32(y!, n!).set(this.f64(x!, n!));
    },
    gelu: ([x, y, n]) => {
      const X = this.f32(x!, n!),
        Y = this.f32(y!, n!);
      for (let i = 0; i < n!; i++) Y[i] = geluF(X[i]!);
    },
    geluGrad: ([x, dy, dx, n]) => {
      const X = this.f32(x!, n!),
        D = this.f32(dy!, n!),
        O = this.f32(dx!, n!);
      for (let i = 0; i < n!; i++) O[i] = geluGradF(X[i]!, D[i]!);
    },
    layerNorm: ([x, gamma, beta, y, mean, rstd, rows, d, eps]) => {
      const X = this.f32(x!, rows! * d!),
        G = this.f32(gamma!, d!),
        Bt = this.f32(beta!, d!),
        Y = this.f32(y!, rows! * d!);
      const Mn = this.f32(mean!, rows!),
        Rs = this.f32(rstd!, rows!);
      for (let r = 0; r < rows!; r++) {
        let s = 0;
        for (let j = 0; j < d!; j++) s += X[r * d! + j]!;
        const m = fr(s / d!);
        let q = 0;
        for (let j = 0; j < d!; j++) {
          const t = X[r * d! + j]! - m;
          q += t * t;
        }
        const rs = fr(1 / Math.sqrt(fr(q / d!) + eps!));
        Mn[r] = m;
        Rs[r] = rs;
        for (let j = 0; j < d!; j++) Y[r * d! + j] = (X[r * d! + j]! - m) * rs * G[j]! + Bt[j]!;
      }
    },
    layerNormGradX: ([x, dy, gamma, mean, rstd, dx, rows, d]) => {
      const X = this.f32(x!, rows! * d!),
        D = this.f32(dy!, rows! * d!),
        G = this.f32(gamma!, d!),
        Mn = this.f32(mean!, rows!),
        Rs = this.f32(rstd!, rows!),
        O = this.f32(dx!, rows! * d!);
      for (let r = 0; r < rows!; r++) {
        const m = Mn[r]!,
          rs = Rs[r]!;
        let sg = 0,
          sgx = 0;
        for (let j = 0; j < d!; j++) {
          const g = D[r * d! + j]! * G[j]!;
          sg += g;
          sgx += g * (X[r * d! + j]! - m) * rs;
        }
        const mg = sg / d!,
          mgx = sgx / d!;
        for (let j = 0; j < d!; j++)
          O[r * d! + j] = rs * (D[r * d! + j]! * G[j]! - mg - (X[r * d! + j]! - m) * rs * mgx);
      }
    },
    layerNormGradParams: ([x, dy, mean, rstd, pg, pb, rows, d, chunk]) => {
      const nChunks = Math.ceil(rows! / chunk!);
      const X = this.f32(x!, rows! * d!),
        D = this.f32(dy!, rows! * d!),
        Mn = this.f32(mean!, rows!),
        Rs = this.f32(rstd!, rows!);
      const PG = this.f32(pg!, nChunks * d!),
        PB = this.f32(pb!, nChunks * d!);
      for (let c = 0; c < nChunks; c++)
        for (let j = 0; j < d!; j++) {
          let g = 0,
            b = 0;
          for (let r = c * chunk!; r < Math.min(rows!, (c + 1) * chunk!); r++) {
            const dv = D[r * d! + j]!;
            g += dv * (X[r * d! + j]! - Mn[r]!) * Rs[r]!;
            b += dv;
          }
          PG[c * d! + j] = g;
          PB[c * d! + j] = b;
        }
    },
    xent: ([x, t, loss, lse, rows, V]) => {
      const X = this.f32(x!, rows! * V!),
        T = this.i32(t!, rows!),
        L = this.f32(loss!, rows!),
        S = this.f32(lse!, rows!);
      for (let r = 0; r < rows!; r++) {
        let mx = -Infinity;
        for (let j = 0; j < V!; j++) mx = Math.max(mx, X[r * V! + j]!);
        let s = 0;
        for (let j = 0; j < V!; j++) s += Math.exp(X[r * V! + j]! - mx);
        const l = mx + Math.log(s),
          tr = T[r]!;
        S[r] = l;
        L[r] = tr < 0 || tr >= V! ? 0 : l - X[r * V! + tr]!;
      }
    },
    xentGrad: ([x, t, lse, dy, dx, rows, V]) => {
      const X = this.f32(x!, rows! * V!),
        T = this.i32(t!, rows!),
        S = this.f32(lse!, rows!),
        D = this.f32(dy!, rows!),
        O = this.f32(dx!, rows! * V!);
      for (let r = 0; r < rows!; r++) {
        const tr = T[r]!;
        for (let j = 0; j < V!; j++)
          O[r * V! + j] =
            tr < 0 || tr >= V!
              ? 0
              : D[r]! * Math.exp(X[r * V! + j]! - S[r]!) - (j === tr ? D[r]! : 0);
      }
    },
    adamw: (a) => {
      const [p, m, v, g, pOut, mOut, vOut, n] = a as number[];
      const [b1, omb1, b2, omb2, c1, c2, eps, decay, lr, scale] = a.slice(8).map(fr) as number[];
      const P = this.f32(p!, n!),
        Mo = this.f32(m!, n!),
        Vo = this.f32(v!, n!),
        G = this.f32(g!, n!);
      const PO = this.f32(pOut!, n!),
        MO = this.f32(mOut!, n!),
        VO = this.f32(vOut!, n!);
      const scaled = a[17] !== 1,
        decayed = a[15] !== 1;
      for (let i = 0; i < n!; i++) {
        const gi = scaled ? fr(G[i]! * scale!) : G[i]!;
        const mi = fr(fr(Mo[i]! * b1!) + fr(gi * omb1!));
        const vi = fr(fr(Vo[i]! * b2!) + fr(fr(gi * gi) * omb2!));
        const update = fr(fr(mi / c1!) / fr(fr(Math.sqrt(fr(vi / c2!))) + eps!));
        const pi = decayed ? fr(P[i]! * decay!) : P[i]!;
        MO[i] = mi;
        VO[i] = vi;
        PO[i] = fr(pi - fr(update * lr!));
      }
    },
    dropoutMask: ([y, n, key, threshold, scale]) => {
      const Y = this.f32(y!, n!),
        s = fr(scale!);
      for (let i = 0; i < n!; i++)
        Y[i] = hash32((key! + Math.imul(i, 0x9e3779b9)) >>> 0) >>> 8 < threshold! ? 0 : s;
    },
    biasAct: ([y, bias, rows, n, act, alpha]) => {
      const Y = this.f32(y!, rows! * n!),
        Bs = bias ? this.f32(bias, n!) : undefined;
      for (let i = 0; i < rows! * n!; i++)
        Y[i] = actF(act!, Y[i]! + (Bs ? Bs[i % n!]! : 0), alpha!);
    },
    im2col: (a) => {
      const [x, cols, B, H, W, C, kh, kw, sh, sw, dh, dw, padT, padL, oh, ow] = a as number[];
      const K = kh! * kw! * C!,
        X = this.f32(x!, B! * H! * W! * C!),
        Cl = this.f32(cols!, B! * oh! * ow! * K);
      for (let row = 0; row < B! * oh! * ow!; row++) {
        const ox = row % ow!,
          oy = Math.floor(row / ow!) % oh!,
          b = Math.floor(row / (ow! * oh!));
        for (let k = 0; k < K; k++) {
          const c = k % C!,
            kx = Math.floor(k / C!) % kw!,
            ky = Math.floor(k / (C! * kw!));
          const iy = oy * sh! - padT! + ky * dh!,
            ix = ox * sw! - padL! + kx * dw!;
          Cl[row * K + k] =
            iy >= 0 && iy < H! && ix >= 0 && ix < W! ? X[((b * H! + iy) * W! + ix) * C! + c]! : 0;
        }
      }
    },
    col2im: (a) => {
      const [cols, dx, B, H, W, C, kh, kw, sh, sw, dh, dw, padT, padL, oh, ow] = a as number[];
      const K = kh! * kw! * C!,
        Cl = this.f32(cols!, B! * oh! * ow! * K),
        D = this.f32(dx!, B! * H! * W! * C!);
      D.fill(0);
      for (let row = 0; row < B! * oh! * ow!; row++) {
        const ox = row % ow!,
          oy = Math.floor(row / ow!) % oh!,
          b = Math.floor(row / (ow! * oh!));
        for (let k = 0; k < K; k++) {
          const c = k % C!,
            kx = Math.floor(k / C!) % kw!,
            ky = Math.floor(k / (C! * kw!));
          const iy = oy * sh! - padT! + ky * dh!,
            ix = ox * sw! - padL! + kx * dw!;
          if (iy >= 0 && iy < H! && ix >= 0 && ix < W!)
            D[((b * H! + iy) * W! + ix) * C! + c]! += Cl[row * K + k]!;
        }
      }
    },
  };
}

// ---------------------------------------------------------------------------------- element math (as native/cuda/*.cu)

const cvt = new DataView(new ArrayBuffer(4));
const f32bits = (f: number) => {
  cvt.setFloat32(0, f, true);
  return cvt.getUint32(0, true);
};
const bitsF32 = (u: number) => {
  cvt.setUint32(0, u >>> 0, true);
  return cvt.getFloat32(0, true);
};

/** Keep `bits` explicit mantissa bits, rounding to nearest even (TF32: 10, bf16: 7). */
function roundMantissa(x: number, bits: number): number {
  if (!Number.isFinite(x)) return x;
  const drop = 23 - bits,
    mask = (1 << drop) - 1,
    half = 1 << (drop - 1);
  let u = f32bits(x);
  const rem = u & mask;
  u = (u & ~mask) >>> 0;
  if (rem > half || (rem === half && (u >>> drop) & 1)) u = (u + (1 << drop)) >>> 0;
  return bitsF32(u);
}

/** Call fn(i, offsets) for every linear index i of `shape`, with each operand's offset from its strides. */
function forEachIndex(
  shape: number[],
  strides: number[][],
  n: number,
  fn: (i: number, offs: number[]) => void,
): void {
  const rank = shape.length,
    offs = new Array<number>(strides.length);
  for (let i = 0; i < n; i++) {
    let rem = i;
    offs.fill(0);
    for (let d = rank - 1; d >= 0; d--) {
      const c = rem % shape[d]!;
      rem = Math.floor(rem / shape[d]!);
      for (let s = 0; s < strides.length; s++) offs[s] += c * strides[s]![d]!;
    }
    fn(i, offs);
  }
}

function unaryF(op: number, x: number, alpha: number): number {
  switch (op) {
    case UNARY.NEG:
      return -x;
    case UNARY.ABS:
      return Math.abs(x);
    case UNARY.EXP:
      return Math.exp(x);
    case UNARY.LOG:
      return Math.log(x);
    case UNARY.SQRT:
      return Math.sqrt(x);
    case UNARY.RSQRT:
      return 1 / Math.sqrt(x);
    case UNARY.SQUARE:
      return x * x;
    case UNARY.TANH:
      return Math.tanh(x);
    case UNARY.SIGMOID:
      return 1 / (1 + Math.exp(-x));
    case UNARY.RELU:
      return Number.isNaN(x) ? x : x > 0 ? x : 0;
    case UNARY.ERF:
      return erf(x);
    case UNARY.SIN:
      return Math.sin(x);
    case UNARY.COS:
      return Math.cos(x);
    case UNARY.FLOOR:
      return Math.floor(x);
    case UNARY.CEIL:
      return Math.ceil(x);
    case UNARY.ROUND: {
      const f = Math.floor(x),
        d = x - f;
      return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
    }
    case UNARY.SIGN:
      return Number.isNaN(x) ? 0 : x > 0 ? 1 : x < 0 ? -1 : 0;
    case UNARY.RECIPROCAL:
      return 1 / x;
    case UNARY.LOG1P:
      return Math.log1p(x);
    case UNARY.EXPM1:
      return Math.expm1(x);
    case UNARY.STEP:
      return Number.isNaN(x) ? x : x > 0 ? 1 : alpha;
    case UNARY.ISNAN:
      return Number.isNaN(x) ? 1 : 0;
    case UNARY.ELU:
      return x >= 0 ? x : Math.expm1(x);
    case UNARY.LEAKYRELU:
      return x < 0 ? alpha * x : x;
    case UNARY.RELU6:
      return Math.min(Math.max(x, 0), 6);
    case UNARY.LOGICAL_NOT:
      return x === 0 ? 1 : 0;
    case UNARY.ISINF:
      return x === Infinity || x === -Infinity ? 1 : 0;
    case UNARY.ISFINITE:
      return Number.isFinite(x) ? 1 : 0;
    default:
      return x;
  }
}

function unaryI(op: number, x: number): number {
  switch (op) {
    case UNARY.NEG:
      return -x | 0;
    case UNARY.ABS:
      return Math.abs(x) | 0;
    case UNARY.SQUARE:
      return Math.imul(x, x);
    case UNARY.SIGN:
      return x > 0 ? 1 : x < 0 ? -1 : 0;
    case UNARY.RELU:
      return x > 0 ? x : 0;
    case UNARY.LOGICAL_NOT:
      return x === 0 ? 1 : 0;
    default:
      return x;
  }
}

/** Abramowitz–Stegun 7.1.26 is too coarse for 1e-4 parity; use the series/continued-fraction split. */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2) {
    let sum = x,
      term = x;
    const x2 = x * x;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc by a continued fraction for |x| ≥ 2.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return x > 0 ? 1 - erfc : erfc - 1;
}

function binaryElem(op: number, dtype: number, a: number, b: number): number {
  if (dtype === 0) {
    const r = binaryF(op, bitsF32(a), bitsF32(b));
    return BOOL_BINARY.has(op) ? (r !== 0 ? 1 : 0) : f32bits(r);
  }
  if (op === BINARY.DIV || op === BINARY.ATAN2) return f32bits(binaryF(op, a | 0, b | 0));
  return binaryI(op, a | 0, b | 0) >>> 0;
}

function binaryF(op: number, a: number, b: number): number {
  switch (op) {
    case BINARY.ADD:
      return a + b;
    case BINARY.SUB:
      return a - b;
    case BINARY.MUL:
      return a * b;
    case BINARY.DIV:
      return a / b;
    case BINARY.MAX:
      return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
    case BINARY.MIN:
      return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b);
    case BINARY.POW:
      return Math.pow(a, b);
    case BINARY.SQDIFF:
      return (a - b) * (a - b);
    case BINARY.FLOORDIV:
      return Math.floor(a / b);
    case BINARY.MOD: {
      const r = a % b;
      return r !== 0 && r < 0 !== b < 0 ? r + b : r;
    }
    case BINARY.EQ:
      return Number(a === b);
    case BINARY.NE:
      return Number(a !== b);
    case BINARY.LT:
      return Number(a < b);
    case BINARY.LE:
      return Number(a <= b);
    case BINARY.GT:
      return Number(a > b);
    case BINARY.GE:
      return Number(a >= b);
    case BINARY.AND:
      return Number(a !== 0 && b !== 0);
    case BINARY.OR:
      return Number(a !== 0 || b !== 0);
    case BINARY.ATAN2:
      return Math.atan2(a, b);
    default:
      return NaN;
  }
}

function binaryI(op: number, a: number, b: number): number {
  switch (op) {
    case BINARY.ADD:
      return (a + b) | 0;
    case BINARY.SUB:
      return (a - b) | 0;
    case BINARY.MUL:
      return Math.imul(a, b);
    case BINARY.MAX:
      return Math.max(a, b);
    case BINARY.MIN:
      return Math.min(a, b);
    case BINARY.POW:
      return Math.trunc(Math.pow(a, b)) | 0;
    case BINARY.SQDIFF:
      return Math.imul(a - b, a - b);
    case BINARY.FLOORDIV:
      return b === 0 ? 0 : Math.floor(a / b) | 0;
    case BINARY.MOD: {
      if (b === 0) return 0;
      const r = a % b;
      return r !== 0 && r < 0 !== b < 0 ? r + b : r;
    }
    default:
      return binaryF(op, a, b) | 0;
  }
}

function reduceVals(
  op: number,
  dtype: number,
  vals: number[],
  first: number,
  scale: number,
): number {
  const put = (v: number) => (dtype === 0 ? f32bits(v) : (v | 0) >>> 0);
  switch (op) {
    case REDUCE.SUM: {
      let s = 0;
      for (const v of vals) s = dtype === 0 ? fr(s + v) : (s + v) | 0;
      return dtype === 0 ? f32bits(s * scale) : put(s);
    }
    case REDUCE.PROD: {
      let s = 1;
      for (const v of vals) s = dtype === 0 ? fr(s * v) : Math.imul(s, v);
      return dtype === 0 ? f32bits(s * scale) : put(s);
    }
    case REDUCE.MAX: {
      let s = -Infinity;
      for (const v of vals) s = Number.isNaN(v) || v > s ? v : s;
      return put(s);
    }
    case REDUCE.MIN: {
      let s = Infinity;
      for (const v of vals) s = Number.isNaN(v) || v < s ? v : s;
      return put(s);
    }
    case REDUCE.ANY:
      return Number(vals.some((v) => v !== 0));
    case REDUCE.ALL:
      return Number(vals.every((v) => v !== 0));
    case REDUCE.ARGMAX:
    case REDUCE.ARGMIN: {
      let best = 0;
      for (let i = 1; i < vals.length; i++)
        if (op === REDUCE.ARGMAX ? vals[i]! > vals[best]! : vals[i]! < vals[best]!) best = i;
      return first + best;
    }
    default:
      throw new Error(`fake device: reduce op ${op}`);
  }
}

const GELU_C = Math.sqrt(2 / Math.PI),
  GELU_A = 0.044715;
function geluF(x: number): number {
  return 0.5 * x * (1 + Math.tanh(GELU_C * (x + GELU_A * x * x * x)));
}
function geluGradF(x: number, dy: number): number {
  const th = Math.tanh(GELU_C * (x + GELU_A * x * x * x)),
    sech2 = 1 - th * th;
  return (
    dy * (0.5 * (1 + th) + (sech2 === 0 ? 0 : 0.5 * x * sech2 * GELU_C * (1 + 3 * GELU_A * x * x)))
  );
}

function actF(act: number, x: number, alpha: number): number {
  switch (act) {
    case ACT.RELU:
      return x > 0 ? x : 0;
    case ACT.RELU6:
      return Math.min(Math.max(x, 0), 6);
    case ACT.LEAKYRELU:
      return x < 0 ? alpha * x : x;
    case ACT.ELU:
      return x >= 0 ? x : Math.expm1(x);
    case ACT.SIGMOID:
      return 1 / (1 + Math.exp(-x));
    default:
      return x;
  }
}
