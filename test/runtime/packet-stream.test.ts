// Packet streams (runtime/shm/packet-stream.ts) over real shared memory through the native addon: in one
// process (source and sink on two mappings of one memfd, each with its end of a doorbell pair), across two processes, and
// against a hostile peer that writes the region's bytes by hand. Needs the addon built (npm run build:native).
import { type ChildProcess } from "node:child_process";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadNativeAddon } from "../../runtime/native/index.js";
import { BulkAllocator } from "../../runtime/shm/allocator.js";
import { Doorbell } from "../../runtime/shm/doorbell.js";
import {
  type Packet,
  PacketSink,
  PacketSource,
  type PacketStreamConfig,
  PacketStreamError,
  type PacketStreamLayout,
  packetStreamLayout,
  type StreamRegion,
} from "../../runtime/shm/packet-stream.js";
import { REPO } from "./support/echo.js";
import { CHECKED, CONFIG, consume, CRC_AT, DESCRIPTOR, produce, SEQ_AT, STATUS_AT } from "./support/packets.js";
import { killAll, line, run } from "./support/processes.js";

const native = loadNativeAddon();
const PEER = `${REPO}/test/runtime/support/packet-peer.ts`;

/** A small stream: 7 packets in flight at most, 4 KiB of bulk buffer. */
const SMALL: PacketStreamConfig = { ringSize: 8, bufferSize: 4096, descriptor: DESCRIPTOR };

const streams: (PacketSource | PacketSink)[] = [];
afterEach(() => {
  for (const s of streams.splice(0)) s.close();
});
afterAll(() => {
  killAll();
});

/**
 * A new region of `config`'s size as both sides hold it: the creator's mapping and one end of a doorbell
 * pair (a), and a second mapping of the same memfd with the other end, adopted as a peer's would be (b).
 */
function region(config: PacketStreamConfig): { a: StreamRegion; b: StreamRegion; layout: PacketStreamLayout } {
  const layout = packetStreamLayout(config);
  const { mapping, fd } = native.memfdCreate(layout.regionSize);
  const [mine, theirs] = native.doorbellPair();
  return { a: { mapping, bell: Doorbell.adopt(mine) }, b: { mapping: native.memfdMap(fd, layout.regionSize), bell: Doorbell.adopt(theirs) }, layout };
}

/** A doorbell end whose other end is closed (for streams whose peer never comes). */
function lonelyBell(): Doorbell {
  const [bell, other] = Doorbell.pair();
  other.close();
  return bell;
}

const track = <T extends PacketSource | PacketSink>(s: T): T => (streams.push(s), s);

/** A source that made the region and a sink that opened it, in this process. */
function pair(config: PacketStreamConfig = CONFIG): { source: PacketSource; sink: PacketSink; layout: PacketStreamLayout } {
  const { a, b, layout } = region(config);
  return { source: track(PacketSource.create(a, config)), sink: track(PacketSink.open(b, config)), layout };
}

const fields = (p: Packet): Buffer => Buffer.from(p.extra.buffer, p.extra.byteOffset, p.extra.length);
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `promise` settles within `ms`. */
async function settles(promise: Promise<unknown>, ms = 50): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(ms);
  return settled;
}

