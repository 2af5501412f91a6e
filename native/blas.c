/*
 * simvlm native BLAS kernels: single-precision matrix products (OpenBLAS cblas_sgemm) computed in
 * place on the tfjs wasm backend's heap. JS passes the heap as a Uint8Array plus byte offsets, so
 * nothing is copied; every offset and extent is checked against the heap's length first, so a
 * wrong call is a JS exception, never a stray write.
 */
#include <cblas.h>
#include "common.h"

/*
 * sgemm(heap: Uint8Array, batch, M, N, K, transA, transB, aOff, bOff, cOff, strideA, strideB)
 * For i < batch: C_i[M,N] = op(A_i) · op(B_i), row-major; A_i at aOff + 4*i*strideA (a stride of 0
 * broadcasts), likewise B; C_i is dense at cOff + 4*i*M*N.
 */
static napi_value sgemm(napi_env env, napi_callback_info info) {
  int64_t v[11]; void *data; size_t length;
  if (!read_args(env, info, "sgemm", 11, v, &data, &length)) return NULL;
  int64_t batch = v[0], M = v[1], N = v[2], K = v[3], tA = v[4], tB = v[5];
  int64_t aOff = v[6], bOff = v[7], cOff = v[8], sA = v[9], sB = v[10];
  if (batch < 1 || M < 1 || N < 1 || K < 1 || M > INT32_MAX || N > INT32_MAX || K > INT32_MAX) THROW(env, "sgemm: bad sizes");
  if (sA < 0 || sB < 0) THROW(env, "sgemm: negative stride");
  if (!in_heap(aOff, (batch - 1) * sA + M * K, length) || !in_heap(bOff, (batch - 1) * sB + K * N, length) ||
      !in_heap(cOff, batch * M * N, length))
    THROW(env, "sgemm: operand outside the heap");
  float *base = (float *)data;
  for (int64_t i = 0; i < batch; i++) {
    const float *A = base + aOff / 4 + i * sA, *B = base + bOff / 4 + i * sB;
    float *C = base + cOff / 4 + i * M * N;
    cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans,
                (int)M, (int)N, (int)K, 1.0f, A, tA ? (int)M : (int)K, B, tB ? (int)K : (int)N, 0.0f, C, (int)N);
  }
  return NULL;
}

/* biasAct(heap, cOff, rows, N, biasOff (-1: none), act (0 linear, 1 relu)): C[r, n] = act(C[r, n] + bias[n]). */
static napi_value bias_act(napi_env env, napi_callback_info info) {
  int64_t v[5]; void *data; size_t length;
  if (!read_args(env, info, "biasAct", 5, v, &data, &length)) return NULL;
  int64_t cOff = v[0], rows = v[1], N = v[2], bOff = v[3], act = v[4];
  if (rows < 0 || N < 1 || !in_heap(cOff, rows * N, length) || (bOff != -1 && !in_heap(bOff, N, length)))
    THROW(env, "biasAct: operand outside the heap");
  float *C = (float *)data + cOff / 4;
  const float *b = bOff == -1 ? NULL : (const float *)data + bOff / 4;
  for (int64_t r = 0; r < rows; r++) {
    float *row = C + r * N;
    if (b) for (int64_t n = 0; n < N; n++) row[n] += b[n];
    if (act == 1) for (int64_t n = 0; n < N; n++) row[n] = row[n] > 0.0f ? row[n] : 0.0f;
  }
  return NULL;
}

/*
 * reduceSum(heap, inOff, outOff, outer, mid, inner): out[o, i] = sum over m of x[o, m, i], summed in
 * order of m (the order of the cpu backend). The wasm backend transposes before such a reduction;
 * this reads rows in place instead.
 */
static napi_value reduce_sum(napi_env env, napi_callback_info info) {
  int64_t v[5]; void *data; size_t length;
  if (!read_args(env, info, "reduceSum", 5, v, &data, &length)) return NULL;
  int64_t inOff = v[0], outOff = v[1], outer = v[2], mid = v[3], inner = v[4];
  if (outer < 0 || mid < 0 || inner < 0 || !in_heap(inOff, outer * mid * inner, length) || !in_heap(outOff, outer * inner, length))
    THROW(env, "reduceSum: operand outside the heap");
  const float *x = (const float *)data + inOff / 4;
  float *out = (float *)data + outOff / 4;
  for (int64_t o = 0; o < outer; o++) {
    float *dst = out + o * inner;
    for (int64_t i = 0; i < inner; i++) dst[i] = 0.0f;
    for (int64_t m = 0; m < mid; m++) {
      const float *src = x + (o * mid + m) * inner;
      for (int64_t i = 0; i < inner; i++) dst[i] += src[i];
    }
  }
  return NULL;
}

static napi_value threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_int32(env, openblas_get_num_threads(), &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "sgemm", NULL, sgemm, NULL, NULL, NULL, napi_default, NULL },
    { "biasAct", NULL, bias_act, NULL, NULL, NULL, napi_default, NULL },
    { "reduceSum", NULL, reduce_sum, NULL, NULL, NULL, napi_default, NULL },
    { "threads", NULL, threads, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  simvlm_register_fused(env, exports);
  simvlm_register_adamw(env, exports);
  simvlm_register_rows(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
