/* Doorbells between processes: the two ends of a Unix datagram socket pair, one kept by each side (the
 * other passed to the peer over a Unix socket, fdpass.c). Ringing sends one byte from one's own end;
 * the other side's event loop (libuv, through a uv_poll_t) sees its end readable, drains the datagrams and
 * runs the callback: rings made in the meantime coalesce into one call, and the callback reads the shared
 * state itself (a doorbell, not a message). No thread: the futex design needed one per watch, and stopping
 * it raced with its wait.
 *
 * Why not an eventfd, as before: both processes held the same open file description of it, so the peer
 * could clear O_NONBLOCK on it and fill the counter, and the next ring's write blocked this process's event
 * loop for ever (putting O_NONBLOCK back before writing only narrowed the race; the kernel refuses
 * RWF_NOWAIT on eventfd writes). Each end of a socket pair is its own file description, so the peer
 * cannot touch this end's flags, and send() with MSG_DONTWAIT never waits whatever they say.
 *
 * A watch polls its own duplicate of the descriptor, so that the caller closing (and the number being
 * reused) cannot point the watch at another file. */
#define _GNU_SOURCE /* recvmmsg */
#include "ipcgen_native.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

/* Datagrams drained per wake-up, at most: DRAIN_BATCH per recvmmsg, DRAIN_BATCHES calls. A peer sending as
 * fast as it can cannot hold the loop: what is left makes the poll fire again on the next turn. */
#define DRAIN_BATCH 64
#define DRAIN_BATCHES 4

/* Refuses (throws ERR_IPCGEN_BAD_DESCRIPTOR, returns false) a descriptor that is not a doorbell: a Unix
 * datagram socket connected to an unnamed socket (as a socket pair's ends are). Ringing a stream socket
 * would put a byte into someone's stream, and draining one would eat its data; a socket connected to a
 * named one (a logging daemon's, say) would have this process send there with its credentials. */
static bool check_doorbell(napi_env env, int fd, const char *fn) {
  int value;
  socklen_t len = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &value, &len) != 0) {
    if (errno == EBADF) return ipcgen_throw_code(env, IPCGEN_BAD_DESCRIPTOR, "%s: fd %d is not an open file descriptor", fn, fd), false;
    if (errno != ENOTSOCK) return ipcgen_throw_fd_errno(env, errno, fn, "getsockopt", fd, "socket"), false;
    char path[48], target[64] = "?";
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n >= 0) target[n] = '\0';
    return ipcgen_throw_code(env, IPCGEN_BAD_DESCRIPTOR, "%s: fd %d is not a doorbell: not a socket (it is %s)", fn, fd, target), false;
  }
  if (value != AF_UNIX)
    return ipcgen_throw_code(env, IPCGEN_BAD_DESCRIPTOR, "%s: fd %d is not a doorbell: not a Unix socket (family %d)", fn, fd, value), false;
  len = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &len) != 0) return ipcgen_throw_fd_errno(env, errno, fn, "getsockopt", fd, "socket"), false;
  if (value != SOCK_DGRAM)
    return ipcgen_throw_code(env, IPCGEN_BAD_DESCRIPTOR, "%s: fd %d is not a doorbell: not a datagram socket (%s)", fn, fd,
                             value == SOCK_STREAM ? "a stream socket" : value == SOCK_SEQPACKET ? "a seqpacket socket" : "another type"),
           false;
  struct sockaddr_un peer;
  len = sizeof peer;
  if (getpeername(fd, (struct sockaddr *)&peer, &len) != 0) {
    if (errno == ENOTCONN) return ipcgen_throw_code(env, IPCGEN_BAD_DESCRIPTOR, "%s: fd %d is not a doorbell: not connected", fn, fd), false;
    return ipcgen_throw_fd_errno(env, errno, fn, "getpeername", fd, "socket"), false;
  }
  if (len > sizeof(sa_family_t))
    return ipcgen_throw_code(env, IPCGEN_BAD_DESCRIPTOR, "%s: fd %d is not a doorbell: connected to a named socket", fn, fd), false;
  return true;
}

/* doorbellPair(): [fd, fd], two connected ends. */
static napi_value doorbell_pair(napi_env env, napi_callback_info info) {
  static const char *const fn = "doorbellPair";
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) != 0)
    return ipcgen_throw_errno(env, errno, "socketpair", "%s: cannot create a socket pair", fn);
  napi_value result, end;
  napi_status status;
  if ((status = napi_create_array_with_length(env, 2, &result)) != napi_ok) goto fail;
  for (uint32_t i = 0; i < 2; i++) {
    if ((status = napi_create_int32(env, fds[i], &end)) != napi_ok || (status = napi_set_element(env, result, i, end)) != napi_ok) goto fail;
  }
  return result;
fail:
  close(fds[0]);
  close(fds[1]);
  return ipcgen_throw_napi(env, fn, status);
}

/* doorbellCheck(fd): throws unless fd is a doorbell's end. */
static napi_value doorbell_check(napi_env env, napi_callback_info info) {
  int fd;
  if (!ipcgen_arg_fd(env, info, "doorbellCheck", 0, &fd)) return NULL;
  check_doorbell(env, fd, "doorbellCheck");
  return NULL;
}

