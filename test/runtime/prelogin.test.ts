/**
 * Before log-in, between real processes: what a connection that has not logged in may cost the server
 * (memory, time, connections, sessions), and the client's check of who the server is.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LoginError } from "../../runtime/errors.js";
import { Failure, Failure_Kind, Header_Kind } from "../../runtime/protocol/protocol.capnp.js";
import { Client, type ServiceDefinition } from "../../runtime/rpc/service.js";
import { connect } from "../../runtime/session/client.js";
import { type Frame, parseFrame } from "../../runtime/transport/frames.js";
import { echoService, loadEcho } from "./support/echo.js";
import { itAsOtherUser } from "../support/other-user.js";
import { collect, ECHO_SERVER, FLOOD, killAll, line, residentBytes, run, startEchoServer } from "./support/processes.js";

let dir: string;
let service: ServiceDefinition;
let servers = 0;
const MiB = 1024 * 1024;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ipcgen-prelogin-"));
  chmodSync(dir, 0o755); // processes of another user must reach the sockets inside
  service = echoService(await loadEcho());
}, 60_000);

afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory for one server's socket, reachable by other users. */
function socketDir(owner?: number): string {
  const d = join(dir, `s${servers++}`);
  mkdirSync(d, { mode: 0o755 });
  if (owner !== undefined) chownSync(d, owner, owner);
  return d;
}

/** A raw connection that says nothing unless told to. */
function rawConnect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Whether the server closes `socket` within `ms` (a bound for a close that should come at once, not a speed check). */
function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    socket.on("error", () => {});
    socket.resume();
    if (socket.closed) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** The first frame the server sends on `socket`. */
function firstFrame(socket: Socket): Promise<Frame> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    socket.on("error", () => {});
    socket.on("data", (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4 && got.length >= 4 + got.readUInt32LE(0)) resolve(parseFrame(got.subarray(4, 4 + got.readUInt32LE(0))));
    });
    socket.once("close", () => reject(new Error(`closed after ${got.length} bytes, before a whole frame`)));
  });
}

/** Logs in and makes one call; answers the text echoed. */
async function echoOnce(path: string, text: string): Promise<string> {
  await using session = await connect(path, { service });
  return ((await new Client(session, service).call("echo", { text })) as { text: string }).text;
}

/**
 * Runs a flood (support/flood.ts: 8 connections, each sending 32 MiB of a frame just under 64 MiB) at a
 * server for 3 s, while this process logs in and calls; answers the server's peak resident memory over
 * what it had before, and the flood's count of connections.
 */
