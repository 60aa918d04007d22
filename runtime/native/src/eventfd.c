/* Doorbells between processes: eventfds, passed to the peer over a Unix socket (fdpass.c). The ringer adds
 * 1 to the counter; the watcher's descriptor becomes readable and the event loop (libuv, through a
 * uv_poll_t) reads the counter back to 0 and runs the callback: rings made in the meantime coalesce into
 * one call, and the callback reads the shared state itself (a doorbell, not a message). No thread: the
 * futex design needed one per watch, and stopping it raced with its wait.
 *
 * The peer holds the same open file description, so it can change its flags (O_NONBLOCK) and counter at
 * any time: reads here ask not to wait whatever the flags say (RWF_NOWAIT), rings restore O_NONBLOCK, and
 * a watch polls its own duplicate of the descriptor, so that the caller closing (and the number being
 * reused) cannot point the watch at another file. */
#define _GNU_SOURCE /* preadv2, RWF_NOWAIT */
#include "ipcgen_native.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

bool ipcgen_check_eventfd(napi_env env, int fd, const char *fn) {
  char path[48], target[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, target, sizeof target - 1);
  if (n < 0) {
    if (errno == ENOENT) return ipcgen_throw_code(env, IPCGEN_BAD_DESCRIPTOR, "%s: fd %d is not an open file descriptor", fn, fd), false;
    return ipcgen_throw_errno(env, errno, "readlink", "%s: cannot read what fd %d is (%s)", fn, fd, path), false;
  }
  target[n] = '\0';
  if (strcmp(target, "anon_inode:[eventfd]") != 0)
    return ipcgen_throw_code(env, IPCGEN_BAD_DESCRIPTOR, "%s: fd %d is not an eventfd (it is %s)", fn, fd, target), false;

  /* In semaphore mode a read takes 1 from the counter instead of all of it: a peer's one write of 2^64 - 2
   * would call the callback for ever. Linux 6.? and later say so in fdinfo; older ones cannot be asked. */
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  int info = open(path, O_RDONLY | O_CLOEXEC);
  if (info < 0) return ipcgen_throw_errno(env, errno, "open", "%s: cannot read %s", fn, path), false;
  char text[1024];
  size_t have = 0;
  for (;;) {
    ssize_t got = read(info, text + have, sizeof text - 1 - have);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int err = errno;
      close(info);
      return ipcgen_throw_errno(env, err, "read", "%s: cannot read %s", fn, path), false;
    }
    if (got == 0 || (have += (size_t)got) == sizeof text - 1) break;
  }
  close(info);
  text[have] = '\0';
  const char *semaphore = strstr(text, "\neventfd-semaphore:");
  if (semaphore != NULL && strtol(semaphore + strlen("\neventfd-semaphore:"), NULL, 10) != 0)
    return ipcgen_throw_code(env, IPCGEN_BAD_DESCRIPTOR, "%s: fd %d is an eventfd in semaphore mode", fn, fd), false;
  return true;
}

/* eventfdCreate(): a new eventfd, counter 0. */
static napi_value eventfd_create(napi_env env, napi_callback_info info) {
  napi_value result;
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return ipcgen_throw_errno(env, errno, "eventfd", "eventfdCreate: cannot create an eventfd");
  napi_status status = napi_create_int32(env, fd, &result);
  if (status != napi_ok) {
    close(fd);
    return ipcgen_throw_napi(env, "eventfdCreate", status);
  }
  return result;
}

/* eventfdCheck(fd): throws unless fd is an eventfd in counter mode. */
static napi_value eventfd_check(napi_env env, napi_callback_info info) {
  int fd;
  if (!ipcgen_arg_fd(env, info, "eventfdCheck", 0, &fd)) return NULL;
  ipcgen_check_eventfd(env, fd, "eventfdCheck");
  return NULL;
}

/* eventfdRing(fd): adds 1 to the counter. */
static napi_value eventfd_ring(napi_env env, napi_callback_info info) {
  static const char *const fn = "eventfdRing";
  int fd;
  if (!ipcgen_arg_fd(env, info, fn, 0, &fd)) return NULL;
  /* A full counter makes a blocking write wait for a read, which the peer may never do: put back the
   * O_NONBLOCK that the peer (sharing the file description) may have cleared. */
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return ipcgen_throw_fd_errno(env, errno, fn, "fcntl", fd, "eventfd");
  if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    return ipcgen_throw_fd_errno(env, errno, fn, "fcntl", fd, "eventfd");
  uint64_t one = 1;
  for (;;) {
    ssize_t n = write(fd, &one, sizeof one);
    if (n == (ssize_t)sizeof one) return NULL;
    if (n < 0 && errno == EINTR) continue;
    /* Full: the watcher has a wake-up pending already. */
    if (n < 0 && errno == EAGAIN) return NULL;
    if (n < 0) return ipcgen_throw_fd_errno(env, errno, fn, "write", fd, "eventfd");
    return ipcgen_throw_errno(env, EIO, "write", "%s: fd %d took %zd bytes of 8: not an eventfd", fn, fd, n);
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

static void on_readable(uv_poll_t *handle, int status, int events) {
  watch *w = handle->data;
  if (w == NULL) return;
  /* An error on the descriptor would come back on every turn of the loop: stop instead. */
  if (status < 0) return stop_watch(w, NULL);
  uint64_t count;
  struct iovec iov = {&count, sizeof count};
  ssize_t n;
  do n = preadv2(((poller *)handle)->fd, &iov, 1, -1, RWF_NOWAIT);
  while (n < 0 && errno == EINTR);
  /* Before Linux 5.12's eventfd read_iter: the descriptor is O_NONBLOCK (uv_poll_init set it), unless the
   * peer cleared it since, which only those kernels leave open. */
  if (n < 0 && errno == EOPNOTSUPP) n = read(((poller *)handle)->fd, &count, sizeof count);
  if (n < 0 && errno == EAGAIN) return; /* read by someone else first: nothing to report */
  if (n != (ssize_t)sizeof count) return stop_watch(w, NULL);

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

/* eventfdWatch(fd, callback): { close() }. */
static napi_value eventfd_watch(napi_env env, napi_callback_info info) {
  static const char *const fn = "eventfdWatch";
  napi_value argv[2], result, close_fn;
  size_t argc = 2;
  napi_valuetype type;
  napi_status status;
  int fd, err;
  if (!ipcgen_arg_fd(env, info, fn, 0, &fd)) return NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_typeof(env, argv[1], &type) != napi_ok || type != napi_function)
    return ipcgen_throw_type_error(env, "%s: callback must be a function", fn);
  /* Reading 8 bytes from a socket or pipe would eat a peer's data: only eventfds. */
  if (!ipcgen_check_eventfd(env, fd, fn)) return NULL;
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
    return ipcgen_throw_fd_errno(env, err, fn, "fcntl", fd, "eventfd");
  }
  /* uv_poll_init also sets O_NONBLOCK, on the description shared with fd and with the peer. */
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

napi_status ipcgen_init_eventfd(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"eventfdCreate", NULL, eventfd_create, NULL, NULL, NULL, napi_default, NULL},
      {"eventfdCheck", NULL, eventfd_check, NULL, NULL, NULL, napi_default, NULL},
      {"eventfdRing", NULL, eventfd_ring, NULL, NULL, NULL, napi_default, NULL},
      {"eventfdWatch", NULL, eventfd_watch, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
