/*
 * simvlm_cuda.node: the CUDA device behind lib/backend/cuda (its TypeScript side is device.ts).
 * The interface is deliberately narrow — alloc / free / upload / download / launch / gemm, plus
 * sync, memory info, fences for asynchronous reads and CUDA Graph capture — so the backend's
 * bookkeeping can be tested against a JavaScript fake of the same interface on machines without a GPU.
 *
 * All work goes to one non-blocking stream, in order: a buffer freed after its last use can be
 * reused at once (the caching allocator lives on the JS side). A CUDA error becomes a JavaScript
 * exception naming the operation and the CUDA error; after an error that corrupts the context (an
 * illegal address, a kernel fault) every later call says so instead of touching the device.
 *
 * Loading this file needs no GPU and no driver (the CUDA runtime is linked statically and finds
 * the driver when `init` runs): `kernels()` and `probe()` work anywhere, which the CPU tests use.
 */
#include <node_api.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <string>
#include <vector>
#include "kernels.cuh"
#include "cublas.h"

static struct {
  int ready;
  int device;
  cudaStream_t stream;
  SvCublas cublas;
  void *workspace;
  size_t wsBytes;
  double *args;          /* the shared argument buffer (a Float64Array held by `argsRef`) */
  size_t nargsMax;
  napi_ref argsRef;
  int syncEach;          /* SIMVLM_CUDA_SYNC=1: wait after every launch, so an error names its kernel */
  int capturing;         /* between graphBegin and graphEnd (no waiting then) */
  char lost[300];        /* set after a context-corrupting error */
  std::vector<SvKernel> table;
  std::vector<cudaEvent_t> fences;
  std::vector<cudaGraphExec_t> graphs;
} G;

/* ---------------------------------------------------------------------------------- errors */

static napi_value throw_msg(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

/* Errors after which the CUDA context is unusable (CUDA runtime documentation: "sticky" errors). */
static bool is_sticky(cudaError_t e) {
  return e == cudaErrorIllegalAddress || e == cudaErrorLaunchFailure || e == cudaErrorHardwareStackError ||
         e == cudaErrorIllegalInstruction || e == cudaErrorMisalignedAddress || e == cudaErrorInvalidAddressSpace ||
         e == cudaErrorInvalidPc || e == cudaErrorAssert || e == cudaErrorLaunchTimeout || e == cudaErrorECCUncorrectable;
}

/* Throw "CUDA error <name> (<text>) in <what>"; remember context-corrupting errors. */
static napi_value throw_cuda(napi_env env, cudaError_t e, const char *what) {
  char msg[512];
  snprintf(msg, sizeof msg, "CUDA error %s (%s) in %s", cudaGetErrorName(e), cudaGetErrorString(e), what);
  if (is_sticky(e) && !G.lost[0]) snprintf(G.lost, sizeof G.lost, "%s", msg);
  return throw_msg(env, is_sticky(e) ? "SIMVLM_CUDA_LOST" : "SIMVLM_CUDA", msg);
}

#define ENSURE_READY(env, what) \
  do { \
    if (G.lost[0]) { char m_[420]; snprintf(m_, sizeof m_, "the CUDA device is unusable after an earlier error (%s); restart the process", G.lost); return throw_msg(env, "SIMVLM_CUDA_LOST", m_); } \
    if (!G.ready) return throw_msg(env, "SIMVLM_CUDA", what ": the CUDA device is not initialised (call init first)"); \
  } while (0)

#define CUDA_CALL(env, call, what) do { cudaError_t e_ = (call); if (e_ != cudaSuccess) return throw_cuda(env, e_, what); } while (0)

/* ---------------------------------------------------------------------------------- argument helpers */

static napi_value undefined(napi_env env) { napi_value u; napi_get_undefined(env, &u); return u; }
static napi_value num(napi_env env, double v) { napi_value r; napi_create_double(env, v, &r); return r; }
static napi_value str(napi_env env, const char *s) { napi_value r; napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &r); return r; }
static void set(napi_env env, napi_value o, const char *k, napi_value v) { napi_set_named_property(env, o, k, v); }

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  return argc >= want;
}

