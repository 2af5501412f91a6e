/*
 * simvlm native kernels: row-wise work on the wasm heap.
 *   copyRows        strided row copies: Slice, SplitV and Concat along one axis (the stock wasm
 *                   kernels copy row by row from JavaScript, ~10x slower)
 *   softmaxXentFwd  per-row cross-entropy −log softmax(x)[target] and the row's log-sum-exp
 *   softmaxXentBwd  its gradient dy·(softmax(x) − onehot(target)), recomputed from the log-sum-exp
 *   dropoutMask     a seeded dropout mask (0 or 1/keep) from a counter-based hash, the same
 *                   numbers lib/backend/dropout.ts computes in JS for other backends
 * Out-of-range targets (as tf.oneHot gives an all-zero row) have loss 0 and gradient 0.
 */
#include <math.h>
#include "common.h"

/* copyRows(heap, srcOff, srcStride, dstOff, dstStride, rows, width): 4-byte elements. */
static napi_value copy_rows(napi_env env, napi_callback_info info) {
  int64_t v[6]; void *data; size_t length;
  if (!read_args(env, info, "copyRows", 6, v, &data, &length)) return NULL;
  int64_t src = v[0], sS = v[1], dst = v[2], dS = v[3], rows = v[4], width = v[5];
  if (rows < 0 || width < 0 || sS < width || dS < width) THROW(env, "copyRows: bad sizes");
  if (rows == 0 || width == 0) return NULL;
  if (!in_heap(src, (rows - 1) * sS + width, length) || !in_heap(dst, (rows - 1) * dS + width, length))
    THROW(env, "copyRows: operand outside the heap");
  const float *s = (const float *)data + src / 4;
  float *d = (float *)data + dst / 4;
  for (int64_t r = 0; r < rows; r++) memmove(d + r * dS, s + r * sS, (size_t)width * 4);
  return NULL;
}

/*
 * exp for x ≤ 0 (arguments here are x − rowmax) on 8 lanes, written with GCC/Clang vector types so
 * it is vector code on any target (two SSE2 registers, one AVX one): x = n·ln2 + r with
 * |r| ≤ ln2/2, e^r by a degree-6 Taylor polynomial (relative error < 2e-7 over that range), 2^n by
 * building the float's exponent. Below −87 it returns ~1e-38 (≈ 0 in every sum).
 */
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

static inline v8f exp8_nonpos(v8f x) {
  const v8f lo = { -87, -87, -87, -87, -87, -87, -87, -87 };
  v8i small = x < lo;
  x = (v8f)(((v8i)x & ~small) | ((v8i)lo & small));
  const float magic = 12582912.0f; /* 1.5·2^23: adding and subtracting it rounds to an integer */
  v8f n = (x * 1.44269504f + magic) - magic;
  v8f r = x - n * 0.693145752f - n * 1.42860677e-6f;
  v8f p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666679f + r * (0.00833333377f + r * 0.00138888892f)))));
  v8i e = (__builtin_convertvector(n, v8i) + 127) << 23;
  return p * (v8f)e;
}

static inline float exp1_nonpos(float x) {
  v8f v = { x };
  return exp8_nonpos(v)[0];
}

static inline v8f load8(const float *p) { v8f v; memcpy(&v, p, sizeof v); return v; }
static inline void store8(float *p, v8f v) { memcpy(p, &v, sizeof v); }

static float row_max(const float *row, int64_t V) {
  float mx = row[0];
  int64_t j = 0;
  if (V >= 8) {
    v8f m8 = load8(row);
    for (j = 8; j + 8 <= V; j += 8) {
      v8f x = load8(row + j);
      v8i gt = x > m8;
      m8 = (v8f)(((v8i)x & gt) | ((v8i)m8 & ~gt));
    }
    for (int k = 0; k < 8; k++) mx = m8[k] > mx ? m8[k] : mx;
  }
  for (; j < V; j++) mx = row[j] > mx ? row[j] : mx;
  return mx;
}

static int bad_target(int32_t t, int64_t V) { return t < 0 || t >= V; }

/*
 * softmaxXentFwd(heap, xOff, tOff, lossOff, lseOff, rows, V): x [rows, V] float32, t [rows] int32;
 * loss[r] = lse − x[r, t], lse[r] = max + log Σ exp(x − max), summed in double.
 */
