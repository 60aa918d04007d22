/**
 * The server end: `listen` on a socket path, log clients in, hand each session to the application.
 *
 * Log-in checks, in this order: the peer's credentials as the kernel reports them, against the allow policy
 * (default: the server's own uid), as soon as the connection is accepted; then, from the hello, protocol
 * version, the service (interface id) and its schema fingerprint, and the session limit; then the server
 * picks a random token that every later frame must carry. Until then a connection costs little: its frames
 * are hello-sized, its time is bounded, and so is the number of such connections.
 */
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server as NetServer, type Socket } from "node:net";
import { dirname, join, resolve } from "node:path";
import { AddressInUseError, SocketPathError } from "../errors.js";
import { NativeAddonError } from "../native/index.js";
import { Failure, Failure_Kind, Header_Kind, Hello, protocolVersion, type Region, Welcome } from "../protocol/protocol.capnp.js";
import { encodeFrame, type Frame } from "../transport/frames.js";
import { DescriptorChannel } from "../transport/descriptor-channel.js";
import { Directory } from "./directory.js";
import { isNamedPipe, nativeAddonProblem, warnWithoutNativeAddon } from "./platform.js";
import { newSessionToken, type PeerCredentials, Session, type SessionOptions } from "./session.js";

/** What a client must ask for to be let in: the service's interface id and schema fingerprint. */
export interface ServiceIdentity {
  id: bigint;
  fingerprint: bigint;
  name?: string;
}

/** Who may connect at the socket level: the socket file's mode. */
export type Permissions = "user" | "group" | "anyone";
const MODES: Record<Permissions, number> = { user: 0o600, group: 0o660, anyone: 0o666 };

/** Reads the peer's credentials from a connected socket (the native addon's SO_PEERCRED). */
export type CredentialReader = (socket: Socket) => PeerCredentials;

export interface ServerOptions extends SessionOptions {
  service: ServiceIdentity;
  /** The socket file's mode. Default "user" (0600). */
  permissions?: Permissions;
  /**
   * Whether a peer may log in. Default: only processes running as this process's uid. Needs the peer's
   * credentials: without them (`credentials: "none"`, or no native addon) `listen` refuses an `allow`.
   */
  allow?: (peer: PeerCredentials) => boolean;
  /** A client that has not logged in after this long is dropped (also one stalled inside a frame). Default 5,000 ms. */
  loginTimeoutMs?: number;
  /** The largest frame read before log-in (a hello is well under 100 bytes). Default 4,096 bytes. */
  maxLoginFrameBytes?: number;
  /** Connections not logged in yet, past which new ones are closed at once (and reported). Default 64. */
  maxPendingLogins?: number;
  /** Sessions at once, past which log-in is refused ("rejected", saying so). Default 1,024. */
  maxSessions?: number;
  /** Each new session, once logged in. */
  onSession(session: Session): void;
  /** A connection refused or dropped before log-in, with why (for the server's log). */
  onRefused?(reason: string, peer: PeerCredentials | null): void;
  /**
   * How credentials are read; the native addon's by default. `"none"`: read none, and admit whoever the
   * socket's mode lets connect (no `allow`; sessions' `peer` is null, and they get no shared memory, whose
   * descriptor channel checks the peer's pid). Where the addon is unavailable that is what happens with
   * the default `permissions: "user"` (saying so once, see docs/platforms.md); with other permissions,
   * `listen` refuses unless `"none"` is passed.
   */
  credentials?: CredentialReader | "none";
  /**
   * The shared memory each session gets at log-in (the layer above makes it): called before the welcome,
   * which names the regions; their descriptors go once the client joins the descriptor channel.
   */
  attach?(session: Session): SessionRegions;
}

/** Shared memory made for one session: what the welcome tells the client, and what goes on the descriptor channel. */
export interface SessionRegions {
  regions: Region.Init[];
  /** Per region, in the welcome's order: the descriptors of its message (the region, then any doorbell end). */
  descriptors: (readonly number[])[];
  /** Runs once, when the descriptors have been sent or the session ended: closes those this side no longer needs. */
  release(): void;
}

