/**
 * Where the native addon is unavailable (another platform than Linux, an addon not built, or
 * `IPCGEN_NATIVE_ADDON=off`), sessions still run over their socket, with what each end can do without it
 * (docs/platforms.md): a server reads no peer credentials and relies on its socket's file mode; a client
 * checks the owner of the socket file instead of the server process's uid; neither shares memory. This
 * says so once per process, and classifies addresses (Windows named pipes are no files).
 */
import { lstatSync } from "node:fs";
import { loadNativeAddon, NativeAddonError } from "../native/index.js";

/** The code of the warning a process gets, once, when a server or client of it runs without the addon. */
export const NO_NATIVE_ADDON_WARNING = "IPCGEN_NO_NATIVE_ADDON";

/** Why the native addon cannot be used here, or null when it can (loads it if need be). */
export function nativeAddonProblem(): NativeAddonError | null {
  try {
    loadNativeAddon();
    return null;
  } catch (err) {
    if (err instanceof NativeAddonError) return err;
    throw err;
  }
}

let warned = false;

/**
 * Says once per process (`process.emitWarning`, code IPCGEN_NO_NATIVE_ADDON) that this process's sessions
 * run without the native addon, why, and what that takes away.
 */
export function warnWithoutNativeAddon(problem: NativeAddonError): void {
  if (warned) return;
  warned = true;
  process.emitWarning(
    `${problem.message}. Sessions run over their sockets without it: servers cannot read peer credentials and admit whoever the socket's mode lets connect (server.credentials is "unavailable"), clients check the socket file's owner instead of the server process's uid, and there is no shared memory (shared buffers and packet streams throw SharedMemoryUnavailableError, zero-copy is off). See docs/platforms.md`,
    { code: NO_NATIVE_ADDON_WARNING },
  );
}

/**
 * Whether `path` names a Windows named pipe (`\\.\pipe\NAME` or `\\?\pipe\NAME`), which Node's `net`
 * listens on and connects to on Windows. Elsewhere every path is a Unix socket's (Node treats it so).
 */
export function isNamedPipe(path: string, platform: NodeJS.Platform = process.platform): boolean {
  return platform === "win32" && /^\\\\[.?]\\pipe\\[^\\]/i.test(path);
}

/** The socket file's owner, as the client checks it without the addon: null for a path that is no socket. */
export function socketFileOwner(path: string): { uid: number; gid: number; dev: number; ino: number } | null {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (stat === undefined || !stat.isSocket()) return null;
  return { uid: stat.uid, gid: stat.gid, dev: stat.dev, ino: stat.ino };
}
