// Typed access to ipcgen's native addon (runtime/native/src/*.c). The package ships a prebuilt binary for
// linux-x64 (prebuilds/), and elsewhere the addon is built at install time (install.mjs), so it may be
// missing (no compiler there): it is loaded on first use, importing this module never throws, and the first
// call that needs the addon throws NativeAddonError saying what is missing.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Socket } from "node:net";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { IpcgenError } from "../errors.js";

/** The process at the other end of a Unix socket, as the kernel recorded it when the socket connected. */
export interface PeerCredentials {
  /** 0 when the peer lives in a pid namespace this process cannot see. */
  pid: number;
  uid: number;
  gid: number;
}

/** A shared-memory object mapped into this process: two views of the same memory. */
export interface SharedMapping {
  /** Identifies the mapping to shmView; the memory stays mapped while the handle or any view lives. */
  readonly handle: object;
  /** For the control words: Atomics works on it. */
  readonly control: SharedArrayBuffer;
  /** For payload: copies into and out of a Buffer run at memcpy speed. */
  readonly data: Buffer;
  readonly size: number;
}

/** A watch of a doorbell's end (doorbellWatch): the callback runs on the event loop until close(). */
export interface DoorbellWatch {
  /** Stops the watch at once: no callback runs after close() returns. Safe to call twice, and from
   * inside the callback. */
  close(): void;
}

/** The F_SEAL_* values of memfdCreate's `seals` mask (fcntl(2)). */
export interface SealValues {
  /** No more seals can be added (F_SEAL_SEAL). */
  readonly SEAL: number;
  /** The object cannot shrink (F_SEAL_SHRINK): without it a peer can make this side's reads die of SIGBUS. */
  readonly SHRINK: number;
  /** The object cannot grow (F_SEAL_GROW). */
  readonly GROW: number;
  /** The contents cannot change (F_SEAL_WRITE); a receiver cannot map such an object and refuses it. */
  readonly WRITE: number;
}

/** What the compiled addon exports (runtime/native/src/). */
export interface NativeBinding {
  peerCredentials(fd: number): PeerCredentials;
  /** An ArrayBuffer over `length` bytes at `byteOffset` of a mapping, which `detach` can empty. */
  shmView(handle: object, byteOffset: number, length: number): ArrayBuffer;
  /** Empties an ArrayBuffer (and every view of it) for good. */
  detach(buffer: ArrayBuffer): void;