/** A logged-in session whose client has yet to join its descriptor channel. */
interface AwaitingJoin {
  session: Session;
  regions: SessionRegions;
  /** The client may place messages toward this side once the channel exists. */
  peerTakesPlaced: boolean;
  timer: NodeJS.Timeout;
}

export const DEFAULT_LOGIN_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_LOGIN_FRAME_BYTES = 4096;
export const DEFAULT_MAX_PENDING_LOGINS = 64;
export const DEFAULT_MAX_SESSIONS = 1024;

/** A Unix socket address holds 107 bytes of path (Node silently cuts a longer one). */
const MAX_SOCKET_PATH_BYTES = 107;

export class Server {
  private readonly live = new Set<Session>();
  private readonly directories = new Map<string, Directory<unknown>>();
  /** @internal Connections accepted and not logged in (or being refused): `close` drops them. */
  readonly pending = new Set<Socket>();
  /** @internal The socket file this server made (device and inode), which `close` removes. */
  file: { dev: number; ino: number } | null = null;

  constructor(
    readonly path: string,
    private readonly net: NetServer,
    /**
     * Where peers' credentials come from: "kernel", the native addon (SO_PEERCRED), checked against
     * `allow`; "custom", the `credentials` reader given to `listen`; "unavailable", none are read (no
     * native addon here, or `credentials: "none"`): every peer the socket file's mode lets connect logs
     * in, and sessions' `peer` is null.
     */
    readonly credentials: "kernel" | "custom" | "unavailable" = "kernel",
  ) {}

  /** The sessions logged in and not ended. */
  get sessions(): ReadonlySet<Session> {
    return this.live;
  }

  /** The directory named `name` (made on first use): facets that sessions publish for each other. */
  directory<T>(name: string): Directory<T> {
    let directory = this.directories.get(name);
    if (directory === undefined) this.directories.set(name, (directory = new Directory<unknown>(name)));
    return directory as Directory<T>;
  }

  /** @internal */
  track(session: Session): void {
    this.live.add(session);
    void session.closed.then(() => this.live.delete(session));
  }