static int get_num(napi_env env, napi_value v, double *out) { return napi_get_value_double(env, v, out) == napi_ok; }

static void *ptr_of(double d) { return (void *)(uintptr_t)(uint64_t)d; }

/* A typed array's bytes. */
static int get_bytes(napi_env env, napi_value v, void **data, size_t *bytes) {
  napi_typedarray_type type; size_t len; napi_value ab; size_t off;
  if (napi_get_typedarray_info(env, v, &type, &len, data, &ab, &off) != napi_ok) return 0;
  size_t el = 1;
  switch (type) {
    case napi_int16_array: case napi_uint16_array: el = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: el = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: el = 8; break;
    default: el = 1;
  }
  *bytes = len * el;
  return 1;
}

/* ---------------------------------------------------------------------------------- table, probe */

static void build_table() {
  if (!G.table.empty()) return;
  const SvKernel *(*parts[])(int *) = { sv_elementwise_kernels, sv_reduce_kernels, sv_fused_kernels, sv_conv_kernels };
  for (auto part : parts) {
    int n = 0;
    const SvKernel *t = part(&n);
    for (int i = 0; i < n; i++) G.table.push_back(t[i]);
  }
}

/* kernels() → [[name, argumentCount], …] in launch-index order. Needs no GPU. */
static napi_value kernels(napi_env env, napi_callback_info info) {
  (void)info;
  build_table();
  napi_value arr;
  napi_create_array_with_length(env, G.table.size(), &arr);
  for (size_t i = 0; i < G.table.size(); i++) {
    napi_value pair;
    napi_create_array_with_length(env, 2, &pair);
    napi_set_element(env, pair, 0, str(env, G.table[i].name));
    napi_set_element(env, pair, 1, num(env, G.table[i].nargs));
    napi_set_element(env, arr, i, pair);
  }
  return arr;
}

/* probe() → { runtimeVersion, driverVersion, deviceCount, devices: [{ name, major, minor, totalBytes }], error? } */
static napi_value probe(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o;
  napi_create_object(env, &o);
  int rt = 0, drv = 0, count = 0;
  cudaRuntimeGetVersion(&rt);
  cudaDriverGetVersion(&drv);
  set(env, o, "runtimeVersion", num(env, rt));
  set(env, o, "driverVersion", num(env, drv));
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    char m[300];
    snprintf(m, sizeof m, "%s (%s)", cudaGetErrorName(e), cudaGetErrorString(e));
    set(env, o, "error", str(env, m));
    count = 0;
  }
  set(env, o, "deviceCount", num(env, count));
  napi_value devs;
  napi_create_array_with_length(env, count, &devs);
  for (int i = 0; i < count; i++) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    napi_value d;
    napi_create_object(env, &d);
    set(env, d, "name", str(env, p.name));
    set(env, d, "major", num(env, p.major));
    set(env, d, "minor", num(env, p.minor));
    set(env, d, "totalBytes", num(env, (double)p.totalGlobalMem));
    set(env, d, "multiprocessors", num(env, p.multiProcessorCount));
    napi_set_element(env, devs, i, d);
  }
  set(env, o, "devices", devs);
  return o;
}

/* ---------------------------------------------------------------------------------- init */

/*
 * init(args: Float64Array, cublasPaths: string[], device: number, workspaceBytes: number, syncEach: boolean)
 * → { name, major, minor, totalBytes, multiprocessors, runtimeVersion, driverVersion, cublasVersion, cublasPath }
 */
