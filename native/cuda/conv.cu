/*
 * Convolution as matrix products (NHWC, tfjs's layout): im2col turns the input into rows of
 * receptive fields so that Conv2D and its filter gradient are single cuBLAS products; col2im sums
 * the columns of a product back onto the input grid (the input gradient). col2im gathers — each
 * input element adds up its own contributions — so it needs no atomics and is deterministic.
 */
#include "kernels.cuh"

struct ConvGeom { int64_t B, H, W, C, kh, kw, sh, sw, dh, dw, padT, padL, oh, ow; };

static ConvGeom read_geom(const double *a) {
  ConvGeom g;
  g.B = L(a[0]); g.H = L(a[1]); g.W = L(a[2]); g.C = L(a[3]); g.kh = L(a[4]); g.kw = L(a[5]);
  g.sh = L(a[6]); g.sw = L(a[7]); g.dh = L(a[8]); g.dw = L(a[9]); g.padT = L(a[10]); g.padL = L(a[11]);
  g.oh = L(a[12]); g.ow = L(a[13]);
  return g;
}

static bool geom_ok(const ConvGeom &g) {
  return g.B > 0 && g.H > 0 && g.W > 0 && g.C > 0 && g.kh > 0 && g.kw > 0 && g.sh > 0 && g.sw > 0 && g.dh > 0 && g.dw > 0 && g.oh > 0 && g.ow > 0;
}

/* cols[(b, oy, ox), (ky, kx, c)] = x[b, oy·sh − padT + ky·dh, ox·sw − padL + kx·dw, c], 0 outside. */
__global__ void k_im2col(const float *x, float *cols, ConvGeom g) {
  int64_t K = g.kh * g.kw * g.C, n = g.B * g.oh * g.ow * K;
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < n; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t k = t % K, row = t / K;
    int64_t c = k % g.C, kx = (k / g.C) % g.kw, ky = k / (g.C * g.kw);
    int64_t ox = row % g.ow, oy = (row / g.ow) % g.oh, b = row / (g.ow * g.oh);
    int64_t iy = oy * g.sh - g.padT + ky * g.dh, ix = ox * g.sw - g.padL + kx * g.dw;
    cols[t] = (iy >= 0 && iy < g.H && ix >= 0 && ix < g.W) ? x[((b * g.H + iy) * g.W + ix) * g.C + c] : 0.0f;
  }
}

/* im2col(x, cols, B, H, W, C, kh, kw, sh, sw, dh, dw, padT, padL, oh, ow) */
static cudaError_t h_im2col(const double *a, cudaStream_t s) {
  ConvGeom g = read_geom(a + 2);
  if (!geom_ok(g)) return cudaErrorInvalidValue;
  int64_t n = g.B * g.oh * g.ow * g.kh * g.kw * g.C;
  k_im2col<<<sv_blocks(n, 256), 256, 0, s>>>(F(a[0]), F(a[1]), g);
  return cudaGetLastError();
}

/* dx[b, y, x, c] = Σ over (ky, kx) whose window covers (y, x) of cols[(b, oy, ox), (ky, kx, c)]. */
__global__ void k_col2im(const float *cols, float *dx, ConvGeom g) {
  int64_t K = g.kh * g.kw * g.C, n = g.B * g.H * g.W * g.C;
  for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < n; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t c = t % g.C, xx = (t / g.C) % g.W, yy = (t / (g.C * g.W)) % g.H, b = t / (g.C * g.W * g.H);
    float acc = 0.0f;
    for (int64_t ky = 0; ky < g.kh; ky++) {
      int64_t ty = yy + g.padT - ky * g.dh;
      if (ty < 0 || ty % g.sh) continue;
      int64_t oy = ty / g.sh;
      if (oy >= g.oh) continue;
      for (int64_t kx = 0; kx < g.kw; kx++) {
        int64_t tx = xx + g.padL - kx * g.dw;
        if (tx < 0 || tx % g.sw) continue;
        int64_t ox = tx / g.sw;
        if (ox >= g.ow) continue;
        acc += cols[((b * g.oh + oy) * g.ow + ox) * K + (ky * g.kw + kx) * g.C + c];
      }
    }
    dx[t] = acc;
  }
}

/* col2im(cols, dx, B, H, W, C, kh, kw, sh, sw, dh, dw, padT, padL, oh, ow) */
static cudaError_t h_col2im(const double *a, cudaStream_t s) {
  ConvGeom g = read_geom(a + 2);
  if (!geom_ok(g)) return cudaErrorInvalidValue;
  int64_t n = g.B * g.H * g.W * g.C;
  k_col2im<<<sv_blocks(n, 256), 256, 0, s>>>(F(a[0]), F(a[1]), g);
  return cudaGetLastError();
}

static const SvKernel TABLE[] = {
  { "im2col", 16, h_im2col },
  { "col2im", 16, h_col2im },
};

const SvKernel *sv_conv_kernels(int *count) { *count = (int)(sizeof TABLE / sizeof TABLE[0]); return TABLE; }
