/* cuBLAS through dlopen (see cublas.h for why). */
#include "cublas.h"
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static void *sym(void *lib, const char *name) { return dlsym(lib, name); }

/* libcublas needs libcublasLt from the same folder; load it first where the library's own search path would not find it. */
static void preload_lt(const char *path) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash) return;
  *slash = 0;
  const char *names[] = { "libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so" };
  for (int i = 0; i < 3; i++) {
    char lt[600];
    snprintf(lt, sizeof lt, "%s/%s", dir, names[i]);
    if (dlopen(lt, RTLD_NOW | RTLD_GLOBAL)) return;
  }
}

int sv_cublas_load(SvCublas *cb, const char *const *paths, int npaths, cudaStream_t stream, void *workspace, size_t wsBytes,
                   char *why, size_t whyLen) {
  memset(cb, 0, sizeof *cb);
  char tried[400] = "";
  for (int i = 0; i < npaths; i++) {
    if (strchr(paths[i], '/')) preload_lt(paths[i]);
    void *lib = dlopen(paths[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      if (strlen(tried) + strlen(paths[i]) + 3 < sizeof tried) { if (*tried) strcat(tried, ", "); strcat(tried, paths[i]); }
      continue;
    }
    cb->create = (cublasStatus_t(*)(cublasHandle_t *))sym(lib, "cublasCreate_v2");
    cb->destroy = (cublasStatus_t(*)(cublasHandle_t))sym(lib, "cublasDestroy_v2");
    cb->getVersion = (cublasStatus_t(*)(cublasHandle_t, int *))sym(lib, "cublasGetVersion_v2");
    cb->setStream = (cublasStatus_t(*)(cublasHandle_t, cudaStream_t))sym(lib, "cublasSetStream_v2");
    cb->setMathMode = (cublasStatus_t(*)(cublasHandle_t, int))sym(lib, "cublasSetMathMode");
    cb->setWorkspace = (cublasStatus_t(*)(cublasHandle_t, void *, size_t))sym(lib, "cublasSetWorkspace_v2");
    *(void **)&cb->gemmStridedBatchedEx = sym(lib, "cublasGemmStridedBatchedEx");
    cb->statusName = (const char *(*)(cublasStatus_t))sym(lib, "cublasGetStatusName");
    if (!cb->create || !cb->destroy || !cb->setStream || !cb->setMathMode || !cb->gemmStridedBatchedEx || !cb->getVersion) {
      snprintf(why, whyLen, "%s lacks cublasGemmStridedBatchedEx or another entry point (cuBLAS 11 or newer needed)", paths[i]);
      dlclose(lib);
      return 0;
    }
    cublasStatus_t st = cb->create(&cb->handle);
    if (st != 0) {
      snprintf(why, whyLen, "cublasCreate failed in %s: %s", paths[i], sv_cublas_status(cb, st));
      dlclose(lib);
      return 0;
    }
    cb->lib = lib;
    snprintf(cb->path, sizeof cb->path, "%s", paths[i]);
    cb->getVersion(cb->handle, &cb->version);
    cb->setStream(cb->handle, stream);
    cb->setMathMode(cb->handle, SV_CUBLAS_DEFAULT_MATH);
    /* A workspace of our own: cuBLAS then allocates nothing per call (which a CUDA Graph capture would not allow). */
    if (cb->setWorkspace && workspace && wsBytes) cb->setWorkspace(cb->handle, workspace, wsBytes);
    return 1;
  }
  snprintf(why, whyLen, "cuBLAS not found (tried %s; set SIMVLM_CUBLAS to libcublas.so's path)", *tried ? tried : "nothing");
  return 0;
}

const char *sv_cublas_status(const SvCublas *cb, cublasStatus_t st) {
  if (cb && cb->statusName) return cb->statusName(st);
  switch (st) {
    case 0: return "CUBLAS_STATUS_SUCCESS";
    case 1: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case 3: return "CUBLAS_STATUS_ALLOC_FAILED";
    case 7: return "CUBLAS_STATUS_INVALID_VALUE";
    case 8: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case 11: return "CUBLAS_STATUS_MAPPING_ERROR";
    case 13: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case 14: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case 15: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case 16: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "CUBLAS_STATUS_UNKNOWN";
  }
}