static napi_value init(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!get_args(env, info, 5, argv)) return throw_msg(env, "SIMVLM_CUDA", "init: expected (args, cublasPaths, device, workspaceBytes, syncEach)");
  if (G.ready) return throw_msg(env, "SIMVLM_CUDA", "init: already initialised");
  build_table();
  void *data; size_t bytes;
  if (!get_bytes(env, argv[0], &data, &bytes) || bytes < 64 * 8) return throw_msg(env, "SIMVLM_CUDA", "init: args must be a Float64Array of at least 64 entries");
  napi_create_reference(env, argv[0], 1, &G.argsRef);
  G.args = (double *)data;
  G.nargsMax = bytes / 8;
  uint32_t npaths = 0;
  napi_get_array_length(env, argv[1], &npaths);
  std::vector<std::string> paths;
  for (uint32_t i = 0; i < npaths; i++) {
    napi_value v; char buf[512]; size_t len;
    napi_get_element(env, argv[1], i, &v);
    if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &len) == napi_ok) paths.push_back(buf);
  }
  double dev = 0, ws = 0;
  get_num(env, argv[2], &dev);
  get_num(env, argv[3], &ws);
  bool syncEach = false;
  napi_get_value_bool(env, argv[4], &syncEach);
  G.syncEach = syncEach;
  int count = 0;
  CUDA_CALL(env, cudaGetDeviceCount(&count), "init: cudaGetDeviceCount");
  if ((int)dev < 0 || (int)dev >= count) {
    char m[160]; snprintf(m, sizeof m, "init: device %d does not exist (%d CUDA device%s)", (int)dev, count, count == 1 ? "" : "s");
    return throw_msg(env, "SIMVLM_CUDA", m);
  }
  G.device = (int)dev;
  CUDA_CALL(env, cudaSetDevice(G.device), "init: cudaSetDevice");
  cudaDeviceProp p;
  CUDA_CALL(env, cudaGetDeviceProperties(&p, G.device), "init: cudaGetDeviceProperties");
  CUDA_CALL(env, cudaStreamCreateWithFlags(&G.stream, cudaStreamNonBlocking), "init: cudaStreamCreate");
  G.wsBytes = (size_t)ws;
  if (G.wsBytes) CUDA_CALL(env, cudaMalloc(&G.workspace, G.wsBytes), "init: cuBLAS workspace");
  std::vector<const char *> cpaths;
  for (auto &s : paths) cpaths.push_back(s.c_str());
  char why[600];
  if (!sv_cublas_load(&G.cublas, cpaths.data(), (int)cpaths.size(), G.stream, G.workspace, G.wsBytes, why, sizeof why)) {
    cudaStreamDestroy(G.stream);
    if (G.workspace) cudaFree(G.workspace);
    G.workspace = NULL;
    return throw_msg(env, "SIMVLM_CUBLAS", why);
  }
  G.ready = 1;
  int rt = 0, drv = 0;
  cudaRuntimeGetVersion(&rt);
  cudaDriverGetVersion(&drv);
  napi_value o;
  napi_create_object(env, &o);
  set(env, o, "name", str(env, p.name));
  set(env, o, "major", num(env, p.major));
  set(env, o, "minor", num(env, p.minor));
  set(env, o, "totalBytes", num(env, (double)p.totalGlobalMem));
  set(env, o, "multiprocessors", num(env, p.multiProcessorCount));
  set(env, o, "runtimeVersion", num(env, rt));
  set(env, o, "driverVersion", num(env, drv));
  set(env, o, "cublasVersion", num(env, G.cublas.version));
  set(env, o, "cublasPath", str(env, G.cublas.path));
  return o;
}

/* ---------------------------------------------------------------------------------- memory */

/* alloc(bytes) → device address. Out of memory is an error whose code is SIMVLM_CUDA_OOM. */
static napi_value alloc(napi_env env, napi_callback_info info) {
  ENSURE_READY(env, "alloc");
  napi_value argv[1]; double bytes;
  if (!get_args(env, info, 1, argv) || !get_num(env, argv[0], &bytes) || bytes < 0) return throw_msg(env, "SIMVLM_CUDA", "alloc: expected a byte count");
  void *p = NULL;
  cudaError_t e = cudaMallocAsync(&p, (size_t)(bytes < 1 ? 1 : bytes), G.stream);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    size_t freeB = 0, total = 0;
    cudaMemGetInfo(&freeB, &total);
    char m[300];
    snprintf(m, sizeof m, "CUDA out of memory: asked for %.1f MiB; the device has %.1f MiB free of %.1f MiB",
             bytes / 1048576.0, freeB / 1048576.0, total / 1048576.0);
    return throw_msg(env, "SIMVLM_CUDA_OOM", m);
  }
  if (e != cudaSuccess) return throw_cuda(env, e, "alloc (cudaMallocAsync)");
  return num(env, (double)(uintptr_t)p);
}