/** The rejection of `promise` (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<PacketStreamError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(PacketStreamError);
    return error as PacketStreamError;
  }
  throw new Error("expected a rejection");
}

function thrown(fn: () => unknown): PacketStreamError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PacketStreamError);
    return error as PacketStreamError;
  }
  throw new Error("expected a throw");
}

describe("layout", () => {
  it("puts each side's indices, the rings and the bulk buffer on 64-byte lines", () => {
    const layout = packetStreamLayout(CONFIG);
    expect(layout).toMatchObject({ ringSize: 64, slotBytes: 24, submitHead: 64, ackTail: 68, submitTail: 128, ackHead: 132, submitSlots: 192 });
    expect(layout.ackSlots).toBe(192 + 64 * 24);
    expect(layout.bulkOffset % 64).toBe(0);
    expect(layout.bulkSize).toBe(1 << 20);
    expect(layout.regionSize).toBe(layout.bulkOffset + layout.bulkSize);
    expect(packetStreamLayout({ ...CONFIG, bufferSize: 1000 }).bulkSize).toBe(1024);
  });

  it("refuses configs no stream can have", () => {
    const bad: [Partial<PacketStreamConfig>, RegExp][] = [
      [{ ringSize: 1 }, /ringSize must be an integer from 2/],
      [{ ringSize: 2 ** 20 }, /ringSize/],
      [{ bufferSize: 0 }, /bufferSize/],
      [{ descriptor: { ...DESCRIPTOR, dataWords: 0 } }, /dataWords/],
      [{ descriptor: { ...DESCRIPTOR, sizeAt: 6 } }, /size field must be aligned/],
      [{ descriptor: { ...DESCRIPTOR, sizeAt: 4 } }, /overlap/],
      [{ descriptor: { ...DESCRIPTOR, sizeAt: 24 } }, /sizeAt must be an integer from 0 to 20/],
    ];
    for (const [change, message] of bad) expect(() => packetStreamLayout({ ...CONFIG, ...change })).toThrow(message);
  });
});

describe("BulkAllocator", () => {
  it("first fit, with frees in any order coalesced back into one extent", () => {
    const a = new BulkAllocator(1024);
    const offsets = [64, 128, 64, 256, 64].map((n) => a.alloc(n));
    expect(offsets).toEqual([0, 64, 192, 256, 512]);
    expect(a.alloc(512)).toBe(-1);
    a.free(64, 128);
    expect(a.alloc(64)).toBe(64);
    a.free(0, 64);
    a.free(512, 64);
    a.free(192, 64);
    a.free(64, 64);
    a.free(256, 256);
    expect(a.available).toBe(1024);
    expect(a.alloc(1024)).toBe(0);
    expect(() => a.free(0, 64)).not.toThrow();
    expect(() => a.free(0, 64)).toThrow(/already free/);
  });
});

describe("in one process, over two mappings of one object", () => {
  it("a round trip: the packet's bytes and fields go to the sink, the sink's fields come back, handed-over packets die", async () => {
    const { source, sink } = pair();
    const packet = source.tryAlloc(1000)!;
    expect(packet.offset % 64).toBe(0);
    expect(packet.data.length).toBe(1000);
    packet.data.fill(0xab);
    fields(packet).writeUInt32LE(7, SEQ_AT);
    expect(source.trySubmit(packet)).toBe(true);
    expect(packet.live).toBe(false);
    expect(thrown(() => packet.data).reason).toBe("stale-packet");
    expect(thrown(() => packet.extra).reason).toBe("stale-packet");
    expect(thrown(() => source.trySubmit(packet)).reason).toBe("stale-packet");
    expect(source.inFlight).toBe(1);

    const got = await sink.get();
    expect([got.offset, got.size]).toEqual([packet.offset, 1000]);
    expect(got.data.every((b) => b === 0xab)).toBe(true);
    expect(fields(got).readUInt32LE(SEQ_AT)).toBe(7);
    // The descriptor's offset and size fields hold the packet's place.
    expect(fields(got).readUInt32LE(DESCRIPTOR.offsetAt)).toBe(got.offset);
    expect(fields(got).readUInt32LE(DESCRIPTOR.sizeAt)).toBe(1000);
    got.data[0] = 1; // a sink may answer in the packet's bytes
    fields(got).writeUInt32LE(CHECKED, STATUS_AT);
    expect(sink.tryAck(got)).toBe(true);
    expect(thrown(() => got.data).reason).toBe("stale-packet");
    expect(thrown(() => sink.tryAck(got)).reason).toBe("stale-packet");

    const back = await source.getAck();
    expect(back).not.toBe(packet);
    expect([back.offset, back.size, back.data[0], back.data[1]]).toEqual([packet.offset, 1000, 1, 0xab]);
    expect(fields(back).readUInt32LE(STATUS_AT)).toBe(CHECKED);
    expect(source.inFlight).toBe(0);
    source.release(back);
    expect(back.live).toBe(false);
    expect(() => source.release(back)).toThrow(PacketStreamError);
    expect(source.availableBytes).toBe(source.layout.bulkSize);
  });

  it("packets of another stream, and of the other side, are refused", () => {
    const one = pair();
    const two = pair();
    const packet = one.source.tryAlloc(10)!;
    expect(() => two.source.trySubmit(packet)).toThrow(TypeError);
    expect(() => one.sink.tryAck(packet)).toThrow(TypeError);
    expect(() => one.source.tryAlloc(-1)).toThrow(RangeError);
    expect(() => one.source.tryAlloc(one.source.layout.bulkSize + 1)).toThrow(RangeError);
  });

  it("a zero-filled new region is a pair of empty rings", async () => {
    const { source, sink } = pair(SMALL);
    expect(sink.tryGet()).toBeNull();
    expect(source.tryGetAck()).toBeNull();
    expect(await settles(sink.get({ signal: AbortSignal.timeout(30) }))).toBe(true);
    expect(sink.error).toBeNull();
  });

  it("acknowledgements out of order come back to the source in the order the sink gave them", async () => {
    const { source, sink } = pair();
    const sent: number[] = [];
    for (let i = 0; i < 20; i++) {
      const p = source.tryAlloc(100 * (i + 1))!;
      p.data.fill(i);
      sent.push(p.offset);
      expect(source.trySubmit(p)).toBe(true);
    }
    const got: Packet[] = [];
    for (let i = 0; i < 20; i++) got.push(await sink.get());
    expect(got.map((p) => p.offset)).toEqual(sent);
    const order = [5, 19, 0, 7, 3, 18, 1, 2, 4, 6, 8, 9, 10, 17, 11, 12, 16, 13, 14, 15];
    for (const i of order) expect(sink.tryAck(got[i])).toBe(true);
    for (const i of order) {
      const back = await source.getAck();
      expect([back.offset, back.size, back.data[0]]).toEqual([sent[i], 100 * (i + 1), i]);
      source.release(back);
    }
    expect(source.availableBytes).toBe(source.layout.bulkSize);
  });

  it("a full submit ring: trySubmit answers false, submit waits, then goes on in order once the sink takes one", async () => {
    const { source, sink } = pair(SMALL);
    const packets = Array.from({ length: 9 }, (_, i) => {
      const p = source.tryAlloc(64)!;
      p.data[0] = i;
      return p;
    });
    for (let i = 0; i < 7; i++) expect(source.trySubmit(packets[i])).toBe(true);
    expect(source.trySubmit(packets[7])).toBe(false);
    expect(packets[7].live).toBe(true);
    const waiting = source.submit(packets[7]);
    const waiting2 = source.submit(packets[8]);
    expect(await settles(waiting, 30)).toBe(false);
    expect(thrown(() => source.trySubmit(packets[7])).reason).toBe("stale-packet"); // queued already

    const first = await sink.get();
    expect(first.data[0]).toBe(0);
    // The sink's turn ends, it finds the ring went from full to not full and rings: ready_to_submit.
    await waiting;
    expect(packets[7].live).toBe(false);
    expect(await settles(waiting2, 30)).toBe(false);
    const seen = [first.data[0]];
    for (let i = 1; i < 9; i++) {
      const p = await sink.get();
      seen.push(p.data[0]);
      if (i === 1) await waiting2;
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("a full acknowledgement ring: tryAck answers false, ack waits; the source takes acknowledgements by itself", async () => {
    const { source, sink } = pair(SMALL);
    const got: Packet[] = [];
    for (let i = 0; i < 8; i++) {
      const p = source.tryAlloc(64)!;
      p.data[0] = i;
      await source.submit(p);
      got.push(await sink.get());
    }
    // Synchronously, before the source's doorbell handler can run.
    for (let i = 0; i < 7; i++) expect(sink.tryAck(got[i])).toBe(true);
    expect(sink.tryAck(got[7])).toBe(false);
    expect(got[7].live).toBe(true);
    const waiting = sink.ack(got[7]);
    expect(thrown(() => sink.tryAck(got[7])).reason).toBe("stale-packet"); // queued already
    // The source's handler takes the acknowledgements into its own queue (ready_to_ack) without the
    // application asking: a sink is never held up by a source busy elsewhere.
    await waiting;
    expect(got[7].live).toBe(false);
    const order: number[] = [];
    for (let i = 0; i < 8; i++) {
      const back = await source.getAck();
      order.push(back.data[0]);
      source.release(back);
    }
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(source.inFlight).toBe(0);
  });

  it("a failed allocation succeeds once acknowledged packets are released; an aborted wait takes nothing", async () => {
    const { source, sink } = pair(SMALL);
    const big = source.tryAlloc(4096)!;
    expect(source.tryAlloc(1)).toBeNull();
    const aborted = new AbortController();
    const gaveUp = source.alloc(64, { signal: aborted.signal });
    const small = source.alloc(64);
    aborted.abort(new Error("no longer wanted"));
    await expect(gaveUp).rejects.toThrow("no longer wanted");
    expect(await settles(small, 20)).toBe(false);
    await source.submit(big);
    await sink.ack(await sink.get());
    const back = await source.getAck();
    expect(await settles(small, 20)).toBe(false); // acknowledged is not released
    source.release(back);
    const p = await small;
    expect([p.offset, p.size]).toEqual([0, 64]);
  });

  it("fragmentation: mixed sizes freed out of order never overlap (checked with a byte pattern)", async () => {
    const config: PacketStreamConfig = { ringSize: 16, bufferSize: 64 * 1024, descriptor: DESCRIPTOR };
    const { source, sink } = pair(config);
    const bulk = source.layout.bulkSize;
    const live = new Map<Packet, number>();
    let random = 12345;
    const next = () => (random = (Math.imul(random, 1103515245) + 12345) >>> 0) >>> 8;
    let allocated = 0;
    let failed = 0;
    let id = 0;
    const check = (p: Packet, tag: number) => {
      if (!p.data.every((b) => b === tag)) throw new Error(`the packet at ${p.offset} (${p.size} bytes) was overwritten`);
    };
    for (let step = 0; step < 5000; step++) {
      if (next() % 3 !== 0 || live.size === 0) {
        const size = [0, 1, 63, 64, 65, 500, 4096, 10000][next() % 8];
        const p = source.tryAlloc(size);
        if (p === null) {
          failed++;
          continue;
        }
        expect(p.offset % 64).toBe(0);
        expect(p.offset + p.size).toBeLessThanOrEqual(bulk);
        const tag = ++id & 0xff;
        p.data.fill(tag);
        live.set(p, tag);
        allocated++;
      } else {
        const victims = [...live.keys()];
        const victim = victims[next() % victims.length];
        const tag = live.get(victim)!;
        live.delete(victim);
        check(victim, tag);
        if (next() % 2 === 0) {
          source.release(victim);
        } else {
          // Through the stream and back, acknowledged out of order by holding some.
          await source.submit(victim);
          const got = await sink.get();
          check(got, tag);
          await sink.ack(got);
          const back = await source.getAck();
          check(back, tag);
          source.release(back);
        }
      }
      for (const [p, tag] of live) if (step % 500 === 0) check(p, tag);
    }
    for (const [p, tag] of live) {
      check(p, tag);
      source.release(p);
    }
    expect(allocated).toBeGreaterThan(1000);
    expect(failed).toBeGreaterThan(10);
    expect(source.availableBytes).toBe(bulk);
    expect(source.tryAlloc(bulk)).not.toBeNull();
  });

  it("async iteration on both sides: 5000 packets, checked, in order", async () => {
    const { source, sink } = pair(SMALL);
    const [{ reordered, ...sent }, got] = await Promise.all([produce(source, { count: 5000, seed: 3, maxSize: 1500 }), consume(sink, { count: 5000, seed: 3, window: 5 })]);
    expect(sent).toEqual(got);
    expect(got.count).toBe(5000);
    expect(reordered).toBeGreaterThan(100);
  });

  it("bounded work: a stream kept saturated in microtasks still lets timers run, at most ringSize packets per turn", async () => {
    const { source, sink, layout } = pair(SMALL);
    let perTurn = 0;
    let maxPerTurn = 0;
    let turns = 0;
    let ticks = 0;
    let stop = false;
    const countTurns = () => {
      turns++;
      maxPerTurn = Math.max(maxPerTurn, perTurn);
      perTurn = 0;
      if (!stop) setImmediate(countTurns);
    };
    setImmediate(countTurns);
    const timer = setInterval(() => ticks++, 1);
    let received = 0;
    // Each side answers the other at once: without a budget this would never leave the microtask queue.
    const sinkLoop = (async () => {
      for await (const p of sink) {
        perTurn++;
        received++;
        if (!sink.tryAck(p)) await sink.ack(p);
        if (stop) return;
      }
    })();
    const sourceLoop = (async () => {
      for await (const back of source) {
        source.release(back);
        if (stop) return;
        if (!source.trySubmit(source.tryAlloc(64)!)) throw new Error("the submit ring cannot be full here");
      }
    })();
    for (let i = 0; i < layout.ringSize - 1; i++) await source.submit(source.tryAlloc(64)!);
    const started = Date.now();
    while (received < 20000 && Date.now() - started < 20000) await sleep(5);
    stop = true;
    clearInterval(timer);
    source.close();
    sink.close();
    await Promise.all([sinkLoop, sourceLoop]);
    expect(received).toBeGreaterThanOrEqual(20000);
    // The budget (ringSize) renews once per turn, at a point of the turn of its own: a turn as seen from
    // here can hold the end of one budget and the whole of the next.
    expect(maxPerTurn).toBeLessThanOrEqual(2 * layout.ringSize);
    expect(ticks).toBeGreaterThan(2);
    expect(turns).toBeGreaterThan(20000 / layout.ringSize / 2);
  });

  it("doorbells ring only on edges: at once with wake 'operation' (the default), when the turn ends with wake 'turn'", async () => {
    for (const wake of ["operation", "turn"] as const) {
      const { a, b } = region(SMALL);
      const source = track(PacketSource.create(a, SMALL, { wake }));
      const sink = track(PacketSink.open(b, SMALL, { wake }));
      // Each rings its end of the pair, which wakes the other.
      const sinkRings = () => source.rings;
      const sourceRings = () => sink.rings;
      // Five submits into an empty ring: one packet_avail edge, on the first.
      for (let i = 0; i < 5; i++) expect(source.trySubmit(source.tryAlloc(64)!)).toBe(true);
      expect(sinkRings(), wake).toBe(wake === "operation" ? 1 : 0);
      await turn();
      expect(sinkRings(), wake).toBe(1);
      // Five gets (the ring was never full: no ready_to_submit) and five acks into an empty ring: one ack_avail.
      for (let i = 0; i < 5; i++) expect(sink.tryAck(sink.tryGet()!)).toBe(true);
      expect(sourceRings(), wake).toBe(wake === "operation" ? 1 : 0);
      await turn();
      expect(sourceRings(), wake).toBe(1);
      for (let i = 0; i < 5; i++) source.release(await source.getAck());
      // A full ring: its first get is the ready_to_submit edge.
      for (let i = 0; i < 7; i++) expect(source.trySubmit(source.tryAlloc(64)!)).toBe(true);
      await turn();
      const before = sourceRings();
      sink.tryGet();
      if (wake === "turn") sink.flush();
      expect(sourceRings(), wake).toBe(before + 1);
      expect(sinkRings(), wake).toBe(2);
    }
  });

  it("close ends iterators and rejects waiting calls with reason closed; later calls throw it", async () => {
    const { source, sink } = pair(SMALL);
    const iterator = sink[Symbol.asyncIterator]();
    const pending = iterator.next();
    const ack = source.getAck();
    sink.close();
    source.close();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect((await rejection(ack)).reason).toBe("closed");
    expect(thrown(() => sink.tryGet()).reason).toBe("closed");
    expect(thrown(() => source.tryAlloc(1)).violation).toBe(false);
  });
});

describe("across two processes", () => {
  const COUNT = 12000;

  /** A new region of CONFIG's size, with a stream this process made on it, and a child playing `mode` on it
   * (the region and the other end of the doorbell pair passed as its descriptors 3 and 4); resolves once the
   * child has mapped it. */
  async function withChild<T extends PacketSource | PacketSink>(make: (region: StreamRegion) => T, mode: string, options: object): Promise<{ stream: T; report: Promise<unknown> }> {
    const { mapping, fd } = native.memfdCreate(packetStreamLayout(CONFIG).regionSize);
    let child: ChildProcess;
    const [bell, theirs] = Doorbell.pair();
    try {
      const fds = [fd, theirs.descriptor];
      const stream = track(make({ mapping, bell }));
      child = run(PEER, [mode, JSON.stringify(options)], { fds });
      const report = finalReport(child);
      report.catch(() => {}); // awaited by the test; this only keeps a child killed at a timeout from being unhandled
      await line(child, /^ready$/);
      return { stream, report };
    } finally {
      native.closeFd(fd);
      theirs.close();
    }
  }

  /** The child's "done" report, once it has exited cleanly (read after its output closed, not at its exit). */
  function finalReport(child: ChildProcess): Promise<unknown> {
    let out = "";
    let err = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    return new Promise((resolve, reject) =>
      child.once("close", (code) => {
        const done = out.split("\n").find((l) => l.startsWith("done "));
        if (code !== 0 || done === undefined) reject(new Error(`the child exited with ${code}: ${err.slice(0, 2000)}`));
        else resolve(JSON.parse(done.slice(5)));
      }),
    );
  }

  it(`TX: this process is the source, a child the sink (${COUNT} packets up to 64 KiB, CRC-checked, acknowledged out of order)`, async () => {
    const { stream: source, report } = await withChild((m) => PacketSource.create(m, CONFIG), "sink", { count: COUNT, seed: 7, window: 16 });
    const { reordered, ...sent } = await produce(source, { count: COUNT, seed: 7, maxSize: 64 * 1024 });
    expect(await report).toEqual(sent);
    expect(sent.count).toBe(COUNT);
    expect(reordered).toBeGreaterThan(COUNT / 4);
    expect(source.inFlight).toBe(0);
  });

  it(`RX: a child is the source, this process the sink (${COUNT} packets, acknowledged out of order)`, async () => {
    const { stream: sink, report } = await withChild((m) => PacketSink.create(m, CONFIG), "source", { count: COUNT, seed: 11, maxSize: 64 * 1024 });
    const got = await consume(sink, { count: COUNT, seed: 11, window: 16 });
    const { reordered, ...sent } = (await report) as { reordered: number };
    expect(sent).toEqual(got);
    expect(reordered).toBeGreaterThan(COUNT / 4);
    expect(got.count).toBe(COUNT);
  });

  it("a hostile source refilling the ring as fast as it can: the sink stays responsive, its work per turn bounded", async () => {
    const layout = packetStreamLayout(CONFIG);
    const violations: PacketStreamError[] = [];
    const { stream: sink, report } = await withChild((m) => PacketSink.create(m, CONFIG, { onViolation: (e) => violations.push(e) }), "flood", { ms: 1500 });
    let perTurn = 0;
    let maxPerTurn = 0;
    let ticks = 0;
    let stop = false;
    const countTurns = () => {
      maxPerTurn = Math.max(maxPerTurn, perTurn);
      perTurn = 0;
      if (!stop) setImmediate(countTurns);
    };
    setImmediate(countTurns);
    const timer = setInterval(() => ticks++, 10);
    let received = 0;
    const loop = (async () => {
      for await (const p of sink) {
        perTurn++;
        received++;
        if (p.size !== 64) throw new Error("the flood sends 64-byte packets");
        if (!sink.tryAck(p)) await sink.ack(p);
      }
    })();
    const started = Date.now();
    await report;
    const elapsed = Date.now() - started;
    stop = true;
    clearInterval(timer);
    sink.close();
    // The flood is over: nobody takes acknowledgements any more, so the loop may be waiting in `ack`.
    await loop.catch((error: unknown) => {
      if (!(error instanceof PacketStreamError && error.reason === "closed")) throw error;
    });
    expect(violations).toEqual([]);
    expect(received).toBeGreaterThan(1000);
    // The budget (ringSize) renews once per turn, at a point of the turn of its own: a turn as seen from
    // here can hold the end of one budget and the whole of the next.
    expect(maxPerTurn).toBeLessThanOrEqual(2 * layout.ringSize);
    // A 10 ms interval fired at least about a third of the times it could have.
    expect(ticks).toBeGreaterThan(elapsed / 30);
  });
});

