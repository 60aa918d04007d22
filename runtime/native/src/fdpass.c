/* Passing descriptors (memfds, doorbells' socket ends) between processes over a Unix stream socket, as SCM_RIGHTS
 * control messages beside ordinary bytes. Node's net.Socket cannot carry them, so the channel is a raw
 * non-blocking descriptor: connected here, or taken from a net.Socket (dupFd) before that is destroyed.
 * Nothing here blocks: a full socket is EAGAIN, an empty one null, and the caller waits with the loop.
 *
 * How the kernel delivers them: one recvmsg may return the bytes of several sends, but stops after the
 * bytes of a send that carried descriptors, and returns those descriptors with the first of its bytes;
 * so descriptors arrive in the order sent, never after the bytes that came with them. */
#define _GNU_SOURCE /* MSG_CMSG_CLOEXEC */
#include "ipcgen_native.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SEND_MAX_BYTES 65536
#define SEND_MAX_FDS 16
#define RECV_MAX_BYTES (16 * 1024 * 1024)
#define RECV_MAX_FDS 253 /* the kernel's SCM_MAX_FD */

static napi_value int_result(napi_env env, const char *fn, int value) {
  napi_value result;
  napi_status status = napi_create_int32(env, value, &result);
  return status == napi_ok ? result : ipcgen_throw_napi(env, fn, status);
}

/* closeFd(fd) */
static napi_value close_fd(napi_env env, napi_callback_info info) {
  int fd;
  if (!ipcgen_arg_fd(env, info, "closeFd", 0, &fd)) return NULL;
  /* EINTR: Linux has closed the descriptor anyway, and retrying could close another thread's new one. */
  if (close(fd) != 0 && errno != EINTR) return ipcgen_throw_fd_errno(env, errno, "closeFd", "close", fd, "descriptor");
  return NULL;
}

/* dupFd(fd): a close-on-exec duplicate, non-blocking. */
static napi_value dup_fd(napi_env env, napi_callback_info info) {
  int fd;
  if (!ipcgen_arg_fd(env, info, "dupFd", 0, &fd)) return NULL;
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return ipcgen_throw_fd_errno(env, errno, "dupFd", "fcntl", fd, "descriptor");
  int flags = fcntl(copy, F_GETFL);
  if (flags < 0 || (!(flags & O_NONBLOCK) && fcntl(copy, F_SETFL, flags | O_NONBLOCK) != 0)) {
    int err = errno;
    close(copy);
    return ipcgen_throw_fd_errno(env, err, "dupFd", "fcntl", fd, "descriptor");
  }
  return int_result(env, "dupFd", copy);
}

/* fdChannelConnect(path): a connected Unix stream socket. */
static napi_value channel_connect(napi_env env, napi_callback_info info) {
  static const char *const fn = "fdChannelConnect";
  napi_value argv[1];
  size_t argc = 1, len = 0;
  napi_valuetype type;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  char path[sizeof addr.sun_path + 1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_typeof(env, argv[0], &type) != napi_ok || type != napi_string)
    return ipcgen_throw_type_error(env, "%s: path must be a string", fn);
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok) return ipcgen_throw_napi(env, fn, napi_generic_failure);
  if (len == 0 || strlen(path) != len) return ipcgen_throw_range_error(env, "%s: path must be non-empty, without NUL characters", fn);
  if (len >= sizeof addr.sun_path)
    return ipcgen_throw_errno(env, ENAMETOOLONG, "connect", "%s: path %s... is longer than a Unix socket address holds (%zu bytes)", fn,
                              path, sizeof addr.sun_path - 1);
  memcpy(addr.sun_path, path, len + 1);

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ipcgen_throw_errno(env, errno, "socket", "%s: cannot make a Unix socket", fn);
  /* A Unix stream connect completes at once or fails; non-blocking, a full backlog is EAGAIN, not a wait. */
  int rc;
  do rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    close(fd);
    ipcgen_throw_errno(env, err, "connect", "%s: cannot connect to %s", fn, path);
    /* Like Node's: the address on the error. */
    napi_value error, address;
    if (napi_get_and_clear_last_exception(env, &error) == napi_ok) {
      if (napi_create_string_utf8(env, path, len, &address) == napi_ok) napi_set_named_property(env, error, "address", address);
      napi_throw(env, error);
    }
    return NULL;
  }
  return int_result(env, fn, fd);
}

