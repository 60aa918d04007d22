/**
 * The errors the runtime gives callers, by name. Every one extends `IpcgenError` and has a stable `code`
 * (`"ERR_IPCGEN_..."`, one per class, also on the class: `TimeoutError.code`), as Node's own errors do; the
 * message is for people and may change. A session's end is reported once, as a `SessionEndedError` with a
 * `cause`; every pending and later call on the session rejects with that same error.
 *
 * This module imports no other runtime module: every layer may import it. The classes of the layers below
 * the session (`MessageDecodeError`, `FrameError`, ...) live in their own modules and extend `IpcgenError`
 * from here. Wrong arguments (a value of the wrong type, a size out of range) throw `TypeError` or
 * `RangeError`, as JavaScript's own functions do.
 */

/** The `code` of each error class, one per class (docs/runtime.md, "Errors", lists them). */
export type IpcgenErrorCode =
  | "ERR_IPCGEN_SESSION_ENDED"
  | "ERR_IPCGEN_TIMEOUT"
  | "ERR_IPCGEN_CANCELLED"
  | "ERR_IPCGEN_LOGIN"
  | "ERR_IPCGEN_CONNECT"
  | "ERR_IPCGEN_ADDRESS_IN_USE"
  | "ERR_IPCGEN_SOCKET_PATH"
  | "ERR_IPCGEN_REMOTE"
  | "ERR_IPCGEN_MESSAGE_TOO_LARGE"
  | "ERR_IPCGEN_BACKPRESSURE"
  | "ERR_IPCGEN_POOL_BLOCK"
  | "ERR_IPCGEN_CHANNEL_CLOSED"
  | "ERR_IPCGEN_NO_SESSION"
  | "ERR_IPCGEN_SHARED_MEMORY_UNAVAILABLE"
  | "ERR_IPCGEN_APPLICATION"
  | "ERR_IPCGEN_REQUEST_FAILURE"
  | "ERR_IPCGEN_MESSAGE_DECODE"
  | "ERR_IPCGEN_RUNTIME_API"
  | "ERR_IPCGEN_FRAME"
  | "ERR_IPCGEN_DESCRIPTOR_CHANNEL"
  | "ERR_IPCGEN_PACKET_STREAM"
  | "ERR_IPCGEN_NATIVE_ADDON";

/**
 * The base of every error ipcgen's runtime throws on purpose: `err instanceof IpcgenError` tells them from
 * other errors, and `err.code` which one it is. `name` is the class's name. Not thrown itself.
 */
export abstract class IpcgenError extends Error {
  abstract readonly code: IpcgenErrorCode;
  abstract override name: string;
}

/** Why a session ended. */
export type EndCause =
  | "closed-locally"
  | "closed-by-peer"
  | "peer-died"
  | "keep-alive-timeout"
  | "protocol-violation"
  | "refused";

/** The session ended (see `EndCause`): the error every pending and later call on it rejects with. */
export class SessionEndedError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_SESSION_ENDED";
  override readonly code = SessionEndedError.code;
  override name = "SessionEndedError";
  constructor(
    override readonly cause: EndCause,
    message: string,
  ) {
    super(message);
  }
}

/** A call or channel open that did not complete in time. Not fatal: the session goes on. */
export class TimeoutError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_TIMEOUT";
  override readonly code = TimeoutError.code;
  override name = "TimeoutError";
}

/** A call the caller cancelled (its AbortSignal fired). Not fatal. */
export class CancelledError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_CANCELLED";
  override readonly code = CancelledError.code;
  override name = "CancelledError";
}

/**
 * Log-in refused: wrong protocol version, another service or build of it, a peer the policy does not allow,
 * or ("rejected") another reason the message gives, such as a server at its session limit. On the client
 * side, "server-not-trusted": the process behind the socket runs as a user the client does not trust
 * (`ConnectOptions.allowServer`), so nothing was sent to it.
 */
export class LoginError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_LOGIN";
  override readonly code = LoginError.code;
  override name = "LoginError";
  constructor(
    readonly kind: "version-mismatch" | "service-mismatch" | "not-allowed" | "rejected" | "server-not-trusted",
    message: string,
  ) {
    super(message);
  }
}