static napi_value free_(napi_env env, napi_callback_info info) {
  ENSURE_READY(env, "free");
  napi_value argv[1]; double p;
  if (!get_args(env, info, 1, argv) || !get_num(env, argv[0], &p)) return throw_msg(env, "SIMVLM_CUDA", "free: expected an address");
  CUDA_CALL(env, cudaFreeAsync(ptr_of(p), G.stream), "free (cudaFreeAsync)");
  return undefined(env);
}

/* upload(address, typedArray): host → device, in stream order (the host array may be reused on return). */
static napi_value upload(napi_env env, napi_callback_info info) {
  ENSURE_READY(env, "upload");
  napi_value argv[2]; double p; void *data; size_t bytes;
  if (!get_args(env, info, 2, argv) || !get_num(env, argv[0], &p) || !get_bytes(env, argv[1], &data, &bytes)) return throw_msg(env, "SIMVLM_CUDA", "upload: expected (address, typedArray)");
  if (bytes) CUDA_CALL(env, cudaMemcpyAsync(ptr_of(p), data, bytes, cudaMemcpyHostToDevice, G.stream), "upload (cudaMemcpyAsync)");
  return undefined(env);
}

/* download(address, typedArray): waits for the stream, then copies device → host. */
static napi_value download(napi_env env, napi_callback_info info) {
  ENSURE_READY(env, "download");
  napi_value argv[2]; double p; void *data; size_t bytes;
  if (!get_args(env, info, 2, argv) || !get_num(env, argv[0], &p) || !get_bytes(env, argv[1], &data, &bytes)) return throw_msg(env, "SIMVLM_CUDA", "download: expected (address, typedArray)");
  if (bytes) CUDA_CALL(env, cudaMemcpyAsync(data, ptr_of(p), bytes, cudaMemcpyDeviceToHost, G.stream), "download (cudaMemcpyAsync)");
  CUDA_CALL(env, cudaStreamSynchronize(G.stream), "download: an earlier asynchronous kernel failed (SIMVLM_CUDA_SYNC=1 names it)");
  return undefined(env);
}

static napi_value sync(napi_env env, napi_callback_info info) {
  (void)info;
  ENSURE_READY(env, "sync");
  CUDA_CALL(env, cudaStreamSynchronize(G.stream), "sync: an earlier asynchronous kernel failed (SIMVLM_CUDA_SYNC=1 names it)");
  return undefined(env);
}

/* memInfo() → [freeBytes, totalBytes] of the device. */
static napi_value mem_info(napi_env env, napi_callback_info info) {
  (void)info;
  ENSURE_READY(env, "memInfo");
  size_t f = 0, t = 0;
  CUDA_CALL(env, cudaMemGetInfo(&f, &t), "memInfo");
  napi_value arr;
  napi_create_array_with_length(env, 2, &arr);
  napi_set_element(env, arr, 0, num(env, (double)f));
  napi_set_element(env, arr, 1, num(env, (double)t));
  return arr;
}

/* ---------------------------------------------------------------------------------- launch, gemm */

static napi_value after_launch(napi_env env, cudaError_t e, const char *name) {
  char what[120];
  snprintf(what, sizeof what, "kernel %s", name);
  if (e != cudaSuccess) return throw_cuda(env, e, what);
  if (G.syncEach && !G.capturing) CUDA_CALL(env, cudaStreamSynchronize(G.stream), what);
  return undefined(env);
}