/* fdSend(channel, bytes, fds): one sendmsg, all or nothing (or a throw). */
static napi_value fd_send(napi_env env, napi_callback_info info) {
  static const char *const fn = "fdSend";
  napi_value argv[3];
  size_t argc = 3;
  int channel;
  if (!ipcgen_arg_fd(env, info, fn, 0, &channel)) return NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3)
    return ipcgen_throw_type_error(env, "%s: expected (channel, bytes, fds)", fn);

  bool is_typed = false, is_array = false;
  napi_typedarray_type kind;
  size_t length = 0;
  void *data = NULL;
  if (napi_is_typedarray(env, argv[1], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[1], &kind, &length, &data, NULL, NULL) != napi_ok || kind != napi_uint8_array)
    return ipcgen_throw_type_error(env, "%s: bytes must be a Uint8Array", fn);
  if (length < 1 || length > SEND_MAX_BYTES)
    /* 0 bytes would send nothing at all on a stream socket, descriptors included. */
    return ipcgen_throw_range_error(env, "%s: bytes must hold 1 to %d bytes, got %zu", fn, SEND_MAX_BYTES, length);

  uint32_t count = 0;
  if (napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[2], &count) != napi_ok)
    return ipcgen_throw_type_error(env, "%s: fds must be an array of descriptors", fn);
  if (count > SEND_MAX_FDS) return ipcgen_throw_range_error(env, "%s: at most %d descriptors in one message, got %u", fn, SEND_MAX_FDS, count);
  int fds[SEND_MAX_FDS];
  for (uint32_t i = 0; i < count; i++) {
    napi_value element;
    double value;
    if (napi_get_element(env, argv[2], i, &element) != napi_ok || napi_get_value_double(env, element, &value) != napi_ok)
      return ipcgen_throw_type_error(env, "%s: fds[%u] must be a number", fn, i);
    if (!(value >= 0 && value <= INT_MAX && value == floor(value)))
      return ipcgen_throw_range_error(env, "%s: fds[%u] must be an integer from 0 to %d, got %g", fn, i, INT_MAX, value);
    fds[i] = (int)value;
  }

  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * SEND_MAX_FDS)];
  } control;
  memset(&control, 0, sizeof control);
  struct iovec iov = {data, length};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (count > 0) {
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * count);
    memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * count);
  }
  ssize_t sent;
  do sent = sendmsg(channel, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    if (errno == EBADF && count > 0) {
      /* EBADF names the channel or one of the descriptors; say which. */
      if (fcntl(channel, F_GETFD) >= 0)
        return ipcgen_throw_errno(env, EBADF, "sendmsg", "%s: a descriptor to send is not open", fn);
    }
    return ipcgen_throw_fd_errno(env, errno, fn, "sendmsg", channel, "socket");
  }
  if ((size_t)sent != length) {
    /* The peer now holds part of a message (and its descriptors): the stream is out of step for good. */
    napi_value error, sent_value;
    ipcgen_throw_code(env, "ERR_IPCGEN_PARTIAL_SEND",
                      "%s: only %zd of %zu bytes went (the peer's buffer filled); the channel is out of step and must be closed", fn,
                      sent, length);
    if (napi_get_and_clear_last_exception(env, &error) == napi_ok) {
      if (napi_create_double(env, (double)sent, &sent_value) == napi_ok) napi_set_named_property(env, error, "sent", sent_value);
      napi_throw(env, error);
    }
    return NULL;
  }
  return NULL;
}

static bool arg_count(napi_env env, napi_value value, const char *fn, const char *name, double min, double max, size_t *out) {
  double d;
  if (napi_get_value_double(env, value, &d) != napi_ok) return ipcgen_throw_type_error(env, "%s: %s must be a number", fn, name), false;
  if (!(d >= min && d <= max && d == floor(d)))
    return ipcgen_throw_range_error(env, "%s: %s must be an integer from %g to %g, got %g", fn, name, min, max, d), false;
  *out = (size_t)d;
  return true;
}

