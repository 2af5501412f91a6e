/*
 * cuBLAS, loaded at run time with dlopen: cuBLAS's headers and libraries are not on every machine
 * that has nvcc (and the libraries PyTorch installs have no headers), so the few entry points used
 * here are declared from NVIDIA's documented prototypes (cuBLAS library documentation: cublasCreate,
 * cublasSetStream, cublasSetMathMode, cublasSetWorkspace, cublasGetVersion, cublasGemmStridedBatchedEx,
 * cublasGetStatusName) and resolved by name. The enum values below are the documented ones.
 */
#ifndef SIMVLM_CUDA_CUBLAS_H
#define SIMVLM_CUDA_CUBLAS_H
#include <cuda_runtime.h>
#include <library_types.h>
#include <stddef.h>

typedef struct cublasContext *cublasHandle_t;
typedef int cublasStatus_t; /* CUBLAS_STATUS_SUCCESS = 0 */

enum { SV_CUBLAS_OP_N = 0, SV_CUBLAS_OP_T = 1 };
enum { SV_CUBLAS_DEFAULT_MATH = 0 };
enum { SV_CUBLAS_COMPUTE_32F = 68, SV_CUBLAS_COMPUTE_32F_FAST_16BF = 75, SV_CUBLAS_COMPUTE_32F_FAST_TF32 = 77 };
enum { SV_CUBLAS_GEMM_DEFAULT = -1 };

/* Matrix-product precision, chosen per call (lib/backend/cuda: SIMVLM_CUDA_MATMUL). */
enum SvPrecision { SV_PREC_FP32 = 0, SV_PREC_TF32 = 1, SV_PREC_BF16 = 2 };

typedef struct {
  void *lib;
  char path[512];
  int version;
  cublasHandle_t handle;
  cublasStatus_t (*create)(cublasHandle_t *);
  cublasStatus_t (*destroy)(cublasHandle_t);
  cublasStatus_t (*getVersion)(cublasHandle_t, int *);
  cublasStatus_t (*setStream)(cublasHandle_t, cudaStream_t);
  cublasStatus_t (*setMathMode)(cublasHandle_t, int);
  cublasStatus_t (*setWorkspace)(cublasHandle_t, void *, size_t);
  cublasStatus_t (*gemmStridedBatchedEx)(cublasHandle_t, int transa, int transb, int m, int n, int k, const void *alpha,
                                         const void *A, cudaDataType Atype, int lda, long long strideA,
                                         const void *B, cudaDataType Btype, int ldb, long long strideB, const void *beta,
                                         void *C, cudaDataType Ctype, int ldc, long long strideC, int batchCount,
                                         int computeType, int algo);
  const char *(*statusName)(cublasStatus_t);
} SvCublas;

/*
 * Load the first of `paths` that opens and has every entry point, then create a handle on `stream`
 * with `workspace` (bytes ≥ 0). Returns 1, or 0 with a one-line reason in `why`.
 */
int sv_cublas_load(SvCublas *cb, const char *const *paths, int npaths, cudaStream_t stream, void *workspace, size_t wsBytes,
                   char *why, size_t whyLen);

/* A status's documented name (CUBLAS_STATUS_…), from the library when it has cublasGetStatusName. */
const char *sv_cublas_status(const SvCublas *cb, cublasStatus_t st);

#endif
