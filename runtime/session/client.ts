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
import { isNamedPipe, nativeAddonProblem, socketFileOwner, warnWithoutNativeAddon } from "./platform.js";
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
   * running as this process's uid or as root. Without the native addon (and without `credentials`), the
   * policy is applied to the socket file's owner instead (`pid` 0), a weaker check: see docs/platforms.md.
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

/** The socket file's owner as it was before and after a connection: the same file, or null. */
type FileOwner = ReturnType<typeof socketFileOwner>;

/**
 * Connects, retrying within `waitMs` while nobody listens. With `owner`, also reads the socket file's owner
 * just before and just after connecting, and tries again (within the time) when they are not the same
 * file, so that the owner answered is that of the file connected to (unless someone who may rename files in
 * its directory swaps it twice meanwhile: `listen` refuses directories where another user could).
 */
async function openWithin(path: string, waitMs: number, target: ReadTarget, owner: { file: FileOwner } | null = null): Promise<Socket> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const before = owner === null ? null : socketFileOwner(path);
      const socket = await open(path, target);
      if (owner === null) return socket;
      const after = socketFileOwner(path);
      if (before !== null && after !== null && before.dev === after.dev && before.ino === after.ino) {
        owner.file = after;
        return socket;
      }
      socket.destroy();
      if (Date.now() >= deadline) throw new ConnectError(`cannot connect to ${path}: the socket file changed while connecting`);
      await new Promise((r) => setTimeout(r, RETRY_MS));
      continue;
    } catch (err) {
      if (err instanceof ConnectError) throw err;
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
 * process as the first (a server replaced in between would otherwise hand over its own memory). What it
 * throws, `connect` reports as a `ConnectError`.
 */
function joinDescriptorChannel(path: string, session: Session): DescriptorChannel {
  const channel = DescriptorChannel.connect(path);
  try {
    // session.peer: the server's credentials, read from the session's socket before the hello.
    const first = session.peer!;
    const second = peerCredentials(channel.descriptor);
    if (first.pid !== second.pid || first.uid !== second.uid) throw new Error(`the second connection reached process ${second.pid}, not ${first.pid}`);
    // The channel's only frame: ids count per connection, and the token names the session.
    channel.write(encodeFrame({ token: session.token, channel: 0, id: 1, answers: 0, kind: Header_Kind.JOIN }, null));
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

/**
 * Without the server's credentials: the same policy, applied to the owner of the socket file connected to
 * (`pid` 0), since the socket's creator is the process that listens on it (or was, for a file whose server
 * died and that another took: `listen` removes such a file only in directories no other user may write).
 * A named pipe has no owner this can read: the default policy lets it be, a policy of the caller's refuses.
 */
function checkSocketOwner(path: string, socket: Socket, file: FileOwner, allowServer: ConnectOptions["allowServer"]): void {
  const uid = process.getuid?.();
  let trusted: boolean;
  let who: string;
  if (file === null) {
    trusted = allowServer === undefined;
    who = `the named pipe ${path}, whose server this client cannot check without ipcgen's native addon,`;
  } else {
    trusted = allowServer === undefined ? file.uid === uid || file.uid === 0 : allowServer({ pid: 0, uid: file.uid, gid: file.gid });
    who = `the socket file ${path} belongs to uid ${file.uid}, gid ${file.gid}, which this client (checking the file's owner: it cannot read the server's credentials without ipcgen's native addon)`;
  }
  if (!trusted) {
    socket.destroy();
    const policy = allowServer === undefined ? `by default only uid ${uid ?? "(none)"} or root is` : "allowServer refused it";
    throw new LoginError("server-not-trusted", `${who} does not trust (${policy})`);
  }
}

/** Connects to the server on `path` and logs in; resolves to the open session. */
export async function connect(path: string, options: ConnectOptions): Promise<Session> {
  const addonProblem = nativeAddonProblem();
  const readCredentials = options.credentials ?? (addonProblem === null ? await defaultCredentials() : null);
  if (addonProblem !== null && readCredentials === null) warnWithoutNativeAddon(addonProblem);
  const target: ReadTarget = { framed: null };
  const pipe = isNamedPipe(path);
  const owner = readCredentials === null && !pipe ? { file: null as FileOwner } : null;
  const socket = await openWithin(path, options.waitMs ?? 0, target, owner);
  let server: PeerCredentials | null = null;
  if (readCredentials !== null) server = checkServer(path, socket, readCredentials, options.allowServer);
  else checkSocketOwner(path, socket, owner?.file ?? null, options.allowServer);
  const session = new Session(socket, "client", options);
  session.peer = server;
  // Without the addon this side can take no descriptors: it says so in its hello, and shares no memory.
  if (addonProblem !== null) session.noSharedMemory = { side: "local", reason: `this client runs without ipcgen's native addon (${addonProblem.message})` };
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
      if (welcome.descriptors && noDescriptors) {
        refuse("the server passes descriptors to a client that said it cannot take them");
        return;
      }
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
        session.peerTakesPlaced = welcome.zeroCopy && session.zeroCopyPool !== null;
        loggedIn();
      };
    };
    if (options.zeroCopyPool != null && addonProblem === null) session.zeroCopyPool = options.zeroCopyPool(session);
    const zeroCopy = session.zeroCopyPool !== null;
    const noDescriptors = addonProblem !== null;
    session.sendFrame(0, Header_Kind.HELLO, 0, Hello.encode({ version: protocolVersion, service: options.service.id, fingerprint: options.service.fingerprint, zeroCopy, maxFrameBytes: session.maxFrameBytes, noDescriptors }));
  });
}
