/**
 * Channels opened on a session, and the session's limits: backpressure, frames for unknown channels,
 * answers nobody waits for. The server is a separate process (support/echo-server.ts) except where a test
 * needs to hold the server side in hand.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackpressureError, CancelledError, ChannelClosedError, MessageTooLargeError, RemoteError, TimeoutError } from "../../runtime/errors.js";
import { Header_Kind } from "../../runtime/protocol/protocol.capnp.js";
import { Client, type ServiceDefinition, serve } from "../../runtime/rpc/service.js";
import { connect } from "../../runtime/session/client.js";
import { listen } from "../../runtime/session/server.js";
import { type Channel, MAX_CLOSED_CHANNELS, type Session } from "../../runtime/session/session.js";
import { encodeFrame } from "../../runtime/transport/frames.js";
import { type EchoModule, echoMethod, echoService, loadEcho } from "./support/echo.js";
import { killAll, startEchoServer } from "./support/processes.js";

let dir: string;
let m: EchoModule;
let service: ServiceDefinition;
let path: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ipcgen-channels-"));
  m = await loadEcho();
  service = echoService(m);
  path = join(dir, "echo", "echo.sock");
  await startEchoServer(path);
}, 60_000);

afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("channels", () => {
  it("opens channels with typed metadata; each speaks its own requests", async () => {
    await using session = await connect(path, { service });
    const a = await session.openChannel(m.ChannelKind.encode({ which: "echo" }));
    const b = await session.openChannel(m.ChannelKind.encode({ which: "echo" }));
    expect(a.id % 2).toBe(1); // client-opened ids are odd
    expect(b.id).not.toBe(a.id);
    const [ra, rb, rmain] = (await Promise.all([
      new Client(a, service).call("echo", { text: "a" }),
      new Client(b, service).call("echo", { text: "b" }),
      new Client(session, service).call("echo", { text: "main" }),
    ])) as { text: string; channel: number }[];
    expect([ra.channel, rb.channel, rmain.channel]).toEqual([a.id, b.id, 0]);
    expect(ra.text + rb.text + rmain.text).toBe("abmain");
  });

  it("a refused open and a slow one are non-fatal errors; the session goes on", async () => {
    await using session = await connect(path, { service });
    await expect(session.openChannel(m.ChannelKind.encode({ which: "refuse" }))).rejects.toMatchObject({ name: "RemoteError", kind: "rejected" });
    await expect(session.openChannel(m.ChannelKind.encode({ which: "slow", slow: 500 }), { timeoutMs: 50 })).rejects.toThrow(TimeoutError);
    const ok = await session.openChannel(m.ChannelKind.encode({ which: "slow", slow: 10 }));
    expect(((await new Client(ok, service).call("echo", { text: "x" })) as { text: string }).text).toBe("x");
    expect(session.ended).toBe(false);
  });

  it("a closed channel refuses calls with ChannelClosedError; the main channel goes on", async () => {
    await using session = await connect(path, { service });
    const channel = await session.openChannel(m.ChannelKind.encode({ which: "echo" }));
    channel.close();
    await expect(new Client(channel, service).call("echo", { text: "x" })).rejects.toThrow(ChannelClosedError);
    expect(((await new Client(session, service).call("echo", { text: "y" })) as { text: string }).text).toBe("y");
  });

  it("closing a channel fails the calls waiting on it, cancels the requests running on it, and is seen by both sides", async () => {
    await using session = await connect(path, { service });
    const client = new Client(session, service);
    const before = ((await client.call("stats", {})) as { cancelled: number }).cancelled;
    const channel = await session.openChannel(m.ChannelKind.encode({ which: "echo" }));
    const waiting = new Client(channel, service).call("wait", {});
    await new Promise((r) => setTimeout(r, 50)); // the request is running on the server
    const closed = channel.whenClosed();
    channel.close();
    await expect(waiting).rejects.toThrow(ChannelClosedError);
    await closed;
    // The server's handler saw its signal fire.
    await expect.poll(async () => ((await client.call("stats", {})) as { cancelled: number }).cancelled).toBe(before + 1);
    expect(session.ended).toBe(false);
  });

  it("the peer closing a channel fails this side's calls on it and resolves whenClosed", async () => {
    const local = join(dir, "peer-closes", "s.sock");
    const sessions: Session[] = [];
    const server = await listen(local, { service, onSession: (s) => sessions.push(s) });
    await using client = await connect(local, { service });
    await expect.poll(() => sessions.length).toBe(1);
    const accepted: Channel[] = [];
    sessions[0].onChannel((channel) => {
      accepted.push(channel);
      serve(channel, service, { wait: () => new Promise(() => {}) });
    });
    const channel = await client.openChannel(m.ChannelKind.encode({ which: "echo" }));
    const waiting = new Client(channel, service).call("wait", {});
    await expect.poll(() => accepted.length).toBe(1);
    accepted[0].close();
    await expect(waiting).rejects.toThrow(ChannelClosedError);
    await channel.whenClosed();
    expect(channel.closed).toBe(true);
    await server.close();
  });

  it("the server opens a channel to a client; with no handler the client rejects it", async () => {
    const local = join(dir, "server-opens", "s.sock");
    const sessions: Session[] = [];
    const server = await listen(local, { service, onSession: (s) => sessions.push(s) });
    await using client = await connect(local, { service });
    await expect.poll(() => sessions.length).toBe(1);
    await expect(sessions[0].openChannel(m.ChannelKind.encode({ which: "echo" }))).rejects.toBeInstanceOf(RemoteError);
    client.onChannel((channel, metadata) => {
      expect(m.ChannelKind.decode(metadata).which).toBe("echo");
      serve(channel, service, { echo: (p: { text: string }) => ({ text: `client says ${p.text}` }) });
    });
    const channel = await sessions[0].openChannel(m.ChannelKind.encode({ which: "echo" }));
    expect(channel.id % 2).toBe(0); // server-opened ids are even
    expect(((await new Client(channel, service).call("echo", { text: "hi" })) as { text: string }).text).toBe("client says hi");
    await server.close();
  });

  it("opening a channel with the other side's id, or a signal with a garbled body, is a protocol violation", async () => {
    const local = join(dir, "violations", "s.sock");
    const ends: string[] = [];
    const server = await listen(local, { service, onSession: (s) => void s.closed.then((e) => ends.push(e.message)) });
    const a = await connect(local, { service });
    // Clients open odd ids; 2 is the server's to use.
    a.framed.sendNow(encodeFrame({ token: a.token, id: 2, channel: 2, kind: Header_Kind.OPEN_CHANNEL }, m.ChannelKind.encode({ which: "echo" })));
    await a.closed;
    const b = await connect(local, { service });
    b.framed.sendNow(encodeFrame({ token: b.token, id: 2, channel: 0, kind: Header_Kind.SIGNAL }, new Uint8Array([9, 9, 9])));
    await b.closed;
    await expect.poll(() => ends.length).toBe(2);
    expect(ends[0]).toMatch(/opened channel 2, which it may not/);
    expect(ends[1]).toMatch(/signal with a malformed body/);
    await server.close();
  });

  it("a frame for a channel that is not open is a protocol violation", async () => {
    const session = await connect(path, { service });
    session.framed.sendNow(encodeFrame({ token: session.token, id: 2, channel: 77, kind: Header_Kind.REQUEST }, m.Empty.encode({})));
    const ended = await session.closed;
    expect(ended.cause).toBe("peer-died"); // the server dropped the connection
  });
});

describe("limits", () => {
  it(`a session remembers the last ${MAX_CLOSED_CHANNELS} closed channels, not every one: late frames for those are dropped, for older ones a violation`, async () => {
    let serverSide: Session | null = null;
    const local = join(dir, "churn", "s.sock");
    const server = await listen(local, { service, onSession: (s) => (serverSide = s) });
    const session = await connect(local, { service });
    const ids: number[] = [];
    await expect.poll(() => serverSide !== null).toBe(true);
    serverSide!.onChannel(() => true);
    for (let i = 0; i < MAX_CLOSED_CHANNELS + 100; i++) {
      const channel = await session.openChannel(m.ChannelKind.encode({ which: "echo" }));
      ids.push(channel.id);
      channel.close();
    }
    await expect.poll(() => serverSide!.channels.length).toBe(1);
    // A frame for a channel closed recently: dropped, the session goes on (an open after it is answered).
    session.sendFrame(ids[ids.length - 1], Header_Kind.CLOSE_CHANNEL, 0, null);
    (await session.openChannel(m.ChannelKind.encode({ which: "echo" }))).close();
    expect(serverSide!.ended).toBe(false);
    // For the first one, forgotten: the server takes it for a violation.
    session.sendFrame(ids[0], Header_Kind.CLOSE_CHANNEL, 0, null);
    const end = await serverSide!.closed;
    expect(end.cause).toBe("protocol-violation");
    expect(end.message).toMatch(new RegExp(`a frame for channel ${ids[0]}, which is not open`));
    await server.close();
  }, 60_000);

  it("answers nobody waits for are dropped and reported", async () => {
    await using session = await connect(path, { service });
    const dropped: number[] = [];
    session.onDroppedAnswer = (id) => dropped.push(id);
    // A call that times out here but is answered later by the server.
    await expect(new Client(session, service).call("echo", { text: "late", delayMs: 200 }, { timeoutMs: 20 })).rejects.toThrow(TimeoutError);
    await expect.poll(() => dropped.length, { timeout: 3000 }).toBe(1);
    expect(session.droppedAnswers).toBe(1);
  });

  it("a peer that stops reading cannot make the sender's queue grow without bound", async () => {
    const local = join(dir, "stalled", "s.sock");
    let serverSide: Session | null = null;
    const server = await listen(local, { service, onSession: (s) => (serverSide = s) });
    const session = await connect(local, { service, maxQueuedBytes: 256 * 1024 });
    await expect.poll(() => serverSide !== null).toBe(true);
    // The server stops reading: nothing it receives is consumed from the socket.
    serverSide!.framed.socket.pause();
    const client = new Client(session, service);
    const payload = new Uint8Array(64 * 1024);
    let refused: unknown = null;
    for (let i = 0; i < 200 && refused === null; i++) {
      await session.oneWay(echoMethod(4), m.EchoParams.encode({ payload }), false).catch((e: unknown) => (refused = e));
    }
    expect(refused).toBeInstanceOf(BackpressureError);
    // Bounded: what sits in this process's queue stays near the limit (the kernel buffers the rest).
    expect(session.framed.socket.writableLength).toBeLessThan(256 * 1024 + 2 * payload.length);
    // A sender that waits is resumed when the peer reads again.
    const waiting = session.oneWay(echoMethod(4), m.EchoParams.encode({ payload }));
    serverSide!.framed.socket.resume();
    await waiting;
    void client;
    await session.close();
    await server.close();
  });

  it("frames keep their order while some wait for the socket: a cancel made meanwhile goes behind them", async () => {
    const local = join(dir, "ordered", "s.sock");
    let serverSide: Session | null = null;
    const server = await listen(local, {
      service,
      onSession: (s) => {
        serverSide = s;
        serve(s, service, { echo: (p: { text: string }) => ({ text: p.text }) });
      },
    });
    const session = await connect(local, { service, maxQueuedBytes: 64 * 1024 });
    await expect.poll(() => serverSide !== null).toBe(true);
    serverSide!.framed.socket.pause();
    const client = new Client(session, service);
    const text = "x".repeat(16 * 1024);
    const calls: Promise<unknown>[] = [];
    // Until the socket's queue is full and calls wait their turn (the kernel takes a few hundred KiB first).
    while (!session.framed.wouldWait(1) && calls.length < 2000) calls.push(client.call("echo", { text }));
    calls.push(client.call("echo", { text }));
    // A call that gives up while waiting sends its cancel now: it must not overtake the frames before it.
    const controller = new AbortController();
    const abandoned = client.call("echo", { text }, { signal: controller.signal });
    controller.abort();
    await expect(abandoned).rejects.toThrow(CancelledError);
    // A call that must not wait is refused without taking a frame id.
    await expect(client.call("echo", { text }, { wait: false })).rejects.toThrow(BackpressureError);
    serverSide!.framed.socket.resume();
    const answers = await Promise.all(calls);
    expect(answers.every((a) => (a as { text: string }).text === text)).toBe(true);
    expect(await client.call("echo", { text: "after" })).toMatchObject({ text: "after" });
    expect(session.ended).toBe(false);
    await session.close();
    await server.close();
  });

  it("frames over the peer's maximum size are refused by the sender, and, if sent anyway, before they are read", async () => {
    const local = join(dir, "small", "s.sock");
    const ends: string[] = [];
    const server = await listen(local, {
      service,
      maxFrameBytes: 1024,
      onSession: (s) => {
        serve(s, service, { echo: (p: { text: string }) => ({ text: p.text }) });
        void s.closed.then((e) => ends.push(e.cause));
      },
    });
    const session = await connect(local, { service });
    // The server said its limit at log-in: the client refuses, and the session goes on.
    expect(session.peerMaxFrameBytes).toBe(1024);
    const body = m.EchoParams.encode({ payload: new Uint8Array(4096) });
    await expect(session.oneWay(echoMethod(4), body)).rejects.toThrow(MessageTooLargeError);
    await expect(new Client(session, service).call("echo", { payload: new Uint8Array(4096) })).rejects.toThrow(/larger than the peer reads \(1024 bytes\)/);
    expect(await new Client(session, service).call("echo", { text: "small" })).toMatchObject({ text: "small" });
    // A peer that ignores the limit has its session ended by the server, which reads none of the frame.
    session.peerMaxFrameBytes = Infinity;
    await session.oneWay(echoMethod(4), body).catch(() => {});
    await session.closed;
    await expect.poll(() => ends).toEqual(["protocol-violation"]);
    await server.close();
  });
});
