#define _GNU_SOURCE /* syscall() */
/* Cross-process wake-ups on a 32-bit word of a shared mapping, with Linux futexes (Atomics.notify wakes
 * only waiters of its own process). The waker bumps the word and calls futexWake. The waiting side never
 * blocks the event loop: futexWatch starts a thread that sleeps in FUTEX_WAIT until the word changes, then
 * asks the loop to run the callback. Calls coalesce: while one is queued, more changes add none, and the
 * callback reads the shared state itself (it is a doorbell, not a message). */
#include "ipcgen_native.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static long futex(_Atomic uint32_t *word, int op, uint32_t value) {
  /* Not FUTEX_PRIVATE_FLAG: the other process maps the same memory at another address. */
  return syscall(SYS_futex, word, op, value, NULL, NULL, 0);
}

/* The word at byteOffset of the mapping: 4-byte aligned and inside it. */
static _Atomic uint32_t *arg_word(napi_env env, ipcgen_mapping *m, napi_value value, const char *fn) {
  double offset;
  if (napi_get_value_double(env, value, &offset) != napi_ok)
    return ipcgen_throw_type_error(env, "%s: byteOffset must be a number", fn), NULL;
  if (!(offset >= 0 && offset + 4 <= (double)ipcgen_mapping_size(m) && offset == floor(offset) && fmod(offset, 4) == 0))
    return ipcgen_throw_range_error(env, "%s: byteOffset must be a multiple of 4 inside the mapping, got %g", fn, offset), NULL;
  return (_Atomic uint32_t *)((char *)ipcgen_mapping_addr(m) + (size_t)offset);
}

/* futexWake(handle, byteOffset): wakes every thread of any process waiting on the word; returns how many. */
static napi_value futex_wake(napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  size_t argc = 2;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2)
    return ipcgen_throw_type_error(env, "futexWake: expected (handle, byteOffset)");
  ipcgen_mapping *m = ipcgen_arg_mapping(env, argv[0], "futexWake");
  if (m == NULL) return NULL;
  _Atomic uint32_t *word = arg_word(env, m, argv[1], "futexWake");
  if (word == NULL) return NULL;
  long woken = futex(word, FUTEX_WAKE, INT_MAX);
  if (woken < 0) return ipcgen_throw_errno(env, errno, "futex", "futexWake: FUTEX_WAKE failed");
  napi_create_int32(env, (int32_t)woken, &result);
  return result;
}

typedef struct watch {
  ipcgen_mapping *mapping;
  _Atomic uint32_t *word;
  napi_threadsafe_function call;
  pthread_t thread;
  atomic_bool stop;
  /* A callback is queued and has not run yet. */
  atomic_bool queued;
  /* The word's value when the watch began: a change after that, even before the thread runs, is seen. */
  uint32_t start;
  bool closed;
  napi_env env;
} watch;

static void *watch_thread(void *arg) {
  watch *w = arg;
  uint32_t seen = w->start;
  while (!atomic_load(&w->stop)) {
    futex(w->word, FUTEX_WAIT, seen); /* returns at once if the word is no longer `seen` */
    uint32_t now = atomic_load(w->word);
    if (now == seen || atomic_load(&w->stop)) continue;
    seen = now;
    if (!atomic_exchange(&w->queued, true)) napi_call_threadsafe_function(w->call, NULL, napi_tsfn_nonblocking);
  }
  return NULL;
}

/* On the loop's thread: the word changed. */
static void call_js(napi_env env, napi_value callback, void *context, void *data) {
  watch *w = context;
  atomic_store(&w->queued, false);
  if (env == NULL || w->closed) return;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_call_function(env, undefined, callback, 0, NULL, NULL);
}

static void stop_watch(watch *w) {
  if (w->closed) return;
  w->closed = true;
  atomic_store(&w->stop, true);
  /* Wakes the thread (and, harmlessly, any other waiter on the word: waiters re-check and sleep again). */
  futex(w->word, FUTEX_WAKE, INT_MAX);
  pthread_join(w->thread, NULL);
  napi_release_threadsafe_function(w->call, napi_tsfn_abort);
  ipcgen_mapping_unref(w->mapping);
}

static void cleanup_hook(void *arg) { stop_watch(arg); }

static void finalize_watch(napi_env env, void *data, void *hint) {
  watch *w = data;
  napi_remove_env_cleanup_hook(env, cleanup_hook, w);
  stop_watch(w);
  free(w);
}

static napi_value watch_close(napi_env env, napi_callback_info info) {
  void *data;
  if (napi_get_cb_info(env, info, NULL, NULL, NULL, &data) != napi_ok) return NULL;
  stop_watch(data);
  return NULL;
}

/* futexWatch(handle, byteOffset, callback): { close() }. The callback runs on the loop after the word
 * changes; the watch does not keep the process alive. */
static napi_value futex_watch(napi_env env, napi_callback_info info) {
  napi_value argv[3], result, close_fn, name;
  size_t argc = 3;
  napi_status status;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3)
    return ipcgen_throw_type_error(env, "futexWatch: expected (handle, byteOffset, callback)");
  ipcgen_mapping *m = ipcgen_arg_mapping(env, argv[0], "futexWatch");
  if (m == NULL) return NULL;
  _Atomic uint32_t *word = arg_word(env, m, argv[1], "futexWatch");
  if (word == NULL) return NULL;
  napi_valuetype type;
  if (napi_typeof(env, argv[2], &type) != napi_ok || type != napi_function)
    return ipcgen_throw_type_error(env, "futexWatch: callback must be a function");

  watch *w = calloc(1, sizeof *w);
  if (w == NULL) return ipcgen_throw_errno(env, ENOMEM, "calloc", "futexWatch: out of memory");
  w->mapping = m;
  w->word = word;
  w->start = atomic_load(word);
  w->env = env;
  napi_create_string_utf8(env, "ipcgen futex watch", NAPI_AUTO_LENGTH, &name);
  if ((status = napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, NULL, NULL, w, call_js, &w->call)) != napi_ok) {
    free(w);
    return ipcgen_throw_napi(env, "futexWatch", status);
  }
  napi_unref_threadsafe_function(env, w->call);
  ipcgen_mapping_ref(m);
  int err = pthread_create(&w->thread, NULL, watch_thread, w);
  if (err != 0) {
    napi_release_threadsafe_function(w->call, napi_tsfn_abort);
    ipcgen_mapping_unref(m);
    free(w);
    return ipcgen_throw_errno(env, err, "pthread_create", "futexWatch: cannot start the watching thread");
  }
  napi_add_env_cleanup_hook(env, cleanup_hook, w);

  if ((status = napi_create_object(env, &result)) != napi_ok ||
      (status = napi_create_function(env, "close", NAPI_AUTO_LENGTH, watch_close, w, &close_fn)) != napi_ok ||
      (status = napi_set_named_property(env, result, "close", close_fn)) != napi_ok ||
      (status = napi_wrap(env, result, w, finalize_watch, NULL, NULL)) != napi_ok)
    return ipcgen_throw_napi(env, "futexWatch", status);
  return result;
}

napi_status ipcgen_init_futex(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"futexWake", NULL, futex_wake, NULL, NULL, NULL, napi_default, NULL},
      {"futexWatch", NULL, futex_watch, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