/* fdRecv(channel, maxBytes, maxFds): { bytes, fds }, or null when nothing waits. */
static napi_value fd_recv(napi_env env, napi_callback_info info) {
  static const char *const fn = "fdRecv";
  napi_value argv[3];
  size_t argc = 3, max_bytes, max_fds;
  int channel;
  if (!ipcgen_arg_fd(env, info, fn, 0, &channel)) return NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3)
    return ipcgen_throw_type_error(env, "%s: expected (channel, maxBytes, maxFds)", fn);
  if (!arg_count(env, argv[1], fn, "maxBytes", 1, RECV_MAX_BYTES, &max_bytes) ||
      !arg_count(env, argv[2], fn, "maxFds", 0, RECV_MAX_FDS, &max_fds))
    return NULL;

  /* Room for maxFds descriptors and some slack for other control messages; more descriptors than
   * maxFds are counted below (those that fit the slack) or truncated (MSG_CTRUNC). */
  size_t control_size = CMSG_SPACE(sizeof(int) * max_fds) + CMSG_SPACE(64);
  size_t fds_cap = control_size / sizeof(int);
  char *bytes = malloc(max_bytes);
  void *control = calloc(1, control_size);
  int *fds = malloc(sizeof(int) * fds_cap); /* before recvmsg: afterwards there is no failing */
  if (bytes == NULL || control == NULL || fds == NULL) {
    free(bytes);
    free(control);
    free(fds);
    return ipcgen_throw_errno(env, ENOMEM, "malloc", "%s: out of memory", fn);
  }
  struct iovec iov = {bytes, max_bytes};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = control_size};
  ssize_t got;
  do got = recvmsg(channel, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (got < 0 && errno == EINTR);
  if (got < 0) {
    int err = errno;
    free(bytes);
    free(control);
    free(fds);
    if (err == EAGAIN || err == EWOULDBLOCK) {
      napi_value null;
      napi_get_null(env, &null);
      return null;
    }
    return ipcgen_throw_fd_errno(env, err, fn, "recvmsg", channel, "socket");
  }

  /* Every descriptor received, whatever happens next: each is either returned or closed. */
  size_t nfds = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n && nfds < fds_cap; i++) memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
  }
  free(control);
  if (nfds > max_fds || (msg.msg_flags & MSG_CTRUNC)) {
    for (size_t i = 0; i < nfds; i++) close(fds[i]);
    free(fds);
    free(bytes);
    return ipcgen_throw_code(env, "ERR_IPCGEN_TOO_MANY_FDS",
                             "%s: a message came with more descriptors than the %zu allowed (%zu received%s); all were closed", fn,
                             max_fds, nfds, (msg.msg_flags & MSG_CTRUNC) ? ", more cut off by the kernel" : "");
  }

  napi_value result, buffer, fd_array, fd_value;
  napi_status status;
  if ((status = napi_create_object(env, &result)) != napi_ok ||
      (status = napi_create_buffer_copy(env, (size_t)got, bytes, NULL, &buffer)) != napi_ok ||
      (status = napi_create_array_with_length(env, nfds, &fd_array)) != napi_ok)
    goto fail;
  for (size_t i = 0; i < nfds; i++)
    if ((status = napi_create_int32(env, fds[i], &fd_value)) != napi_ok || (status = napi_set_element(env, fd_array, (uint32_t)i, fd_value)) != napi_ok)
      goto fail;
  if ((status = napi_set_named_property(env, result, "bytes", buffer)) != napi_ok ||
      (status = napi_set_named_property(env, result, "fds", fd_array)) != napi_ok)
    goto fail;
  free(fds);
  free(bytes);
  return result;

fail:
  for (size_t i = 0; i < nfds; i++) close(fds[i]);
  free(fds);
  free(bytes);
  return ipcgen_throw_napi(env, fn, status);
}

napi_status ipcgen_init_fdpass(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_default, NULL},
      {"dupFd", NULL, dup_fd, NULL, NULL, NULL, napi_default, NULL},
      {"fdChannelConnect", NULL, channel_connect, NULL, NULL, NULL, napi_default, NULL},
      {"fdSend", NULL, fd_send, NULL, NULL, NULL, napi_default, NULL},
      {"fdRecv", NULL, fd_recv, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