  /** The F_SEAL_* values, for memfdCreate's `seals`. */
  readonly SEALS: SealValues;
  /**
   * New anonymous shared memory of `size` zero bytes (1 to 2^40): memfd_create("ipcgen", MFD_CLOEXEC |
   * MFD_ALLOW_SEALING), sized, sealed with `seals` (default SHRINK | GROW | SEAL), mapped read/write shared.
   * `fd` stays open: the caller passes it (fdSend) and then closes it (closeFd). `seals` is for tests that
   * need a hostile object (unsealed, or sealed without SHRINK); with WRITE the kernel refuses a shared
   * writable mapping, so that object is mapped privately (this process's writes stay its own).
   */
  memfdCreate(size: number, seals?: number): { mapping: SharedMapping; fd: number };
  /**
   * Maps a descriptor received from a peer, whole, after checking that it is a memfd (F_GET_SEALS works;
   * on shmem, not hugetlbfs) sealed with SHRINK and SEAL and not WRITE/FUTURE_WRITE, open read/write, and a
   * regular file of exactly `size` bytes. Always closes `fd`, mapped or refused (except a number that is not
   * an open descriptor, which it leaves alone). A refusal throws an Error with code
   * "ERR_IPCGEN_BAD_DESCRIPTOR" and a message naming the failed check ("is not a sealable memfd", "is not
   * sealed against shrinking", "holds N bytes, not the M expected", ...).
   */
  memfdMap(fd: number, size: number): SharedMapping;
  /**
   * A new doorbell pair: the two connected ends of a Unix datagram socket pair (SOCK_CLOEXEC |
   * SOCK_NONBLOCK). Keep one, pass the other to the peer (fdSend), then close this side's copy of it. Each
   * end is its own open file description, so the peer cannot change this end's flags (an eventfd shared
   * with it could be made to block this side's ring).
   */
  doorbellPair(): [number, number];
  /**
   * Throws an Error with code "ERR_IPCGEN_BAD_DESCRIPTOR" unless `fd` is a doorbell's end: a Unix
   * (SO_DOMAIN) datagram (SO_TYPE) socket connected (getpeername) to an unnamed socket, as doorbellPair's
   * ends are. Check every doorbell a peer sends before using it.
   */
  doorbellCheck(fd: number): void;
  /**
   * One datagram to the other end (send with MSG_DONTWAIT | MSG_NOSIGNAL): never waits, whatever the
   * descriptor's flags. A full queue (EAGAIN, ENOBUFS: the other end has a wake-up pending anyway) and an
   * other end that is closed or disconnected (ECONNREFUSED, ENOTCONN, EPIPE, ECONNRESET) are ignored.
   * Does not check that `fd` is a doorbell: doorbellCheck the peer's descriptor once, on receipt.
   */
  doorbellRing(fd: number): void;
  /**
   * Calls `callback` on the event loop whenever the other end rang, after draining the datagrams (at most
   * 256 per turn of the loop, so that a flooding peer cannot hold it; the rest come on the next turn), so
   * that rings made in the meantime coalesce into one call. A libuv poll handle on the main loop, not a
   * thread; it does not keep the process alive. The watch polls its own duplicate of `fd` (refused with
   * ERR_IPCGEN_BAD_DESCRIPTOR unless doorbellCheck passes), and does not close `fd`: its owner does, after
   * close(). Closing `fd` first does not crash or mislead the watch (it keeps watching the socket through
   * its duplicate), but the contract is: close the watch first. A watch dropped without close() stops when
   * it is garbage-collected. A throw from the callback is an uncaught exception, as from a timer.
   */
  doorbellWatch(fd: number, callback: () => void): DoorbellWatch;
  /** close(2); a descriptor that is not open throws EBADF. */
  closeFd(fd: number): void;
  /**
   * A new Unix stream socket (SOCK_CLOEXEC | SOCK_NONBLOCK) connected to `path`. Never waits: a listener
   * with a full backlog throws EAGAIN. Errors as Node's (code ECONNREFUSED, ENOENT, ...; `address`).
   */
  fdChannelConnect(path: string): number;
  /**
   * A duplicate of a descriptor (F_DUPFD_CLOEXEC), set O_NONBLOCK: keeps a connection that a net.Socket
   * held (`socket._handle.fd`) after that socket is destroyed.
   */
  dupFd(fd: number): number;
  /**
   * One sendmsg (MSG_DONTWAIT | MSG_NOSIGNAL) of `bytes` (1 to 65536 of them) with `fds` (0 to 16) as one
   * SCM_RIGHTS message; the descriptors stay open here (close them after). All bytes go, or it throws: the
   * errno's name as `code` (EAGAIN when the peer's buffer is full, EPIPE, ...), or "ERR_IPCGEN_PARTIAL_SEND"
   * (with `sent`) when only part went, after which the stream is out of step and must be closed.
   */
  fdSend(channel: number, bytes: Uint8Array, fds: readonly number[]): void;
  /**
   * One recvmsg (MSG_DONTWAIT | MSG_CMSG_CLOEXEC) of at most `maxBytes` (1 to 16 MiB) bytes and `maxFds` (0
   * to 253) descriptors. null when nothing is waiting (EAGAIN); `bytes.length` 0 at the end of the stream.
   * More descriptors than `maxFds`, or a control message the kernel cut short (MSG_CTRUNC): every
   * descriptor received is closed and it throws code "ERR_IPCGEN_TOO_MANY_FDS". Control messages other
   * than SCM_RIGHTS are ignored. One call may return the bytes of several sends, but not past the end of
   * a send that carried descriptors, and it returns those descriptors with that send's first bytes: they
   * come in the order sent, never after their bytes.
   */
  fdRecv(channel: number, maxBytes: number, maxFds: number): { bytes: Buffer; fds: number[] } | null;
}

