/*
 * simvlm native kernels: GELU (tanh approximation) and layer norm, forward and backward, computed in
 * place on the tfjs wasm heap (float32). Each replaces a chain of 10-30 elementwise and reduction
 * kernels per call, and the tanh here is a vectorisable approximation (glibc's tanhf is scalar).
 *
 * The loops are plain C that GCC vectorises at -O3 (SSE2 baseline); on x86-64 GCC the hot ones also
 * get an AVX2 clone picked at load time. Row reductions use explicit lanes (LANES partial sums)
 * because GCC does not reorder a float sum by itself without -ffast-math.
 */
#include <math.h>
#include "common.h"

/*
 * Hot loops stay out of line: inlined into an N-API wrapper, where every pointer derives from one
 * heap base, GCC left the lane sums scalar (measured 10x slower layer norm on the SSE2 build).
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HOT __attribute__((target_clones("avx2", "default"), noinline))
#elif defined(__GNUC__)
#define HOT __attribute__((noinline))
#else
#define HOT
#endif

#define LANES 8
#define GELU_C 0.7978845608028654f /* sqrt(2/pi) */
#define GELU_A 0.044715f

static inline float bits_to_float(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
static inline uint32_t float_to_bits(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }
/*
 * cond ? a : b by bit masks. A plain ?: between float expressions stays a branch (GCC will not
 * compute a possibly trapping division speculatively under the default -ftrapping-math), and a
 * branch stops the loop from vectorising; here both sides are always computed.
 */
static inline float select_f(int cond, float a, float b) {
  uint32_t m = 0u - (uint32_t)(cond != 0);
  return bits_to_float((float_to_bits(a) & m) | (float_to_bits(b) & ~m));
}

/*
 * tanh(x) to ~2e-7 absolute and relative. |x| < 0.4: odd Taylor series to x^13 (truncation < 2e-9);
 * otherwise (1 - t) / (1 + t) with t = exp(-2|x|) from a range-reduced degree-7 polynomial. |x| is
 * clamped at 9, where tanh is 1 in float, so ±inf give ±1; NaN stays NaN (the comparisons are false).
 * Branch-free (both paths computed, one selected) so loops calling it vectorise.
 */
static inline float fast_tanh(float x) {
  float ax = fabsf(x);
  ax = select_f(ax > 9.0f, 9.0f, ax);
  /* small |x|: x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835 - 1382x^11/155925 + 21844x^13/6081075 */
  float s = ax * ax;
  float p = 21844.0f / 6081075.0f;
  p = p * s - 1382.0f / 155925.0f;
  p = p * s + 62.0f / 2835.0f;
  p = p * s - 17.0f / 315.0f;
  p = p * s + 2.0f / 15.0f;
  p = p * s - 1.0f / 3.0f;
  float small = ax + ax * s * p;
  /* exp(y), y = -2|x| in [-18, 0]: y = k ln2 + r, |r| <= ln2/2; k rounded with the 1.5*2^23 trick. */
  float y = -2.0f * ax;
  float z = y * 1.4426950408889634f + 12582912.0f;
  float k = z - 12582912.0f;
  float r = y - k * 0.693145751953125f;          /* ln2, high part (exact in k * hi) */
  r = r - k * 1.428606765330187e-06f;            /* ln2, low part */
  float e = 1.0f / 5040.0f;
  e = e * r + 1.0f / 720.0f;
  e = e * r + 1.0f / 120.0f;
  e = e * r + 1.0f / 24.0f;
  e = e * r + 1.0f / 6.0f;
  e = e * r + 0.5f;
  e = e * r + 1.0f;
  e = e * r + 1.0f;
  int32_t ki = (int32_t)k;
  float t = e * bits_to_float((uint32_t)(ki + 127) << 23);
  float large = (1.0f - t) / (1.0f + t);
  float a = select_f(ax < 0.4f, small, large);
  /* copy x's sign (also keeps NaN as NaN) */
  return bits_to_float(float_to_bits(a) | (float_to_bits(x) & 0x80000000u));
}

HOT static void gelu_fwd_loop(const float *restrict x, float *restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float v = x[i];
    float th = fast_tanh(GELU_C * (v + GELU_A * v * v * v));
    float h = 1.0f + th;
    /* h == 0 only where x is very negative: GELU is 0 there (also for -inf, where x*h is NaN) */
    y[i] = select_f(h == 0.0f, 0.0f, 0.5f * v * h);
  }
}

/* d/dx 0.5x(1+tanh u), u = c(x + a x^3): 0.5(1+th) + 0.5x(1-th^2)c(1+3a x^2) */
HOT static void gelu_bwd_loop(const float *restrict x, const float *restrict dy, float *restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float v = x[i], v2 = v * v;
    float th = fast_tanh(GELU_C * (v + GELU_A * v2 * v));
    float sech2 = 1.0f - th * th;
    /* sech2 == 0 where tanh has saturated: that term is 0 (also for ±inf, where x*sech2 is NaN) */
    float inner = select_f(sech2 == 0.0f, 0.0f, 0.5f * v * sech2 * GELU_C * (1.0f + 3.0f * GELU_A * v2));
    dx[i] = dy[i] * (0.5f * (1.0f + th) + inner);
  }
}

