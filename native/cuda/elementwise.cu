/*
 * Elementwise and data-movement kernels: fill, unary and binary math (with broadcasting through
 * strides), select, cast, strided copies (transpose, slice, pad, tile, broadcast), row copies,
 * gather / scatter-add (embedding lookups and their gradient), one-hot and add-n.
 *
 * The op is a kernel argument and a switch picks it per element: the branch is the same for every
 * thread, and these kernels are bound by memory traffic, not by instructions. Everything is 4-byte
 * elements (float32, int32, and bool stored as int32 0/1).
 */
#include "kernels.cuh"

#define GRID_LOOP(i, n) for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

/* ---------------------------------------------------------------------------------- fill */

__global__ void k_fill(uint32_t *y, int64_t n, uint32_t bits) { GRID_LOOP(i, n) y[i] = bits; }

static cudaError_t h_fill(const double *a, cudaStream_t s) {
  int64_t n = L(a[1]);
  uint32_t bits;
  if ((int)a[3] == SV_F32) { float f = (float)a[2]; memcpy(&bits, &f, 4); } else { int32_t v = (int32_t)a[2]; memcpy(&bits, &v, 4); }
  if (n > 0) k_fill<<<sv_blocks(n, 256), 256, 0, s>>>(W(a[0]), n, bits);
  return cudaGetLastError();
}

/* ---------------------------------------------------------------------------------- unary */

__device__ __forceinline__ float unary_f(int op, float x, float alpha) {
  switch (op) {
    case U_NEG: return -x;
    case U_ABS: return fabsf(x);
    case U_EXP: return expf(x);
    case U_LOG: return logf(x);
    case U_SQRT: return sqrtf(x);
    case U_RSQRT: return 1.0f / sqrtf(x);
    case U_SQUARE: return x * x;
    case U_TANH: return tanhf(x);
    case U_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case U_RELU: return isnan(x) ? x : (x > 0.0f ? x : 0.0f);
    case U_ERF: return erff(x);
    case U_SIN: return sinf(x);
    case U_COS: return cosf(x);
    case U_FLOOR: return floorf(x);
    case U_CEIL: return ceilf(x);
    case U_ROUND: return rintf(x); /* half to even, as tf.round */
    case U_SIGN: return isnan(x) ? 0.0f : (x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f));
    case U_RECIPROCAL: return 1.0f / x;
    case U_LOG1P: return log1pf(x);
    case U_EXPM1: return expm1f(x);
    case U_STEP: return isnan(x) ? x : (x > 0.0f ? 1.0f : alpha);
    case U_ISNAN: return isnan(x) ? 1.0f : 0.0f;
    case U_ELU: return x >= 0.0f ? x : expm1f(x);
    case U_LEAKYRELU: return x < 0.0f ? alpha * x : x;
    case U_RELU6: return fminf(fmaxf(x, 0.0f), 6.0f);
    case U_LOGICAL_NOT: return x == 0.0f ? 1.0f : 0.0f;
    case U_ISINF: return isinf(x) ? 1.0f : 0.0f;
    case U_ISFINITE: return isfinite(x) ? 1.0f : 0.0f;
    default: return x; /* U_COPY */
  }
}

__device__ __forceinline__ int32_t unary_i(int op, int32_t x) {
  switch (op) {
    case U_NEG: return -x;
    case U_ABS: return x < 0 ? -x : x;
    case U_SQUARE: return x * x;
    case U_SIGN: return x > 0 ? 1 : (x < 0 ? -1 : 0);
    case U_RELU: return x > 0 ? x : 0;
    case U_LOGICAL_NOT: return x == 0 ? 1 : 0;
    default: return x; /* U_COPY, FLOOR, CEIL, ROUND: identity on integers */
  }
}

/* Ops whose result is a bool (stored as int32 0/1) whatever the input. */
__device__ __forceinline__ bool unary_bool_out(int op) { return op == U_ISNAN || op == U_ISINF || op == U_ISFINITE || op == U_LOGICAL_NOT; }

__global__ void k_unary(int op, int dtype, const uint32_t *x, uint32_t *y, int64_t n, float alpha) {
  GRID_LOOP(i, n) {
    if (dtype == SV_F32) {
      float v = unary_f(op, __uint_as_float(x[i]), alpha);
      y[i] = unary_bool_out(op) ? (uint32_t)(v != 0.0f) : __float_as_uint(v);
    } else {
      y[i] = (uint32_t)unary_i(op, (int32_t)x[i]);
    }
  }
}

