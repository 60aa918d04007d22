// Typed access to ipcgen's native addon (runtime/native/src/*.c). The addon is built at install time and
// may be missing (no compiler there), so it is loaded on first use: importing this module never throws,
// and the first call that needs the addon throws NativeAddonError saying what is missing.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Socket } from "node:net";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The process at the other end of a Unix socket, as the kernel recorded it when the socket connected. */
export interface PeerCredentials {
  /** 0 when the peer lives in a pid namespace this process cannot see. */
  pid: number;
  uid: number;
  gid: number;
}

/** A shared-memory object mapped into this process: two views of the same memory. */
export interface SharedMapping {
  /** Identifies the mapping to futexWake/futexWatch; the memory stays mapped while any view or watch lives. */
  readonly handle: object;
  /** For the control words: Atomics works on it. */
  readonly control: SharedArrayBuffer;
  /** For payload: copies into and out of a Buffer run at memcpy speed. */
  readonly data: Buffer;
  readonly size: number;
}

/** A thread waiting for a word to change; the callback runs on the event loop. */
export interface FutexWatch {
  close(): void;
}

/** What the compiled addon exports (runtime/native/src/). */
export interface NativeBinding {
  peerCredentials(fd: number): PeerCredentials;
  /** A new object (mode 0600; it must not exist) of `size` zero bytes, mapped. */
  shmCreate(name: string, size: number): SharedMapping;
  /** An existing object of this process's uid and exactly `size` bytes, mapped. */
  shmOpen(name: string, size: number): SharedMapping;
  /** Removes the name; mappings stay valid. */
  shmUnlink(name: string): void;
  /** An ArrayBuffer over `length` bytes at `byteOffset` of a mapping, which `detach` can empty. */
  shmView(handle: object, byteOffset: number, length: number): ArrayBuffer;
  /** Empties an ArrayBuffer (and every view of it) for good. */
  detach(buffer: ArrayBuffer): void;
  /** Wakes every thread, of any process, waiting on the 32-bit word at `byteOffset`; answers how many. */
  futexWake(handle: object, byteOffset: number): number;
  /** Calls `callback` on the event loop after the word at `byteOffset` changes (changes coalesce). */
  futexWatch(handle: object, byteOffset: number, callback: () => void): FutexWatch;
}

/** The native addon is missing or cannot be loaded. `missing` names the build tools that were not found. */
export class NativeAddonError extends Error {
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

/** runtime/native/, which holds binding.gyp and build/: this file's folder when run from source, and
 * ../../../runtime/native from dist/runtime/native/ (the package ships both). */
function nativeDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [here, resolve(here, "..", "..", "..", "runtime", "native")];
  return candidates.find((dir) => existsSync(join(dir, "binding.gyp"))) ?? here;
}

/** What install.mjs wrote about its last build, if it ran. */
interface InstallStatus {
  ok: boolean;
  missing?: string[];
  failed?: string;
  log?: string;
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
  if (status?.missing?.length) {
    return new NativeAddonError(
      `ipcgen's native addon is not built: ${status.missing.join("/")} not found; ${INSTALL_TOOLS}, then run ${REBUILD}`,
      { missing: status.missing },
    );
  }
  if (status && !status.ok) {
    const log = status.log ? `\n--- end of the build's output ---\n${status.log}` : "";
    return new NativeAddonError(
      `ipcgen's native addon failed to build (${status.failed ?? "node-gyp failed"}); fix the error below, then run ${REBUILD}${log}`,
    );
  }
  const missing = missingToolsNow();
  const why = missing.length > 0 ? `${missing.join("/")} not found; ${INSTALL_TOOLS}, then run` : "its install script did not run (e.g. npm install --ignore-scripts): run";
  return new NativeAddonError(`ipcgen's native addon is not built (no ${join(dir, "build", "Release", ADDON)}): ${why} ${REBUILD}`, { missing });
}

let binding: NativeBinding | undefined;

/** The compiled addon, loaded on the first call; throws NativeAddonError when it is missing or broken.
 * A failure is not remembered, so a later call picks up an addon built in the meantime. */
export function loadNativeAddon(): NativeBinding {
  if (binding) return binding;
  const dir = nativeDir();
  const file = join(dir, "build", "Release", ADDON);
  if (!existsSync(file)) throw notBuiltError(dir);
  try {
    binding = createRequire(import.meta.url)(file) as NativeBinding;
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new NativeAddonError(`ipcgen's native addon at ${file} could not be loaded (${why}); rebuild it: ${REBUILD}`, { cause });
  }
  return binding;
}

/** The descriptor under a connected net.Socket. Node keeps it on the private libuv handle (`_handle.fd`);
 * it is -1 or absent while connecting, after close, and for sockets not backed by a descriptor. */
function socketFd(socket: Socket, fn: string): number {
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
