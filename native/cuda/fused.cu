/*
 * The fused kernels, where one pass replaces a chain of 10–30 tfjs kernels (the same set the wasm
 * backend fuses in native/*.c; lib/backend/fused-ops.ts names them): GELU and layer norm forward and
 * backward, softmax cross-entropy forward and backward, the AdamW update, dropout masks from the
 * counter-based hash, and the bias + activation epilogue of a matrix product.
 *
 * The per-element math is in ops.h (shared with the host-side tests).
 */
#include "kernels.cuh"

#define GRID_LOOP(i, n) for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

__device__ __forceinline__ float wsum(float v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}
__device__ __forceinline__ float wmax(float v) {
  for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}

/* ---------------------------------------------------------------------------------- GELU */

__global__ void k_gelu(const float *x, float *y, int64_t n) { GRID_LOOP(i, n) y[i] = sv_gelu(x[i]); }
__global__ void k_gelu_grad(const float *x, const float *dy, float *dx, int64_t n) { GRID_LOOP(i, n) dx[i] = sv_gelu_grad(x[i], dy[i]); }

static cudaError_t h_gelu(const double *a, cudaStream_t s) {
  int64_t n = L(a[2]);
  if (n > 0) k_gelu<<<sv_blocks(n, 256), 256, 0, s>>>(F(a[0]), F(a[1]), n);
  return cudaGetLastError();
}
static cudaError_t h_gelu_grad(const double *a, cudaStream_t s) {
  int64_t n = L(a[3]);
  if (n > 0) k_gelu_grad<<<sv_blocks(n, 256), 256, 0, s>>>(F(a[0]), F(a[1]), F(a[2]), n);
  return cudaGetLastError();
}

/* ---------------------------------------------------------------------------------- layer norm */

/* A warp per row: mean, then the mean squared deviation (tf.moments' order, biased variance). */
__global__ void k_layer_norm(const float *x, const float *gamma, const float *beta, float *y, float *mean, float *rstd,
                             int64_t rows, int64_t d, float eps) {
  int lane = threadIdx.x & 31;
  int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
  for (int64_t r = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warps) {
    const float *xr = x + r * d;
    float *yr = y + r * d;
    float s = 0.0f;
    for (int64_t j = lane; j < d; j += 32) s += xr[j];
    float m = wsum(s) / (float)d;
    float q = 0.0f;
    for (int64_t j = lane; j < d; j += 32) { float t = xr[j] - m; q += t * t; }
    float var = wsum(q) / (float)d;
    float rs = 1.0f / sqrtf(var + eps);
    for (int64_t j = lane; j < d; j += 32) yr[j] = (xr[j] - m) * rs * gamma[j] + beta[j];
    if (lane == 0) { mean[r] = m; rstd[r] = rs; }
  }
}

static cudaError_t h_layer_norm(const double *a, cudaStream_t s) {
  int64_t rows = L(a[6]), d = L(a[7]);
  if (rows <= 0 || d <= 0) return cudaSuccess;
  k_layer_norm<<<sv_blocks(rows * 32, 256), 256, 0, s>>>(F(a[0]), F(a[1]), F(a[2]), F(a[3]), F(a[4]), F(a[5]), rows, d, (float)a[8]);
  return cudaGetLastError();
}

