/**
 * A whole session's receive path: a real server (`listen`, in this process) and a raw client socket that
 * writes what the input says: either raw bytes from the start (the hello included), or a proper log-in
 * followed by frames built from the input (kinds, channels, codes, bodies, with the session's token and
 * ids right or wrong as the input says), or raw bytes after a proper log-in. The server's session handles
 * requests (decoding them as fixture structs), one-way messages, signals and channel opens.
 *
 * The server must survive everything: no exception escapes (uncaught or unhandled), every session it
 * accepted ends with a cause from docs/runtime.md's table (or stays open), and it accepts the next client.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listen, type Server } from "../../../runtime/session/server.js";
import type { Session } from "../../../runtime/session/session.js";
import { End, Header_Kind, Hello, protocolVersion, Signal, Welcome } from "../../../runtime/protocol/protocol.capnp.js";
import { encodeFrame, FrameDecoder, type Frame } from "../../../runtime/transport/frames.js";
import { Lists, Node } from "../gen/fuzz.capnp.js";
import { ByteStream, concat, type FuzzTarget, PropertyViolation } from "../engine.js";

const SERVICE = { id: 0x9a3e_55c1_7d20_44b1n, fingerprint: 0x0123_4567_89ab_cdefn, name: "Fuzz" };
const CAUSES = new Set(["protocol-violation", "peer-died", "closed-by-peer", "refused", "closed-locally"]);

let dir = "";
let server: Server | null = null;
let sessions: Session[] = [];
let escaped: unknown[] = [];
const onEscape = (e: unknown): void => void escaped.push(e);

function connect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path, () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** Writes `bytes`, then waits until the server closes the connection, sends a frame `until` accepts, or `ms` pass. */
async function exchange(socket: Socket, bytes: Uint8Array, until: (frame: Frame) => boolean, ms = 50): Promise<Frame[]> {
  const frames: Frame[] = [];
  const decoder = new FrameDecoder();
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", finish);
      resolve(frames);
    };
    const onData = (chunk: Buffer) => {
      try {
        decoder.push(chunk, (f) => {
          frames.push({ ...f, body: new Uint8Array(f.body) });
          if (until(f)) finish();
        });
      } catch {
        finish();
      }
    };
    const timer = setTimeout(finish, ms);
    socket.on("data", onData);
    socket.once("close", finish);
    socket.on("error", () => {});
    if (bytes.length > 0) socket.write(bytes);
  });
}

const hello = () => encodeFrame({ token: 0n, id: 1, kind: Header_Kind.HELLO }, Hello.encode({ version: protocolVersion, service: SERVICE.id, fingerprint: SERVICE.fingerprint, maxFrameBytes: 1 << 20 }));

/** Bodies the structured mode picks from, besides raw input bytes. */
const BODIES = [
  () => Lists.encode({ texts: ["a"], int32s: [1, 2] }),
  () => Node.encode({ name: "n", which: "count", count: 3 }),
  () => Signal.encode({ count: 2 }),
  () => End.encode({ reason: "bye" }),
];

