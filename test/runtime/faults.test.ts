/**
 * Faults a hostile peer could cause in a server, each against a real server process
 * (support/echo-server.ts) and a client in this process that writes frames the runtime would not: huge
 * lists, requests it never reads the answers of, frames after its own end, more channels and requests
 * than the server takes. The server must refuse clearly, stay up, serve its other sessions, and never
 * leave a handler running past its session.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EL_BIT, EL_EIGHT, MessageBuilder } from "../../runtime/codec/wire.js";
import { RemoteError } from "../../runtime/errors.js";
import { End, Header_Kind } from "../../runtime/protocol/protocol.capnp.js";
import { Client, type ServiceDefinition } from "../../runtime/rpc/service.js";
import { connect } from "../../runtime/session/client.js";
import type { Session } from "../../runtime/session/session.js";
import { killAll, Program } from "../examples/support.js";
import { type EchoModule, echoMethod, echoService, loadEcho } from "./support/echo.js";
import { residentBytes } from "./support/processes.js";

let dir: string;
let m: EchoModule;
let service: ServiceDefinition;
let servers = 0;

const MiB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Echo's method numbers (support/echo.ts). */
const ECHO = echoMethod(0);
const LISTS = echoMethod(5);
const BLOCK = echoMethod(6);
const HANG = echoMethod(7);

/** An Echo server process with `options` for `listen`, printing "ended CAUSE: MESSAGE" for each session. */
async function startServer(options: Record<string, unknown> = {}): Promise<{ server: Program; path: string }> {
  const path = join(dir, `s${servers++}`, "echo.sock");
  const server = new Program("test/runtime/support/echo-server.ts", [path, JSON.stringify(options)]);
  await server.waitFor(/listening/, 60_000);
  return { server, path };
}

/** A well-behaved session on `path` gets its answer. */
async function stillServes(path: string): Promise<void> {
  await using session = await connect(path, { service });
  expect(await new Client(session, service).call("echo", { text: "still here" })).toMatchObject({ text: "still here" });
}

interface Handlers {
  started: number;
  afterEnd: number;
  unaborted: number;
  running: number;
  droppedOneWays: number;
}

/** What the server's `block` and `hang` handlers saw, asked on `session` or a session of its own. */
async function handlers(path: string, session?: Session): Promise<Handlers> {
  if (session !== undefined) return (await new Client(session, service).call("handlers", {})) as Handlers;
  await using own = await connect(path, { service });
  return (await new Client(own, service).call("handlers", {})) as Handlers;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ipcgen-faults-"));
  m = await loadEcho();
  service = echoService(m);
}, 60_000);

afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("list decoding is charged what the values cost in memory", () => {
  /** A ListParams whose list field `field` is a list of `bytes` bytes of elements of size `es`, built by hand. */
  function hugeList(field: number, es: number, bytes: number): Uint8Array {
    const count = es === EL_BIT ? bytes * 8 : bytes / 8;
    const b = new MessageBuilder(bytes / 8 + 16);
    const root = b.initStruct(0, 0, 4);
    const at = b.initList(root + field, es, count);
    b.bytes.fill(0x55, at, at + bytes);
    return b.toFramed();
  }

  it("a 32 MiB List(Bool) or List(UInt64) parameter is malformed (traversal limit); the server goes on", async () => {
    const { server, path } = await startServer();
    await using hostile = await connect(path, { service });
    // 268 million Bools would be 2 GiB of array slots; 4 million UInt64s, 128 MiB of BigInts.
    for (const [field, es] of [
      [0, EL_BIT],
      [1, EL_EIGHT],
    ] as const) {
      const body = hugeList(field, es, 32 * MiB);
      const error = await hostile.request(LISTS, body, { timeoutMs: 30_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteError);
      expect(error).toMatchObject({ kind: "malformed", message: expect.stringMatching(/traversal limit/) });
    }
    expect(server.child.exitCode).toBe(null);
    // The same session, and others, are served.
    expect(await new Client(hostile, service).call("lists", { bools: [true, false], words: [1n] })).toMatchObject({ count: 3n });
    await stillServes(path);
  }, 120_000);

  it("lists the old charging (words on the wire) admitted are refused under the same limit", () => {
    const limit = { traversalLimitInWords: 100_000 };
    const cases = {
      // A bit each on the wire (15,625 words), an 8-byte slot each in memory.
      bools: m.ListParams.encode({ bools: new Array<boolean>(1_000_000).fill(true) }),
      // A word each on the wire, a slot and a 24-byte BigInt each in memory.
      words: m.ListParams.encode({ words: new Array<bigint>(50_000).fill(1n << 60n) }),
      // A word each (a pointer to nothing), an object of about 192 bytes each.
      blobs: m.ListParams.encode({ blobs: Array.from({ length: 10_000 }, () => new Uint8Array(0)) }),
      // A word each (eight Bools), an object with eight fields each.
      flags: m.ListParams.encode({ flags: new Array(50_000).fill({ a: true, h: true }) }),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      expect(bytes.length / 8, name).toBeLessThan(limit.traversalLimitInWords);
      expect(() => m.ListParams.decode(bytes, limit), name).toThrow(/traversal limit/);
    }
    // With room for what they cost, they read.
    const room = { traversalLimitInWords: 2_000_000 };
    expect(m.ListParams.decode(cases.bools, room).bools).toHaveLength(1_000_000);
    expect(m.ListParams.decode(cases.words, room).words[49_999]).toBe(1n << 60n);
    expect(m.ListParams.decode(cases.blobs, room).blobs).toHaveLength(10_000);
    expect(m.ListParams.decode(cases.flags, room).flags[7]).toMatchObject({ a: true, b: false, h: true });
    // Small lists are far within the default limit.
    expect(m.ListParams.decode(m.ListParams.encode({ bools: [true], words: [2n], blobs: [new Uint8Array([1])], flags: [{ c: true }] }))).toMatchObject({
      bools: [true],
      words: [2n],
      flags: [{ c: true }],
    });
  });
});

describe("backpressure", () => {
  it("a peer that pings and calls but never reads: the server's memory stays bounded, others are served, its session ends", async () => {
    const { server, path } = await startServer({ keepAliveIntervalMs: 250, keepAliveTimeoutMs: 2000 });
    await stillServes(path);
    const before = residentBytes(server.pid);
    // Logs in, then never reads again (and never gives up on the server itself).
    const hostile = await connect(path, { service, keepAliveIntervalMs: 1e9, keepAliveTimeoutMs: 1e9 });
    hostile.framed.socket.pause();
    const body = m.EchoParams.encode({ payload: new Uint8Array(256 * 1024) });
    // Up to 512 MiB of answers asked for; each request a ping too. Stops when the server stops reading.
    let sent = 0;
    let stuckSince = Date.now();
    while (sent < 2048) {
      if (hostile.framed.wouldWait(body.length + 64)) {
        if (Date.now() - stuckSince > 1500) break;
        await sleep(20);
        continue;
      }
      stuckSince = Date.now();
      hostile.sendFrame(0, Header_Kind.PING, 0, null);
      void hostile.request(ECHO, body).catch(() => {});
      sent++;
    }
    expect(sent).toBeLessThan(2048);
    const grown = residentBytes(server.pid) - before;
    expect(grown).toBeLessThan(160 * MiB);
    // Others are served meanwhile; the peer that does not read is let go.
    await stillServes(path);
    hostile.sendFrame(0, Header_Kind.PING, 0, null);
    await server.waitFor(/ended keep-alive-timeout: the peer does not read/, 20_000);
    await stillServes(path);
    hostile.framed.socket.destroy();
  }, 120_000);
});

describe("handlers never outlive their session", () => {
  let server: Program;
  let path: string;
  beforeAll(async () => {
    ({ server, path } = await startServer());
  }, 60_000);

  /** Waits until no handler runs, then answers how the counts moved since `before`. */
  async function settled(before: Handlers): Promise<Handlers> {
    await expect.poll(async () => (await handlers(path)).running, { timeout: 10_000 }).toBe(before.running);
    const after = await handlers(path);
    return { ...after, started: after.started - before.started, afterEnd: after.afterEnd - before.afterEnd, unaborted: after.unaborted - before.unaborted };
  }

  it("a one-way handler's signal fires when its session ends", async () => {
    const before = await handlers(path);
    const hostile = await connect(path, { service });
    await new Client(hostile, service).oneWay("hang", {});
    await expect.poll(async () => (await handlers(path)).running).toBe(before.running + 1);
    await hostile.close();
    const moved = await settled(before);
    expect(moved).toMatchObject({ started: 1, afterEnd: 0, unaborted: 0 });
  });

  it("a one-way frame naming a call is dropped (and counted), not run", async () => {
    const before = await handlers(path);
    const hostile = await connect(path, { service });
    await hostile.oneWay(BLOCK, m.Empty.encode({}));
    // Asked after the one-way frame, on the same session: it was handled by then.
    expect((await handlers(path, hostile)).droppedOneWays).toBe(1);
    // This side refuses to send one.
    await expect(new Client(hostile, service).oneWay("block", {})).rejects.toThrow(/block is a call/);
    await hostile.close();
    expect(await settled(before)).toMatchObject({ started: 0, afterEnd: 0, unaborted: 0 });
  });

  it("frames read together with an end start no handler", async () => {
    const before = await handlers(path);
    const hostile = await connect(path, { service });
    // One write: the end, then a call and a one-way message the server reads in the same chunk.
    const end = hostile.frame(0, Header_Kind.END, 0, End.encode({ reason: "leaving" }));
    const call = hostile.frame(0, Header_Kind.REQUEST, 0, m.Empty.encode({}), BLOCK);
    const oneWay = hostile.frame(0, Header_Kind.ONE_WAY, 0, m.Empty.encode({}), HANG);
    hostile.framed.socket.write(Buffer.concat([end, call, oneWay]));
    await server.waitFor(/ended closed-by-peer: the peer ended the session: leaving/);
    await hostile.closed;
    expect(await settled(before)).toMatchObject({ started: 0, afterEnd: 0, unaborted: 0 });
  });

  it("calls running when the session ends, or the peer dies, are all aborted", async () => {
    const before = await handlers(path);
    for (const how of ["close", "die"] as const) {
      const hostile = await connect(path, { service });
      const client = new Client(hostile, service);
      for (let i = 0; i < 20; i++) {
        void client.call("block", {}).catch(() => {});
        await client.oneWay("hang", {});
      }
      await expect.poll(async () => (await handlers(path)).running).toBe(before.running + 40);
      if (how === "close") await hostile.close();
      else hostile.framed.socket.destroy();
      await settled(before);
    }
    expect(await settled(before)).toMatchObject({ started: 80, afterEnd: 0, unaborted: 0 });
  });
});

describe("per-session caps", () => {
  let path: string;
  let server: Program;
  beforeAll(async () => {
    ({ server, path } = await startServer());
  }, 60_000);

  it("maxChannels (256): a peer's open past it is rejected clearly; the session and the server go on", async () => {
    await using hostile = await connect(path, { service });
    const metadata = m.ChannelKind.encode({ which: "echo" });
    const channels = await Promise.all(Array.from({ length: 256 }, () => hostile.openChannel(metadata)));
    const refused = await hostile.openChannel(metadata).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RemoteError);
    expect(refused).toMatchObject({ kind: "rejected", message: expect.stringMatching(/256 channels open.*maxChannels/) });
    // Closing one makes room for another; every channel still speaks.
    channels[0].close();
    const again = await hostile.openChannel(metadata);
    expect(await new Client(again, service).call("echo", { text: "x" })).toMatchObject({ text: "x" });
    expect(await new Client(channels[255], service).call("echo", { text: "y" })).toMatchObject({ text: "y" });
    expect(hostile.ended).toBe(false);
    await stillServes(path);
    expect(server.child.exitCode).toBe(null);
  });

  it("maxRunningRequests (1,024): a request past it is answered \"rejected\" at once; the others run and end with the session", async () => {
    const before = await handlers(path);
    const hostile = await connect(path, { service });
    const client = new Client(hostile, service);
    const running = Array.from({ length: 1024 }, () => client.call("block", {}).catch((e: unknown) => e));
    const refused = await client.call("block", {}, { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RemoteError);
    expect(refused).toMatchObject({ kind: "rejected", message: expect.stringMatching(/overloaded: 1024 requests .*maxRunningRequests/) });
    // Whatever its method: no handler starts past the cap.
    await expect(client.call("echo", { text: "quick" })).rejects.toMatchObject({ kind: "rejected" });
    expect((await handlers(path)).running).toBe(before.running + 1024);
    await stillServes(path);
    await hostile.close();
    await Promise.all(running);
    await expect.poll(async () => (await handlers(path)).running, { timeout: 10_000 }).toBe(before.running);
    expect((await handlers(path)).unaborted).toBe(before.unaborted);
  }, 60_000);
});
