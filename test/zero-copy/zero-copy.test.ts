/**
 * Zero-copy messages between real processes: a Blobs server (support/blobs-server.ts, a child process) and
 * generated clients here, over a real socket and real shared memory. What crosses the socket is measured
 * (bytes written), the rules of who may touch a block when are checked from both sides, and a peer that
 * kills itself mid-message or says things about memory that are not so gets one error and leaves nothing.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackpressureError, CancelledError, MessageTooLargeError, PoolBlockError, RemoteError, SessionEndedError, TimeoutError } from "../../runtime/index.js";
import { Blobs, type BlobsClient } from "./gen/blobs.capnp.js";
import { killAll, Program, shmLeftovers } from "../examples/support.js";

const dir = mkdtempSync(join(tmpdir(), "ipcgen-zero-copy-"));
const path = join(dir, "blobs.sock");
const SERVER = "test/zero-copy/support/blobs-server.ts";
const CLIENT = "test/zero-copy/support/blobs-client.ts";
const MiB = 1024 * 1024;

let server: Program;

/** A server of its own on a path of its own, with `options` (ListenServiceOptions as JSON). */
async function startServer(name: string, options: object = {}): Promise<{ program: Program; path: string }> {
  const at = join(dir, `${name}.sock`);
  const program = new Program(SERVER, [at, JSON.stringify(options)]);
  await program.waitFor(/listening/);
  return { program, path: at };
}

/** Bytes this client's socket has written so far. */
const written = (c: BlobsClient): number => c.session.framed.socket.bytesWritten;
const read = (c: BlobsClient): number => c.session.framed.socket.bytesRead;

function sumOf(bytes: Uint8Array): bigint {
  let sum = 0;
  for (const b of bytes) sum += b;
  return BigInt(sum);
}

/** V8's collector, for the tests of what happens to results nobody disposes of. */
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

beforeAll(async () => {
  server = new Program(SERVER, [path]);
  await server.waitFor(/listening/);
});

afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("large messages go through shared memory", () => {
  it("a 4 MiB Data value both ways: a few hundred bytes on the socket, every byte intact", async () => {
    await using blobs = await Blobs.connect(path);
    expect(blobs.session.peerTakesPlaced).toBe(true);
    const data = randomBytes(4 * MiB);
    const before = { written: written(blobs), read: read(blobs) };
    using answer = await blobs.echo({ data });
    expect(Buffer.compare(Buffer.from(answer.data), data)).toBe(0);
    // The request and the answer each crossed as a handle (plus a pool extent's announcement each way).
    expect(written(blobs) - before.written).toBeLessThan(1024);
    expect(read(blobs) - before.read).toBeLessThan(1024);
  });

  it("small messages still go over the socket, as bytes", async () => {
    await using blobs = await Blobs.connect(path);
    const before = written(blobs);
    using answer = await blobs.echo({ data: new Uint8Array(1000).fill(7) });
    expect(answer.data).toEqual(new Uint8Array(1000).fill(7));
    expect(written(blobs) - before).toBeGreaterThan(1000);
  });

  it("several placed values in one message (a list of Data), and parts of blocks, aligned or not", async () => {
    await using blobs = await Blobs.connect(path);
    const parts = [randomBytes(200_000), randomBytes(300_000), randomBytes(10)];
    const block = blobs.allocate(MiB);
    block.bytes.set(randomBytes(MiB));
    const aligned = block.bytes.subarray(64, 64 + 500_000);
    const expected = sumOf(aligned) + parts.reduce((s, p) => s + sumOf(p), 0n);
    using answer = await blobs.sum({ data: aligned, parts });
    expect(answer).toEqual({ sum: expected, length: BigInt(500_000 + 500_010) });
    // An unaligned part of a block cannot be pointed at: it is copied, and arrives all the same.
    const unaligned = block.bytes.subarray(3, 3 + 100_000);
    const unalignedSum = sumOf(unaligned);
    using second = await blobs.sum({ data: unaligned, parts: [] });
    expect(second.sum).toBe(unalignedSum);
  });

  it("a block is sent without a copy: what the application wrote in place is what the server reads", async () => {
    await using blobs = await Blobs.connect(path);
    const block = blobs.allocate(8 * MiB);
    const bytes = block.bytes;
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i / 4096;
    const expected = sumOf(bytes);
    const before = written(blobs);
    using answer = await blobs.sum({ data: bytes, parts: [] });
    expect(answer.sum).toBe(expected);
    expect(written(blobs) - before).toBeLessThan(512);
  });

  it("one-way messages too: the block comes back once the handler is done", async () => {
    await using blobs = await Blobs.connect(path);
    const block = blobs.allocate(300_000);
    block.bytes.fill(1);
    await blobs.tell({ data: block.bytes });
    await block.whenReturned();
    expect(block.bytes.length).toBe(300_000);
    using told = await blobs.told();
    expect(told).toEqual({ count: 1, bytes: 300_000n });
  });

  it("messages far larger than an extent, many at once: the pool grows, and every answer is right", async () => {
    await using blobs = await Blobs.connect(path);
    const values = Array.from({ length: 6 }, (_, i) => new Uint8Array(12 * MiB).fill(i + 1));
    const answers = await Promise.all(values.map((data) => blobs.sum({ data, parts: [] })));
    answers.forEach((a, i) => expect(a.sum).toBe(BigInt((i + 1) * 12 * MiB)));
  });
});