describe("a hostile peer writing the region by hand", () => {
  // Violations surface as rejections of the calls that wait and as the onViolation hook, never as errors
  // thrown into the event loop (the doorbell's callback runs from the native watch).
  const escaped: unknown[] = [];
  const onEscape = (error: unknown) => escaped.push(error);
  beforeAll(() => {
    process.on("uncaughtException", onEscape);
    process.on("unhandledRejection", onEscape);
  });
  afterAll(() => {
    process.off("uncaughtException", onEscape);
    process.off("unhandledRejection", onEscape);
    expect(escaped).toEqual([]);
  });

  /** A real sink on one mapping, and the raw bytes of the other, where the test plays the source. */
  function hostileSource(config: PacketStreamConfig = CONFIG) {
    const { a, b, layout } = region(config);
    const violations: PacketStreamError[] = [];
    const sink = track(PacketSink.create(a, config, { onViolation: (e) => violations.push(e) }));
    const words = new Int32Array(b.mapping.control);
    const bell = b.bell;
    /** Writes a descriptor into submit slot `slot` (offset as two 32-bit halves). */
    const descriptor = (slot: number, offsetLo: number, offsetHi: number, size: number) => {
      const at = layout.submitSlots + slot * layout.slotBytes;
      b.mapping.data.writeUInt32LE(offsetLo >>> 0, at + DESCRIPTOR.offsetAt);
      b.mapping.data.writeUInt32LE(offsetHi >>> 0, at + DESCRIPTOR.offsetAt + 4);
      b.mapping.data.writeUInt32LE(size >>> 0, at + DESCRIPTOR.sizeAt);
    };
    const setHead = (head: number) => {
      Atomics.store(words, layout.submitHead / 4, head);
      bell.ring();
    };
    return { sink, layout, violations, descriptor, setHead, words, b: b.mapping };
  }

  /** A real source on one mapping, and the raw bytes of the other, where the test plays the sink. */
  function hostileSink(config: PacketStreamConfig = CONFIG) {
    const { a, b, layout } = region(config);
    const violations: PacketStreamError[] = [];
    const source = track(PacketSource.create(a, config, { onViolation: (e) => violations.push(e) }));
    const words = new Int32Array(b.mapping.control);
    const bell = b.bell;
    let head = 0;
    const ack = (offset: number, size: number) => {
      const at = layout.ackSlots + head * layout.slotBytes;
      b.mapping.data.fill(0, at, at + layout.slotBytes);
      b.mapping.data.writeUInt32LE(offset, at + DESCRIPTOR.offsetAt);
      b.mapping.data.writeUInt32LE(size, at + DESCRIPTOR.sizeAt);
      head = (head + 1) % layout.ringSize;
      Atomics.store(words, layout.ackHead / 4, head);
      bell.ring();
    };
    return { source, layout, violations, ack, words, bell };
  }

  /** The stream failed once with `reason`, told its owner, and the event loop still turns. */
  async function failedWith(stream: PacketSource | PacketSink, violations: PacketStreamError[], pending: Promise<unknown>, reason: string, message: RegExp) {
    const error = await rejection(pending);
    expect(error.reason).toBe(reason);
    expect(error.violation).toBe(true);
    expect(error.message).toMatch(message);
    expect(stream.error).toBe(error);
    await turn();
    expect(violations).toEqual([error]);
    // Later calls throw the same error; nothing spins: a timer still fires at once.
    expect(thrown(() => (stream instanceof PacketSink ? stream.tryGet() : stream.tryAlloc(1)))).toBe(error);
    const started = Date.now();
    await sleep(1);
    expect(Date.now() - started).toBeLessThan(200);
  }

  it("a producer index of ringSize or more, or negative", async () => {
    for (const head of [64, 1000, -1, 2 ** 31 - 1]) {
      const h = hostileSource();
      const pending = h.sink.get();
      h.setHead(head);
      await failedWith(h.sink, h.violations, pending, "index-out-of-range", new RegExp(`producer index is ${head}, outside 0..63`));
    }
  });

  const descriptors: [string, number, number, number, RegExp][] = [
    ["offset + size wraps around 2^64", 0xffffffc0, 0xffffffff, 128, /at 2\^53 or more of 128 bytes/],
    ["offset + size past the end by one chunk", (1 << 20) - 64, 0, 128, /at 1048512 of 128 bytes, not inside the bulk buffer of 1048576 bytes/],
    ["offset outside the bulk buffer", (1 << 20) + 64, 0, 0, /at 1048640 of 0 bytes/],
    ["offset 2^32 (the high half set)", 0, 1, 64, /at 4294967296 of 64 bytes/],
    ["size 0x7fffffff", 0, 0, 0x7fffffff, /of 2147483647 bytes/],
    ["size 0xffffffff", 64, 0, 0xffffffff, /of 4294967295 bytes/],
  ];
  for (const [what, lo, hi, size, message] of descriptors) {
    it(`a descriptor with ${what}`, async () => {
      const h = hostileSource();
      const iterator = h.sink[Symbol.asyncIterator]();
      const pending = iterator.next();
      h.descriptor(0, lo, hi, size);
      h.setHead(1);
      await failedWith(h.sink, h.violations, pending, "descriptor-out-of-bounds", message);
    });
  }

  it("a descriptor at the very end of the bulk buffer and an empty one are fine", async () => {
    const h = hostileSource();
    h.descriptor(0, (1 << 20) - 64, 0, 64);
    h.descriptor(1, 1 << 20, 0, 0);
    h.setHead(2);
    const a = await h.sink.get();
    const b = await h.sink.get();
    expect([a.offset, a.size, a.data.length, b.offset, b.size, b.data.length]).toEqual([(1 << 20) - 64, 64, 64, 1 << 20, 0, 0]);
    expect(h.violations).toEqual([]);
  });

  it("a consumer index that passes the producer's", async () => {
    const h = hostileSink();
    await h.source.submit(h.source.tryAlloc(64)!);
    Atomics.store(h.words, h.layout.submitTail / 4, 5);
    const pending = h.source.getAck();
    // The source reads the index again at its next submit (to look for the packet_avail edge).
    const error = thrown(() => h.source.trySubmit(h.source.tryAlloc(64)!));
    expect(error.reason).toBe("index-overrun");
    await failedWith(h.source, h.violations, pending, "index-overrun", /consumer index moved from 0 to 5, past the producer's 2/);
  });

  it("an acknowledgement index of ringSize or more", async () => {
    const h = hostileSink();
    const pending = h.source.getAck();
    Atomics.store(h.words, h.layout.ackHead / 4, 64);
    h.bell.ring();
    await failedWith(h.source, h.violations, pending, "index-out-of-range", /acknowledgement ring's producer index is 64/);
  });

  it("an acknowledgement for a packet never submitted", async () => {
    const h = hostileSink();
    const p = h.source.tryAlloc(64)!;
    await h.source.submit(p);
    const pending = h.source.getAck();
    h.ack(4096, 64);
    await failedWith(h.source, h.violations, pending, "unexpected-ack", /acknowledged a packet at 4096 \(size 64\), which this source has not submitted/);
  });

  it("an acknowledgement with a 64-bit offset of 2^53 or more", async () => {
    const h = hostileSink();
    const pending = h.source.getAck();
    const at = h.layout.ackSlots;
    const b = new Int32Array(h.words.buffer);
    b[(at + 4) / 4] = -1;
    Atomics.store(h.words, h.layout.ackHead / 4, 1);
    h.bell.ring();
    await failedWith(h.source, h.violations, pending, "unexpected-ack", /at an offset of 2\^53 or more/);
  });

  it("a duplicate acknowledgement", async () => {
    const h = hostileSink();
    const p = h.source.tryAlloc(100)!;
    const offset = p.offset;
    await h.source.submit(p);
    h.ack(offset, 100);
    const back = await h.source.getAck();
    expect([back.offset, back.size]).toEqual([offset, 100]);
    const pending = h.source.getAck();
    h.ack(offset, 100);
    await failedWith(h.source, h.violations, pending, "duplicate-ack", new RegExp(`acknowledged the packet at ${offset} again`));
  });

  it("a duplicate acknowledgement after the packet was released", async () => {
    const h = hostileSink();
    const p = h.source.tryAlloc(100)!;
    await h.source.submit(p);
    h.ack(p.offset, 100);
    h.source.release(await h.source.getAck());
    const pending = h.source.getAck();
    h.ack(p.offset, 100);
    await failedWith(h.source, h.violations, pending, "unexpected-ack", /has not submitted/);
  });

  it("an acknowledgement with another size", async () => {
    const h = hostileSink();
    const p = h.source.tryAlloc(100)!;
    await h.source.submit(p);
    const pending = h.source.getAck();
    h.ack(p.offset, 1 << 20);
    await failedWith(h.source, h.violations, pending, "ack-mismatch", /with size 1048576, not the 100 submitted/);
  });

  describe("a header that is not the one expected", () => {
    /** Opens a sink over a copy of a good region whose header `spoil` changed. */
    function openSpoiled(spoil: (words: Int32Array) => void, config: PacketStreamConfig = CONFIG): PacketStreamError {
      const { a, b } = region(CONFIG);
      track(PacketSource.create(a, CONFIG));
      spoil(new Int32Array(b.mapping.control, 0, 16));
      return thrown(() => track(PacketSink.open(b, config)));
    }

    const cases: [string, (w: Int32Array) => void, string, RegExp][] = [
      ["a zero-filled region (no header)", (w) => w.fill(0), "header-mismatch", /does not start with a packet stream header \(magic 0x0/],
      ["a wrong magic", (w) => (w[0] = 0x12345678), "header-mismatch", /magic 0x12345678, expected 0x53504749/],
      ["another layout version", (w) => (w[1] = 3), "header-mismatch", /layout version 3, this side expects 2/],
      ["another ring size", (w) => (w[2] = 128), "header-mismatch", /ringSize 128, this side expects 64/],
      ["another descriptor size", (w) => (w[3] = 16), "header-mismatch", /descriptor bytes 16, this side expects 24/],
      ["descriptor fields elsewhere", (w) => (w[4] = w[4] ^ (4 << 16)), "header-mismatch", /descriptor fields at offset 0\/8, size 12\/4/],
      ["another bulk offset", (w) => (w[5] = w[5] - 64), "header-mismatch", /bulk offset/],
      ["a smaller bulk buffer", (w) => (w[6] = w[6] - 64), "header-mismatch", /bulk size 1048512, this side expects 1048576/],
      ["a bulk buffer beyond the region", (w) => (w[7] = 1), "region-too-small", /puts the bulk buffer's end at byte 4296019136/],
      ["a region bigger than it is", (w) => (w[8] = w[8] + 64), "region-too-small", /claims \d+ bytes, but the region holds \d+/],
      ["a region size of 2^40", (w) => (w[9] = 256), "region-too-small", /claims 1099512\d{6} bytes/],
    ];
    for (const [what, spoil, reason, message] of cases) {
      it(what, () => {
        const error = openSpoiled(spoil);
        expect(error.reason).toBe(reason);
        expect(error.message).toMatch(message);
      });
    }

    it("a region made for another config (the other side's schema differs)", () => {
      const error = openSpoiled(() => {}, { ...CONFIG, bufferSize: 1 << 19 });
      expect(error.reason).toBe("header-mismatch");
      expect(error.message).toMatch(/bulk size 1048576, this side expects 524288/);
    });

    it("a region smaller than the layout needs", () => {
      const small = packetStreamLayout(SMALL);
      const { mapping, fd } = native.memfdCreate(small.regionSize);
      native.closeFd(fd);
      const bell = lonelyBell();
      expect(() => PacketSink.create({ mapping, bell }, CONFIG)).toThrow(/the region holds \d+ bytes, the stream needs \d+/);
      // A failed end closed the doorbell it was given.
      expect(() => bell.descriptor).toThrow(/closed/);
      PacketSource.create({ mapping, bell: lonelyBell() }, SMALL).close();
      const error = thrown(() => PacketSink.open({ mapping, bell: lonelyBell() }, CONFIG));
      expect(error.reason).toBe("header-mismatch");
    });
  });
});
