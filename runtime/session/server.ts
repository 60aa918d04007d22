/**
 * The server end: `listen` on a socket path, log clients in, hand each session to the application.
 *
 * Log-in checks, in this order: protocol version; the service (interface id) and its schema fingerprint;
 * the peer's credentials as the kernel reports them, against the allow policy (default: the server's own
 * uid); then the server picks a random token that every later frame must carry.
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server as NetServer, type Socket } from "node:net";
import { dirname } from "node:path";
import { AddressInUseError } from "../errors.js";
import { Failure, Failure_Kind, Header_Kind, Hello, protocolVersion, type Region, Welcome } from "../protocol/protocol.capnp.js";
import type { Frame } from "../transport/frames.js";
import { DescriptorChannel } from "../transport/descriptor-channel.js";
import { Pool } from "./pool.js";
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
  /** Whether a peer may log in. Default: only processes running as this process's uid. */
  allow?: (peer: PeerCredentials) => boolean;
  /** A client that has not logged in after this long is dropped. Default 5,000 ms. */
  loginTimeoutMs?: number;
  /** Each new session, once logged in. */
  onSession(session: Session): void;
  /** A connection refused at log-in, with why (for the server's log). */
  onRefused?(reason: string, peer: PeerCredentials | null): void;
  /** How credentials are read; the native addon's by default. */
  credentials?: CredentialReader;
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

export class Server {
  private readonly live = new Set<Session>();
  private readonly pools = new Map<string, Pool<unknown>>();

  constructor(
    readonly path: string,
    private readonly net: NetServer,
  ) {}

  /** The sessions logged in and not ended. */
  get sessions(): ReadonlySet<Session> {
    return this.live;
  }

  /** The pool named `name` (made on first use): facets that sessions publish for each other. */
  pool<T>(name: string): Pool<T> {
    let pool = this.pools.get(name);
    if (pool === undefined) this.pools.set(name, (pool = new Pool<unknown>(name)));
    return pool as Pool<T>;
  }

  /** @internal */
  track(session: Session): void {
    this.live.add(session);
    void session.closed.then(() => this.live.delete(session));
  }

  /** Stops listening, ends every session, removes the socket file. */
  async close(): Promise<void> {
    const closing = new Promise<void>((resolve) => this.net.close(() => resolve()));
    await Promise.all([...this.live].map((s) => s.close("the server is shutting down")));
    await closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
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

/** The native addon's reader; loading it here makes a missing addon fail `listen`, not each log-in. */
async function defaultCredentials(): Promise<CredentialReader> {
  const native = await import("../native/index.js");
  native.loadNativeAddon();
  return (socket) => native.peerCredentials(socket);
}

/** Listens on `path` for clients of `options.service`. */
export async function listen(path: string, options: ServerOptions): Promise<Server> {
  const readCredentials = options.credentials ?? (await defaultCredentials());
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const existing = lstatSync(path, { throwIfNoEntry: false });
  if (existing !== undefined) {
    if (!existing.isSocket()) throw new AddressInUseError(`${path} exists and is not a socket`);
    if (await answers(path)) throw new AddressInUseError(`a server is already listening on ${path}`);
    // Left behind by a server that died: nobody answers on it.
    unlinkSync(path);
  }

  const uid = process.getuid?.() ?? -1;
  const allow = options.allow ?? ((peer: PeerCredentials) => peer.uid === uid);
  const net = createServer((socket) => accept(socket));
  const server = new Server(path, net);

  /** Sessions waiting for their client's `join`, by token. */
  const awaiting = new Map<bigint, AwaitingJoin>();

  /** A connection whose first frame is `join`: it becomes the descriptor channel of the session it names. */
  const join = (connection: Session, frame: Frame, peer: PeerCredentials): void => {
    const target = awaiting.get(frame.header.token);
    // A join must come from the very process that logged in: the token alone could have leaked.
    if (target === undefined || target.session.peer?.pid !== peer.pid || target.session.peer.uid !== peer.uid) {
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
    session.sendFrame(0, Header_Kind.JOINED, 0, 0, null);
  };

  const accept = (socket: Socket): void => {
    let peer: PeerCredentials | null = null;
    try {
      peer = readCredentials(socket);
    } catch (err) {
      options.onRefused?.(`cannot read the peer's credentials: ${(err as Error).message}`, null);
      socket.destroy();
      return;
    }
    const session = new Session(socket, "server", options);
    session.peer = peer;
    const timer = setTimeout(() => {
      options.onRefused?.(`no log-in within ${options.loginTimeoutMs ?? 5000} ms`, peer);
      session.fail("refused", "the client did not log in in time");
    }, options.loginTimeoutMs ?? 5000);
    timer.unref();
    void session.closed.then(() => clearTimeout(timer));

    const refuse = (kind: Failure_Kind, message: string, hello: number): void => {
      clearTimeout(timer);
      options.onRefused?.(message, peer);
      session.sendFrame(0, Header_Kind.REFUSED, 0, hello, Failure.encode({ kind, message }));
      session.end("refused", message);
      session.framed.socket.end();
    };

    session.loginHandler = (frame) => {
      session.loginHandler = null;
      if (frame.header.kind === Header_Kind.JOIN) {
        clearTimeout(timer);
        join(session, frame, peer!);
        return;
      }
      if (frame.header.kind !== Header_Kind.HELLO) {
        clearTimeout(timer);
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
      if (!allow(peer!)) {
        refuse(Failure_Kind.NOT_ALLOWED, `process ${peer!.pid} (uid ${peer!.uid}, gid ${peer!.gid}) is not allowed to connect`, frame.header.id);
        return;
      }
      clearTimeout(timer);
      let attached: SessionRegions = { regions: [], descriptors: [], release: () => {} };
      if (options.attach !== undefined) {
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
      if (options.memory != null) session.memory = options.memory(session);
      const peerTakesPlaced = hello.zeroCopy && session.memory !== null;
      // Descriptors travel only on the descriptor channel, which the client joins after the welcome.
      const descriptors = attached.regions.length > 0 || peerTakesPlaced;
      if (hello.maxFrameBytes !== 0) session.peerMaxFrameBytes = hello.maxFrameBytes;
      const token = newSessionToken();
      // The welcome is the server's frame 1, still without a token; every frame after carries it.
      session.sendFrame(0, Header_Kind.WELCOME, 0, frame.header.id, Welcome.encode({ version: protocolVersion, token, regions: attached.regions, zeroCopy: session.memory !== null, maxFrameBytes: session.maxFrameBytes, descriptors }));
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

  // The socket is created with the umask's mode: make it user-only while it appears, then widen it.
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      net.once("error", reject);
      net.listen(path, () => {
        net.off("error", reject);
        resolve();
      });
    });
  } finally {
    process.umask(umask);
  }
  chmodSync(path, MODES[options.permissions ?? "user"]);
  return server;
}
