/*
 * Reductions: sum / max / min / prod / any / all / argmax / argmin over the middle axis of
 * [outer, mid, inner], optionally in chunks of the middle axis (a two-pass sum for long columns,
 * e.g. a bias gradient over 12,544 rows); row softmax; and the sum of squares of many tensors in
 * double (the gradient norm for clipping).
 *
 * inner == 1 (a row reduction): a warp per row up to 1,024 elements, a block of 256 beyond.
 * inner > 1 (a column reduction): a thread per output element walking its chunk of rows, so
 * neighbouring threads read neighbouring addresses.
 */
#include "kernels.cuh"
#include <float.h>

struct Acc { float f; int32_t i; int32_t idx; };

__device__ __forceinline__ Acc acc_init(int op, int dtype) {
  Acc a; a.idx = -1;
  switch (op) {
    case R_SUM: case R_ANY: a.f = 0.0f; a.i = 0; break;
    case R_PROD: case R_ALL: a.f = 1.0f; a.i = 1; break;
    case R_MAX: case R_ARGMAX: a.f = -INFINITY; a.i = INT32_MIN; break;
    default: a.f = INFINITY; a.i = INT32_MAX; break; /* MIN, ARGMIN */
  }
  (void)dtype;
  return a;
}

/* Fold element v (raw bits) at position m into the accumulator. */
__device__ __forceinline__ void acc_add(int op, int dtype, Acc &a, uint32_t v, int32_t m) {
  if (dtype == SV_F32) {
    float x = __uint_as_float(v);
    switch (op) {
      case R_SUM: a.f += x; break;
      case R_PROD: a.f *= x; break;
      case R_MAX: a.f = (isnan(x) || x > a.f) ? x : a.f; break;
      case R_MIN: a.f = (isnan(x) || x < a.f) ? x : a.f; break;
      case R_ANY: a.i = a.i || x != 0.0f; break;
      case R_ALL: a.i = a.i && x != 0.0f; break;
      case R_ARGMAX: if (a.idx < 0 || x > a.f) { a.f = x; a.idx = m; } break;
      case R_ARGMIN: if (a.idx < 0 || x < a.f) { a.f = x; a.idx = m; } break;
    }
  } else {
    int32_t x = (int32_t)v;
    switch (op) {
      case R_SUM: a.i += x; break;
      case R_PROD: a.i *= x; break;
      case R_MAX: a.i = x > a.i ? x : a.i; break;
      case R_MIN: a.i = x < a.i ? x : a.i; break;
      case R_ANY: a.i = a.i || x != 0; break;
      case R_ALL: a.i = a.i && x != 0; break;
      case R_ARGMAX: if (a.idx < 0 || x > a.i) { a.i = x; a.idx = m; } break;
      case R_ARGMIN: if (a.idx < 0 || x < a.i) { a.i = x; a.idx = m; } break;
    }
  }
}

/* Combine two partial accumulators (b covers later positions than a for the arg ops' tie rule). */
__device__ __forceinline__ Acc acc_merge(int op, int dtype, Acc a, Acc b) {
  if (op == R_ARGMAX || op == R_ARGMIN) {
    if (b.idx < 0) return a;
    if (a.idx < 0) return b;
    bool f = dtype == SV_F32;
    bool better = op == R_ARGMAX ? (f ? b.f > a.f : b.i > a.i) : (f ? b.f < a.f : b.i < a.i);
    bool tie = f ? b.f == a.f : b.i == a.i;
    if (better || (tie && b.idx < a.idx)) return b;
    return a;
  }
  if (dtype == SV_F32 && op != R_ANY && op != R_ALL) {
    switch (op) {
      case R_SUM: a.f += b.f; break;
      case R_PROD: a.f *= b.f; break;
      case R_MAX: a.f = (isnan(b.f) || b.f > a.f) ? b.f : a.f; break;
      case R_MIN: a.f = (isnan(b.f) || b.f < a.f) ? b.f : a.f; break;
    }
    return a;
  }
  switch (op) {
    case R_SUM: a.i += b.i; break;
    case R_PROD: a.i *= b.i; break;
    case R_MAX: a.i = b.i > a.i ? b.i : a.i; break;
    case R_MIN: a.i = b.i < a.i ? b.i : a.i; break;
    case R_ANY: a.i = a.i || b.i; break;
    case R_ALL: a.i = a.i && b.i; break;
  }
  return a;
}

__device__ __forceinline__ Acc warp_reduce(int op, int dtype, Acc a) {
  for (int off = 16; off > 0; off >>= 1) {
    Acc b;
    b.f = __shfl_down_sync(0xffffffffu, a.f, off);
    b.i = __shfl_down_sync(0xffffffffu, a.i, off);
    b.idx = __shfl_down_sync(0xffffffffu, a.idx, off);
    a = acc_merge(op, dtype, a, b);
  }
  return a;
}

