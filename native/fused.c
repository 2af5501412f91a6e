/* simvlm native kernels: GELU and layer norm, forward and backward (owned by the fused-ops work). */
#include "common.h"

void simvlm_register_fused(napi_env env, napi_value exports) {
  (void)env; (void)exports;
}
