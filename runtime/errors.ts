/**
 * The errors the runtime gives callers, by name. A session's end is reported once, as a `SessionEndedError`
 * with a `cause`; every pending and later call on the session rejects with that same error.
 */

/** Why a session ended. */
export type EndCause =
  | "closed-locally"
  | "closed-by-peer"
  | "peer-died"
  | "keep-alive-timeout"
  | "protocol-violation"
  | "refused";

export class SessionEndedError extends Error {
  override name = "SessionEndedError";
  constructor(
    override readonly cause: EndCause,
    message: string,
  ) {
    super(message);
  }
}

/** A call or channel open that did not complete in time. Not fatal: the session goes on. */
export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/** A call the caller cancelled (its AbortSignal fired). Not fatal. */
export class CancelledError extends Error {
  override name = "CancelledError";
}

/**
 * Log-in refused: wrong protocol version, another service or build of it, a peer the policy does not allow,
 * or ("rejected") another reason the message gives, such as a server at its session limit. On the client
 * side, "server-not-trusted": the process behind the socket runs as a user the client does not trust
 * (`ConnectOptions.allowServer`), so nothing was sent to it.
 */
export class LoginError extends Error {
  override name = "LoginError";
  constructor(
    readonly kind: "version-mismatch" | "service-mismatch" | "not-allowed" | "rejected" | "server-not-trusted",
    message: string,
  ) {
    super(message);
  }
}

/** No server listens on the path (or none answered in the time the caller allowed). */
export class ConnectError extends Error {
  override name = "ConnectError";
}

/** `listen` on a path that a live server owns. */
export class AddressInUseError extends Error {
  override name = "AddressInUseError";
}

/**
 * `listen` on a path it will not put a socket at: "unsafe-directory", a directory on the way that another
 * user could replace the socket in (see docs/runtime.md, "Log-in"); "too-long", a path longer than a Unix
 * socket address holds.
 */
export class SocketPathError extends Error {
  override name = "SocketPathError";
  constructor(
    readonly reason: "unsafe-directory" | "too-long",
    message: string,
  ) {
    super(message);
  }
}

/**
 * A request that failed on the other side. `kind` says how; for an `application` error, `code` is the
 * error's schema name and `data` its encoded data, if any.
 */
export class RemoteError extends Error {
  override name = "RemoteError";
  constructor(
    readonly kind: "application" | "internal" | "unknown-method" | "malformed" | "cancelled" | "rejected",
    readonly code: string,
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
export class MessageTooLargeError extends Error {
  override name = "MessageTooLargeError";
}

/** Sending would queue more than the session's limit and the caller asked not to wait. */
export class BackpressureError extends Error {
  override name = "BackpressureError";
}

/**
 * A zero-copy message block (`PoolBlock`) used against its rules: touched while a message holding it is in
 * the peer's hands, after it was freed, or through a view taken before it was last sent.
 */
export class PoolBlockError extends Error {
  override name = "PoolBlockError";
  constructor(
    readonly reason: "in-flight" | "freed" | "stale-view",
    message: string,
  ) {
    super(message);
  }
}

/** A call on a channel that either side has closed (the session goes on). */
export class ChannelClosedError extends Error {
  override name = "ChannelClosedError";
}

/**
 * Shared memory (a session's shared buffer, its packet streams) that this session does not have, because
 * one of its ends cannot share memory: it runs without ipcgen's native addon (another platform than Linux,
 * an addon not built, or `IPCGEN_NATIVE_ADDON=off`). The session itself works: calls, signals and channels
 * go over its socket, and so do large messages (zero-copy is off). `side` says which end lacks it: "local",
 * this process; "peer", the other end (which negotiated it down at log-in).
 */
export class SharedMemoryUnavailableError extends Error {
  override name = "SharedMemoryUnavailableError";
  constructor(
    readonly side: "local" | "peer",
    message: string,
  ) {
    super(message);
  }
}