  /** Stops listening, ends every session, removes the socket file. */
  async close(): Promise<void> {
    const closing = new Promise<void>((resolve) => this.net.close(() => resolve()));
    this.removeFile();
    for (const socket of this.pending) socket.destroy();
    await Promise.all([...this.live].map((s) => s.close("the server is shutting down")));
    await closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * The socket was bound under another name (see `bindPrivately`), so the listener does not remove this
   * one when it closes: this does, unless something else has taken the path since.
   */
  private removeFile(): void {
    const file = this.file;
    this.file = null;
    if (file === null) return;
    const now = lstatSync(this.path, { throwIfNoEntry: false });
    if (now !== undefined && now.dev === file.dev && now.ino === file.ino) unlinkSync(this.path);
  }
}

/** Whether a server answers on `path` (a socket file whose server died refuses connections). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}

/**
 * The native addon's reader; loading it here makes a missing addon fail `listen` (or `connect`), not each
 * log-in. @internal
 */
export async function defaultCredentials(): Promise<CredentialReader> {
  const native = await import("../native/index.js");
  // Kept, so that what a server or client reads from does not change under it (IPCGEN_NATIVE_ADDON is read
  // on each load).
  const binding = native.loadNativeAddon();
  return (socket) => binding.peerCredentials(native.socketFd(socket, "peerCredentials"));
}

/**
 * How a server reads its peers' credentials, decided once at `listen`: the reader (null for none) and what
 * the server says of it. Without the addon and without a reader of the application's, the socket's mode is
 * all that admits a peer, so this refuses what would take more: an `allow`, or permissions other uids
 * may connect under (unless the application said `credentials: "none"`).
 */
async function serverCredentials(options: ServerOptions, permissions: Permissions): Promise<{ read: CredentialReader | null; kind: Server["credentials"] }> {
  if (options.credentials === "none") {
    if (options.allow !== undefined) throw new TypeError('listen: `allow` needs peers\' credentials, and `credentials: "none"` reads none');
    return { read: null, kind: "unavailable" };
  }
  if (options.credentials !== undefined) return { read: options.credentials, kind: "custom" };
  const problem = nativeAddonProblem();
  if (problem === null) return { read: await defaultCredentials(), kind: "kernel" };
  const unless = 'pass a `credentials` reader of your own, or run with the addon';
  if (options.allow !== undefined) {
    throw new NativeAddonError(`listen: \`allow\` needs peers' credentials, which ipcgen reads with its native addon: ${problem.message}; ${unless}`, { cause: problem });
  }
  if (permissions !== "user") {
    throw new NativeAddonError(
      `listen: permissions "${permissions}" let other uids connect, and without peers' credentials this server could not refuse them as its default \`allow\` does (this uid only): ${problem.message}; ${unless}, or pass \`credentials: "none"\` to admit whoever the socket's mode lets connect`,
      { cause: problem },
    );
  }
  warnWithoutNativeAddon(problem);
  return { read: null, kind: "unavailable" };
}

/**
 * Refuses a socket directory that another user could replace the socket in, from `dir` up to the root
 * (a directory above can be renamed away by whoever may write in its parent): each must belong to this
 * process's uid or to root, and must not be writable by group or others unless it is sticky (as /tmp is:
 * there nobody but the owner may remove or rename what we put in it). Missing directories are made 0700.
 */
function prepareDirectory(dir: string): void {
  const uid = process.getuid?.();
  let existing = dir;
  while (!existsSync(existing)) existing = dirname(existing);
  if (uid !== undefined) {
    for (let d = realpathSync(existing); ; d = dirname(d)) {
      const { uid: owner, mode } = statSync(d);
      if (owner !== uid && owner !== 0) {
        throw new SocketPathError("unsafe-directory", `cannot listen in ${dir}: ${d} belongs to uid ${owner}, who could replace the socket (it must belong to uid ${uid} or root)`);
      }
      if ((mode & 0o022) !== 0 && (mode & 0o1000) === 0) {
        const who = (mode & 0o002) !== 0 ? "everyone" : "its group";
        throw new SocketPathError("unsafe-directory", `cannot listen in ${dir}: ${d} is writable by ${who} and not sticky, so another user could replace the socket`);
      }
      if (dirname(d) === d) break;
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * Binds `net` to `path` without a moment at another mode and without the process-wide umask (which other
 * code in the process would see across the await): binds in a fresh directory only this user can enter,
 * in the same directory (one filesystem), sets the mode there, then links the socket to `path`, which
 * fails rather than replaces a file another process put there meanwhile. The private directory is gone
 * when this returns, also on failure. Answers the socket file's device and inode.
 */
async function bindPrivately(net: NetServer, path: string, mode: number): Promise<{ dev: number; ino: number }> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) throw new SocketPathError("too-long", `${path} is longer than a Unix socket address holds (${MAX_SOCKET_PATH_BYTES} bytes)`);
  // DIR/.XXXXXX/s: short, since the private name must fit in a socket address too.
  const temp = mkdtempSync(`${dirname(path)}/.`);
  const bound = join(temp, "s");
  let listening = false;
  try {
    if (Buffer.byteLength(bound) > MAX_SOCKET_PATH_BYTES) {
      throw new SocketPathError("too-long", `${path} leaves no room to bind next to it: the socket's directory must be at most ${MAX_SOCKET_PATH_BYTES - 10} bytes long`);
    }
    await new Promise<void>((resolve, reject) => {
      net.once("error", reject);
      net.listen(bound, () => {
        net.off("error", reject);
        resolve();
      });
    });
    listening = true;
    chmodSync(bound, mode);
    try {
      linkSync(bound, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new AddressInUseError(`${path} was taken while this server was binding`);
      throw err;
    }
    const { dev, ino } = lstatSync(path);
    return { dev, ino };
  } catch (err) {
    if (listening) net.close();
    throw err;
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

/**
 * Listens on a Windows named pipe (untested: ipcgen's tests run on Linux). "user" keeps the pipe's default
 * security (its creator, administrators and the system); "anyone" lets every user read and write it.
 */
async function listenOnPipe(net: NetServer, path: string, permissions: Permissions): Promise<void> {
  const all = permissions === "anyone";
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void => reject(err.code === "EADDRINUSE" ? new AddressInUseError(`a server is already listening on ${path}`) : err);
    net.once("error", failed);
    net.listen({ path, readableAll: all, writableAll: all }, () => {
      net.off("error", failed);
      resolve();
    });
  });
}

/** Listens on `path` for clients of `options.service`. */
export async function listen(path: string, options: ServerOptions): Promise<Server> {
  const permissions = options.permissions ?? "user";
  const mode = MODES[permissions];
  if (mode === undefined) throw new TypeError(`permissions must be "user", "group" or "anyone", not ${String(options.permissions)}`);
  const { read: readCredentials, kind: credentialKind } = await serverCredentials(options, permissions);
  /** Why this server's sessions get no shared memory, whatever their clients can do; null if nothing. */
  const addonProblem = nativeAddonProblem();
  const noSharedMemory =
    addonProblem !== null
      ? `this server runs without ipcgen's native addon (${addonProblem.message})`
      : readCredentials === null
        ? "this server reads no peer credentials, which the descriptor channel shared memory travels on needs"
        : null;
  const pipe = isNamedPipe(path);
  if (pipe) {
    // A Windows named pipe is no file: no directory to check, no file to bind privately and link.
    if (permissions === "group") throw new TypeError('permissions "group" has no equivalent for a Windows named pipe: use "user" or "anyone"');
  } else {
    path = resolve(path);
    prepareDirectory(dirname(path));
    const existing = lstatSync(path, { throwIfNoEntry: false });
    if (existing !== undefined) {
      if (!existing.isSocket()) throw new AddressInUseError(`${path} exists and is not a socket`);
      if (await answers(path)) throw new AddressInUseError(`a server is already listening on ${path}`);
      // Left behind by a server that died: nobody answers on it.
      unlinkSync(path);
    }
  }

  const uid = process.getuid?.() ?? -1;
  const allow = options.allow ?? ((peer: PeerCredentials) => peer.uid === uid);
  const loginTimeoutMs = options.loginTimeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS;
  const maxLoginFrameBytes = options.maxLoginFrameBytes ?? DEFAULT_MAX_LOGIN_FRAME_BYTES;
  const maxPendingLogins = options.maxPendingLogins ?? DEFAULT_MAX_PENDING_LOGINS;
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  const net = createServer((socket) => accept(socket));
  const server = new Server(path, net, credentialKind);
  const pending = server.pending;
  /** Connections of peers `allow` refused, until they close (their own bound: they must not crowd out the others). */
  const refusing = new Set<Socket>();

  /**
   * Refuses a peer `allow` does not let in, without reading its frames: the refusal answers the hello it
   * sends (always frame 1), and what it sends is dropped unread until it closes, which keeps the refusal
   * from being lost to a reset (closing a socket with unread bytes resets the connection).
   */
  const refuseAtAccept = (socket: Socket, peer: PeerCredentials): void => {
    const message = `process ${peer.pid} (uid ${peer.uid}, gid ${peer.gid}) is not allowed to connect`;
    options.onRefused?.(message, peer);
    socket.on("error", () => {});
    socket.end(encodeFrame({ token: 0n, id: 1, answers: 1, kind: Header_Kind.REFUSED }, Failure.encode({ kind: Failure_Kind.NOT_ALLOWED, message })));
    if (refusing.size >= maxPendingLogins) {
      socket.destroy();
      return;
    }
    refusing.add(socket);
    pending.add(socket);
    const timer = setTimeout(() => socket.destroy(), loginTimeoutMs);
    timer.unref();
    socket.once("close", () => {
      clearTimeout(timer);
      refusing.delete(socket);
      pending.delete(socket);
    });
    socket.resume();
  };

  /** Sessions waiting for their client's `join`, by token. */
  const awaiting = new Map<bigint, AwaitingJoin>();

  /** A connection whose first frame is `join`: it becomes the descriptor channel of the session it names. */
  const join = (connection: Session, frame: Frame, peer: PeerCredentials | null): void => {
    const target = awaiting.get(frame.header.token);
    // A join must come from the very process that logged in: the token alone could have leaked. (A server
    // that reads no credentials offers no descriptor channel: any join is refused.)
    if (target === undefined || peer === null || target.session.peer?.pid !== peer.pid || target.session.peer.uid !== peer.uid) {
      options.onRefused?.("a join for no session of this process awaiting one", peer);
      connection.fail("protocol-violation", "a join for no session awaiting one");
      return;
    }
    awaiting.delete(frame.header.token);
    clearTimeout(target.timer);
    const { session, regions } = target;
    let channel: DescriptorChannel;
    try {
      channel = DescriptorChannel.adopt(connection.framed.socket);
    } catch (err) {
      connection.fail("protocol-violation", "the join's connection cannot be taken");
      session.fail("refused", `the descriptor channel cannot be taken: ${(err as Error).message}`);
      return;
    }
    // Node reads no more from it: the channel's descriptor is this side's own copy.
    connection.end("closed-locally", "the connection became a descriptor channel");
    connection.framed.socket.destroy();
    if (session.ended) {
      channel.close();
      return;
    }
    session.descriptors = channel;
    try {
      for (const fds of regions.descriptors) channel.send(fds);
    } catch (err) {
      session.fail("refused", `the session's shared memory cannot be passed: ${(err as Error).message}`);
      return;
    } finally {
      regions.release();
    }
    session.peerTakesPlaced = target.peerTakesPlaced;
    session.sendFrame(0, Header_Kind.JOINED, 0, null);
  };

  const accept = (socket: Socket): void => {
    // Null when this server reads none: the socket's mode let the peer connect, and that is all it checks.
    let peer: PeerCredentials | null = null;
    if (readCredentials !== null) {
      try {
        peer = readCredentials(socket);
      } catch (err) {
        options.onRefused?.(`cannot read the peer's credentials: ${(err as Error).message}`, null);
        socket.destroy();
        return;
      }
      if (!allow(peer)) {
        refuseAtAccept(socket, peer);
        return;
      }
    }
    if (pending.size - refusing.size >= maxPendingLogins) {
      options.onRefused?.(`${maxPendingLogins} connections are already waiting to log in (maxPendingLogins)`, peer);
      socket.destroy();
      return;
    }
    pending.add(socket);
    socket.once("close", () => pending.delete(socket));

    const session = new Session(socket, "server", options);
    session.peer = peer;
    // Until log-in, frames are hello-sized: a client cannot make the server hold more for it.
    session.framed.limitFrames(Math.min(maxLoginFrameBytes, session.maxFrameBytes));
    let loggedIn = false;
    let refused = false;
    // Dropped when not logged in in time; a refused client that keeps its end open is dropped then too.
    const timer = setTimeout(() => {
      if (!refused) options.onRefused?.(`no log-in within ${loginTimeoutMs} ms`, peer);
      session.fail("refused", "the client did not log in in time");
    }, loginTimeoutMs);
    timer.unref();
    void session.closed.then((error) => {
      clearTimeout(timer);
      if (!loggedIn && !refused && error.cause === "protocol-violation") options.onRefused?.(`the client broke the protocol before log-in: ${error.message}`, peer);
    });

    const refuse = (kind: Failure_Kind, message: string, hello: number): void => {
      refused = true;
      options.onRefused?.(message, peer);
      session.sendFrame(0, Header_Kind.REFUSED, hello, Failure.encode({ kind, message }));
      session.end("refused", message);
      session.framed.socket.end();
    };

    session.loginHandler = (frame) => {
      session.loginHandler = null;
      if (frame.header.kind === Header_Kind.JOIN) {
        // Not a log-in but a session's descriptor channel: no longer pending, and join reports its refusals.
        loggedIn = true;
        clearTimeout(timer);
        pending.delete(socket);
        join(session, frame, peer);
        return;
      }
      if (frame.header.kind !== Header_Kind.HELLO) {
        session.fail("protocol-violation", "the first frame was not a hello");
        return;
      }
      let hello: Hello.Plain;
      try {
        hello = Hello.decode(frame.body, { traversalLimitInWords: 64 });
      } catch {
        refuse(Failure_Kind.MALFORMED, "a malformed hello", frame.header.id);
        return;
      }
      if (hello.version !== protocolVersion) {
        refuse(Failure_Kind.VERSION_MISMATCH, `protocol version ${hello.version} is not this server's ${protocolVersion}`, frame.header.id);
        return;
      }
      if (hello.service !== options.service.id || hello.fingerprint !== options.service.fingerprint) {
        const name = options.service.name ?? `0x${options.service.id.toString(16)}`;
        refuse(
          Failure_Kind.SERVICE_MISMATCH,
          hello.service !== options.service.id
            ? `this server serves ${name}, not 0x${hello.service.toString(16)}`
            : `the client was built with another version of ${name}'s schema (fingerprint 0x${hello.fingerprint.toString(16)}, server 0x${options.service.fingerprint.toString(16)})`,
          frame.header.id,
        );
        return;
      }
      if (server.sessions.size >= maxSessions) {
        refuse(Failure_Kind.REJECTED, `the server has reached its limit of ${maxSessions} sessions`, frame.header.id);
        return;
      }
      let attached: SessionRegions = { regions: [], descriptors: [], release: () => {} };
      // Shared memory needs both ends able to share it: else none is made, and the session runs over its socket.
      session.noSharedMemory =
        noSharedMemory !== null
          ? { side: "local", reason: noSharedMemory }
          : hello.noDescriptors
            ? { side: "peer", reason: "the client cannot map shared memory (it runs without ipcgen's native addon)" }
            : null;
      if (options.attach !== undefined && session.noSharedMemory === null) {
        try {
          attached = options.attach(session);
        } catch (err) {
          refuse(Failure_Kind.INTERNAL, `the server cannot make the session's shared memory (${(err as Error).message})`, frame.header.id);
          return;
        }
        const release = attached.release;
        let released = false;
        attached.release = (): void => {
          if (released) return;
          released = true;
          release();
        };
        void session.closed.then(attached.release);
      }
      loggedIn = true;
      clearTimeout(timer);
      pending.delete(socket);
      session.framed.limitFrames(session.maxFrameBytes);
      if (options.zeroCopyPool != null && session.noSharedMemory === null) session.zeroCopyPool = options.zeroCopyPool(session);
      const peerTakesPlaced = hello.zeroCopy && session.zeroCopyPool !== null;
      // Descriptors travel only on the descriptor channel, which the client joins after the welcome.
      const descriptors = attached.regions.length > 0 || peerTakesPlaced;
      if (hello.maxFrameBytes !== 0) session.peerMaxFrameBytes = hello.maxFrameBytes;
      const token = newSessionToken();
      // The welcome is the server's frame 1, still without a token; every frame after carries it.
      session.sendFrame(0, Header_Kind.WELCOME, frame.header.id, Welcome.encode({ version: protocolVersion, token, regions: attached.regions, zeroCopy: session.zeroCopyPool !== null, maxFrameBytes: session.maxFrameBytes, descriptors }));
      session.open(token);
      if (descriptors) {
        const loginTimeoutMs = options.loginTimeoutMs ?? 5000;
        const timer = setTimeout(() => {
          awaiting.delete(token);
          session.fail("refused", `the client did not join its descriptor channel within ${loginTimeoutMs} ms`);
        }, loginTimeoutMs);
        timer.unref();
        awaiting.set(token, { session, regions: attached, peerTakesPlaced, timer });
        void session.closed.then(() => {
          clearTimeout(timer);
          awaiting.delete(token);
        });
      }
      server.track(session);
      options.onSession(session);
    };
  };

  if (pipe) await listenOnPipe(net, path, permissions);
  else server.file = await bindPrivately(net, path, mode);
  return server;
}
