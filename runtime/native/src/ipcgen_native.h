/* Shared declarations of ipcgen's native addon. Each concern lives in its own .c file and registers its
 * functions from ipcgen_init_<concern>(), called by addon.c. */
#ifndef IPCGEN_NATIVE_H
#define IPCGEN_NATIVE_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* errors.c: every failure reaches JavaScript as a thrown Error; these return NULL so that a function can
 * end with `return ipcgen_throw_...(...)`. */

/* The errno's symbolic name ("ENOTSOCK"), or NULL when this build does not know it. */
const char *ipcgen_errno_name(int err);

/* Throws an Error shaped like Node's own system errors: message "<formatted> (ENAME)", and the properties
 * code ("ENAME"), errno (negative, as libuv reports it) and syscall. */
napi_value ipcgen_throw_errno(napi_env env, int err, const char *syscall, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Throws the usual error for a syscall on a descriptor that failed with err: a closed descriptor (EBADF)
 * and a descriptor of the wrong kind (ENOTSOCK: "is not a <expected>") get plain words, anything else
 * the C library's text. fn names the JavaScript function. */
napi_value ipcgen_throw_fd_errno(napi_env env, int err, const char *fn, const char *syscall, int fd,
                                 const char *expected);

/* Throws TypeError / RangeError with Node's codes (ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE). */
napi_value ipcgen_throw_type_error(napi_env env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
napi_value ipcgen_throw_range_error(napi_env env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Throws an Error with the given code (e.g. "ERR_IPCGEN_BAD_DESCRIPTOR") and formatted message. */
napi_value ipcgen_throw_code(napi_env env, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Error code for a descriptor that is not what it must be (a peer's memfd or doorbell that fails a check). */
#define IPCGEN_BAD_DESCRIPTOR "ERR_IPCGEN_BAD_DESCRIPTOR"

/* Throws for a failed N-API call itself (a bug or an exhausted engine, not bad input); NULL. */
napi_value ipcgen_throw_napi(napi_env env, const char *fn, napi_status status);

/* args.c: argument checks. On failure they throw and return false. */

/* Reads argument `index` of `fn` as a file descriptor: an integral number from 0 to INT_MAX. */
bool ipcgen_arg_fd(napi_env env, napi_callback_info info, const char *fn, size_t index, int *fd);

/* Sets obj[name] = value as a number (both kinds, so that uid_t/gid_t keep their full unsigned range). */
bool ipcgen_set_int32(napi_env env, napi_value obj, const char *name, int32_t value);
bool ipcgen_set_uint32(napi_env env, napi_value obj, const char *name, uint32_t value);

/* shm.cc: a mapping of a shared-memory object, reference-counted (the last unref unmaps it). */
typedef struct ipcgen_mapping ipcgen_mapping;
void ipcgen_mapping_ref(ipcgen_mapping *m);
void ipcgen_mapping_unref(ipcgen_mapping *m);
void *ipcgen_mapping_addr(ipcgen_mapping *m);
size_t ipcgen_mapping_size(ipcgen_mapping *m);
/* Reads a mapping size: an integer from 1 to 2^40. */
bool ipcgen_arg_size(napi_env env, napi_value value, const char *fn, size_t *out);
/* Maps fd (size bytes; flags MAP_SHARED or MAP_PRIVATE) read/write and returns { handle, control, data,
 * size }; fd stays open. Throws (naming `what`) and returns NULL on failure. */
napi_value ipcgen_map_views(napi_env env, int fd, size_t size, int flags, const char *fn, const char *what);
/* The mapping behind a handle that memfdCreate/memfdMap returned; throws and returns NULL for anything else. */
ipcgen_mapping *ipcgen_arg_mapping(napi_env env, napi_value value, const char *fn);

/* One initialiser per concern; each adds its functions to exports. */
napi_status ipcgen_init_peercred(napi_env env, napi_value exports);
napi_status ipcgen_init_shm(napi_env env, napi_value exports);
napi_status ipcgen_init_memfd(napi_env env, napi_value exports);
napi_status ipcgen_init_doorbell(napi_env env, napi_value exports);
napi_status ipcgen_init_fdpass(napi_env env, napi_value exports);

#ifdef __cplusplus
}
#endif

#endif