/* dx = rstd·(g − mean(g) − xhat·mean(g·xhat)), g = dy·gamma; a warp per row. */
__global__ void k_layer_norm_grad_x(const float *x, const float *dy, const float *gamma, const float *mean, const float *rstd,
                                    float *dx, int64_t rows, int64_t d) {
  int lane = threadIdx.x & 31;
  int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
  for (int64_t r = (int64_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warps) {
    const float *xr = x + r * d, *dyr = dy + r * d;
    float *dxr = dx + r * d;
    float m = mean[r], rs = rstd[r];
    float sg = 0.0f, sgx = 0.0f;
    for (int64_t j = lane; j < d; j += 32) { float g = dyr[j] * gamma[j]; sg += g; sgx += g * (xr[j] - m) * rs; }
    float mg = wsum(sg) / (float)d, mgx = wsum(sgx) / (float)d;
    for (int64_t j = lane; j < d; j += 32) dxr[j] = rs * (dyr[j] * gamma[j] - mg - (xr[j] - m) * rs * mgx);
  }
}

static cudaError_t h_layer_norm_grad_x(const double *a, cudaStream_t s) {
  int64_t rows = L(a[6]), d = L(a[7]);
  if (rows <= 0 || d <= 0) return cudaSuccess;
  k_layer_norm_grad_x<<<sv_blocks(rows * 32, 256), 256, 0, s>>>(F(a[0]), F(a[1]), F(a[2]), F(a[3]), F(a[4]), F(a[5]), rows, d);
  return cudaGetLastError();
}

/*
 * Partial sums of dgamma = Σ dy·xhat and dbeta = Σ dy over chunks of `chunk` rows: a block of 32×8
 * threads covers 32 columns of one chunk; partials are [ceil(rows/chunk), d] (the caller sums them
 * with `reduce`).
 */
__global__ void k_layer_norm_grad_params(const float *x, const float *dy, const float *mean, const float *rstd,
                                         float *pg, float *pb, int64_t rows, int64_t d, int64_t chunk) {
  __shared__ float sg[8][33], sb[8][33];
  int64_t col = (int64_t)blockIdx.x * 32 + threadIdx.x;
  int64_t r0 = (int64_t)blockIdx.y * chunk, r1 = min(rows, r0 + chunk);
  float g = 0.0f, b = 0.0f;
  if (col < d) {
    for (int64_t r = r0 + threadIdx.y; r < r1; r += 8) {
      float dv = dy[r * d + col];
      g += dv * (x[r * d + col] - mean[r]) * rstd[r];
      b += dv;
    }
  }
  sg[threadIdx.y][threadIdx.x] = g;
  sb[threadIdx.y][threadIdx.x] = b;
  __syncthreads();
  if (threadIdx.y == 0 && col < d) {
    for (int k = 1; k < 8; k++) { g += sg[k][threadIdx.x]; b += sb[k][threadIdx.x]; }
    pg[blockIdx.y * d + col] = g;
    pb[blockIdx.y * d + col] = b;
  }
}

static cudaError_t h_layer_norm_grad_params(const double *a, cudaStream_t s) {
  int64_t rows = L(a[6]), d = L(a[7]), chunk = L(a[8]);
  if (rows <= 0 || d <= 0) return cudaSuccess;
  if (chunk < 1) return cudaErrorInvalidValue;
  int64_t nChunks = (rows + chunk - 1) / chunk;
  if (nChunks > 65535) return cudaErrorInvalidValue;
  dim3 grid((unsigned)((d + 31) / 32), (unsigned)nChunks), block(32, 8);
  k_layer_norm_grad_params<<<grid, block, 0, s>>>(F(a[0]), F(a[1]), F(a[2]), F(a[3]), F(a[4]), F(a[5]), rows, d, chunk);
  return cudaGetLastError();
}

/* ---------------------------------------------------------------------------------- cross-entropy */

__device__ float block_sum(float v, float *sh) {
  v = wsum(v);
  int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
  __syncthreads();
  if (lane == 0) sh[w] = v;
  __syncthreads();
  v = lane < (int)(blockDim.x >> 5) ? sh[lane] : 0.0f;
  return wsum(v);
}
__device__ float block_max(float v, float *sh) {
  v = wmax(v);
  int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
  __syncthreads();
  if (lane == 0) sh[w] = v;
  __syncthreads();
  v = lane < (int)(blockDim.x >> 5) ? sh[lane] : -INFINITY;
  return wmax(v);
}

/* A block per row: lse = max + log Σ exp(x − max); loss = lse − x[t] (0 for a target outside [0, V)). */
__global__ void k_xent(const float *x, const int32_t *t, float *loss, float *lse, int64_t V) {
  __shared__ float sh[32];
  int64_t r = blockIdx.x;
  const float *xr = x + r * V;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) mx = fmaxf(mx, xr[j]);
  mx = block_max(mx, sh);
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) sum += expf(xr[j] - mx);
  sum = block_sum(sum, sh);
  if (threadIdx.x == 0) {
    float l = mx + logf(sum);
    int32_t tr = t[r];
    lse[r] = l;
    loss[r] = (tr < 0 || tr >= V) ? 0.0f : l - xr[tr];
  }
}

static cudaError_t h_xent(const double *a, cudaStream_t s) {
  int64_t rows = L(a[4]), V = L(a[5]);
  if (rows <= 0) return cudaSuccess;
  if (V < 1 || rows > 2147483647LL) return cudaErrorInvalidValue;
  k_xent<<<(unsigned)rows, 256, 0, s>>>(F(a[0]), I(a[1]), F(a[2]), F(a[3]), V);
  return cudaGetLastError();
}

/* dx = dy[r]·(exp(x − lse) − onehot(t)); 0 for a target outside [0, V). */
__global__ void k_xent_grad(const float *x, const int32_t *t, const float *lse, const float *dy, float *dx, int64_t rows, int64_t V) {
  GRID_LOOP(i, rows * V) {
    int64_t r = i / V, j = i % V;
    int32_t tr = t[r];
    if (tr < 0 || tr >= V) { dx[i] = 0.0f; continue; }
    float g = dy[r];
    dx[i] = g * expf(x[i] - lse[r]) - (j == tr ? g : 0.0f);
  }
}