/** The native addon is missing or cannot be loaded. `missing` names the build tools that were not found. */
export class NativeAddonError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_NATIVE_ADDON";
  override readonly code = NativeAddonError.code;
  override name = "NativeAddonError";
  readonly missing: readonly string[];

  constructor(message: string, options: { missing?: readonly string[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.missing = options.missing ?? [];
  }
}

const ADDON = "ipcgen_native.node";
const REBUILD = "npm rebuild ipcgen (in ipcgen's own checkout: npm run build:native)";
const INSTALL_TOOLS = "install build-essential and python3 (Debian/Ubuntu: apt-get install build-essential python3)";

/** runtime/native/, which holds binding.gyp, build/ and prebuilds/: this file's folder when run from source,
 * and ../../../runtime/native from dist/runtime/native/ (the package ships both). */
function nativeDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [here, resolve(here, "..", "..", "..", "runtime", "native")];
  return candidates.find((dir) => existsSync(join(dir, "binding.gyp"))) ?? here;
}

/** The addon to load: a build from source in build/Release (so that a developer's rebuild wins), else the
 * prebuilt binary for this platform in prebuilds/<platform>-<arch>/ (prebuild.mjs makes it when the package
 * is packed), chosen by node-gyp-build's rules (platform, arch, libc, N-API); undefined when neither exists. */
function addonFile(dir: string): string | undefined {
  const local = join(dir, "build", "Release", ADDON);
  if (existsSync(local)) return local;
  try {
    const gypBuild = createRequire(import.meta.url)("node-gyp-build") as { path(dir: string): string };
    return gypBuild.path(dir);
  } catch {
    return undefined; // "No native build was found for platform=... arch=..."
  }
}

/** What install.mjs wrote about its last run, if it ran. */
interface InstallStatus {
  ok: boolean;
  missing?: string[];
  failed?: string;
  log?: string;
  /** The prebuilt binary it used, or why it used none (e.g. "there is no prebuilt binary for linux-arm64"). */
  prebuilt?: string;
}

function readInstallStatus(file: string): InstallStatus | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as InstallStatus;
  } catch {
    return undefined;
  }
}

/** The build tools not on PATH now, for when install.mjs left no record (e.g. npm install --ignore-scripts). */
function missingToolsNow(): string[] {
  const onPath = (name: string) =>
    (process.env.PATH ?? "").split(delimiter).some((dir) => dir !== "" && existsSync(join(dir, name)));
  return ["cc", "g++", "make", "python3"].filter((tool) => !onPath(tool));
}

function notBuiltError(dir: string): NativeAddonError {
  const status = readInstallStatus(join(dir, "build", "ipcgen-install.json"));
  const noPrebuilt = status && !status.ok && status.prebuilt ? ` (${status.prebuilt})` : "";
  if (status?.missing?.length) {
    return new NativeAddonError(
      `ipcgen's native addon is not built${noPrebuilt}: ${status.missing.join("/")} not found; ${INSTALL_TOOLS}, then run ${REBUILD}`,
      { missing: status.missing },
    );
  }
  if (status && !status.ok) {
    const log = status.log ? `\n--- end of the build's output ---\n${status.log}` : "";
    return new NativeAddonError(
      `ipcgen's native addon failed to build${noPrebuilt} (${status.failed ?? "node-gyp failed"}); fix the error below, then run ${REBUILD}${log}`,
    );
  }
  const missing = missingToolsNow();
  const why = missing.length > 0 ? `${missing.join("/")} not found; ${INSTALL_TOOLS}, then run` : "its install script did not run (e.g. npm install --ignore-scripts): run";
  const none = `no ${join(dir, "build", "Release", ADDON)}, and no prebuilt binary for ${process.platform}-${process.arch} in ${join(dir, "prebuilds")}`;
  return new NativeAddonError(`ipcgen's native addon is not built (${none}): ${why} ${REBUILD}`, { missing });
}

