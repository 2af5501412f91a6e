/* simvlm native kernels: row-wise kernels: slices along the last axis, softmax cross-entropy. */
#include "common.h"

void simvlm_register_rows(napi_env env, napi_value exports) {
  (void)env; (void)exports;
}