describe("who may touch the memory, and when", () => {
  it("sending a block hands it over: its views empty, bytes throws until the server releases it", async () => {
    await using blobs = await Blobs.connect(path);
    const block = blobs.allocate(MiB);
    const view = block.bytes;
    view.fill(9);
    const call = blobs.hold({ data: view, ms: 300 });
    expect(view.length).toBe(0);
    expect(block.inFlight).toBe(true);
    expect(() => block.bytes).toThrow(PoolBlockError);
    expect((() => { try { return block.bytes; } catch (e) { return e; } })()).toMatchObject({ reason: "in-flight" });
    using answer = await call;
    expect(answer.length).toBe(BigInt(MiB));
    // The server released the request before it answered: the block is back, its contents as they were.
    expect(block.inFlight).toBe(false);
    expect(block.bytes.every((b) => b === 9)).toBe(true);
  });

  it("a view taken before the block was sent cannot be sent again; a freed block cannot be used", async () => {
    await using blobs = await Blobs.connect(path);
    const block = blobs.allocate(MiB);
    const stale = block.bytes;
    using first = await blobs.sum({ data: stale, parts: [] });
    expect(first.length).toBe(BigInt(MiB));
    await expect(blobs.sum({ data: stale, parts: [] })).rejects.toMatchObject({ name: "PoolBlockError", reason: "stale-view" });
    using second = await blobs.sum({ data: block.bytes, parts: [] });
    expect(second.length).toBe(BigInt(MiB));
    block.free();
    expect(() => block.bytes).toThrow(/freed/);
  });

  it("a handler that keeps a Data value past its end finds it empty, never another message's bytes", async () => {
    await using blobs = await Blobs.connect(path);
    await blobs.keep({ data: new Uint8Array(200_000).fill(5) });
    using kept = await blobs.kept();
    expect(kept).toEqual({ length: 0n, first: 0 });
  });

  it("results are the caller's until disposed of; then their Data reads as empty and the server's block is back", async () => {
    await using blobs = await Blobs.connect(path);
    const first = await blobs.fill({ size: 2 * MiB, byte: 7 });
    expect(first.data.length).toBe(2 * MiB);
    expect(first.data.every((b) => b === 7)).toBe(true);
    // The server waits for its block before filling it again: the next fill answers only after this.
    first[Symbol.dispose]();
    expect(first.data.length).toBe(0);
    using second = await blobs.fill({ size: 2 * MiB, byte: 8 });
    expect(second.data[2 * MiB - 1]).toBe(8);
  });

  it("results nobody disposes of go back when they are garbage collected", async () => {
    await using blobs = await Blobs.connect(path);
    await (async () => {
      const dropped = await blobs.fill({ size: MiB, byte: 1 });
      expect(dropped.data[0]).toBe(1);
    })();
    const next = blobs.fill({ size: MiB, byte: 2 }, { timeoutMs: 10_000 });
    for (let i = 0; i < 20 && !(await Promise.race([next.then(() => true), new Promise((r) => setTimeout(() => r(false), 50))])); i++) gc();
    using answer = await next;
    expect(answer.data[0]).toBe(2);
  });

  it("a call given up on (timeout, cancel) still gets its block back once the server is done", async () => {
    await using blobs = await Blobs.connect(path);
    const block = blobs.allocate(MiB);
    await expect(blobs.hold({ data: block.bytes, ms: 300 }, { timeoutMs: 50 })).rejects.toThrow(TimeoutError);
    const controller = new AbortController();
    const cancelled = blobs.hold({ data: new Uint8Array(MiB), ms: 300 }, { signal: controller.signal });
    controller.abort();
    await expect(cancelled).rejects.toThrow(CancelledError);
    await block.whenReturned();
    expect(block.bytes.length).toBe(MiB);
  });
});