/* doorbellRing(fd): one datagram to the other end. */
static napi_value doorbell_ring(napi_env env, napi_callback_info info) {
  static const char *const fn = "doorbellRing";
  int fd;
  if (!ipcgen_arg_fd(env, info, fn, 0, &fd)) return NULL;
  static const char one = 1;
  for (;;) {
    /* MSG_DONTWAIT: never waits, whatever this end's flags say. */
    if (send(fd, &one, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1) return NULL;
    switch (errno) {
      case EINTR:
        continue;
      /* Full (our datagrams fill this end's send buffer until the other end reads them): it has a wake-up
       * pending anyway. */
      case EAGAIN:
      case ENOBUFS:
      /* The other end closed (ECONNREFUSED, then ENOTCONN), shut down reading (EPIPE), or disconnected and
       * reported it (ECONNRESET): the session's end comes through the session's socket, not here. */
      case ECONNREFUSED:
      case ENOTCONN:
      case EPIPE:
      case ECONNRESET:
        return NULL;
      default:
        return ipcgen_throw_fd_errno(env, errno, fn, "send", fd, "socket");
    }
  }
}

/* The libuv side of a watch. Separate from the watch because libuv frees it only after uv_close's
 * callback, which may come after the watch object is gone. */
typedef struct poller {
  uv_poll_t poll; /* poll.data: the watch, NULL once stopped */
  int fd;         /* the watch's own duplicate */
  /* Set when stopped by the environment's teardown, which waits for the close to finish. */
  napi_async_cleanup_hook_handle teardown;
} poller;

typedef struct watch {
  napi_env env;
  poller *poller;                      /* NULL once closed */
  napi_ref self;                       /* weak: the watch object, which holds the callback */
  napi_async_cleanup_hook_handle hook; /* NULL once closed */
} watch;

static void free_poller(uv_handle_t *handle) {
  poller *p = (poller *)handle;
  if (p->teardown != NULL) napi_remove_async_cleanup_hook(p->teardown);
  free(p);
}

/* Stops the watch at once (no callback after this) and lets libuv close the handle in its own time. */
static void stop_watch(watch *w, napi_async_cleanup_hook_handle teardown) {
  poller *p = w->poller;
  if (p == NULL) return;
  w->poller = NULL;
  p->poll.data = NULL;
  uv_poll_stop(&p->poll);
  if (teardown != NULL) {
    p->teardown = teardown;
  } else if (w->hook != NULL) {
    napi_remove_async_cleanup_hook(w->hook);
  }
  w->hook = NULL;
  uv_close((uv_handle_t *)&p->poll, free_poller);
  /* Now, not in free_poller: a loop of watches that never yields to the event loop would otherwise run
   * out of descriptors. Safe: uv_close has taken the descriptor out of epoll (synchronously), and libuv
   * does not use it again. */
  close(p->fd);
}

static void on_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  watch *w = arg;
  w->hook = NULL;
  if (w->poller == NULL) {
    napi_remove_async_cleanup_hook(handle);
    return;
  }
  stop_watch(w, handle);
}

/* Takes up to DRAIN_BATCH * DRAIN_BATCHES datagrams off fd; whether any came. Their bytes are not looked at
 * (a ring is the datagram, not what it says), so nothing is copied: each is cut short to nothing. And with
 * no room for control messages, descriptors a peer sends along are closed by the kernel, never installed. */
static bool drain(int fd) {
  struct mmsghdr msgs[DRAIN_BATCH];
  bool rung = false;
  for (int batch = 0; batch < DRAIN_BATCHES; batch++) {
    memset(msgs, 0, sizeof msgs);
    int n = recvmmsg(fd, msgs, DRAIN_BATCH, MSG_DONTWAIT, NULL);
    if (n < 0 && errno == EINTR) continue;
    /* EAGAIN: drained. Anything else is a socket error the peer caused (ECONNRESET, when it disconnected
     * its end with our rings unread), reported once and cleared: the next call goes on. */
    if (n < 0 && errno == EAGAIN) break;
    if (n > 0) rung = true;
    if (n >= 0 && n < DRAIN_BATCH) break;
  }
  return rung;
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  watch *w = handle->data;
  if (w == NULL) return;
  poller *p = (poller *)handle;
  if (status < 0) {
    /* libuv stopped the poll on POLLERR: a pending socket error, which the peer can cause (see drain).
     * Reading SO_ERROR clears it; poll again, and take it for a ring. With no error to clear, the
     * descriptor itself is broken and would come back on every turn of the loop: stop instead. */
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err == 0 ||
        uv_poll_start(&p->poll, UV_READABLE, on_readable) != 0)
      return stop_watch(w, NULL);
    drain(p->fd);
  } else if (!drain(p->fd)) {
    return; /* nothing came after all */
  }

  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value self = NULL, callback, ignored, exception;
  /* self is NULL when the object was collected and its finalizer has not run yet. */
  if (napi_get_reference_value(env, w->self, &self) == napi_ok && self != NULL &&
      napi_get_named_property(env, self, "callback", &callback) == napi_ok) {
    /* napi_make_callback, not napi_call_function: it runs the microtasks and nextTicks the callback queued,
     * as any other event-loop callback does. From here on w may be freed (the callback may close it). */
    if (napi_make_callback(env, NULL, self, callback, 0, NULL, &ignored) == napi_pending_exception &&
        napi_get_and_clear_last_exception(env, &exception) == napi_ok)
      napi_fatal_exception(env, exception); /* 'uncaughtException', as a throw from a timer would */
  }
  napi_close_handle_scope(env, scope);
}

