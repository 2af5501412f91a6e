/*
 * What every simvlm native kernel file shares: the calling convention (a Uint8Array view of the wasm
 * heap plus integer byte offsets and sizes), bounds checks, and the hooks by which each file adds
 * its functions to the addon's exports (called from blas.c's init).
 */
#ifndef SIMVLM_COMMON_H
#define SIMVLM_COMMON_H
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define THROW(env, msg) do { napi_throw_error(env, "SIMVLM_NATIVE", msg); return NULL; } while (0)

static inline int get_i64(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok;
}

/* Byte range [off, off + 4*count) inside a heap of `len` bytes, 4-byte aligned. */
static inline int in_heap(int64_t off, int64_t count, size_t len) {
  return off >= 0 && count >= 0 && (off & 3) == 0 && (uint64_t)off + 4u * (uint64_t)count <= len;
}

/*
 * The calling convention every kernel shares: (heap: Uint8Array, n integers, then nd numbers).
 * Reads them into data, length, v[0..n) and d[0..nd) (integers as int64: offsets and sizes; numbers
 * as double: hyperparameters such as eps, which an integer read would truncate to 0). On a bad
 * call throws "<name>: …" and returns 0.
 */
static inline int read_args_mixed(napi_env env, napi_callback_info info, const char *name, size_t n, int64_t *v,
                                  size_t nd, double *d, void **data, size_t *length) {
  char msg[96];
  size_t argc = 24;
  napi_value argv[24];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != n + nd + 1) { snprintf(msg, sizeof msg, "%s: expected %zu arguments", name, n + nd + 1); napi_throw_error(env, "SIMVLM_NATIVE", msg); return 0; }
  napi_typedarray_type type; napi_value ab; size_t byte_offset;
  if (napi_get_typedarray_info(env, argv[0], &type, length, data, &ab, &byte_offset) != napi_ok || type != napi_uint8_array) {
    snprintf(msg, sizeof msg, "%s: heap must be a Uint8Array", name); napi_throw_error(env, "SIMVLM_NATIVE", msg); return 0;
  }
  for (size_t i = 0; i < n; i++) if (!get_i64(env, argv[i + 1], &v[i])) {
    snprintf(msg, sizeof msg, "%s: arguments 2-%zu must be integers", name, n + 1); napi_throw_error(env, "SIMVLM_NATIVE", msg); return 0;
  }
  for (size_t i = 0; i < nd; i++) if (napi_get_value_double(env, argv[n + 1 + i], &d[i]) != napi_ok) {
    snprintf(msg, sizeof msg, "%s: argument %zu must be a number", name, n + 2 + i); napi_throw_error(env, "SIMVLM_NATIVE", msg); return 0;
  }
  return 1;
}

/* The integer-only form most kernels use: (heap, n integers). */
static inline int read_args(napi_env env, napi_callback_info info, const char *name, size_t n, int64_t *v, void **data, size_t *length) {
  return read_args_mixed(env, info, name, n, v, 0, NULL, data, length);
}

/* Adds `fn` to the addon's exports as `name`. */
static inline void simvlm_export(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f);
  napi_set_named_property(env, exports, name, f);
}

/* One per kernel file (each defines its own). */
void simvlm_register_fused(napi_env env, napi_value exports);   /* fused.c: GELU, layer norm */
void simvlm_register_adamw(napi_env env, napi_value exports);   /* adamw.c: optimizer update, sums of squares */
void simvlm_register_rows(napi_env env, napi_value exports);    /* rows.c: slices, softmax cross-entropy */

#endif
