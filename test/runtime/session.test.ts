/**
 * Sessions and RPC between real processes: a server child process (support/echo-server.ts) and clients in
 * this process, over a real Unix socket. Faults are real too: killed and stopped processes, raw bytes.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AddressInUseError, ConnectError, LoginError, RemoteError, SessionEndedError, TimeoutError, CancelledError } from "../../runtime/errors.js";
import { Header_Kind, Hello } from "../../runtime/protocol/protocol.capnp.js";
import { Client, type ServiceDefinition } from "../../runtime/rpc/service.js";
import { Signals } from "../../runtime/rpc/signals.js";
import { connect } from "../../runtime/session/client.js";
import { listen } from "../../runtime/session/server.js";
import { encodeFrame } from "../../runtime/transport/frames.js";
import { type EchoModule, echoMethod, echoService, loadEcho } from "./support/echo.js";
import { exited, killAll, startEchoServer } from "./support/processes.js";

let dir: string;
let m: EchoModule;
let service: ServiceDefinition;
let servers = 0;

/** Starts an Echo server process on a fresh socket path (or `path`); resolves once it listens. */
async function startServer(options: Record<string, unknown> = {}, path = join(dir, `s${servers++}`, "echo.sock")) {
  return { child: await startEchoServer(path, options), path };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ipcgen-session-"));
  m = await loadEcho();
  service = echoService(m);
}, 60_000);

afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("connecting", () => {
  it("fails fast with ConnectError when no server listens", async () => {
    const started = Date.now();
    await expect(connect(join(dir, "nobody.sock"), { service })).rejects.toThrow(ConnectError);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("waits for a server that is starting when asked to", async () => {
    const path = join(dir, "late", "echo.sock");
    const pending = connect(path, { service, waitMs: 20_000 });
    await startServer({}, path);
    const session = await pending;
    expect(session.token).not.toBe(0n);
    await session.close();
  }, 30_000);

  it("creates the socket's directory 0700 and the socket 0600 by default, 0666 for anyone", async () => {
    const { path } = await startServer();
    expect(statSync(join(path, "..")).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const open = await startServer({ permissions: "anyone" });
    expect(statSync(open.path).mode & 0o777).toBe(0o666);
  }, 30_000);

  it("refuses a second server on a live path and replaces a stale socket file", async () => {
    const { child, path } = await startServer();
    await expect(listen(path, { service, onSession: () => {} })).rejects.toThrow(AddressInUseError);
    child.kill("SIGKILL");
    await exited(child);
    // The dead server's socket file is still there; a new server takes its place.
    expect(statSync(path).isSocket()).toBe(true);
    const server = await listen(path, { service, onSession: () => {} });
    const session = await connect(path, { service });
    await session.close();
    await server.close();
  }, 30_000);

  it("refuses another service or another build of it, and another protocol version, with LoginError", async () => {
    const { path } = await startServer();
    await expect(connect(path, { service: { ...service, fingerprint: 99n } })).rejects.toMatchObject({ name: "LoginError", kind: "service-mismatch" });
    await expect(connect(path, { service: { ...service, id: 1n } })).rejects.toMatchObject({ name: "LoginError", kind: "service-mismatch" });
    // A hello with another protocol version, sent by hand.
    const reply = await rawExchange(path, encodeFrame({ token: 0n, id: 1, kind: Header_Kind.HELLO }, Hello.encode({ version: 999, service: service.id, fingerprint: service.fingerprint })));
    expect(reply).toContain("protocol version 999");
  }, 30_000);

  it("refuses a peer the credential policy does not allow", async () => {
    const { path } = await startServer({ allowUid: 12345 });
    const err = await connect(path, { service }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoginError);
    expect((err as LoginError).kind).toBe("not-allowed");
    expect((err as Error).message).toMatch(new RegExp(`process ${process.pid} \\(uid ${process.getuid!()}`));
  }, 30_000);
});

/** Sends raw bytes to a server, returns what it answers (as latin1 text) before it closes the connection. */
function rawExchange(path: string, bytes: Uint8Array): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let got = "";
    socket.on("connect", () => socket.write(bytes));
    socket.on("data", (d) => (got += d.toString("latin1")));
    socket.on("close", () => resolve(got));
    socket.on("error", reject);
    setTimeout(() => socket.destroy(), 3000);
  });
}