/* launch(index, argumentCount): runs kernel `index` of kernels() with its arguments in the shared buffer. */
static napi_value launch(napi_env env, napi_callback_info info) {
  ENSURE_READY(env, "launch");
  napi_value argv[2]; double id, n;
  if (!get_args(env, info, 2, argv) || !get_num(env, argv[0], &id) || !get_num(env, argv[1], &n)) return throw_msg(env, "SIMVLM_CUDA", "launch: expected (index, argumentCount)");
  if (id < 0 || (size_t)id >= G.table.size()) return throw_msg(env, "SIMVLM_CUDA", "launch: no such kernel");
  const SvKernel &k = G.table[(size_t)id];
  if ((int)n != k.nargs) {
    char m[160]; snprintf(m, sizeof m, "launch: kernel %s takes %d arguments, got %d", k.name, k.nargs, (int)n);
    return throw_msg(env, "SIMVLM_CUDA", m);
  }
  return after_launch(env, k.fn(G.args, G.stream), k.name);
}

/*
 * gemm(): row-major C_i[M, N] = alpha·op(A_i)·op(B_i) + beta·C_i for i < batch, arguments in the
 * shared buffer: [batch, M, N, K, transA, transB, a, strideA, b, strideB, c, strideC, alpha, beta,
 * precision] (strides in elements; 0 repeats one matrix for every batch entry). cuBLAS is
 * column-major, so this is the product Cᵀ = op(B)ᵀ·op(A)ᵀ with the operands swapped.
 */
static napi_value gemm(napi_env env, napi_callback_info info) {
  (void)info;
  ENSURE_READY(env, "gemm");
  const double *a = G.args;
  long long batch = (long long)a[0], M = (long long)a[1], N = (long long)a[2], K = (long long)a[3];
  int tA = a[4] != 0, tB = a[5] != 0, prec = (int)a[14];
  if (batch < 1 || M < 1 || N < 1 || K < 1 || M > 2147483647LL || N > 2147483647LL || K > 2147483647LL || batch > 2147483647LL)
    return throw_msg(env, "SIMVLM_CUDA", "gemm: sizes out of range");
  float alpha = (float)a[12], beta = (float)a[13];
  int compute = prec == SV_PREC_TF32 ? SV_CUBLAS_COMPUTE_32F_FAST_TF32 : prec == SV_PREC_BF16 ? SV_CUBLAS_COMPUTE_32F_FAST_16BF : SV_CUBLAS_COMPUTE_32F;
  int ldb = tB ? (int)K : (int)N, lda = tA ? (int)M : (int)K;
  cublasStatus_t st = G.cublas.gemmStridedBatchedEx(G.cublas.handle, tB ? SV_CUBLAS_OP_T : SV_CUBLAS_OP_N, tA ? SV_CUBLAS_OP_T : SV_CUBLAS_OP_N,
      (int)N, (int)M, (int)K, &alpha, ptr_of(a[8]), CUDA_R_32F, ldb, (long long)a[9], ptr_of(a[6]), CUDA_R_32F, lda, (long long)a[7],
      &beta, ptr_of(a[10]), CUDA_R_32F, (int)N, (long long)a[11], (int)batch, compute, SV_CUBLAS_GEMM_DEFAULT);
  if (st != 0) {
    char m[200];
    snprintf(m, sizeof m, "cuBLAS error %s in gemm (batch %lld, [%lld x %lld] x [%lld x %lld])", sv_cublas_status(&G.cublas, st), batch, M, K, K, N);
    return throw_msg(env, "SIMVLM_CUBLAS", m);
  }
  return after_launch(env, cudaGetLastError(), "gemm");
}

/* ---------------------------------------------------------------------------------- fences */

/* fence() → id of an event recorded now; fenceDone(id) → whether the work before it finished (frees it once true). */
static napi_value fence(napi_env env, napi_callback_info info) {
  (void)info;
  ENSURE_READY(env, "fence");
  cudaEvent_t ev;
  CUDA_CALL(env, cudaEventCreateWithFlags(&ev, cudaEventDisableTiming), "fence: cudaEventCreate");
  CUDA_CALL(env, cudaEventRecord(ev, G.stream), "fence: cudaEventRecord");
  for (size_t i = 0; i < G.fences.size(); i++) if (!G.fences[i]) { G.fences[i] = ev; return num(env, (double)i); }
  G.fences.push_back(ev);
  return num(env, (double)(G.fences.size() - 1));
}