describe("where shared memory cannot be used", () => {
  it("zeroCopy: false on either side: everything goes over the socket, blocks are ordinary memory", async () => {
    const { path: plain } = await startServer("plain", { zeroCopy: false });
    for (const [at, options] of [[plain, {}], [path, { zeroCopy: false as const }]] as const) {
      await using blobs = await Blobs.connect(at, options);
      expect(blobs.session.peerTakesPlaced).toBe(false);
      const block = blobs.allocate(MiB);
      block.bytes.fill(3);
      const before = written(blobs);
      using answer = await blobs.echo({ data: block.bytes });
      expect(answer.data.every((b) => b === 3) && answer.data.length === MiB).toBe(true);
      expect(written(blobs) - before).toBeGreaterThan(MiB);
      expect(block.bytes.length).toBe(MiB);
    }
  });

  it("a 64 MiB value over the socket, where the frame limit lets it through: read whole (its size is its traversal limit)", async () => {
    const frames = { maxFrameBytes: 80 * MiB };
    const { path: big } = await startServer("big-frames", { zeroCopy: false, ...frames });
    await using blobs = await Blobs.connect(big, { zeroCopy: false, ...frames });
    const data = new Uint8Array(64 * MiB).fill(6);
    data[12345] = 7;
    using answer = await blobs.echo({ data });
    expect(answer.data.length).toBe(64 * MiB);
    expect(answer.data[12345]).toBe(7);
    expect(answer.data[64 * MiB - 1]).toBe(6);
  });

  it("over the socket, a message larger than the peer reads is refused before it is sent, either way; through the pool it fits", async () => {
    const { path: small } = await startServer("small-frames", { maxFrameBytes: MiB });
    await using plain = await Blobs.connect(small, { zeroCopy: false, maxFrameBytes: MiB });
    expect(plain.session.peerMaxFrameBytes).toBe(MiB);
    await expect(plain.echo({ data: new Uint8Array(2 * MiB) })).rejects.toThrow(MessageTooLargeError);
    // An answer too large for the client becomes an error the client can read.
    const refused = await plain.fill({ size: 2 * MiB, byte: 1 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RemoteError);
    expect((refused as RemoteError).message).toMatch(/the answer could not be sent: a message of \d+ bytes is larger than the peer reads \(1048576 bytes\)/);
    using small1 = await plain.echo({ data: new Uint8Array(1000).fill(2) });
    expect(small1.data[999]).toBe(2);
    // With zero-copy only handles cross the socket: the same sizes go through.
    await using pooled = await Blobs.connect(small, { maxFrameBytes: MiB });
    using big = await pooled.echo({ data: new Uint8Array(8 * MiB).fill(3) });
    expect(big.data.length).toBe(8 * MiB);
  });

  it("a full pool: messages go over the socket instead, and blocks cannot be had", async () => {
    await using blobs = await Blobs.connect(path, { zeroCopy: { maxPoolBytes: 8 * MiB, extentBytes: 4 * MiB } });
    const held = blobs.allocate(7 * MiB);
    expect(() => blobs.allocate(4 * MiB)).toThrow(BackpressureError);
    const data = randomBytes(3 * MiB);
    const before = written(blobs);
    using answer = await blobs.echo({ data });
    expect(Buffer.compare(Buffer.from(answer.data), data)).toBe(0);
    expect(written(blobs) - before).toBeGreaterThan(3 * MiB);
    held.free();
    const after = written(blobs);
    using again = await blobs.echo({ data });
    expect(Buffer.compare(Buffer.from(again.data), data)).toBe(0);
    expect(written(blobs) - after).toBeLessThan(1024);
  });
});

describe("a peer that dies mid-message", () => {
  it("client killed while the server holds its 64 MiB message: the server sees one end, /dev/shm keeps nothing", async () => {
    const { program: srv, path: at } = await startServer("kill-client");
    const client = new Program(CLIENT, [at, String(64 * MiB), "5000"]);
    await client.waitFor(/sending/);
    await srv.waitFor(/holding 67108864/);
    client.child.kill("SIGKILL");
    await client.exited;
    await srv.waitFor(/ended peer-died/);
    expect(srv.out.filter((l) => l.startsWith("ended"))).toHaveLength(1);
    expect(shmLeftovers()).toEqual([]);
    // The server goes on serving others.
    await using other = await Blobs.connect(at);
    using answer = await other.echo({ data: new Uint8Array(MiB).fill(4) });
    expect(answer.data[MiB - 1]).toBe(4);
    srv.child.kill("SIGKILL");
    await srv.exited;
    expect(shmLeftovers()).toEqual([]);
  });

  it("server killed while a 64 MiB call is in its hands: the call fails once, the session ends once, nothing is left", async () => {
    const { program: srv, path: at } = await startServer("kill-server");
    const blobs = await Blobs.connect(at);
    const ends: SessionEndedError[] = [];
    void blobs.session.closed.then((e) => ends.push(e));
    const block = blobs.allocate(64 * MiB);
    block.bytes.fill(0x33);
    const call = blobs.hold({ data: block.bytes, ms: 10_000 });
    await srv.waitFor(/holding 67108864/);
    srv.child.kill("SIGKILL");
    const error = await call.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionEndedError);
    expect((error as SessionEndedError).cause).toBe("peer-died");
    await blobs.session.closed;
    expect(ends).toHaveLength(1);
    await srv.exited;
    expect(shmLeftovers()).toEqual([]);
    // The block is this side's again, its bytes as they were.
    expect(block.inFlight).toBe(false);
    expect(block.bytes.every((b) => b === 0x33)).toBe(true);
  });

  it("server killed after answering 64 MiB: the answer held here stays readable, whole", async () => {
    const { program: srv, path: at } = await startServer("kill-after");
    const blobs = await Blobs.connect(at);
    using answer = await blobs.fill({ size: 64 * MiB, byte: 0x77 });
    srv.child.kill("SIGKILL");
    await blobs.session.closed;
    expect(answer.data.length).toBe(64 * MiB);
    expect(answer.data.every((b) => b === 0x77)).toBe(true);
    expect(shmLeftovers()).toEqual([]);
  });
});
