/* Shared memory without names: an anonymous memfd, sealed so that no process holding it can shrink it
 * (a shrunk object would make the other side's accesses die of SIGBUS), passed to the peer over a Unix
 * socket (fdpass.c). The receiver maps it only after checking the seals and the size, since the peer may
 * send anything. The views are shm.cc's, so shmView/detach work on these mappings as on the named ones. */
#define _GNU_SOURCE /* memfd_create, F_ADD_SEALS */
#include "ipcgen_native.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <math.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010 /* Linux 5.1 */
#endif

#define ALL_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
#define DEFAULT_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

static bool arg_seals(napi_env env, napi_value value, const char *fn, int *out) {
  napi_valuetype type;
  double d;
  if (napi_typeof(env, value, &type) != napi_ok) return ipcgen_throw_napi(env, fn, napi_generic_failure), false;
  if (type == napi_undefined) {
    *out = DEFAULT_SEALS;
    return true;
  }
  if (type != napi_number || napi_get_value_double(env, value, &d) != napi_ok)
    return ipcgen_throw_type_error(env, "%s: seals must be a number (a mask of SEALS values)", fn), false;
  if (!(d >= 0 && d <= ALL_SEALS && d == floor(d)) || ((int)d & ~ALL_SEALS) != 0)
    return ipcgen_throw_range_error(env, "%s: seals must be a mask of SEALS values, got %g", fn, d), false;
  *out = (int)d;
  return true;
}

/* memfdCreate(size, seals?): { mapping, fd }. */
static napi_value memfd_create_js(napi_env env, napi_callback_info info) {
  static const char *const fn = "memfdCreate";
  napi_value argv[2], result, fd_value;
  size_t argc = 2;
  size_t size;
  int seals;
  napi_status status;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1)
    return ipcgen_throw_type_error(env, "%s: expected (size, seals?)", fn);
  if (argc < 2) napi_get_undefined(env, &argv[1]);
  if (!ipcgen_arg_size(env, argv[0], fn, &size) || !arg_seals(env, argv[1], fn, &seals)) return NULL;

  int fd = memfd_create("ipcgen", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return ipcgen_throw_errno(env, errno, "memfd_create", "%s: cannot create a memfd", fn);
  if (ftruncate(fd, (off_t)size) != 0) {
    int err = errno;
    close(fd);
    return ipcgen_throw_errno(env, err, "ftruncate", "%s: cannot size a memfd to %zu bytes", fn, size);
  }
  /* Sealed before mapping: F_SEAL_WRITE cannot be added while a shared writable mapping exists, and a
   * write-sealed object cannot be mapped shared and writable, so (for tests of a receiver's refusal only)
   * such an object is mapped privately: this process's writes stay its own. */
  if (seals != 0 && fcntl(fd, F_ADD_SEALS, seals) != 0) {
    int err = errno;
    close(fd);
    return ipcgen_throw_errno(env, err, "fcntl", "%s: cannot seal a memfd", fn);
  }
  napi_value mapping = ipcgen_map_views(env, fd, size, (seals & F_SEAL_WRITE) ? MAP_PRIVATE : MAP_SHARED, fn, "a new memfd");
  if (mapping == NULL) {
    close(fd);
    return NULL;
  }
  if ((status = napi_create_object(env, &result)) != napi_ok || (status = napi_create_int32(env, fd, &fd_value)) != napi_ok ||
      (status = napi_set_named_property(env, result, "mapping", mapping)) != napi_ok ||
      (status = napi_set_named_property(env, result, "fd", fd_value)) != napi_ok) {
    close(fd);
    return ipcgen_throw_napi(env, fn, status);
  }
  return result;
}

/* Closes fd and throws ERR_IPCGEN_BAD_DESCRIPTOR: "memfdMap: fd N <why>". */
static napi_value refuse(napi_env env, int fd, const char *why) {
  close(fd);
  return ipcgen_throw_code(env, IPCGEN_BAD_DESCRIPTOR, "memfdMap: fd %d %s", fd, why);
}

