/*
 * simvlm native kernels: the AdamW update and sums of squares for the gradient norm, on the wasm
 * heap (common.h's calling convention). The update does, in float32 and in the same order, what
 * lib/train/optimizer.ts does op by op on the cpu backend, so both give the same numbers: every
 * intermediate is rounded to float32 as a separate tfjs op would round it.
 */
#include <math.h>
#include "common.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* A fused multiply-add would round once where the op-by-op reference rounds twice. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/*
 * The per-element update. Hyperparameters arrive already rounded to float32, as tfjs rounds a JS
 * number that it turns into a scalar tensor. `scaled` and `decayed` select the variant at compile
 * time so each loop stays branch-free (and vectorisable).
 */
static inline void adamw_loop(const float *restrict p, const float *restrict m, const float *restrict v, const float *restrict g,
                              float *restrict pOut, float *restrict mOut, float *restrict vOut, int64_t n,
                              float b1, float omb1, float b2, float omb2, float c1, float c2, float eps,
                              float decayFactor, float lr, float scale, int scaled, int decayed) {
  int64_t i = 0;
  /*
   * GCC will not auto-vectorise sqrtf unless the whole build has -fno-math-errno, and the scalar
   * loop is 3x slower (23 vs 7 ms over 8.6M parameters), so four lanes at a time by hand. The
   * vector mul/add/div/sqrt round exactly as the scalar ones do (IEEE, no fused multiply-add).
   * Other CPUs take the scalar loop below (same numbers).
   */
#if defined(__SSE2__)
  const __m128 B1 = _mm_set1_ps(b1), OMB1 = _mm_set1_ps(omb1), B2 = _mm_set1_ps(b2), OMB2 = _mm_set1_ps(omb2);
  const __m128 C1 = _mm_set1_ps(c1), C2 = _mm_set1_ps(c2), EPS = _mm_set1_ps(eps), DF = _mm_set1_ps(decayFactor);
  const __m128 LR = _mm_set1_ps(lr), SC = _mm_set1_ps(scale);
  for (; i + 4 <= n; i += 4) {
    __m128 gi = _mm_loadu_ps(g + i);
    if (scaled) gi = _mm_mul_ps(gi, SC);
    __m128 mi = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(m + i), B1), _mm_mul_ps(gi, OMB1));
    __m128 vi = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(v + i), B2), _mm_mul_ps(_mm_mul_ps(gi, gi), OMB2));
    __m128 update = _mm_div_ps(_mm_div_ps(mi, C1), _mm_add_ps(_mm_sqrt_ps(_mm_div_ps(vi, C2)), EPS));
    __m128 pi = _mm_loadu_ps(p + i);
    if (decayed) pi = _mm_mul_ps(pi, DF);
    _mm_storeu_ps(mOut + i, mi);
    _mm_storeu_ps(vOut + i, vi);
    _mm_storeu_ps(pOut + i, _mm_sub_ps(pi, _mm_mul_ps(update, LR)));
  }
#endif
  for (; i < n; i++) {
    float gi = scaled ? g[i] * scale : g[i];
    float mi = m[i] * b1 + gi * omb1;
    float vi = v[i] * b2 + (gi * gi) * omb2;
    float update = (mi / c1) / (sqrtf(vi / c2) + eps);
    float pi = decayed ? p[i] * decayFactor : p[i];
    mOut[i] = mi;
    vOut[i] = vi;
    pOut[i] = pi - update * lr;
  }
}

/*
 * adamw(heap, pOff, mOff, vOff, gOff, pOutOff, mOutOff, vOutOff, n,
 *       beta1, 1-beta1, beta2, 1-beta2, c1, c2, eps, decayFactor, lr, scale)
 * g' = g·scale (only when scale ≠ 1); m' = m·β1 + g'·(1−β1); v' = v·β2 + g'²·(1−β2);
 * p' = p·decayFactor (only when decayFactor ≠ 1) − (m'/c1) / (√(v'/c2) + eps)·lr.
 * Outputs must not overlap the inputs (they are fresh tensors).
 */
static napi_value adamw(napi_env env, napi_callback_info info) {
  int64_t o[8]; void *data; size_t length; double h[10];
  if (!read_args_mixed(env, info, "adamw", 8, o, 10, h, &data, &length)) return NULL;
  int64_t n = o[7];
  for (int i = 0; i < 7; i++) if (!in_heap(o[i], n, length)) THROW(env, "adamw: operand outside the heap");
  /* Separate outputs: no output may overlap an input or another output. */
  for (int i = 4; i < 7; i++)
    for (int j = 0; j < 7; j++)
      if (i != j && o[i] < o[j] + 4 * n && o[j] < o[i] + 4 * n) THROW(env, "adamw: an output overlaps another operand");
  if (n == 0) return NULL;
  float *base = (float *)data;
  const float *p = base + o[0] / 4, *m = base + o[1] / 4, *v = base + o[2] / 4, *g = base + o[3] / 4;
  float *pOut = base + o[4] / 4, *mOut = base + o[5] / 4, *vOut = base + o[6] / 4;
  float b1 = (float)h[0], omb1 = (float)h[1], b2 = (float)h[2], omb2 = (float)h[3], c1 = (float)h[4], c2 = (float)h[5];
  float eps = (float)h[6], decayFactor = (float)h[7], lr = (float)h[8], scale = (float)h[9];
  int scaled = h[9] != 1.0, decayed = h[7] != 1.0;
  /* Four instantiations of the inlined loop, one per (scaled, decayed). */
  if (scaled && decayed) adamw_loop(p, m, v, g, pOut, mOut, vOut, n, b1, omb1, b2, omb2, c1, c2, eps, decayFactor, lr, scale, 1, 1);
  else if (scaled) adamw_loop(p, m, v, g, pOut, mOut, vOut, n, b1, omb1, b2, omb2, c1, c2, eps, decayFactor, lr, scale, 1, 0);
  else if (decayed) adamw_loop(p, m, v, g, pOut, mOut, vOut, n, b1, omb1, b2, omb2, c1, c2, eps, decayFactor, lr, scale, 0, 1);
  else adamw_loop(p, m, v, g, pOut, mOut, vOut, n, b1, omb1, b2, omb2, c1, c2, eps, decayFactor, lr, scale, 0, 0);
  return NULL;
}

/* sumSquares(heap, xOff, n) → Σ x² as a JS number, accumulated in double (8 independent lanes, then in order). */
static napi_value sum_squares(napi_env env, napi_callback_info info) {
  int64_t v[2]; void *data; size_t length;
  if (!read_args(env, info, "sumSquares", 2, v, &data, &length)) return NULL;
  int64_t off = v[0], n = v[1];
  if (!in_heap(off, n, length)) THROW(env, "sumSquares: operand outside the heap");
  const float *x = (const float *)data + off / 4;
  double acc[8] = { 0 };
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) acc[k] += (double)x[i + k] * (double)x[i + k];
  double total = 0;
  for (int k = 0; k < 8; k++) total += acc[k];
  for (; i < n; i++) total += (double)x[i] * (double)x[i];
  napi_value out;
  napi_create_double(env, total, &out);
  return out;
}

void simvlm_register_adamw(napi_env env, napi_value exports) {
  simvlm_export(env, exports, "adamw", adamw);
  simvlm_export(env, exports, "sumSquares", sum_squares);
}