static cudaError_t h_xent_grad(const double *a, cudaStream_t s) {
  int64_t rows = L(a[5]), V = L(a[6]);
  if (rows * V > 0) k_xent_grad<<<sv_blocks(rows * V, 256), 256, 0, s>>>(F(a[0]), I(a[1]), F(a[2]), F(a[3]), F(a[4]), rows, V);
  return cudaGetLastError();
}

/* ---------------------------------------------------------------------------------- AdamW */

__global__ void k_adamw(const float *p, const float *m, const float *v, const float *g, float *pOut, float *mOut, float *vOut, int64_t n, SvAdamW h) {
  GRID_LOOP(i, n) sv_adamw(&h, p[i], m[i], v[i], g[i], &pOut[i], &mOut[i], &vOut[i]);
}

/* adamw(p, m, v, g, pOut, mOut, vOut, n, β1, 1−β1, β2, 1−β2, c1, c2, eps, decayFactor, lr, scale) */
static cudaError_t h_adamw(const double *a, cudaStream_t s) {
  int64_t n = L(a[7]);
  SvAdamW h;
  h.b1 = (float)a[8]; h.omb1 = (float)a[9]; h.b2 = (float)a[10]; h.omb2 = (float)a[11];
  h.c1 = (float)a[12]; h.c2 = (float)a[13]; h.eps = (float)a[14]; h.decay = (float)a[15]; h.lr = (float)a[16]; h.scale = (float)a[17];
  h.scaled = a[17] != 1.0; h.decayed = a[15] != 1.0;
  if (n > 0) k_adamw<<<sv_blocks(n, 256), 256, 0, s>>>(F(a[0]), F(a[1]), F(a[2]), F(a[3]), F(a[4]), F(a[5]), F(a[6]), n, h);
  return cudaGetLastError();
}

/* ---------------------------------------------------------------------------------- dropout */

__global__ void k_dropout_mask(float *y, int64_t n, uint32_t key, uint32_t threshold, float scale) {
  GRID_LOOP(i, n) y[i] = sv_dropout(key, (uint32_t)i, threshold, scale);
}

/* dropoutMask(y, n, key, threshold, scale) */
static cudaError_t h_dropout_mask(const double *a, cudaStream_t s) {
  int64_t n = L(a[1]);
  if (n > 4294967295LL || a[3] < 0 || a[3] > 16777216.0) return cudaErrorInvalidValue;
  if (n > 0) k_dropout_mask<<<sv_blocks(n, 256), 256, 0, s>>>(F(a[0]), n, (uint32_t)(uint64_t)a[2], (uint32_t)a[3], (float)a[4]);
  return cudaGetLastError();
}

/* ---------------------------------------------------------------------------------- bias + activation */

__device__ __forceinline__ float act_f(int act, float x, float alpha) {
  switch (act) {
    case ACT_RELU: return x > 0.0f ? x : 0.0f;
    case ACT_RELU6: return fminf(fmaxf(x, 0.0f), 6.0f);
    case ACT_LEAKYRELU: return x < 0.0f ? alpha * x : x;
    case ACT_ELU: return x >= 0.0f ? x : expm1f(x);
    case ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    default: return x;
  }
}

/* biasAct(y, bias, rows, n, act, alpha): y[r, j] = act(y[r, j] + bias[j]) in place; bias 0 = none. */
__global__ void k_bias_act(float *y, const float *bias, int64_t rows, int64_t n, int act, float alpha) {
  GRID_LOOP(i, rows * n) { float v = y[i] + (bias ? bias[i % n] : 0.0f); y[i] = act_f(act, v, alpha); }
}

static cudaError_t h_bias_act(const double *a, cudaStream_t s) {
  int64_t rows = L(a[2]), n = L(a[3]);
  if (rows * n > 0) k_bias_act<<<sv_blocks(rows * n, 256), 256, 0, s>>>(F(a[0]), a[1] == 0 ? NULL : F(a[1]), rows, n, (int)a[4], (float)a[5]);
  return cudaGetLastError();
}

static const SvKernel TABLE[] = {
  { "gelu", 3, h_gelu },
  { "geluGrad", 4, h_gelu_grad },
  { "layerNorm", 9, h_layer_norm },
  { "layerNormGradX", 8, h_layer_norm_grad_x },
  { "layerNormGradParams", 9, h_layer_norm_grad_params },
  { "xent", 6, h_xent },
  { "xentGrad", 7, h_xent_grad },
  { "adamw", 18, h_adamw },
  { "dropoutMask", 5, h_dropout_mask },
  { "biasAct", 6, h_bias_act },
};

const SvKernel *sv_fused_kernels(int *count) { *count = (int)(sizeof TABLE / sizeof TABLE[0]); return TABLE; }