__device__ __forceinline__ uint32_t acc_result(int op, int dtype, Acc a, float scale) {
  if (op == R_ARGMAX || op == R_ARGMIN) return (uint32_t)(a.idx < 0 ? 0 : a.idx);
  if (op == R_ANY || op == R_ALL) return (uint32_t)(a.i != 0);
  if (dtype == SV_F32) return __float_as_uint(a.f * scale);
  return (uint32_t)a.i;
}

/* One warp per (row, chunk) segment; rows of `inner == 1`. */
__global__ void k_reduce_rows_warp(int op, int dtype, const uint32_t *x, uint32_t *y, int64_t segs, int64_t mid, int64_t chunk, int64_t nChunks, float scale) {
  int lane = threadIdx.x & 31;
  int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
  for (int64_t seg = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); seg < segs; seg += warps) {
    int64_t o = seg / nChunks, c = seg % nChunks;
    int64_t m0 = c * chunk, m1 = min(mid, m0 + chunk);
    Acc a = acc_init(op, dtype);
    for (int64_t m = m0 + lane; m < m1; m += 32) acc_add(op, dtype, a, x[o * mid + m], (int32_t)m);
    a = warp_reduce(op, dtype, a);
    if (lane == 0) y[seg] = acc_result(op, dtype, a, scale);
  }
}

/* One block of 256 per (row, chunk) segment, for long rows. */
__global__ void k_reduce_rows_block(int op, int dtype, const uint32_t *x, uint32_t *y, int64_t mid, int64_t chunk, int64_t nChunks, float scale) {
  __shared__ Acc part[8];
  int64_t seg = blockIdx.x, o = seg / nChunks, c = seg % nChunks;
  int64_t m0 = c * chunk, m1 = min(mid, m0 + chunk);
  Acc a = acc_init(op, dtype);
  for (int64_t m = m0 + threadIdx.x; m < m1; m += blockDim.x) acc_add(op, dtype, a, x[o * mid + m], (int32_t)m);
  a = warp_reduce(op, dtype, a);
  int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (lane == 0) part[w] = a;
  __syncthreads();
  if (w == 0) {
    a = lane < (int)(blockDim.x >> 5) ? part[lane] : acc_init(op, dtype);
    a = warp_reduce(op, dtype, a);
    if (lane == 0) y[seg] = acc_result(op, dtype, a, scale);
  }
}

/* A thread per (outer, chunk, inner) output element. */
__global__ void k_reduce_cols(int op, int dtype, const uint32_t *x, uint32_t *y, int64_t outer, int64_t mid, int64_t inner, int64_t chunk, int64_t nChunks, float scale) {
  int64_t n = outer * nChunks * inner;
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < n; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t k = t % inner, r = t / inner, c = r % nChunks, o = r / nChunks;
    int64_t m0 = c * chunk, m1 = min(mid, m0 + chunk);
    Acc a = acc_init(op, dtype);
    for (int64_t m = m0; m < m1; m++) acc_add(op, dtype, a, x[(o * mid + m) * inner + k], (int32_t)m);
    y[t] = acc_result(op, dtype, a, scale);
  }
}

/*
 * reduce(op, dtype, x, y, outer, mid, inner, chunk, scale): y[o, c, k] = op over m in chunk c of
 * x[o, m, k]; y is [outer, ceil(mid / chunk), inner]. float32 sums are multiplied by `scale` (a
 * mean passes 1/mid). Arg ops give the int32 position along the whole middle axis (first on ties).
 */
static cudaError_t h_reduce(const double *a, cudaStream_t s) {
  int op = (int)a[0], dtype = (int)a[1];
  int64_t outer = L(a[4]), mid = L(a[5]), inner = L(a[6]), chunk = L(a[7]);
  float scale = (float)a[8];
  if (op < 0 || op >= R_COUNT || outer < 0 || mid < 1 || inner < 1 || chunk < 1) return cudaErrorInvalidValue;
  int64_t nChunks = (mid + chunk - 1) / chunk;
  int64_t segLen = chunk < mid ? chunk : mid;
  if (outer == 0) return cudaSuccess;
  if (inner == 1) {
    int64_t segs = outer * nChunks;
    if (segLen <= 1024) k_reduce_rows_warp<<<sv_blocks(segs * 32, 256), 256, 0, s>>>(op, dtype, W(a[2]), W(a[3]), segs, mid, chunk, nChunks, scale);
    else {
      if (segs > 2147483647LL) return cudaErrorInvalidValue;
      k_reduce_rows_block<<<(unsigned)segs, 256, 0, s>>>(op, dtype, W(a[2]), W(a[3]), mid, chunk, nChunks, scale);
    }
  } else {
    int64_t n = outer * nChunks * inner;
    k_reduce_cols<<<sv_blocks(n, 256), 256, 0, s>>>(op, dtype, W(a[2]), W(a[3]), outer, mid, inner, chunk, nChunks, scale);
  }
  return cudaGetLastError();
}