describe("RPC", () => {
  let path: string;
  beforeAll(async () => {
    ({ path } = await startServer());
  }, 30_000);

  it("matches concurrent calls to their answers", async () => {
    await using session = await connect(path, { service });
    const client = new Client(session, service);
    const calls = Array.from({ length: 200 }, (_, i) => client.call("echo", { text: `call ${i}`, delayMs: (i * 7) % 13, payload: new Uint8Array([i & 0xff]) }));
    const answers = (await Promise.all(calls)) as { text: string; payload: Uint8Array; session: bigint }[];
    answers.forEach((a, i) => {
      expect(a.text).toBe(`call ${i}`);
      expect([...a.payload]).toEqual([i & 0xff]);
      expect(a.session).toBe(session.token);
    });
  });

  it("passes declared errors with their name and data, and hides the server's internals", async () => {
    await using session = await connect(path, { service });
    const client = new Client(session, service);
    const app = (await client.call("fail", { code: "notFound" }).catch((e: unknown) => e)) as RemoteError;
    expect(app).toBeInstanceOf(RemoteError);
    expect(app).toMatchObject({ kind: "application", errorName: "notFound", code: "ERR_IPCGEN_REMOTE", message: "failed with notFound" });
    expect([...app.data!]).toEqual([1, 2, 3]);
    const internal = (await client.call("fail", { code: "crash" }).catch((e: unknown) => e)) as RemoteError;
    expect(internal.kind).toBe("internal");
    expect(internal.message).not.toContain("secret");
    expect(internal.message).not.toContain("echo-server");
    // The session goes on.
    expect(((await client.call("echo", { text: "still here" })) as { text: string }).text).toBe("still here");
  });

  it("times out a call without ending the session, and cancels through AbortSignal, which the handler sees", async () => {
    await using session = await connect(path, { service });
    const client = new Client(session, service);
    const before = ((await client.call("stats", {})) as { cancelled: number }).cancelled;
    await expect(client.call("wait", {}, { timeoutMs: 50 })).rejects.toThrow(TimeoutError);
    const controller = new AbortController();
    const waiting = client.call("wait", {}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    await expect(waiting).rejects.toThrow(CancelledError);
    // Both handlers were told (a timeout cancels too).
    await expect.poll(async () => ((await client.call("stats", {})) as { cancelled: number }).cancelled).toBe(before + 2);
    expect(session.ended).toBe(false);
  });

  it("answers an unknown method with an error, not a crash", async () => {
    await using session = await connect(path, { service });
    const err = (await session.request(echoMethod(42), m.Empty.encode({})).catch((e: unknown) => e)) as RemoteError;
    expect(err).toMatchObject({ name: "RemoteError", kind: "unknown-method" });
    // A method id the service has, of an interface it does not extend.
    const elsewhere = (await session.request({ interfaceId: 0xf00dn, methodId: 0 }, m.Empty.encode({})).catch((e: unknown) => e)) as RemoteError;
    expect(elsewhere).toMatchObject({ name: "RemoteError", kind: "unknown-method" });
    const malformed = (await session.request(echoMethod(0), new Uint8Array([1, 2, 3])).catch((e: unknown) => e)) as RemoteError;
    expect(malformed.kind).toBe("malformed");
  });

  it("delivers one-way calls", async () => {
    await using session = await connect(path, { service });
    const client = new Client(session, service);
    await client.oneWay("note", { text: "remember me" });
    await expect.poll(async () => ((await client.call("stats", {})) as { lastNote: string }).lastNote).toBe("remember me");
  });

  it("coalesces signals: several submits arrive as one delivery with their count", async () => {
    await using session = await connect(path, { service });
    const signals = new Signals(session);
    const deliveries: number[] = [];
    for (let i = 0; i < 5; i++) signals.submit(echoMethod(0));
    // The server answers with five submits of signal 1 in one turn; registering late still receives them.
    await new Promise((r) => setTimeout(r, 100));
    signals.on(echoMethod(1), (count) => deliveries.push(count));
    await expect.poll(() => deliveries.reduce((a, b) => a + b, 0)).toBe(5);
    expect(deliveries.length).toBeLessThan(5);
  });
});

describe("faults", () => {
  it("a server killed mid-call: the client sees the session end once, every pending call rejects", async () => {
    const { child, path } = await startServer();
    const session = await connect(path, { service });
    const client = new Client(session, service);
    const pending = Array.from({ length: 10 }, () => client.call("wait", {}).catch((e: unknown) => e));
    await new Promise((r) => setTimeout(r, 50));
    child.kill("SIGKILL");
    const errors = await Promise.all(pending);
    const ended = await session.closed;
    expect(ended.cause).toBe("peer-died");
    for (const e of errors) expect(e).toBe(ended);
    await expect(client.call("echo", { text: "x" })).rejects.toBe(ended);
  }, 30_000);

  it("a stalled server: keep-alive ends the session", async () => {
    const { child, path } = await startServer();
    const session = await connect(path, { service, keepAliveIntervalMs: 50, keepAliveTimeoutMs: 300 });
    child.kill("SIGSTOP");
    try {
      const ended = await session.closed;
      expect(ended.cause).toBe("keep-alive-timeout");
    } finally {
      child.kill("SIGCONT");
    }
  }, 30_000);

  it("garbage, a 4 GiB length prefix and a wrong token end only the offending session", async () => {
    const { path } = await startServer();
    await using good = await connect(path, { service });
    const client = new Client(good, service);
    const garbage = await rawExchange(path, new Uint8Array(64).fill(0xab));
    expect(garbage).toBe("");
    const huge = new Uint8Array(8);
    new DataView(huge.buffer).setUint32(0, 0xffffffff, true);
    expect(await rawExchange(path, huge)).toBe("");
    // A frame whose header is cut short: the length covers 12 bytes, which hold no whole header message.
    const truncated = new Uint8Array(16);
    new DataView(truncated.buffer).setUint32(0, 12, true);
    new DataView(truncated.buffer).setUint32(8, 5, true);
    expect(await rawExchange(path, truncated)).toBe("");
    // A logged-in session whose next frame carries another token.
    const bad = await connect(path, { service });
    bad.framed.sendNow(encodeFrame({ token: bad.token ^ 1n, id: 2, kind: Header_Kind.PING }, null));
    const ended = await bad.closed;
    expect(["peer-died", "closed-by-peer"]).toContain(ended.cause);
    expect(((await client.call("echo", { text: "unharmed" })) as { text: string }).text).toBe("unharmed");
  }, 30_000);

  it("the server side reports a violation as protocol-violation, once", async () => {
    const path = join(dir, "inproc", "echo.sock");
    const ends: SessionEndedError[] = [];
    const server = await listen(path, { service, onSession: (s) => void s.closed.then((e) => ends.push(e)) });
    const session = await connect(path, { service });
    session.framed.sendNow(encodeFrame({ token: session.token, id: 7, kind: Header_Kind.PING }, null)); // id 2 was due
    await session.closed;
    await expect.poll(() => ends.length).toBe(1);
    expect(ends[0].cause).toBe("protocol-violation");
    expect(ends[0].message).toMatch(/frame id 7 where 2 was due/);
    await server.close();
  });

  it("close() tells the peer: it sees closed-by-peer; await using closes", async () => {
    const path = join(dir, "closing", "echo.sock");
    const ends: SessionEndedError[] = [];
    const server = await listen(path, { service, onSession: (s) => void s.closed.then((e) => ends.push(e)) });
    {
      await using session = await connect(path, { service });
      expect(session.ended).toBe(false);
    }
    await expect.poll(() => ends.map((e) => e.cause)).toEqual(["closed-by-peer"]);
    expect(server.sessions.size).toBe(0);
    await server.close();
  });
});

