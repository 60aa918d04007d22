/* Mappings of shared memory (the memfds of memfd.c) as two views of the same memory: a SharedArrayBuffer
 * (for the control words that Atomics works on) and a Buffer (for payload, which copies at memcpy speed,
 * unlike a SharedArrayBuffer); and detachable views of parts of them. Node 20's N-API cannot make a
 * SharedArrayBuffer, so this one file uses V8 directly, which ties the binary to the Node it was built for:
 * the addon is built at install time.
 *
 * A mapping stays until its last user lets go: the handle object and each view hold a reference; munmap runs when the count reaches 0 (the views' deleters may run on any thread). */
#include "ipcgen_native.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include <v8.h>

struct ipcgen_mapping {
  void *addr;
  size_t size;
  std::atomic<int> refs;
};

extern "C" void ipcgen_mapping_ref(ipcgen_mapping *m) { m->refs.fetch_add(1, std::memory_order_relaxed); }

extern "C" void ipcgen_mapping_unref(ipcgen_mapping *m) {
  if (m->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  munmap(m->addr, m->size);
  delete m;
}

extern "C" void *ipcgen_mapping_addr(ipcgen_mapping *m) { return m->addr; }
extern "C" size_t ipcgen_mapping_size(ipcgen_mapping *m) { return m->size; }

/* Marks handles made here, so that no other external passes for one. */
static const napi_type_tag MAPPING_TAG = {0x6970636765e6d617ULL, 0x7070696e67000001ULL};

/* Objects bigger than this are refused: an ArrayBuffer's length must fit, and a peer's claim is not trusted. */
static const double MAX_SIZE = 1ULL << 40;

extern "C" bool ipcgen_arg_size(napi_env env, napi_value value, const char *fn, size_t *out) {
  napi_valuetype type;
  double d;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number || napi_get_value_double(env, value, &d) != napi_ok)
    return ipcgen_throw_type_error(env, "%s: size must be a number", fn), false;
  if (!(d >= 1 && d <= MAX_SIZE && d == (double)(size_t)d))
    return ipcgen_throw_range_error(env, "%s: size must be an integer from 1 to 2^40, got %g", fn, d), false;
  *out = (size_t)d;
  return true;
}

static void finalize_handle(napi_env env, void *data, void *hint) { ipcgen_mapping_unref((ipcgen_mapping *)data); }
static void finalize_buffer(napi_env env, void *data, void *hint) { ipcgen_mapping_unref((ipcgen_mapping *)hint); }
static void delete_backing(void *data, size_t length, void *deleter_data) { ipcgen_mapping_unref((ipcgen_mapping *)deleter_data); }

/* { handle, control: SharedArrayBuffer, data: Buffer, size } over the whole mapping. */
static napi_value views(napi_env env, ipcgen_mapping *m, const char *fn) {
  napi_value result, handle, data, size;
  napi_status status;
  if ((status = napi_create_object(env, &result)) != napi_ok) return ipcgen_throw_napi(env, fn, status);

  ipcgen_mapping_ref(m);
  if ((status = napi_create_external(env, m, finalize_handle, NULL, &handle)) != napi_ok) {
    ipcgen_mapping_unref(m);
    return ipcgen_throw_napi(env, fn, status);
  }
  if ((status = napi_type_tag_object(env, handle, &MAPPING_TAG)) != napi_ok) return ipcgen_throw_napi(env, fn, status);
  ipcgen_mapping_ref(m);
  if ((status = napi_create_external_buffer(env, m->size, m->addr, finalize_buffer, m, &data)) != napi_ok) {
    ipcgen_mapping_unref(m);
    return ipcgen_throw_napi(env, fn, status);
  }

  v8::Isolate *isolate = v8::Isolate::GetCurrent();
  ipcgen_mapping_ref(m);
  std::shared_ptr<v8::BackingStore> store = v8::SharedArrayBuffer::NewBackingStore(m->addr, m->size, delete_backing, m);
  v8::Local<v8::SharedArrayBuffer> sab = v8::SharedArrayBuffer::New(isolate, std::move(store));
  /* N-API's own conversion: a napi_value is the address of the handle's slot. */
  napi_value control = reinterpret_cast<napi_value>(*sab);

  if ((status = napi_create_double(env, (double)m->size, &size)) != napi_ok ||
      (status = napi_set_named_property(env, result, "handle", handle)) != napi_ok ||
      (status = napi_set_named_property(env, result, "control", control)) != napi_ok ||
      (status = napi_set_named_property(env, result, "data", data)) != napi_ok ||
      (status = napi_set_named_property(env, result, "size", size)) != napi_ok)
    return ipcgen_throw_napi(env, fn, status);
  return result;
}

/* Maps fd (size bytes, `flags` MAP_SHARED or MAP_PRIVATE) read/write and returns its views; leaves fd
 * open. Throws and returns NULL on failure. */