static void finalize_watch(napi_env env, void *data, void *hint) {
  watch *w = data;
  stop_watch(w, NULL);
  napi_delete_reference(env, w->self);
  free(w);
}

static napi_value watch_close(napi_env env, napi_callback_info info) {
  void *data;
  napi_status status = napi_get_cb_info(env, info, NULL, NULL, NULL, &data);
  if (status != napi_ok) return ipcgen_throw_napi(env, "close", status);
  stop_watch(data, NULL);
  return NULL;
}

/* doorbellWatch(fd, callback): { close() }. */
static napi_value doorbell_watch(napi_env env, napi_callback_info info) {
  static const char *const fn = "doorbellWatch";
  napi_value argv[2], result, close_fn;
  size_t argc = 2;
  napi_valuetype type;
  napi_status status;
  int fd, err;
  if (!ipcgen_arg_fd(env, info, fn, 0, &fd)) return NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_typeof(env, argv[1], &type) != napi_ok || type != napi_function)
    return ipcgen_throw_type_error(env, "%s: callback must be a function", fn);
  /* Draining another kind of socket would eat its data: only doorbells. */
  if (!check_doorbell(env, fd, fn)) return NULL;
  uv_loop_t *loop;
  if ((status = napi_get_uv_event_loop(env, &loop)) != napi_ok) return ipcgen_throw_napi(env, fn, status);

  /* The JavaScript side first: nothing below needs undoing if it fails. The close function holds the
   * object (and so the watch) alive, whichever of the two the caller keeps. */
  napi_property_descriptor props[] = {
      {"close", NULL, watch_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"callback", NULL, NULL, NULL, NULL, argv[1], napi_default, NULL},
  };
  watch *w = calloc(1, sizeof *w);
  if (w == NULL) return ipcgen_throw_errno(env, ENOMEM, "calloc", "%s: out of memory", fn);
  w->env = env;
  props[0].data = w;
  if ((status = napi_create_object(env, &result)) != napi_ok ||
      (status = napi_define_properties(env, result, 2, props)) != napi_ok ||
      (status = napi_get_named_property(env, result, "close", &close_fn)) != napi_ok ||
      (status = napi_set_named_property(env, close_fn, "watch", result)) != napi_ok ||
      (status = napi_create_reference(env, result, 0, &w->self)) != napi_ok) {
    free(w);
    return ipcgen_throw_napi(env, fn, status);
  }
  if ((status = napi_wrap(env, result, w, finalize_watch, NULL, NULL)) != napi_ok) {
    napi_delete_reference(env, w->self);
    free(w);
    return ipcgen_throw_napi(env, fn, status);
  }
  /* From here the finalizer frees w. */

  poller *p = calloc(1, sizeof *p);
  if (p == NULL) return ipcgen_throw_errno(env, ENOMEM, "calloc", "%s: out of memory", fn);
  p->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (p->fd < 0) {
    err = errno;
    free(p);
    return ipcgen_throw_fd_errno(env, err, fn, "fcntl", fd, "socket");
  }
  /* uv_poll_init also sets O_NONBLOCK, on the description shared with fd (this side's own end). */
  if ((err = uv_poll_init(loop, &p->poll, p->fd)) != 0) {
    close(p->fd);
    free(p);
    return ipcgen_throw_errno(env, -err, "uv_poll_init", "%s: cannot poll fd %d", fn, fd);
  }
  w->poller = p;
  p->poll.data = w;
  /* A doorbell never keeps the process alive: the session's socket does that. */
  uv_unref((uv_handle_t *)&p->poll);
  if ((err = uv_poll_start(&p->poll, UV_READABLE, on_readable)) != 0) {
    stop_watch(w, NULL);
    return ipcgen_throw_errno(env, -err, "uv_poll_start", "%s: cannot poll fd %d", fn, fd);
  }
  /* At the environment's end (a worker's, or the process's) the handle must be closed before the loop is. */
  if ((status = napi_add_async_cleanup_hook(env, on_teardown, w, &w->hook)) != napi_ok) {
    stop_watch(w, NULL);
    return ipcgen_throw_napi(env, fn, status);
  }
  return result;
}

napi_status ipcgen_init_doorbell(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"doorbellPair", NULL, doorbell_pair, NULL, NULL, NULL, napi_default, NULL},
      {"doorbellCheck", NULL, doorbell_check, NULL, NULL, NULL, napi_default, NULL},
      {"doorbellRing", NULL, doorbell_ring, NULL, NULL, NULL, napi_default, NULL},
      {"doorbellWatch", NULL, doorbell_watch, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