/* ---------------------------------------------------------------------------------- softmax */

__device__ __forceinline__ float warp_max(float v) {
  for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

/* A warp per row: y = exp(x − max) / Σ exp(x − max). */
__global__ void k_softmax_warp(const float *x, float *y, int64_t rows, int64_t cols) {
  int lane = threadIdx.x & 31;
  int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
  for (int64_t r = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warps) {
    const float *xr = x + r * cols;
    float *yr = y + r * cols;
    float mx = -INFINITY;
    for (int64_t j = lane; j < cols; j += 32) mx = fmaxf(mx, xr[j]);
    mx = warp_max(mx);
    float sum = 0.0f;
    for (int64_t j = lane; j < cols; j += 32) sum += expf(xr[j] - mx);
    sum = warp_sum(sum);
    for (int64_t j = lane; j < cols; j += 32) yr[j] = expf(xr[j] - mx) / sum;
  }
}

/* Block-wide reduction helper for 256 threads (max when isMax, else sum). */
__device__ float block_reduce(float v, bool isMax, float *sh) {
  v = isMax ? warp_max(v) : warp_sum(v);
  int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
  __syncthreads();
  if (lane == 0) sh[w] = v;
  __syncthreads();
  int nw = blockDim.x >> 5;
  v = lane < nw ? sh[lane] : (isMax ? -INFINITY : 0.0f);
  v = isMax ? warp_max(v) : warp_sum(v);
  return v;
}

__global__ void k_softmax_block(const float *x, float *y, int64_t cols) {
  __shared__ float sh[32];
  int64_t r = blockIdx.x;
  const float *xr = x + r * cols;
  float *yr = y + r * cols;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) mx = fmaxf(mx, xr[j]);
  mx = block_reduce(mx, true, sh);
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) sum += expf(xr[j] - mx);
  sum = block_reduce(sum, false, sh);
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = expf(xr[j] - mx) / sum;
}

/* softmax(x, y, rows, cols) over the last axis. */
static cudaError_t h_softmax(const double *a, cudaStream_t s) {
  int64_t rows = L(a[2]), cols = L(a[3]);
  if (rows <= 0 || cols <= 0) return cudaSuccess;
  if (cols <= 1024) k_softmax_warp<<<sv_blocks(rows * 32, 256), 256, 0, s>>>(F(a[0]), F(a[1]), rows, cols);
  else k_softmax_block<<<(unsigned)rows, 256, 0, s>>>(F(a[0]), F(a[1]), cols);
  return cudaGetLastError();
}

/* ---------------------------------------------------------------------------------- Σ x² */

/* sumSquares(x, n, acc): *acc += Σ x² (acc a double on the device, zeroed by the caller). */
__global__ void k_sum_squares(const float *x, int64_t n, double *acc) {
  __shared__ double sh[32];
  double v = 0.0;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) v += (double)x[i] * (double)x[i];
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (lane == 0) sh[w] = v;
  __syncthreads();
  if (w == 0) {
    v = lane < (int)(blockDim.x >> 5) ? sh[lane] : 0.0;
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
    if (lane == 0) atomicAdd(acc, v);
  }
}

static cudaError_t h_sum_squares(const double *a, cudaStream_t s) {
  int64_t n = L(a[1]);
  if (n <= 0) return cudaSuccess;
  unsigned blocks = sv_blocks(n, 256);
  if (blocks > 1024) blocks = 1024;
  k_sum_squares<<<blocks, 256, 0, s>>>(F(a[0]), n, (double *)(uintptr_t)(uint64_t)a[2]);
  return cudaGetLastError();
}

/* f64ToF32(x, y, n): y[i] = (float)x[i]. */
__global__ void k_f64_to_f32(const double *x, float *y, int64_t n) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) y[i] = (float)x[i];
}

static cudaError_t h_f64_to_f32(const double *a, cudaStream_t s) {
  int64_t n = L(a[2]);
  if (n > 0) k_f64_to_f32<<<sv_blocks(n, 256), 256, 0, s>>>((const double *)(uintptr_t)(uint64_t)a[0], F(a[1]), n);
  return cudaGetLastError();
}

static const SvKernel TABLE[] = {
  { "reduce", 9, h_reduce },
  { "softmax", 4, h_softmax },
  { "sumSquares", 3, h_sum_squares },
  { "f64ToF32", 3, h_f64_to_f32 },
};

const SvKernel *sv_reduce_kernels(int *count) { *count = (int)(sizeof TABLE / sizeof TABLE[0]); return TABLE; }
