/*
 * What every kernel file shares: the launch table entry and argument conversion.
 *
 * JavaScript calls a kernel by its index in the table with its arguments in one Float64Array
 * (device pointers included: CUDA's addresses are below 2^53, so a double holds them exactly). The
 * table (name, argument count) is what lib/backend/cuda/catalog.ts declares; the addon exports it
 * and a test compares the two.
 */
#ifndef SIMVLM_CUDA_KERNELS_CUH
#define SIMVLM_CUDA_KERNELS_CUH
#include <cuda_runtime.h>
#include <stdint.h>
#include <string.h>
#include "ops.h"

#define SV_MAXRANK 8

typedef cudaError_t (*SvHandler)(const double *a, cudaStream_t s);

typedef struct {
  const char *name;
  int nargs;
  SvHandler fn;
} SvKernel;

/* Each kernel file exports its part of the table. */
const SvKernel *sv_elementwise_kernels(int *count);
const SvKernel *sv_reduce_kernels(int *count);
const SvKernel *sv_fused_kernels(int *count);
const SvKernel *sv_conv_kernels(int *count);

static inline float *F(double d) { return (float *)(uintptr_t)(uint64_t)d; }
static inline int32_t *I(double d) { return (int32_t *)(uintptr_t)(uint64_t)d; }
static inline uint32_t *W(double d) { return (uint32_t *)(uintptr_t)(uint64_t)d; }
static inline int64_t L(double d) { return (int64_t)d; }

/* Blocks of `threads` covering n items, capped (grid-stride loops do the rest). */
static inline unsigned sv_blocks(int64_t n, int threads) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > 65535LL * 32) b = 65535LL * 32;
  return (unsigned)b;
}

/* Shapes and strides for the strided kernels, passed by value. */
typedef struct {
  int rank;
  int64_t shape[SV_MAXRANK];
  int64_t sa[SV_MAXRANK];
  int64_t sb[SV_MAXRANK];
  int64_t sc[SV_MAXRANK];
} SvStrides;

#endif