/**
 * No server listens on the path (or none answered in the time the caller allowed), or the connection or
 * the session's set-up failed (the message says how).
 */
export class ConnectError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_CONNECT";
  override readonly code = ConnectError.code;
  override name = "ConnectError";
}

/** `listen` on a path that a live server owns. */
export class AddressInUseError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_ADDRESS_IN_USE";
  override readonly code = AddressInUseError.code;
  override name = "AddressInUseError";
}

/**
 * `listen` on a path it will not put a socket at: "unsafe-directory", a directory on the way that another
 * user could replace the socket in (see docs/runtime.md, "Log-in"); "too-long", a path longer than a Unix
 * socket address holds.
 */
export class SocketPathError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_SOCKET_PATH";
  override readonly code = SocketPathError.code;
  override name = "SocketPathError";
  constructor(
    readonly reason: "unsafe-directory" | "too-long",
    message: string,
  ) {
    super(message);
  }
}

/**
 * A request that failed on the other side. `kind` says how; for an `application` error, `errorName` is the
 * error's name in its schema (`"Chat.NotJoined"`: what crosses the wire) and `data` its encoded data, if
 * any. A method's stub turns the errors its schema declares into their own classes
 * (subclasses of `ApplicationError`); a `RemoteError` of kind "application" is one it does not declare.
 */
export class RemoteError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_REMOTE";
  override readonly code = RemoteError.code;
  override name = "RemoteError";
  constructor(
    readonly kind: "application" | "internal" | "unknown-method" | "malformed" | "cancelled" | "rejected",
    readonly errorName: string,
    message: string,
    readonly data: Uint8Array | null = null,
  ) {
    super(message);
  }
}

/**
 * A message larger than the peer reads (the `maxFrameBytes` it said at log-in): refused before it is sent,
 * and the session goes on. Large Data values fit in any size through zero-copy messages.
 */
export class MessageTooLargeError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_MESSAGE_TOO_LARGE";
  override readonly code = MessageTooLargeError.code;
  override name = "MessageTooLargeError";
}

/** Sending would queue more than the session's limit and the caller asked not to wait. */
export class BackpressureError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_BACKPRESSURE";
  override readonly code = BackpressureError.code;
  override name = "BackpressureError";
}

/**
 * A zero-copy message block (`PoolBlock`) used against its rules: touched while a message holding it is in
 * the peer's hands, after it was freed, or through a view taken before it was last sent.
 */
export class PoolBlockError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_POOL_BLOCK";
  override readonly code = PoolBlockError.code;
  override name = "PoolBlockError";
  constructor(
    readonly reason: "in-flight" | "freed" | "stale-view",
    message: string,
  ) {
    super(message);
  }
}

/** A call on a channel that either side has closed (the session goes on). */
export class ChannelClosedError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_CHANNEL_CLOSED";
  override readonly code = ChannelClosedError.code;
  override name = "ChannelClosedError";
}

/**
 * Something only a session of ipcgen's local protocol has (its shared buffer, packet streams, zero-copy
 * blocks, channels, credentials), asked of a capability that is carried otherwise (an in-process pair,
 * `rpc/in-process.ts`). Calls, one-way messages and signals work over every carrier.
 */
export class NoSessionError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_NO_SESSION";
  override readonly code = NoSessionError.code;
  override name = "NoSessionError";
}

/**
 * Shared memory (a session's shared buffer, its packet streams) that this session does not have, because
 * one of its ends cannot share memory: it runs without ipcgen's native addon (another platform than Linux,
 * an addon not built, or `IPCGEN_NATIVE_ADDON=off`). The session itself works: calls, signals and channels
 * go over its socket, and so do large messages (zero-copy is off). `side` says which end lacks it: "local",
 * this process; "peer", the other end (which negotiated it down at log-in).
 */
export class SharedMemoryUnavailableError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_SHARED_MEMORY_UNAVAILABLE";
  override readonly code = SharedMemoryUnavailableError.code;
  override name = "SharedMemoryUnavailableError";
  constructor(
    readonly side: "local" | "peer",
    message: string,
  ) {
    super(message);
  }
}