static napi_value fence_done(napi_env env, napi_callback_info info) {
  ENSURE_READY(env, "fenceDone");
  napi_value argv[1]; double id;
  if (!get_args(env, info, 1, argv) || !get_num(env, argv[0], &id) || id < 0 || (size_t)id >= G.fences.size() || !G.fences[(size_t)id])
    return throw_msg(env, "SIMVLM_CUDA", "fenceDone: no such fence");
  cudaEvent_t ev = G.fences[(size_t)id];
  cudaError_t e = cudaEventQuery(ev);
  napi_value r;
  if (e == cudaErrorNotReady) { cudaGetLastError(); napi_get_boolean(env, false, &r); return r; }
  cudaEventDestroy(ev);
  G.fences[(size_t)id] = NULL;
  if (e != cudaSuccess) return throw_cuda(env, e, "an earlier asynchronous kernel (SIMVLM_CUDA_SYNC=1 names it)");
  napi_get_boolean(env, true, &r);
  return r;
}

/* ---------------------------------------------------------------------------------- CUDA Graphs */

/* graphBegin(): capture this thread's work on the stream instead of running it. */
static napi_value graph_begin(napi_env env, napi_callback_info info) {
  (void)info;
  ENSURE_READY(env, "graphBegin");
  CUDA_CALL(env, cudaStreamBeginCapture(G.stream, cudaStreamCaptureModeThreadLocal), "graphBegin");
  G.capturing = 1;
  return undefined(env);
}

/* graphEnd() → id of the instantiated graph of everything captured since graphBegin. */
static napi_value graph_end(napi_env env, napi_callback_info info) {
  (void)info;
  ENSURE_READY(env, "graphEnd");
  cudaGraph_t g;
  G.capturing = 0;
  CUDA_CALL(env, cudaStreamEndCapture(G.stream, &g), "graphEnd (cudaStreamEndCapture)");
  cudaGraphExec_t exec;
  cudaError_t e = cudaGraphInstantiate(&exec, g, 0);
  cudaGraphDestroy(g);
  if (e != cudaSuccess) return throw_cuda(env, e, "graphEnd (cudaGraphInstantiate)");
  G.graphs.push_back(exec);
  return num(env, (double)(G.graphs.size() - 1));
}

static napi_value graph_launch(napi_env env, napi_callback_info info) {
  ENSURE_READY(env, "graphLaunch");
  napi_value argv[1]; double id;
  if (!get_args(env, info, 1, argv) || !get_num(env, argv[0], &id) || id < 0 || (size_t)id >= G.graphs.size() || !G.graphs[(size_t)id])
    return throw_msg(env, "SIMVLM_CUDA", "graphLaunch: no such graph");
  return after_launch(env, cudaGraphLaunch(G.graphs[(size_t)id], G.stream), "graph");
}

static napi_value graph_free(napi_env env, napi_callback_info info) {
  ENSURE_READY(env, "graphFree");
  napi_value argv[1]; double id;
  if (!get_args(env, info, 1, argv) || !get_num(env, argv[0], &id) || id < 0 || (size_t)id >= G.graphs.size() || !G.graphs[(size_t)id])
    return throw_msg(env, "SIMVLM_CUDA", "graphFree: no such graph");
  cudaGraphExecDestroy(G.graphs[(size_t)id]);
  G.graphs[(size_t)id] = NULL;
  return undefined(env);
}

/* ---------------------------------------------------------------------------------- module */

#define FN(name, f) { name, NULL, f, NULL, NULL, NULL, napi_default, NULL }

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    FN("kernels", kernels), FN("probe", probe), FN("init", init),
    FN("alloc", alloc), FN("free", free_), FN("upload", upload), FN("download", download),
    FN("sync", sync), FN("memInfo", mem_info), FN("launch", launch), FN("gemm", gemm),
    FN("fence", fence), FN("fenceDone", fence_done),
    FN("graphBegin", graph_begin), FN("graphEnd", graph_end), FN("graphLaunch", graph_launch), FN("graphFree", graph_free),
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
