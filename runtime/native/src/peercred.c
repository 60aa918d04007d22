/* peerCredentials(fd): the pid, uid and gid of the process at the other end of a connected Unix socket, as
 * the kernel recorded them at connect() (or socketpair()); the peer cannot forge them. Linux only. */
#define _GNU_SOURCE /* struct ucred */
#include "ipcgen_native.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>

static const char *const FN = "peerCredentials";

#if defined(__linux__) && defined(SO_PEERCRED)
static const char *family_name(int family) {
  switch (family) {
    case AF_INET: return "AF_INET (TCP/UDP over IPv4)";
    case AF_INET6: return "AF_INET6 (TCP/UDP over IPv6)";
    case AF_NETLINK: return "AF_NETLINK";
    case AF_PACKET: return "AF_PACKET";
    default: return NULL;
  }
}

static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  int fd;
  if (!ipcgen_arg_fd(env, info, FN, 0, &fd)) return NULL;

  /* Linux answers SO_PEERCRED on any socket: a TCP socket gets pid 0 and uid/gid (uid_t)-1 with no
   * error. Ask for the family first so that such a descriptor is refused instead of read as a peer. */
  int family = 0;
  socklen_t length = sizeof family;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &length) != 0)
    return ipcgen_throw_fd_errno(env, errno, FN, "getsockopt", fd, "Unix socket");
  if (family != AF_UNIX) {
    const char *name = family_name(family);
    if (name != NULL)
      return ipcgen_throw_errno(env, EAFNOSUPPORT, "getsockopt",
                                "%s: fd %d is an %s socket, not a Unix socket; only Unix sockets carry peer "
                                "credentials", FN, fd, name);
    return ipcgen_throw_errno(env, EAFNOSUPPORT, "getsockopt",
                              "%s: fd %d is a socket of address family %d, not a Unix socket; only Unix sockets "
                              "carry peer credentials", FN, fd, family);
  }

  struct ucred cred;
  length = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0)
    return ipcgen_throw_fd_errno(env, errno, FN, "getsockopt", fd, "Unix socket");
  /* An unconnected Unix socket has no recorded peer: the kernel reports uid and gid (uid_t)-1. (A pid of 0
   * with real ids is different: the peer lives in a pid namespace this process cannot see.) */
  if (cred.uid == (uid_t)-1 && cred.gid == (gid_t)-1)
    return ipcgen_throw_errno(env, ENOTCONN, "getsockopt",
                              "%s: fd %d is a Unix socket with no peer (not connected)", FN, fd);

  napi_value result;
  napi_status status = napi_create_object(env, &result);
  if (status != napi_ok) return ipcgen_throw_napi(env, FN, status);
  if (!ipcgen_set_int32(env, result, "pid", cred.pid) || !ipcgen_set_uint32(env, result, "uid", cred.uid) ||
      !ipcgen_set_uint32(env, result, "gid", cred.gid))
    return ipcgen_throw_napi(env, FN, napi_generic_failure);
  return result;
}
#else
static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  return ipcgen_throw_errno(env, ENOSYS, NULL, "%s: peer credentials are implemented only on Linux", FN);
}
#endif

napi_status ipcgen_init_peercred(napi_env env, napi_value exports) {
  napi_value fn;
  napi_status status = napi_create_function(env, FN, NAPI_AUTO_LENGTH, peer_credentials, NULL, &fn);
  if (status != napi_ok) return status;
  return napi_set_named_property(env, exports, FN, fn);
}
