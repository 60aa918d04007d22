/* Entry point of ipcgen's native addon: asks each concern to add its functions to the exports. */
#include "ipcgen_native.h"

NAPI_MODULE_INIT() {
  if (ipcgen_init_peercred(env, exports) != napi_ok) return NULL;
  if (ipcgen_init_shm(env, exports) != napi_ok) return NULL;
  if (ipcgen_init_memfd(env, exports) != napi_ok) return NULL;
  if (ipcgen_init_doorbell(env, exports) != napi_ok) return NULL;
  if (ipcgen_init_fdpass(env, exports) != napi_ok) return NULL;
  return exports;
}