async function underFlood(path: string, server: { pid?: number }, as: { uid?: number; gid?: number } = {}) {
  expect(await echoOnce(path, "warm-up")).toBe("warm-up");
  const before = residentBytes(server.pid!);
  let peak = before;
  const flood = run(FLOOD, [path, "3000", "8", String(32 * MiB)], as);
  const totals = line(flood, /^\{/);
  await line(flood, /flooding/);
  const sampler = setInterval(() => (peak = Math.max(peak, residentBytes(server.pid!))), 50);
  let done = false;
  void totals.finally(() => (done = true));
  let calls = 0;
  try {
    while (!done) {
      expect(await echoOnce(path, `call ${calls}`)).toBe(`call ${calls}`);
      calls++;
    }
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, residentBytes(server.pid!));
  return { growth: peak - before, calls, connections: (JSON.parse(await totals) as { connections: number }).connections };
}

describe("before log-in, a connection costs the server little", () => {
  it("a flood of connections each sending most of a 64 MiB frame does not grow the server; others log in and call meanwhile", async () => {
    const path = join(socketDir(), "echo.sock");
    const server = await startEchoServer(path);
    const { growth, calls, connections } = await underFlood(path, server);
    expect(connections).toBeGreaterThanOrEqual(8);
    expect(calls).toBeGreaterThan(0);
    // Held until log-in, the flood's frames would be 8 x 32 MiB.
    expect(growth).toBeLessThan(64 * MiB);
  }, 60_000);

  itAsOtherUser(
    "the same flood from a user `allow` refuses: refused at accept, its bytes never held",
    [FLOOD],
    async (user) => {
      const path = join(socketDir(), "echo.sock");
      const server = await startEchoServer(path, { permissions: "anyone", logRefused: true });
      const log = collect(server);
      const { growth, calls } = await underFlood(path, server, { uid: user.uid, gid: user.gid });
      expect(calls).toBeGreaterThan(0);
      expect(growth).toBeLessThan(64 * MiB);
      expect(log.text).toMatch(new RegExp(`uid ${user.uid}, gid ${user.gid}\\) is not allowed to connect`));
    },
    60_000,
  );

  it("a peer `allow` refuses is answered not-allowed at once, whatever frame it starts to send", async () => {
    const path = join(socketDir(), "echo.sock");
    await startEchoServer(path, { allowUid: 12345, loginTimeoutMs: 60_000 });
    const socket = await rawConnect(path);
    const reply = firstFrame(socket);
    // The start of a 64 MiB frame, which a server reading it would wait for.
    const start = Buffer.alloc(MiB);
    start.writeUInt32LE(64 * MiB - 1, 0);
    socket.write(start);
    const frame = await reply;
    socket.destroy();
    expect(frame.header).toMatchObject({ kind: Header_Kind.REFUSED, id: 1, answers: 1, token: 0n });
    const failure = Failure.decode(frame.body);
    expect(failure.kind).toBe(Failure_Kind.NOT_ALLOWED);
    expect(failure.message).toMatch(new RegExp(`process ${process.pid} \\(uid ${process.getuid!()}`));
  }, 30_000);

  it("a frame larger than a hello is refused as soon as its length arrives, and reported", async () => {
    const path = join(socketDir(), "echo.sock");
    const server = await startEchoServer(path, { loginTimeoutMs: 60_000, logRefused: true });
    const log = collect(server);
    const socket = await rawConnect(path);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(5000);
    socket.write(prefix);
    expect(await closedWithin(socket, 10_000)).toBe(true);
    await expect.poll(() => log.text).toMatch(/refused: the client broke the protocol before log-in: frame of 5000 bytes is over the limit of 4096/);
    expect(await echoOnce(path, "after")).toBe("after");
  }, 30_000);

  it("a client that sends half a frame and stalls is dropped after loginTimeoutMs", async () => {
    const path = join(socketDir(), "echo.sock");
    const server = await startEchoServer(path, { loginTimeoutMs: 500, logRefused: true });
    const log = collect(server);
    const socket = await rawConnect(path);
    const half = Buffer.alloc(14);
    half.writeUInt32LE(100);
    socket.write(half);
    expect(await closedWithin(socket, 10_000)).toBe(true);
    expect(log.text).toMatch(/refused: no log-in within 500 ms/);
  }, 30_000);

  it("past maxPendingLogins, a new connection is closed at once and reported; once one goes, others log in", async () => {
    const path = join(socketDir(), "echo.sock");
    const server = await startEchoServer(path, { maxPendingLogins: 4, loginTimeoutMs: 60_000, logRefused: true });
    const log = collect(server);
    // Accepted in order: these four fill the pending log-ins before the fifth is accepted.
    const waiting = await Promise.all(Array.from({ length: 4 }, () => rawConnect(path)));
    const fifth = await rawConnect(path);
    expect(await closedWithin(fifth, 10_000)).toBe(true);
    await expect.poll(() => log.text).toMatch(/refused: 4 connections are already waiting to log in \(maxPendingLogins\)/);
    for (const s of waiting.slice(1)) expect(s.closed).toBe(false);
    waiting[0].destroy();
    // The server sees that close in its own time: try until a log-in gets through.
    await expect.poll(() => echoOnce(path, "in").catch(() => "refused"), { timeout: 10_000 }).toBe("in");
    for (const s of waiting) s.destroy();
  }, 30_000);

  it("past maxSessions, log-in is refused saying so; once a session ends, the next logs in", async () => {
    const path = join(socketDir(), "echo.sock");
    await startEchoServer(path, { maxSessions: 2 });
    const first = await connect(path, { service });
    await using second = await connect(path, { service });
    const err = (await connect(path, { service }).catch((e: unknown) => e)) as LoginError;
    expect(err).toBeInstanceOf(LoginError);
    expect(err.kind).toBe("rejected");
    expect(err.message).toMatch(/limit of 2 sessions/);
    await first.close();
    await expect.poll(() => echoOnce(path, "third").catch(() => "refused"), { timeout: 10_000 }).toBe("third");
    expect(second.ended).toBe(false);
  }, 30_000);
});

describe("the client checks who the server is", () => {
  it("the session's peer is the server process, as the kernel reports it", async () => {
    const path = join(socketDir(), "echo.sock");
    const server = await startEchoServer(path);
    await using session = await connect(path, { service });
    expect(session.peer).toEqual({ pid: server.pid, uid: process.getuid!(), gid: process.getgid!() });
  }, 30_000);

  it("a server `allowServer` refuses: LoginError server-not-trusted, and nothing was sent to it", async () => {
    const path = join(socketDir(), "raw.sock");
    const received: number[] = [];
    const closed = new Promise<void>((resolve) => {
      const raw = createServer((socket) => {
        let n = 0;
        socket.on("data", (d: Buffer) => (n += d.length));
        socket.on("close", () => {
          received.push(n);
          raw.close();
          resolve();
        });
      });
      raw.listen(path);
    });
    const seen: unknown[] = [];
    const err = (await connect(path, { service, allowServer: (peer) => (seen.push(peer), false) }).catch((e: unknown) => e)) as LoginError;
    expect(err).toBeInstanceOf(LoginError);
    expect(err.kind).toBe("server-not-trusted");
    expect(seen).toEqual([{ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() }]);
    await closed;
    expect(received).toEqual([0]);
  }, 30_000);

  itAsOtherUser(
    "a server running as another user is not trusted by default; a policy that allows it logs in",
    [ECHO_SERVER],
    async (user) => {
      const path = join(socketDir(user.uid), "echo.sock");
      const server = await startEchoServer(path, { allowUid: 0 }, { uid: user.uid, gid: user.gid });
      const err = (await connect(path, { service }).catch((e: unknown) => e)) as LoginError;
      expect(err).toBeInstanceOf(LoginError);
      expect(err.kind).toBe("server-not-trusted");
      expect(err.message).toMatch(new RegExp(`process ${server.pid} running as uid ${user.uid}`));
      await using session = await connect(path, { service, allowServer: (peer) => peer.uid === user.uid });
      expect(session.peer).toEqual({ pid: server.pid, uid: user.uid, gid: user.gid });
      expect(((await new Client(session, service).call("echo", { text: "trusted" })) as { text: string }).text).toBe("trusted");
    },
    30_000,
  );
});
