/* Checking JavaScript arguments and building results. */
#include "ipcgen_native.h"

#include <limits.h>
#include <math.h>

static const char *type_name(napi_valuetype type) {
  switch (type) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "boolean";
    case napi_number: return "number";
    case napi_string: return "string";
    case napi_symbol: return "symbol";
    case napi_object: return "object";
    case napi_function: return "function";
    case napi_external: return "external";
    case napi_bigint: return "bigint";
  }
  return "unknown";
}

bool ipcgen_arg_fd(napi_env env, napi_callback_info info, const char *fn, size_t index, int *fd) {
  napi_value argv[4];
  size_t argc = 4;
  napi_status status = napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (status != napi_ok) return ipcgen_throw_napi(env, fn, status), false;
  napi_valuetype type = napi_undefined;
  if (index < argc && (status = napi_typeof(env, argv[index], &type)) != napi_ok)
    return ipcgen_throw_napi(env, fn, status), false;
  if (type != napi_number)
    return ipcgen_throw_type_error(env, "%s: fd must be a number, got %s", fn, type_name(type)), false;
  double value;
  if ((status = napi_get_value_double(env, argv[index], &value)) != napi_ok)
    return ipcgen_throw_napi(env, fn, status), false;
  /* napi_get_value_int32 would quietly truncate 3.5 or wrap 2^32 + 3 to a real descriptor. */
  if (!(value >= 0 && value <= INT_MAX && value == floor(value)))
    return ipcgen_throw_range_error(env, "%s: fd must be an integer from 0 to %d, got %g", fn, INT_MAX, value),
           false;
  *fd = (int)value;
  return true;
}

bool ipcgen_set_int32(napi_env env, napi_value obj, const char *name, int32_t value) {
  napi_value js;
  return napi_create_int32(env, value, &js) == napi_ok && napi_set_named_property(env, obj, name, js) == napi_ok;
}

bool ipcgen_set_uint32(napi_env env, napi_value obj, const char *name, uint32_t value) {
  napi_value js;
  return napi_create_uint32(env, value, &js) == napi_ok && napi_set_named_property(env, obj, name, js) == napi_ok;
}