export const sessionTarget: FuzzTarget = {
  name: "session",
  describe: "a real server's session fed bytes and frames over a Unix socket (log-in, then anything)",
  modules: ["runtime/session/session.ts", "runtime/session/server.ts", "runtime/transport/framed-socket.ts", "runtime/transport/frames.ts"],
  maxLen: 400,
  async setup() {
    dir = mkdtempSync(join(tmpdir(), "ipcgen-fuzz-"));
    escaped = [];
    process.on("uncaughtException", onEscape);
    process.on("unhandledRejection", onEscape);
    server = await listen(join(dir, "s.sock"), {
      service: SERVICE,
      credentials: () => ({ pid: process.pid, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }),
      loginTimeoutMs: 2000,
      keepAliveIntervalMs: 60_000,
      keepAliveTimeoutMs: 120_000,
      maxFrameBytes: 1 << 16,
      onSession(session) {
        sessions.push(session);
        session.setRequestHandler((_interfaceId, methodId, body) => {
          if (!(body instanceof Uint8Array)) throw new Error("placed");
          if (methodId === 1) return Node.encode(Node.decode(body, { traversalLimitInWords: 4096 }));
          if (methodId === 2) throw new Error("refused on purpose");
          return Lists.encode(Lists.decode(body, { traversalLimitInWords: 4096 }));
        });
        session.setOneWayHandler(() => undefined);
        session.setSignalHandler(() => {});
        session.onChannel((channel) => {
          channel.requestHandler = async () => new Uint8Array(0);
          return true;
        });
      },
    });
  },
  async teardown() {
    await server?.close();
    server = null;
    process.off("uncaughtException", onEscape);
    process.off("unhandledRejection", onEscape);
    rmSync(dir, { recursive: true, force: true });
  },
  seeds() {
    // mode 0: raw; 1: log-in then structured frames; 2: log-in then raw bytes.
    const frame = (kind: number, channel: number, code: number, flags: number, body: number) => [kind, channel, code, flags, body];
    return [
      concat(new Uint8Array([0]), hello()),
      new Uint8Array([1, ...frame(Header_Kind.REQUEST, 0, 0, 0, 0), ...frame(Header_Kind.SIGNAL, 0, 1, 0, 2), ...frame(Header_Kind.ONE_WAY, 0, 0, 0, 1)]),
      new Uint8Array([1, ...frame(Header_Kind.OPEN_CHANNEL, 1, 0, 0, 0), ...frame(Header_Kind.REQUEST, 1, 0, 0, 0), ...frame(Header_Kind.CLOSE_CHANNEL, 1, 0, 0, 0)]),
      new Uint8Array([1, ...frame(Header_Kind.REQUEST, 0, 0, 0, 0), ...frame(Header_Kind.CANCEL, 0, 0, 4, 0), ...frame(Header_Kind.END, 0, 0, 0, 3)]),
      concat(new Uint8Array([2]), encodeFrame({ token: 1n, id: 2, kind: Header_Kind.PING }, null)),
    ];
  },
  async run(input) {
    if (escaped.length > 0) throw escaped.shift();
    const before = sessions.length;
    const s = new ByteStream(input);
    const mode = s.u8() % 3;
    const socket = await connect(server!.path);
    try {
      let token = 0n;
      let id = 1;
      if (mode !== 0) {
        const answer = await exchange(socket, hello(), (f) => f.header.kind === Header_Kind.WELCOME, 5000);
        const welcome = answer.find((f) => f.header.kind === Header_Kind.WELCOME);
        if (welcome === undefined) throw new PropertyViolation("a proper hello got no welcome");
        token = Welcome.decode(welcome.body).token;
        id = 2;
      }
      let bytes: Uint8Array;
      if (mode === 1) {
        const frames: Uint8Array[] = [];
        while (s.left >= 5) {
          const [kind, channel, code, flags, bodyPick] = [(s.u8() % 20) as Header_Kind, s.u8() % 5, s.u8() % 4, s.u8(), s.u8()];
          const body = bodyPick % 8 < BODIES.length ? BODIES[bodyPick % 8]() : bodyPick % 8 === 7 ? null : s.take(bodyPick >> 3);
          frames.push(
            encodeFrame(
              {
                token: flags & 1 ? token ^ 1n : token,
                id: flags & 2 ? id + 1 : id,
                channel,
                interfaceId: BigInt(flags >> 5),
                methodId: code,
                answers: flags & 4 ? id - 1 : flags & 8 ? 1 : 0,
                kind,
                placed: (flags & 16) !== 0,
              },
              body,
            ),
          );
          id++;
        }
        bytes = concat(...frames);
      } else bytes = s.rest();
      // A ping last: its pong says the server has handled everything before it.
      const ping = mode === 0 ? new Uint8Array(0) : encodeFrame({ token, id, kind: Header_Kind.PING }, null);
      await exchange(socket, concat(bytes, ping), (f) => f.header.kind === Header_Kind.PONG && f.header.answers === id);
    } finally {
      socket.destroy();
    }
    // The server's side of this connection (if it got that far) ends, with a documented cause.
    for (const session of sessions.slice(before)) {
      const ended = await Promise.race([session.closed, new Promise<null>((r) => setTimeout(() => r(null), 1000))]);
      if (ended === null) throw new PropertyViolation("the server's session did not end after its client went away");
      if (!CAUSES.has(ended.cause)) throw new PropertyViolation(`the server's session ended with cause ${ended.cause}`);
    }
    sessions = sessions.slice(0, before);
    if (escaped.length > 0) throw escaped.shift();
  },
};