/* Sum of a[0..n) with LANES partial sums (vectorisable), combined in double. */
static inline double lane_sum(const float *restrict a, int64_t n) {
  float acc[LANES] = { 0 };
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) acc[j] += a[i + j];
  double s = 0.0;
  for (; i < n; i++) s += a[i];
  for (int j = 0; j < LANES; j++) s += acc[j];
  return s;
}

/* Sum of (a[i] - m)^2, as lane_sum. */
static inline double lane_sq_dev(const float *restrict a, float m, int64_t n) {
  float acc[LANES] = { 0 };
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) { float d = a[i + j] - m; acc[j] += d * d; }
  double s = 0.0;
  for (; i < n; i++) { double d = (double)a[i] - m; s += d * d; }
  for (int j = 0; j < LANES; j++) s += acc[j];
  return s;
}

/* Sums of g = dy*gamma and of g*xhat over one row, xhat = (x - mean) * rstd. */
static inline void lane_grad_sums(const float *restrict x, const float *restrict dy, const float *restrict gamma,
                                  float mean, float rstd, int64_t n, double *sg, double *sgx) {
  float a[LANES] = { 0 }, b[LANES] = { 0 };
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int j = 0; j < LANES; j++) {
      float g = dy[i + j] * gamma[i + j], xh = (x[i + j] - mean) * rstd;
      a[j] += g; b[j] += g * xh;
    }
  double s1 = 0.0, s2 = 0.0;
  for (; i < n; i++) { float g = dy[i] * gamma[i], xh = (x[i] - mean) * rstd; s1 += g; s2 += (double)g * xh; }
  for (int j = 0; j < LANES; j++) { s1 += a[j]; s2 += b[j]; }
  *sg = s1; *sgx = s2;
}

/* Two passes per row (mean, then mean squared deviation: tf.moments' order), biased variance. */
HOT static void ln_fwd_loop(const float *restrict x, const float *restrict gamma, const float *restrict beta,
                            float *restrict y, float *restrict mean, float *restrict rstd, int64_t rows, int64_t d, float eps) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * d;
    float *yr = y + r * d;
    float m = (float)(lane_sum(xr, d) / (double)d);
    float var = (float)(lane_sq_dev(xr, m, d) / (double)d);
    float rs = 1.0f / sqrtf(var + eps);
    mean[r] = m; rstd[r] = rs;
    for (int64_t i = 0; i < d; i++) yr[i] = (xr[i] - m) * rs * gamma[i] + beta[i];
  }
}

/*
 * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma; dgamma = sum over rows of
 * dy * xhat; dbeta = sum over rows of dy (both summed in row order, like the composite's Sum).
 */
HOT static void ln_bwd_loop(const float *restrict x, const float *restrict dy, const float *restrict gamma,
                            const float *restrict mean, const float *restrict rstd, float *restrict dx,
                            float *restrict dgamma, float *restrict dbeta, int64_t rows, int64_t d) {
  for (int64_t i = 0; i < d; i++) { dgamma[i] = 0.0f; dbeta[i] = 0.0f; }
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * d, *dyr = dy + r * d;
    float *dxr = dx + r * d;
    float m = mean[r], rs = rstd[r];
    double sg, sgx;
    lane_grad_sums(xr, dyr, gamma, m, rs, d, &sg, &sgx);
    float mg = (float)(sg / (double)d), mgx = (float)(sgx / (double)d);
    for (int64_t i = 0; i < d; i++) {
      float xh = (xr[i] - m) * rs;
      dxr[i] = rs * (dyr[i] * gamma[i] - mg - xh * mgx);
      dgamma[i] += dyr[i] * xh;
      dbeta[i] += dyr[i];
    }
  }
}

/* geluFwd(heap, xOff, yOff, n): y = GELU(x) (tanh approximation). */
static napi_value gelu_fwd(napi_env env, napi_callback_info info) {
  int64_t v[3]; void *data; size_t length;
  if (!read_args(env, info, "geluFwd", 3, v, &data, &length)) return NULL;
  int64_t xOff = v[0], yOff = v[1], n = v[2];
  if (n < 0 || !in_heap(xOff, n, length) || !in_heap(yOff, n, length)) THROW(env, "geluFwd: operand outside the heap");
  float *base = (float *)data;
  gelu_fwd_loop(base + xOff / 4, base + yOff / 4, n);
  return NULL;
}