extern "C" napi_value ipcgen_map_views(napi_env env, int fd, size_t size, int flags, const char *fn, const char *what) {
  void *addr = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, 0);
  if (addr == MAP_FAILED) return ipcgen_throw_errno(env, errno, "mmap", "%s: cannot map %s", fn, what);
  ipcgen_mapping *m = new ipcgen_mapping{addr, size, {1}};
  napi_value result = views(env, m, fn);
  ipcgen_mapping_unref(m); /* the views hold their own references */
  return result;
}

/* shmView(handle, byteOffset, length): an ArrayBuffer over part of a mapping, which detach() can take
 * away. Zero-copy messages hand out such views and detach them when the memory goes back to its owner, so
 * that a view kept too long reads as empty instead of reading memory that now holds another message.
 *
 * Its backing store has V8's empty deleter: V8 counts every other ArrayBuffer's length as memory this
 * process allocated, and starts a full collection when that count grows by 64 MiB, so that a view of a
 * 64 MiB message would cost one each time. The memory is the mapping's (counted once, by its Buffer).
 * Without a deleter to say when the memory is no longer used, the mapping is held by a finalizer on the
 * view, and after that for as long as the backing store lives anywhere else: a view transferred to a
 * worker thread (which detaches it here) keeps the memory mapped there. */
struct view_hold {
  ipcgen_mapping *mapping;
  std::weak_ptr<v8::BackingStore> store;
};

/* Holds whose view was collected while its backing store still lived (elsewhere, or not yet swept);
 * shared by the threads that load the addon (workers), hence the lock. */
static std::vector<view_hold *> lingering;
static std::mutex lingering_lock;

static void let_go_of_lingering() {
  std::lock_guard<std::mutex> guard(lingering_lock);
  for (size_t i = 0; i < lingering.size();) {
    if (!lingering[i]->store.expired()) {
      i++;
      continue;
    }
    ipcgen_mapping_unref(lingering[i]->mapping);
    delete lingering[i];
    lingering[i] = lingering.back();
    lingering.pop_back();
  }
}

static void finalize_view(napi_env env, void *data, void *hint) {
  {
    std::lock_guard<std::mutex> guard(lingering_lock);
    lingering.push_back((view_hold *)data);
  }
  let_go_of_lingering();
}

static napi_value shm_view(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  size_t argc = 3;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3)
    return ipcgen_throw_type_error(env, "shmView: expected (handle, byteOffset, length)");
  ipcgen_mapping *m = ipcgen_arg_mapping(env, argv[0], "shmView");
  if (m == NULL) return NULL;
  double offset, length;
  if (napi_get_value_double(env, argv[1], &offset) != napi_ok || napi_get_value_double(env, argv[2], &length) != napi_ok)
    return ipcgen_throw_type_error(env, "shmView: byteOffset and length must be numbers");
  /* Integers, inside the mapping, without overflow: the doubles are compared before any conversion. */
  if (!(offset >= 0 && length >= 0 && offset == (double)(size_t)offset && length == (double)(size_t)length &&
        offset <= (double)m->size && length <= (double)m->size - offset))
    return ipcgen_throw_range_error(env, "shmView: %g bytes at %g do not lie within the mapping's %zu bytes", length, offset, m->size);
  let_go_of_lingering();

  v8::Isolate *isolate = v8::Isolate::GetCurrent();
  std::shared_ptr<v8::BackingStore> store =
      v8::ArrayBuffer::NewBackingStore((char *)m->addr + (size_t)offset, (size_t)length, v8::BackingStore::EmptyDeleter, nullptr);
  view_hold *hold = new view_hold{m, store};
  v8::Local<v8::ArrayBuffer> view = v8::ArrayBuffer::New(isolate, std::move(store));
  napi_value result = reinterpret_cast<napi_value>(*view);
  ipcgen_mapping_ref(m);
  napi_status status = napi_add_finalizer(env, result, hold, finalize_view, NULL, NULL);
  if (status != napi_ok) {
    ipcgen_mapping_unref(m);
    delete hold;
    return ipcgen_throw_napi(env, "shmView", status);
  }
  return result;
}

/* detach(arrayBuffer): empties an ArrayBuffer and every typed array over it, for good. */
static napi_value detach_js(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  bool is_ab = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab)
    return ipcgen_throw_type_error(env, "detach: expected an ArrayBuffer");
  napi_status status = napi_detach_arraybuffer(env, argv[0]);
  if (status != napi_ok) return ipcgen_throw_napi(env, "detach", status);
  return NULL;
}

/* The mapping behind a handle made by views(); throws and returns NULL for anything else. */
extern "C" ipcgen_mapping *ipcgen_arg_mapping(napi_env env, napi_value value, const char *fn) {
  napi_valuetype type;
  bool tagged = false;
  void *data = NULL;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external ||
      napi_check_object_type_tag(env, value, &MAPPING_TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, value, &data) != napi_ok)
    return ipcgen_throw_type_error(env, "%s: handle must be a mapping's handle", fn), (ipcgen_mapping *)NULL;
  return (ipcgen_mapping *)data;
}

extern "C" napi_status ipcgen_init_shm(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"shmView", NULL, shm_view, NULL, NULL, NULL, napi_default, NULL},
      {"detach", NULL, detach_js, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
