/* Turning C failures into JavaScript errors. Node has no API that names an errno for an addon, so the
 * names this addon can meet are listed here; glibc's strerrorname_np covers the rest where it exists. */
#define _GNU_SOURCE
#include "ipcgen_native.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define IPCGEN_MESSAGE_MAX 512

const char *ipcgen_errno_name(int err) {
  switch (err) {
#define IPCGEN_ERRNO(name) case name: return #name;
    IPCGEN_ERRNO(EPERM) IPCGEN_ERRNO(ENOENT) IPCGEN_ERRNO(EINTR) IPCGEN_ERRNO(EIO) IPCGEN_ERRNO(EBADF)
    IPCGEN_ERRNO(EAGAIN) IPCGEN_ERRNO(ENOMEM) IPCGEN_ERRNO(EACCES) IPCGEN_ERRNO(EFAULT)
    IPCGEN_ERRNO(EEXIST) IPCGEN_ERRNO(EINVAL) IPCGEN_ERRNO(ENFILE) IPCGEN_ERRNO(EMFILE)
    IPCGEN_ERRNO(EFBIG) IPCGEN_ERRNO(ENOSPC) IPCGEN_ERRNO(EPIPE) IPCGEN_ERRNO(ENAMETOOLONG)
    IPCGEN_ERRNO(ENOSYS) IPCGEN_ERRNO(ETIMEDOUT) IPCGEN_ERRNO(ENOTSOCK) IPCGEN_ERRNO(EMSGSIZE)
    IPCGEN_ERRNO(ENOPROTOOPT) IPCGEN_ERRNO(EOPNOTSUPP) IPCGEN_ERRNO(EAFNOSUPPORT)
    IPCGEN_ERRNO(ECONNRESET) IPCGEN_ERRNO(ENOBUFS) IPCGEN_ERRNO(ENOTCONN) IPCGEN_ERRNO(ECONNREFUSED)
#undef IPCGEN_ERRNO
    default: break;
  }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  return strerrorname_np(err);
#else
  return NULL;
#endif
}

/* Creates an Error (or a subclass, by `make`) with `code` and message; NULL if N-API itself failed. */
typedef napi_status (*ipcgen_make_error)(napi_env, napi_value, napi_value, napi_value *);

static napi_value make_error(napi_env env, ipcgen_make_error make, const char *code, const char *message) {
  napi_value js_code, js_message, error;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &js_code) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &js_message) != napi_ok ||
      make(env, js_code, js_message, &error) != napi_ok)
    return NULL;
  return error;
}

static bool set_string(napi_env env, napi_value obj, const char *name, const char *value) {
  napi_value js;
  return napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &js) == napi_ok &&
         napi_set_named_property(env, obj, name, js) == napi_ok;
}

static napi_value throw_errno_v(napi_env env, int err, const char *syscall, const char *fmt, va_list ap) {
  char text[IPCGEN_MESSAGE_MAX], message[IPCGEN_MESSAGE_MAX + 48], fallback[24];
  const char *name = ipcgen_errno_name(err);
  if (name == NULL) {
    snprintf(fallback, sizeof fallback, "errno %d", err);
    name = fallback;
  }
  vsnprintf(text, sizeof text, fmt, ap);
  snprintf(message, sizeof message, "%s (%s)", text, name);
  napi_value error = make_error(env, napi_create_error, name, message);
  if (error == NULL) {
    napi_throw_error(env, name, message);  /* at least the text, without the extra properties */
    return NULL;
  }
  ipcgen_set_int32(env, error, "errno", -err);
  if (syscall != NULL) set_string(env, error, "syscall", syscall);
  napi_throw(env, error);
  return NULL;
}

napi_value ipcgen_throw_errno(napi_env env, int err, const char *syscall, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  throw_errno_v(env, err, syscall, fmt, ap);
  va_end(ap);
  return NULL;
}

napi_value ipcgen_throw_fd_errno(napi_env env, int err, const char *fn, const char *syscall, int fd,
                                 const char *expected) {
  switch (err) {
    case EBADF:
      return ipcgen_throw_errno(env, err, syscall, "%s: fd %d is not an open file descriptor", fn, fd);
    case ENOTSOCK:
      return ipcgen_throw_errno(env, err, syscall, "%s: fd %d is not a %s", fn, fd, expected);
    default:
      return ipcgen_throw_errno(env, err, syscall, "%s: %s on fd %d failed: %s", fn, syscall, fd, strerror(err));
  }
}

napi_value ipcgen_throw_type_error(napi_env env, const char *fmt, ...) {
  char message[IPCGEN_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

napi_value ipcgen_throw_range_error(napi_env env, const char *fmt, ...) {
  char message[IPCGEN_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
  return NULL;
}

napi_value ipcgen_throw_code(napi_env env, const char *code, const char *fmt, ...) {
  char message[IPCGEN_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  napi_throw_error(env, code, message);
  return NULL;
}

napi_value ipcgen_throw_napi(napi_env env, const char *fn, napi_status status) {
  bool pending = false;
  /* A JavaScript exception already on its way (from a getter, say) says more than we could. */
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return NULL;
  const napi_extended_error_info *info = NULL;
  const char *why = napi_get_last_error_info(env, &info) == napi_ok && info != NULL && info->error_message != NULL
                        ? info->error_message
                        : "unknown N-API failure";
  char message[IPCGEN_MESSAGE_MAX];
  snprintf(message, sizeof message, "%s: internal N-API failure (status %d): %s", fn, (int)status, why);
  napi_throw_error(env, "ERR_IPCGEN_NAPI", message);
  return NULL;
}
