/*
 * What the CUDA kernels and lib/backend/cuda/catalog.ts share: dtype and op codes, and the
 * per-element math of the fused kernels. The element functions are __host__ __device__ so the same
 * source also compiles as plain C++ on a CPU (test/backend/cuda-host-math.test.ts compares them with
 * the JS reference there: the dropout hash, GELU, the AdamW update).
 *
 * Codes must match catalog.ts (a CPU test parses the enums below and compares).
 */
#ifndef SIMVLM_CUDA_OPS_H
#define SIMVLM_CUDA_OPS_H
#include <stdint.h>
#include <math.h>

#if defined(__CUDACC__)
#define SV_HD __host__ __device__ __forceinline__
#else
#define SV_HD static inline
#endif

enum SvDtype { SV_F32 = 0, SV_I32 = 1 };

enum SvUnary {
  U_NEG = 0, U_ABS = 1, U_EXP = 2, U_LOG = 3, U_SQRT = 4, U_RSQRT = 5, U_SQUARE = 6, U_TANH = 7,
  U_SIGMOID = 8, U_RELU = 9, U_ERF = 10, U_SIN = 11, U_COS = 12, U_FLOOR = 13, U_CEIL = 14, U_ROUND = 15,
  U_SIGN = 16, U_RECIPROCAL = 17, U_LOG1P = 18, U_EXPM1 = 19, U_STEP = 20, U_ISNAN = 21, U_ELU = 22,
  U_LEAKYRELU = 23, U_RELU6 = 24, U_LOGICAL_NOT = 25, U_COPY = 26, U_ISINF = 27, U_ISFINITE = 28,
  U_COUNT = 29
};

enum SvBinary {
  B_ADD = 0, B_SUB = 1, B_MUL = 2, B_DIV = 3, B_MAX = 4, B_MIN = 5, B_POW = 6, B_SQDIFF = 7,
  B_FLOORDIV = 8, B_MOD = 9, B_EQ = 10, B_NE = 11, B_LT = 12, B_LE = 13, B_GT = 14, B_GE = 15,
  B_AND = 16, B_OR = 17, B_ATAN2 = 18,
  B_COUNT = 19
};

enum SvReduce { R_SUM = 0, R_MAX = 1, R_MIN = 2, R_PROD = 3, R_ANY = 4, R_ALL = 5, R_ARGMAX = 6, R_ARGMIN = 7, R_COUNT = 8 };

enum SvAct { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_LEAKYRELU = 3, ACT_ELU = 4, ACT_SIGMOID = 5, ACT_COUNT = 6 };

/* ---- dropout masks: the counter-based hash of lib/backend/dropout.ts ---- */

/* Chris Wellons' "lowbias32" integer hash (dropout.ts and native/rows.c have the same). */
SV_HD uint32_t sv_hash32(uint32_t x) {
  x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; x ^= x >> 16;
  return x;
}

/* Mask element i: 0 when hash32(key + i·0x9e3779b9) >> 8 < threshold, else scale. */
SV_HD float sv_dropout(uint32_t key, uint32_t i, uint32_t threshold, float scale) {
  return (sv_hash32(key + i * 0x9e3779b9u) >> 8) < threshold ? 0.0f : scale;
}

/* ---- GELU, tanh approximation (PyTorch's approximate="tanh"; lib/model/layers.ts gelu) ---- */

#define SV_GELU_C 0.7978845608028654f /* sqrt(2/pi) */
#define SV_GELU_A 0.044715f

SV_HD float sv_gelu(float x) {
  float th = tanhf(SV_GELU_C * (x + SV_GELU_A * x * x * x));
  return 0.5f * x * (1.0f + th);
}

/* d/dx 0.5x(1+tanh u), u = c(x + a x^3): 0.5(1+th) + 0.5x(1-th^2)c(1+3a x^2). */
SV_HD float sv_gelu_grad(float x, float dy) {
  float x2 = x * x;
  float th = tanhf(SV_GELU_C * (x + SV_GELU_A * x2 * x));
  float sech2 = 1.0f - th * th;
  float inner = sech2 == 0.0f ? 0.0f : 0.5f * x * sech2 * SV_GELU_C * (1.0f + 3.0f * SV_GELU_A * x2);
  return dy * (0.5f * (1.0f + th) + inner);
}

/*
 * ---- AdamW: one element, in float32 and in the op-by-op order of lib/train/optimizer.ts ----
 * On the device each multiply, add and divide is a separately rounded intrinsic (__fmul_rn …), so
 * nvcc cannot contract them into fused multiply-adds: the result equals the cpu backend's op-by-op
 * update bit for bit (as native/adamw.c does on the CPU).
 */
#if defined(__CUDA_ARCH__)
#define SV_MUL(a, b) __fmul_rn(a, b)
#define SV_ADD(a, b) __fadd_rn(a, b)
#define SV_SUB(a, b) __fsub_rn(a, b)
#define SV_DIV(a, b) __fdiv_rn(a, b)
#define SV_SQRT(a) __fsqrt_rn(a)
#else
#define SV_MUL(a, b) ((float)((float)(a) * (float)(b)))
#define SV_ADD(a, b) ((float)((float)(a) + (float)(b)))
#define SV_SUB(a, b) ((float)((float)(a) - (float)(b)))
#define SV_DIV(a, b) ((float)((float)(a) / (float)(b)))
#define SV_SQRT(a) sqrtf(a)
#endif

typedef struct {
  float b1, omb1, b2, omb2, c1, c2, eps, decay, lr, scale;
  int scaled, decayed;
} SvAdamW;

/* g' = g·scale (if scaled); m' = m·β1 + g'·(1−β1); v' = v·β2 + g'²·(1−β2); p' = p·decay (if decayed) − (m'/c1)/(√(v'/c2) + eps)·lr. */
SV_HD void sv_adamw(const SvAdamW *h, float p, float m, float v, float g, float *pOut, float *mOut, float *vOut) {
  float gi = h->scaled ? SV_MUL(g, h->scale) : g;
  float mi = SV_ADD(SV_MUL(m, h->b1), SV_MUL(gi, h->omb1));
  float vi = SV_ADD(SV_MUL(v, h->b2), SV_MUL(SV_MUL(gi, gi), h->omb2));
  float update = SV_DIV(SV_DIV(mi, h->c1), SV_ADD(SV_SQRT(SV_DIV(vi, h->c2)), h->eps));
  float pi = h->decayed ? SV_MUL(p, h->decay) : p;
  *mOut = mi;
  *vOut = vi;
  *pOut = SV_SUB(pi, SV_MUL(update, h->lr));
}

#endif