static cudaError_t h_unary(const double *a, cudaStream_t s) {
  int64_t n = L(a[4]);
  if (n > 0) k_unary<<<sv_blocks(n, 256), 256, 0, s>>>((int)a[0], (int)a[1], W(a[2]), W(a[3]), n, (float)a[5]);
  return cudaGetLastError();
}

/* ---------------------------------------------------------------------------------- binary */

__device__ __forceinline__ bool binary_bool_out(int op) { return op >= B_EQ && op <= B_OR; }

__device__ __forceinline__ float binary_f(int op, float a, float b) {
  switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_MAX: return (isnan(a) || isnan(b)) ? NAN : fmaxf(a, b);
    case B_MIN: return (isnan(a) || isnan(b)) ? NAN : fminf(a, b);
    case B_POW: return powf(a, b);
    case B_SQDIFF: { float d = a - b; return d * d; }
    case B_FLOORDIV: return floorf(a / b);
    case B_MOD: { float r = fmodf(a, b); return (r != 0.0f && ((r < 0.0f) != (b < 0.0f))) ? r + b : r; }
    case B_EQ: return a == b;
    case B_NE: return a != b;
    case B_LT: return a < b;
    case B_LE: return a <= b;
    case B_GT: return a > b;
    case B_GE: return a >= b;
    case B_AND: return (a != 0.0f) && (b != 0.0f);
    case B_OR: return (a != 0.0f) || (b != 0.0f);
    case B_ATAN2: return atan2f(a, b);
    default: return NAN;
  }
}

__device__ __forceinline__ int32_t floordiv_i(int32_t a, int32_t b) {
  if (b == 0) return 0;
  int32_t q = a / b;
  return (q * b != a && ((a < 0) != (b < 0))) ? q - 1 : q;
}

__device__ __forceinline__ int32_t binary_i(int op, int32_t a, int32_t b) {
  switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_MAX: return a > b ? a : b;
    case B_MIN: return a < b ? a : b;
    case B_POW: return (int32_t)powf((float)a, (float)b);
    case B_SQDIFF: return (a - b) * (a - b);
    case B_FLOORDIV: return floordiv_i(a, b);
    case B_MOD: { if (b == 0) return 0; int32_t r = a % b; return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r; }
    case B_EQ: return a == b;
    case B_NE: return a != b;
    case B_LT: return a < b;
    case B_LE: return a <= b;
    case B_GT: return a > b;
    case B_GE: return a >= b;
    case B_AND: return a != 0 && b != 0;
    case B_OR: return a != 0 || b != 0;
    default: return 0;
  }
}

/* One element of a binary op; DIV and ATAN2 on int32 inputs give float32 (tf.div's RealDiv). */
__device__ __forceinline__ uint32_t binary_elem(int op, int dtype, uint32_t a, uint32_t b) {
  if (dtype == SV_F32) {
    float r = binary_f(op, __uint_as_float(a), __uint_as_float(b));
    return binary_bool_out(op) ? (uint32_t)(r != 0.0f) : __float_as_uint(r);
  }
  if (op == B_DIV || op == B_ATAN2) return __float_as_uint(binary_f(op, (float)(int32_t)a, (float)(int32_t)b));
  return (uint32_t)binary_i(op, (int32_t)a, (int32_t)b);
}

/* Contiguous operands of one size (the common case: no index arithmetic). */
__global__ void k_binary_flat(int op, int dtype, const uint32_t *a, const uint32_t *b, uint32_t *y, int64_t n) {
  GRID_LOOP(i, n) y[i] = binary_elem(op, dtype, a[i], b[i]);
}

/* Broadcasting through strides (0 along a broadcast axis); y is dense in `shape`. */
template <typename IT>
__global__ void k_binary_strided(int op, int dtype, const uint32_t *a, const uint32_t *b, uint32_t *y, int64_t n, SvStrides st) {
  GRID_LOOP(i, n) {
    IT rem = (IT)i, ia = 0, ib = 0;
    for (int d = st.rank - 1; d >= 0; d--) {
      IT c = rem % (IT)st.shape[d];
      rem /= (IT)st.shape[d];
      ia += c * (IT)st.sa[d];
      ib += c * (IT)st.sb[d];
    }
    y[i] = binary_elem(op, dtype, a[ia], b[ib]);
  }
}

static SvStrides read_strides(const double *a, int rank, int nstr) {
  SvStrides st;
  memset(&st, 0, sizeof st);
  st.rank = rank;
  for (int d = 0; d < SV_MAXRANK; d++) {
    st.shape[d] = L(a[d]);
    st.sa[d] = L(a[SV_MAXRANK + d]);
    if (nstr > 1) st.sb[d] = L(a[2 * SV_MAXRANK + d]);
    if (nstr > 2) st.sc[d] = L(a[3 * SV_MAXRANK + d]);
  }
  return st;
}

