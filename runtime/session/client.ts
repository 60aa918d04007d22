/**
 * The client end: `connect` to a server's socket path and log in. Fails fast with `ConnectError` when no
 * server listens, or keeps trying for `waitMs` when asked to (a server that is still starting). Before it
 * says anything, it checks who the server is: whoever could bind the path could be listening there.
 */
import { createConnection, type Socket } from "node:net";
import { ConnectError, LoginError } from "../errors.js";
import { peerCredentials } from "../native/index.js";
import { Failure, Failure_Kind, Header_Kind, Hello, protocolVersion, type Region, Welcome } from "../protocol/protocol.capnp.js";
import { type CredentialReader, defaultCredentials, type ServiceIdentity } from "./server.js";
import { closeAll, DescriptorChannel, descriptorsFor } from "../transport/descriptor-channel.js";
import { FramedSocket } from "../transport/framed-socket.js";
import { encodeFrame } from "../transport/frames.js";
import { type PeerCredentials, Session, type SessionOptions } from "./session.js";

export interface ConnectOptions extends SessionOptions {
  service: ServiceIdentity;
  /** Keep trying while no server listens, for up to this long. Default 0: fail at once. */
  waitMs?: number;
  /** Fail when the server has not answered the log-in after this long. Default 5,000 ms. */
  loginTimeoutMs?: number;
  /**
   * Whether to log in to the server behind the socket, from its credentials as the kernel reports them
   * (checked before the hello is sent; refused: `LoginError` "server-not-trusted"). Default: a server
   * running as this process's uid or as root.
   */
  allowServer?: (server: PeerCredentials) => boolean;
  /** How the server's credentials are read; the native addon's by default. */
  credentials?: CredentialReader;
  /**
   * Maps the shared memory the welcome names into `session.regions` (the layer above knows what to
   * expect), given each region's descriptors as they came on the descriptor channel (the region's memfd,
   * then any doorbell end); it owns them and closes what it does not keep, also when it throws. Throwing
   * refuses the session. Without it, a welcome naming regions is refused.
   */
  attach?(session: Session, regions: readonly Region.Plain[], descriptors: readonly (readonly number[])[]): void;
}

const RETRY_MS = 20;
const NOBODY = new Set(["ENOENT", "ECONNREFUSED"]);

/** Where a socket's reads go once its session exists (reads before that cannot happen: the client speaks first). */
type ReadTarget = { framed: FramedSocket | null };

function open(path: string, target: ReadTarget): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path, onread: FramedSocket.readCallback(target) });
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

async function openWithin(path: string, waitMs: number, target: ReadTarget): Promise<Socket> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await open(path, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "";
      if (!NOBODY.has(code)) throw new ConnectError(`cannot connect to ${path}: ${code || (err as Error).message}`);
      if (Date.now() >= deadline) {
        throw new ConnectError(waitMs > 0 ? `no server listened on ${path} within ${waitMs} ms` : `no server listens on ${path} (${code})`);
      }
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}

const LOGIN_ERRORS: Partial<Record<Failure_Kind, LoginError["kind"]>> = {
  [Failure_Kind.VERSION_MISMATCH]: "version-mismatch",
  [Failure_Kind.SERVICE_MISMATCH]: "service-mismatch",
  [Failure_Kind.NOT_ALLOWED]: "not-allowed",
};

/**
 * Joins the session's descriptor channel: a second connection to the server, which must be the same
 * process as the first (a server replaced in between would otherwise hand over its own memory).
 */
function joinDescriptorChannel(path: string, session: Session): DescriptorChannel {
  const channel = DescriptorChannel.connect(path);
  try {
    // session.peer: the server's credentials, read from the session's socket before the hello.
    const first = session.peer!;
    const second = peerCredentials(channel.descriptor);
    if (first.pid !== second.pid || first.uid !== second.uid) throw new Error(`the second connection reached process ${second.pid}, not ${first.pid}`);
    // The channel's only frame: ids count per connection, and the token names the session.
    channel.write(encodeFrame({ token: session.token, channel: 0, id: 1, answers: 0, kind: Header_Kind.JOIN, code: 0 }, null));
  } catch (err) {
    channel.close();
    throw err;
  }
  return channel;
}

/** The descriptors of each region the welcome named, one message per region on the descriptor channel. */
function receiveRegions(channel: DescriptorChannel, regions: readonly Region.Plain[]): number[][] {
  const received: number[][] = [];
  try {
    for (const region of regions) received.push(channel.receive(descriptorsFor(region.purpose)));
  } catch (err) {
    closeAll(received.flat());
    throw err;
  }
  return received;
}