/* memfdMap(fd, size): the mapping of a peer's memfd, after the checks; fd is closed in every case. */
static napi_value memfd_map(napi_env env, napi_callback_info info) {
  static const char *const fn = "memfdMap";
  napi_value argv[2];
  size_t argc = 2;
  size_t size;
  int fd;
  char why[160];
  if (!ipcgen_arg_fd(env, info, fn, 0, &fd)) return NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    close(fd);
    return ipcgen_throw_type_error(env, "%s: expected (fd, size)", fn);
  }
  if (!ipcgen_arg_size(env, argv[1], fn, &size)) {
    close(fd);
    return NULL;
  }

  int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0) {
    /* Not closed: the number is free, and another thread may be about to reuse it. */
    if (errno == EBADF) return ipcgen_throw_code(env, IPCGEN_BAD_DESCRIPTOR, "%s: fd %d is not an open file descriptor", fn, fd);
    return refuse(env, fd, "is not a sealable memfd");
  }
  /* Without F_SEAL_SHRINK the peer can shrink it under our feet; without F_SEAL_SEAL it can still add
   * F_SEAL_WRITE (harmless to us, but the peer is not playing by the rules) or, on future kernels, more. */
  if (!(seals & F_SEAL_SHRINK)) return refuse(env, fd, "is not sealed against shrinking");
  if (!(seals & F_SEAL_SEAL)) return refuse(env, fd, "is not sealed against further sealing (F_SEAL_SEAL)");
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return ipcgen_throw_errno(env, err, "fstat", "%s: cannot read the size of fd %d", fn, fd);
  }
  if (!S_ISREG(st.st_mode)) return refuse(env, fd, "is not a regular file");
  if ((size_t)st.st_size != size || st.st_size < 0) {
    snprintf(why, sizeof why, "holds %lld bytes, not the %zu expected", (long long)st.st_size, size);
    return refuse(env, fd, why);
  }
  /* A hugetlbfs memfd can be sealed too, but its pages come from a pool that can run dry. */
  struct statfs fs;
  if (fstatfs(fd, &fs) != 0) {
    int err = errno;
    close(fd);
    return ipcgen_throw_errno(env, err, "fstatfs", "%s: cannot read the file system of fd %d", fn, fd);
  }
  if (fs.f_type != TMPFS_MAGIC) return refuse(env, fd, "is not an ordinary (shmem) memfd");

  /* A write-sealed object, or a descriptor opened read-only (a reopening of /proc/PID/fd/N), cannot be
   * mapped shared and writable: the peer's doing, so refused like the rest. */
  if (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) return refuse(env, fd, "is sealed against writing");
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) {
    int err = errno;
    close(fd);
    return ipcgen_throw_errno(env, err, "fcntl", "%s: cannot read the flags of fd %d", fn, fd);
  }
  if ((flags & O_ACCMODE) != O_RDWR) return refuse(env, fd, "is not open for reading and writing");

  napi_value result = ipcgen_map_views(env, fd, size, MAP_SHARED, fn, "a peer's memfd");
  close(fd);
  return result;
}

static napi_value seal_constants(napi_env env) {
  napi_value seals;
  if (napi_create_object(env, &seals) != napi_ok || !ipcgen_set_int32(env, seals, "SEAL", F_SEAL_SEAL) ||
      !ipcgen_set_int32(env, seals, "SHRINK", F_SEAL_SHRINK) || !ipcgen_set_int32(env, seals, "GROW", F_SEAL_GROW) ||
      !ipcgen_set_int32(env, seals, "WRITE", F_SEAL_WRITE) || napi_object_freeze(env, seals) != napi_ok)
    return NULL;
  return seals;
}

napi_status ipcgen_init_memfd(napi_env env, napi_value exports) {
  napi_value seals = seal_constants(env);
  if (seals == NULL) return napi_generic_failure;
  napi_property_descriptor props[] = {
      {"memfdCreate", NULL, memfd_create_js, NULL, NULL, NULL, napi_default, NULL},
      {"memfdMap", NULL, memfd_map, NULL, NULL, NULL, napi_default, NULL},
      {"SEALS", NULL, NULL, NULL, NULL, seals, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