static napi_value xent_fwd(napi_env env, napi_callback_info info) {
  int64_t v[6]; void *data; size_t length;
  if (!read_args(env, info, "softmaxXentFwd", 6, v, &data, &length)) return NULL;
  int64_t xOff = v[0], tOff = v[1], lOff = v[2], sOff = v[3], rows = v[4], V = v[5];
  if (rows < 0 || V < 1) THROW(env, "softmaxXentFwd: bad sizes");
  if (!in_heap(xOff, rows * V, length) || !in_heap(tOff, rows, length) || !in_heap(lOff, rows, length) || !in_heap(sOff, rows, length))
    THROW(env, "softmaxXentFwd: operand outside the heap");
  const float *x = (const float *)data + xOff / 4;
  const int32_t *t = (const int32_t *)data + tOff / 4;
  float *loss = (float *)data + lOff / 4, *lse = (float *)data + sOff / 4;
  for (int64_t r = 0; r < rows; r++) {
    const float *row = x + r * V;
    float mx = row_max(row, V);
    v8f acc = { 0 };
    int64_t j = 0;
    for (; j + 8 <= V; j += 8) acc += exp8_nonpos(load8(row + j) - mx);
    double sum = 0;
    for (int k = 0; k < 8; k++) sum += acc[k];
    for (; j < V; j++) sum += exp1_nonpos(row[j] - mx);
    float l = mx + (float)log(sum);
    lse[r] = l;
    loss[r] = bad_target(t[r], V) ? 0.0f : l - row[t[r]];
  }
  return NULL;
}

/* softmaxXentBwd(heap, xOff, tOff, lseOff, dyOff, dxOff, rows, V): dx = dy[r]·(exp(x − lse) − onehot). */
static napi_value xent_bwd(napi_env env, napi_callback_info info) {
  int64_t v[7]; void *data; size_t length;
  if (!read_args(env, info, "softmaxXentBwd", 7, v, &data, &length)) return NULL;
  int64_t xOff = v[0], tOff = v[1], sOff = v[2], dyOff = v[3], dxOff = v[4], rows = v[5], V = v[6];
  if (rows < 0 || V < 1) THROW(env, "softmaxXentBwd: bad sizes");
  if (!in_heap(xOff, rows * V, length) || !in_heap(tOff, rows, length) || !in_heap(sOff, rows, length) ||
      !in_heap(dyOff, rows, length) || !in_heap(dxOff, rows * V, length))
    THROW(env, "softmaxXentBwd: operand outside the heap");
  const float *x = (const float *)data + xOff / 4, *lse = (const float *)data + sOff / 4, *dy = (const float *)data + dyOff / 4;
  const int32_t *t = (const int32_t *)data + tOff / 4;
  float *dx = (float *)data + dxOff / 4;
  for (int64_t r = 0; r < rows; r++) {
    const float *row = x + r * V;
    float *out = dx + r * V;
    if (bad_target(t[r], V)) { memset(out, 0, (size_t)V * 4); continue; }
    const float l = lse[r], g = dy[r];
    int64_t j = 0;
    for (; j + 8 <= V; j += 8) store8(out + j, g * exp8_nonpos(load8(row + j) - l));
    for (; j < V; j++) out[j] = g * exp1_nonpos(row[j] - l);
    out[t[r]] -= g;
  }
  return NULL;
}

/* Chris Wellons' "lowbias32" integer hash: full avalanche, a few cycles. */
static inline uint32_t hash32(uint32_t x) {
  x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; x ^= x >> 16;
  return x;
}

/*
 * dropoutMask(heap, outOff, n, key, threshold, scale): out[i] = hash32(key + i·0x9e3779b9) >> 8
 * < threshold ? 0 : scale (scale rounded to float32).
 */
static napi_value dropout_mask(napi_env env, napi_callback_info info) {
  int64_t v[4]; double scale; void *data; size_t length;
  if (!read_args_mixed(env, info, "dropoutMask", 4, v, 1, &scale, &data, &length)) return NULL;
  int64_t off = v[0], n = v[1], thr = v[3];
  if (n < 0 || n > UINT32_MAX || thr < 0 || thr > (1 << 24)) THROW(env, "dropoutMask: bad sizes");
  if (!in_heap(off, n, length)) THROW(env, "dropoutMask: operand outside the heap");
  const uint32_t key = (uint32_t)v[2];
  const float s = (float)scale;
  float *out = (float *)data + off / 4;
  for (int64_t i = 0; i < n; i++) out[i] = (hash32(key + (uint32_t)i * 0x9e3779b9u) >> 8) < (uint32_t)thr ? 0.0f : s;
  return NULL;
}

void simvlm_register_rows(napi_env env, napi_value exports) {
  simvlm_export(env, exports, "copyRows", copy_rows);
  simvlm_export(env, exports, "softmaxXentFwd", xent_fwd);
  simvlm_export(env, exports, "softmaxXentBwd", xent_bwd);
  simvlm_export(env, exports, "dropoutMask", dropout_mask);
}