static bool is_flat(const SvStrides *st) {
  return st->rank == 1 && st->sa[0] == 1 && st->sb[0] == 1;
}

/* Whether every index of a strided walk (largest |offset| on each side, and n) fits in 32 bits. */
static bool fits32(const SvStrides *st, int64_t n, int nstr) {
  if (n >= INT32_MAX) return false;
  for (int k = 0; k < nstr; k++) {
    int64_t far = 0;
    for (int d = 0; d < st->rank; d++) { int64_t s = k == 0 ? st->sa[d] : st->sb[d]; far += (st->shape[d] - 1) * (s < 0 ? -s : s); }
    if (far >= INT32_MAX) return false;
  }
  return true;
}

/* binary(op, dtype, a, b, y, n, rank, shape[8], aStrides[8], bStrides[8]) */
static cudaError_t h_binary(const double *a, cudaStream_t s) {
  int op = (int)a[0], dtype = (int)a[1];
  int64_t n = L(a[5]);
  int rank = (int)a[6];
  if (rank < 1 || rank > SV_MAXRANK) return cudaErrorInvalidValue;
  SvStrides st = read_strides(a + 7, rank, 2);
  if (n <= 0) return cudaSuccess;
  unsigned g = sv_blocks(n, 256);
  if (is_flat(&st)) k_binary_flat<<<g, 256, 0, s>>>(op, dtype, W(a[2]), W(a[3]), W(a[4]), n);
  else if (fits32(&st, n, 2)) k_binary_strided<int32_t><<<g, 256, 0, s>>>(op, dtype, W(a[2]), W(a[3]), W(a[4]), n, st);
  else k_binary_strided<int64_t><<<g, 256, 0, s>>>(op, dtype, W(a[2]), W(a[3]), W(a[4]), n, st);
  return cudaGetLastError();
}

/* binaryScalar(op, dtype, a, scalar, y, n, scalarLeft): y = op(a, s), or op(s, a) when scalarLeft. */
__global__ void k_binary_scalar(int op, int dtype, const uint32_t *a, uint32_t sbits, uint32_t *y, int64_t n, int left) {
  GRID_LOOP(i, n) y[i] = left ? binary_elem(op, dtype, sbits, a[i]) : binary_elem(op, dtype, a[i], sbits);
}

static cudaError_t h_binary_scalar(const double *a, cudaStream_t s) {
  int dtype = (int)a[1];
  int64_t n = L(a[5]);
  uint32_t bits;
  if (dtype == SV_F32) { float f = (float)a[3]; memcpy(&bits, &f, 4); } else { int32_t v = (int32_t)a[3]; memcpy(&bits, &v, 4); }
  if (n > 0) k_binary_scalar<<<sv_blocks(n, 256), 256, 0, s>>>((int)a[0], dtype, W(a[2]), bits, W(a[4]), n, (int)a[6]);
  return cudaGetLastError();
}

/* ---------------------------------------------------------------------------------- select */

/* select(cond, a, b, y, n, rank, shape[8], condStrides[8], aStrides[8], bStrides[8]): y = cond ? a : b (bit copies). */
__global__ void k_select(const uint32_t *c, const uint32_t *a, const uint32_t *b, uint32_t *y, int64_t n, SvStrides st) {
  GRID_LOOP(i, n) {
    int64_t rem = i, ic = 0, ia = 0, ib = 0;
    for (int d = st.rank - 1; d >= 0; d--) {
      int64_t cd = rem % st.shape[d];
      rem /= st.shape[d];
      ic += cd * st.sa[d]; ia += cd * st.sb[d]; ib += cd * st.sc[d];
    }
    y[i] = c[ic] ? a[ia] : b[ib];
  }
}

static cudaError_t h_select(const double *a, cudaStream_t s) {
  int64_t n = L(a[4]);
  int rank = (int)a[5];
  if (rank < 1 || rank > SV_MAXRANK) return cudaErrorInvalidValue;
  SvStrides st = read_strides(a + 6, rank, 3);
  if (n > 0) k_select<<<sv_blocks(n, 256), 256, 0, s>>>(W(a[0]), W(a[1]), W(a[2]), W(a[3]), n, st);
  return cudaGetLastError();
}

/* ---------------------------------------------------------------------------------- cast */