let binding: NativeBinding | undefined;

/** Names another build of the addon to load instead of build/Release's (an absolute path): the sanitizer
 * build of `npm run test:sanitize`. `off` (or `none`) turns the addon off: the runtime then runs as on a
 * platform without it (docs/platforms.md). Read on every call, so a process may turn it off and on. */
export const NATIVE_ADDON_ENV = "IPCGEN_NATIVE_ADDON";

/** The values of IPCGEN_NATIVE_ADDON that turn the addon off. */
const OFF = new Set(["off", "none"]);

/** The compiled addon, loaded on the first call; throws NativeAddonError when it is missing or broken,
 * turned off (IPCGEN_NATIVE_ADDON=off), or on another platform than Linux (memfds, SO_PEERCRED).
 * A failure is not remembered, so a later call picks up an addon built in the meantime. */
export function loadNativeAddon(): NativeBinding {
  const setting = process.env[NATIVE_ADDON_ENV];
  if (setting !== undefined && OFF.has(setting.trim().toLowerCase())) {
    throw new NativeAddonError(`ipcgen's native addon is disabled (${NATIVE_ADDON_ENV}=${setting})`);
  }
  if (process.platform !== "linux") {
    throw new NativeAddonError(`ipcgen's native addon is Linux-only (memfds, SO_PEERCRED); this is ${process.platform}`);
  }
  if (binding) return binding;
  const dir = nativeDir();
  const override = process.env[NATIVE_ADDON_ENV];
  const file = override || addonFile(dir) || join(dir, "build", "Release", ADDON);
  if (override && !existsSync(override)) {
    throw new NativeAddonError(`ipcgen's native addon is not at ${override}, which ${NATIVE_ADDON_ENV} names`);
  }
  if (!existsSync(file)) throw notBuiltError(dir);
  try {
    binding = createRequire(import.meta.url)(file) as NativeBinding;
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new NativeAddonError(`ipcgen's native addon at ${file} could not be loaded (${why}); rebuild it: ${REBUILD}`, { cause });
  }
  return binding;
}

/** Whether the addon can be used here (loading it if need be): false when it is turned off, on another
 * platform than Linux, or not built. `loadNativeAddon()`'s NativeAddonError says why. */
export function nativeAddonAvailable(): boolean {
  try {
    loadNativeAddon();
    return true;
  } catch (err) {
    if (err instanceof NativeAddonError) return false;
    throw err;
  }
}

/** The descriptor under a connected net.Socket. Node keeps it on the private libuv handle (`_handle.fd`);
 * it is -1 or absent while connecting, after close, and for sockets not backed by a descriptor. */
export function socketFd(socket: Socket, fn: string): number {
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  if (typeof fd === "number" && fd >= 0) return fd;
  const state = socket.destroyed ? "it is destroyed" : socket.connecting ? "it is still connecting" : "it is not connected, or has no descriptor of its own";
  throw Object.assign(new Error(`${fn}: the socket has no file descriptor: ${state}`), { code: "ERR_IPCGEN_SOCKET_NO_FD" });
}

/**
 * The pid, uid and gid of the process at the other end of a connected Unix socket (Linux SO_PEERCRED),
 * given the socket or its file descriptor. The kernel recorded them at connect time; the peer cannot forge
 * them. Throws an error with the errno's name as `code` for a closed descriptor (EBADF), a descriptor that
 * is not a socket (ENOTSOCK), a socket that is not a Unix socket (EAFNOSUPPORT; Linux would report pid 0
 * and uid/gid 4294967295 there) or one with no peer (ENOTCONN), and NativeAddonError if the addon is not built.
 */
export function peerCredentials(socket: Socket | number): PeerCredentials {
  let fd: number;
  if (typeof socket === "number") fd = socket;
  else if (socket instanceof Socket) fd = socketFd(socket, "peerCredentials");
  else throw new TypeError(`peerCredentials: expected a net.Socket or a file descriptor, got ${socket === null ? "null" : typeof socket}`);
  return loadNativeAddon().peerCredentials(fd);
}