/* geluBwd(heap, xOff, dyOff, dxOff, n): dx = dy * GELU'(x). */
static napi_value gelu_bwd(napi_env env, napi_callback_info info) {
  int64_t v[4]; void *data; size_t length;
  if (!read_args(env, info, "geluBwd", 4, v, &data, &length)) return NULL;
  int64_t xOff = v[0], dyOff = v[1], dxOff = v[2], n = v[3];
  if (n < 0 || !in_heap(xOff, n, length) || !in_heap(dyOff, n, length) || !in_heap(dxOff, n, length))
    THROW(env, "geluBwd: operand outside the heap");
  float *base = (float *)data;
  gelu_bwd_loop(base + xOff / 4, base + dyOff / 4, base + dxOff / 4, n);
  return NULL;
}

/* layerNormFwd(heap, xOff, gammaOff, betaOff, yOff, meanOff, rstdOff, rows, d, eps): x, y [rows, d]; mean, rstd [rows]. */
static napi_value layer_norm_fwd(napi_env env, napi_callback_info info) {
  int64_t v[8]; double eps; void *data; size_t length;
  if (!read_args_mixed(env, info, "layerNormFwd", 8, v, 1, &eps, &data, &length)) return NULL;
  int64_t xOff = v[0], gOff = v[1], bOff = v[2], yOff = v[3], mOff = v[4], rOff = v[5], rows = v[6], d = v[7];
  if (rows < 0 || d < 1 || rows > INT64_MAX / d) THROW(env, "layerNormFwd: bad sizes");
  if (!(eps >= 0.0)) THROW(env, "layerNormFwd: eps must be a number >= 0");
  if (!in_heap(xOff, rows * d, length) || !in_heap(gOff, d, length) || !in_heap(bOff, d, length) ||
      !in_heap(yOff, rows * d, length) || !in_heap(mOff, rows, length) || !in_heap(rOff, rows, length))
    THROW(env, "layerNormFwd: operand outside the heap");
  float *base = (float *)data;
  ln_fwd_loop(base + xOff / 4, base + gOff / 4, base + bOff / 4, base + yOff / 4, base + mOff / 4, base + rOff / 4, rows, d, (float)eps);
  return NULL;
}

/*
 * layerNormBwd(heap, xOff, dyOff, gammaOff, meanOff, rstdOff, dxOff, dgammaOff, dbetaOff, rows, d):
 * mean and rstd as saved by layerNormFwd; dx [rows, d]; dgamma, dbeta [d].
 */
static napi_value layer_norm_bwd(napi_env env, napi_callback_info info) {
  int64_t v[10]; void *data; size_t length;
  if (!read_args(env, info, "layerNormBwd", 10, v, &data, &length)) return NULL;
  int64_t xOff = v[0], dyOff = v[1], gOff = v[2], mOff = v[3], rOff = v[4], dxOff = v[5], dgOff = v[6], dbOff = v[7];
  int64_t rows = v[8], d = v[9];
  if (rows < 0 || d < 1 || rows > INT64_MAX / d) THROW(env, "layerNormBwd: bad sizes");
  if (!in_heap(xOff, rows * d, length) || !in_heap(dyOff, rows * d, length) || !in_heap(gOff, d, length) ||
      !in_heap(mOff, rows, length) || !in_heap(rOff, rows, length) || !in_heap(dxOff, rows * d, length) ||
      !in_heap(dgOff, d, length) || !in_heap(dbOff, d, length))
    THROW(env, "layerNormBwd: operand outside the heap");
  float *base = (float *)data;
  ln_bwd_loop(base + xOff / 4, base + dyOff / 4, base + gOff / 4, base + mOff / 4, base + rOff / 4,
              base + dxOff / 4, base + dgOff / 4, base + dbOff / 4, rows, d);
  return NULL;
}

/* tanh(heap, xOff, yOff, n): the approximation alone, exported so tests can measure its accuracy. */
static napi_value tanh_approx(napi_env env, napi_callback_info info) {
  int64_t v[3]; void *data; size_t length;
  if (!read_args(env, info, "tanhApprox", 3, v, &data, &length)) return NULL;
  int64_t xOff = v[0], yOff = v[1], n = v[2];
  if (n < 0 || !in_heap(xOff, n, length) || !in_heap(yOff, n, length)) THROW(env, "tanhApprox: operand outside the heap");
  const float *x = (const float *)data + xOff / 4;
  float *y = (float *)data + yOff / 4;
  for (int64_t i = 0; i < n; i++) y[i] = fast_tanh(x[i]);
  return NULL;
}

void simvlm_register_fused(napi_env env, napi_value exports) {
  simvlm_export(env, exports, "geluFwd", gelu_fwd);
  simvlm_export(env, exports, "geluBwd", gelu_bwd);
  simvlm_export(env, exports, "layerNormFwd", layer_norm_fwd);
  simvlm_export(env, exports, "layerNormBwd", layer_norm_bwd);
  simvlm_export(env, exports, "tanhApprox", tanh_approx);
}