/* cast(x, y, n, from, to); dtypes 0 float32, 1 int32, 2 bool (int32 0/1). float → int truncates, as tfjs. */
__global__ void k_cast(const uint32_t *x, uint32_t *y, int64_t n, int from, int to) {
  GRID_LOOP(i, n) {
    uint32_t v = x[i];
    if (to == 2) y[i] = from == SV_F32 ? (uint32_t)(__uint_as_float(v) != 0.0f) : (uint32_t)(v != 0u);
    else if (from == SV_F32 && to == SV_I32) { float f = __uint_as_float(v); y[i] = isnan(f) ? 0u : (uint32_t)(int32_t)f; }
    else if (from != SV_F32 && to == SV_F32) y[i] = __float_as_uint((float)(int32_t)v);
    else y[i] = v;
  }
}

static cudaError_t h_cast(const double *a, cudaStream_t s) {
  int64_t n = L(a[2]);
  if (n > 0) k_cast<<<sv_blocks(n, 256), 256, 0, s>>>(W(a[0]), W(a[1]), n, (int)a[3], (int)a[4]);
  return cudaGetLastError();
}

/* ---------------------------------------------------------------------------------- strided copy */

/*
 * stridedCopy(x, y, n, rank, xOffset, yOffset, shape[8], xStrides[8], yStrides[8]): for every
 * index c of `shape`, y[yOffset + c·yStrides] = x[xOffset + c·xStrides] (offsets and strides in
 * elements; negative strides reverse). Transpose, slice, strided slice, broadcast, tile (as
 * [reps, dim] pairs) and pad (into the interior of a filled output) are all this one kernel.
 */
template <typename IT>
__global__ void k_strided_copy(const uint32_t *x, uint32_t *y, int64_t n, int64_t xo, int64_t yo, SvStrides st) {
  GRID_LOOP(i, n) {
    IT rem = (IT)i, ix = 0, iy = 0;
    for (int d = st.rank - 1; d >= 0; d--) {
      IT c = rem % (IT)st.shape[d];
      rem /= (IT)st.shape[d];
      ix += c * (IT)st.sa[d];
      iy += c * (IT)st.sb[d];
    }
    y[yo + (int64_t)iy] = x[xo + (int64_t)ix];
  }
}

static cudaError_t h_strided_copy(const double *a, cudaStream_t s) {
  int64_t n = L(a[2]);
  int rank = (int)a[3];
  if (rank < 1 || rank > SV_MAXRANK) return cudaErrorInvalidValue;
  SvStrides st = read_strides(a + 6, rank, 2);
  if (n <= 0) return cudaSuccess;
  unsigned g = sv_blocks(n, 256);
  if (fits32(&st, n, 2)) k_strided_copy<int32_t><<<g, 256, 0, s>>>(W(a[0]), W(a[1]), n, L(a[4]), L(a[5]), st);
  else k_strided_copy<int64_t><<<g, 256, 0, s>>>(W(a[0]), W(a[1]), n, L(a[4]), L(a[5]), st);
  return cudaGetLastError();
}

/* copyRows(x, xStride, y, yStride, rows, width): `rows` runs of `width` 4-byte elements (concat, split, one-axis slices). */
static cudaError_t h_copy_rows(const double *a, cudaStream_t s) {
  int64_t rows = L(a[4]), width = L(a[5]);
  if (rows <= 0 || width <= 0) return cudaSuccess;
  return cudaMemcpy2DAsync(W(a[2]), (size_t)L(a[3]) * 4, W(a[0]), (size_t)L(a[1]) * 4, (size_t)width * 4, (size_t)rows,
                           cudaMemcpyDeviceToDevice, s);
}

/* ---------------------------------------------------------------------------------- gather / scatter */

/* gather(x, idx, y, outer, nIdx, inner, axisDim): y[o, i, k] = x[o, idx[i], k]; an index outside [0, axisDim) gives 0. */
__global__ void k_gather(const uint32_t *x, const int32_t *idx, uint32_t *y, int64_t outer, int64_t nIdx, int64_t inner, int64_t axisDim) {
  int64_t n = outer * nIdx * inner;
  GRID_LOOP(t, n) {
    int64_t k = t % inner, r = t / inner, i = r % nIdx, o = r / nIdx;
    int32_t j = idx[i];
    y[t] = (j >= 0 && j < axisDim) ? x[(o * axisDim + j) * inner + k] : 0u;
  }
}

static cudaError_t h_gather(const double *a, cudaStream_t s) {
  int64_t n = L(a[3]) * L(a[4]) * L(a[5]);
  if (n > 0) k_gather<<<sv_blocks(n, 256), 256, 0, s>>>(W(a[0]), I(a[1]), W(a[2]), L(a[3]), L(a[4]), L(a[5]), L(a[6]));
  return cudaGetLastError();
}