/** The server's credentials, if the policy trusts it; else the socket is dropped before a byte is sent. */
function checkServer(path: string, socket: Socket, read: CredentialReader, allowServer: ConnectOptions["allowServer"]): PeerCredentials {
  let server: PeerCredentials;
  try {
    server = read(socket);
  } catch (err) {
    socket.destroy();
    throw new ConnectError(`cannot read the credentials of the server on ${path}: ${(err as Error).message}`);
  }
  const uid = process.getuid?.() ?? -1;
  const trusted = allowServer === undefined ? server.uid === uid || server.uid === 0 : allowServer(server);
  if (!trusted) {
    socket.destroy();
    const policy = allowServer === undefined ? `by default only uid ${uid} or root is` : "allowServer refused it";
    throw new LoginError("server-not-trusted", `the server on ${path} is process ${server.pid} running as uid ${server.uid}, gid ${server.gid}, which this client does not trust (${policy})`);
  }
  return server;
}

/** Connects to the server on `path` and logs in; resolves to the open session. */
export async function connect(path: string, options: ConnectOptions): Promise<Session> {
  const readCredentials = options.credentials ?? (await defaultCredentials());
  const target: ReadTarget = { framed: null };
  const socket = await openWithin(path, options.waitMs ?? 0, target);
  const server = checkServer(path, socket, readCredentials, options.allowServer);
  const session = new Session(socket, "client", options);
  session.peer = server;
  target.framed = session.framed;
  return new Promise<Session>((resolve, reject) => {
    const timeoutMs = options.loginTimeoutMs ?? 5000;
    const timer = setTimeout(() => {
      session.fail("refused", "the server did not answer the log-in in time");
      reject(new LoginError("rejected", `the server on ${path} did not answer the log-in within ${timeoutMs} ms`));
    }, timeoutMs);
    void session.closed.then((error) => {
      clearTimeout(timer);
      reject(new ConnectError(`the session ended during log-in: ${error.message}`));
    });
    const refuse = (message: string): void => {
      clearTimeout(timer);
      session.fail("refused", message);
      reject(new ConnectError(message));
    };
    session.loginHandler = (frame) => {
      session.loginHandler = null;
      if (frame.header.kind === Header_Kind.REFUSED) {
        clearTimeout(timer);
        let failure: Failure.Plain | null = null;
        try {
          failure = Failure.decode(frame.body);
        } catch {
          // reported below as a refusal without reason
        }
        const kind = failure === null ? "rejected" : (LOGIN_ERRORS[failure.kind] ?? "rejected");
        reject(new LoginError(kind, `the server refused the log-in: ${failure?.message ?? "no reason given"}`));
        session.end("refused", "log-in refused");
        socket.end();
        return;
      }
      if (frame.header.kind !== Header_Kind.WELCOME) {
        clearTimeout(timer);
        session.fail("protocol-violation", "the server's first frame was neither welcome nor refused");
        return;
      }
      let welcome: Welcome.Plain;
      try {
        // Small, but room for a few regions at what their plain objects cost (12 words each, see `structList`).
        welcome = Welcome.decode(frame.body, { traversalLimitInWords: 1024 });
      } catch {
        session.fail("protocol-violation", "a malformed welcome");
        return;
      }
      if (welcome.version !== protocolVersion || welcome.token === 0n) {
        session.fail("protocol-violation", `the server speaks protocol version ${welcome.version}, not ${protocolVersion}`);
        return;
      }
      session.open(welcome.token);
      if (welcome.maxFrameBytes !== 0) session.peerMaxFrameBytes = welcome.maxFrameBytes;
      if (welcome.regions.length > 0 && options.attach === undefined) {
        refuse("the session's shared memory could not be mapped: this client expects no shared memory");
        return;
      }
      const loggedIn = (): void => {
        clearTimeout(timer);
        resolve(session);
      };
      if (!welcome.descriptors) {
        if (options.attach !== undefined) {
          try {
            options.attach(session, [], []);
          } catch (err) {
            refuse(`the session's shared memory could not be mapped: ${(err as Error).message}`);
            return;
          }
        }
        loggedIn();
        return;
      }
      try {
        session.descriptors = joinDescriptorChannel(path, session);
      } catch (err) {
        refuse(`the session's descriptor channel could not be joined: ${(err as Error).message}`);
        return;
      }
      // The server answers `joined` once the channel is its, with the regions' descriptors waiting on it.
      session.onJoined = () => {
        try {
          const descriptors = receiveRegions(session.descriptors!, welcome.regions);
          options.attach?.(session, welcome.regions, descriptors);
        } catch (err) {
          refuse(`the session's shared memory could not be mapped: ${(err as Error).message}`);
          return;
        }
        session.peerTakesPlaced = welcome.zeroCopy && session.memory !== null;
        loggedIn();
      };
    };
    if (options.memory != null) session.memory = options.memory(session);
    const zeroCopy = session.memory !== null;
    session.sendFrame(0, Header_Kind.HELLO, 0, 0, Hello.encode({ version: protocolVersion, service: options.service.id, fingerprint: options.service.fingerprint, zeroCopy, maxFrameBytes: session.maxFrameBytes }));
  });
}