/*
 * scatterAdd(x, idx, y, outer, nIdx, inner, numSegments): y[o, idx[i], k] += x[o, i, k] (float32;
 * y zero-filled by the caller; indices outside [0, numSegments) are dropped, as
 * tf.unsortedSegmentSum). Atomic adds: the order of the additions, and so the last bits, can vary.
 */
__global__ void k_scatter_add(const float *x, const int32_t *idx, float *y, int64_t outer, int64_t nIdx, int64_t inner, int64_t segs) {
  int64_t n = outer * nIdx * inner;
  GRID_LOOP(t, n) {
    int64_t k = t % inner, r = t / inner, i = r % nIdx, o = r / nIdx;
    int32_t j = idx[i];
    if (j >= 0 && j < segs) atomicAdd(&y[(o * segs + j) * inner + k], x[t]);
  }
}

static cudaError_t h_scatter_add(const double *a, cudaStream_t s) {
  int64_t n = L(a[3]) * L(a[4]) * L(a[5]);
  if (n > 0) k_scatter_add<<<sv_blocks(n, 256), 256, 0, s>>>(F(a[0]), I(a[1]), F(a[2]), L(a[3]), L(a[4]), L(a[5]), L(a[6]));
  return cudaGetLastError();
}

/* oneHot(idx, y, n, depth, on, off, dtype): y[i, d] = idx[i] == d ? on : off. */
__global__ void k_one_hot(const int32_t *idx, uint32_t *y, int64_t n, int64_t depth, uint32_t on, uint32_t off) {
  GRID_LOOP(t, n * depth) y[t] = (idx[t / depth] == (int32_t)(t % depth)) ? on : off;
}

static cudaError_t h_one_hot(const double *a, cudaStream_t s) {
  int64_t n = L(a[2]), depth = L(a[3]);
  uint32_t on, off;
  if ((int)a[6] == SV_F32) { float f = (float)a[4], g = (float)a[5]; memcpy(&on, &f, 4); memcpy(&off, &g, 4); }
  else { int32_t f = (int32_t)a[4], g = (int32_t)a[5]; memcpy(&on, &f, 4); memcpy(&off, &g, 4); }
  if (n * depth > 0) k_one_hot<<<sv_blocks(n * depth, 256), 256, 0, s>>>(I(a[0]), W(a[1]), n, depth, on, off);
  return cudaGetLastError();
}

/* addN(y, n, dtype, count, p0..p7): y = Σ p_j (count ≤ 8; longer sums chain calls with y as p0). */
typedef struct { const uint32_t *p[8]; } SvPtrs8;

__global__ void k_add_n(uint32_t *y, int64_t n, int dtype, int count, SvPtrs8 ps) {
  GRID_LOOP(i, n) {
    if (dtype == SV_F32) {
      float acc = __uint_as_float(ps.p[0][i]);
      for (int j = 1; j < count; j++) acc += __uint_as_float(ps.p[j][i]);
      y[i] = __float_as_uint(acc);
    } else {
      int32_t acc = (int32_t)ps.p[0][i];
      for (int j = 1; j < count; j++) acc += (int32_t)ps.p[j][i];
      y[i] = (uint32_t)acc;
    }
  }
}

static cudaError_t h_add_n(const double *a, cudaStream_t s) {
  int64_t n = L(a[1]);
  int count = (int)a[3];
  if (count < 1 || count > 8) return cudaErrorInvalidValue;
  SvPtrs8 ps;
  for (int j = 0; j < 8; j++) ps.p[j] = j < count ? W(a[4 + j]) : NULL;
  if (n > 0) k_add_n<<<sv_blocks(n, 256), 256, 0, s>>>(W(a[0]), n, (int)a[2], count, ps);
  return cudaGetLastError();
}

static const SvKernel TABLE[] = {
  { "fill", 4, h_fill },
  { "unary", 6, h_unary },
  { "binary", 7 + 3 * SV_MAXRANK, h_binary },
  { "binaryScalar", 7, h_binary_scalar },
  { "select", 6 + 4 * SV_MAXRANK, h_select },
  { "cast", 5, h_cast },
  { "stridedCopy", 6 + 3 * SV_MAXRANK, h_strided_copy },
  { "copyRows", 6, h_copy_rows },
  { "gather", 7, h_gather },
  { "scatterAdd", 7, h_scatter_add },
  { "oneHot", 7, h_one_hot },
  { "addN", 12, h_add_n },
};

const SvKernel *sv_elementwise_kernels(int *count) { *count = (int)(sizeof TABLE / sizeof TABLE[0]); return TABLE; }
