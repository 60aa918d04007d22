/**
 * Properties checked with fast-check where they fit: encode/decode round trips of frames (however the
 * stream is cut) and of protocol messages, placed handles naming memory inside their extents, and the
 * ring index arithmetic of packet streams against a model (FIFO order, capacity ringSize - 1, and no lost
 * wake-up on either edge).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { End, Failure, type Failure_Kind, Header, type Header_Kind, Hello, Placed, Region, type Region_Purpose, Signal, Welcome } from "../../runtime/protocol/protocol.capnp.js";
import { MAX_PLACED_SEGMENTS, placedSegments } from "../../runtime/shm/placed.js";
import { packetStreamLayout, sinkRings, sourceRings } from "../../runtime/shm/ring.js";
import { encodeFrame, FrameDecoder, type Frame } from "../../runtime/transport/frames.js";

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const bytes = (max: number) => fc.uint8Array({ maxLength: max });
const text = fc.string({ unit: "grapheme", maxLength: 40 });

// Any 16-bit kind, known or not: the decoder must take what a peer sends.
const header = fc.record({ token: u64, channel: u32, id: u32, answers: u32, kind: u16.map((k) => k as Header_Kind), interfaceId: u64, methodId: u16, placed: fc.boolean() });
const region = fc.record({ size: u64, purpose: u16.map((p) => p as Region_Purpose), index: u32, interfaceId: u64 });

describe("properties", () => {
  it("frames: what encodeFrame makes, FrameDecoder gives back, however the stream is cut", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(header, fc.option(bytes(64), { nil: null })), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), fc.boolean(), (frames, cuts, borrowed) => {
        const stream = Buffer.concat(frames.map(([h, b]) => encodeFrame(h, b)));
        const got: Frame[] = [];
        const decoder = new FrameDecoder();
        let at = 0;
        for (const cut of [...cuts.map((c) => c % (stream.length + 1)).sort((a, b) => a - b), stream.length]) {
          const chunk = Buffer.from(stream.subarray(at, Math.max(at, cut)));
          at = Math.max(at, cut);
          decoder.push(chunk, (f) => got.push({ ...f, body: new Uint8Array(f.body) }), borrowed);
          if (borrowed) chunk.fill(0xee);
        }
        expect(decoder.pending).toBe(0);
        expect(got.map((f) => f.header)).toEqual(frames.map(([h]) => h));
        expect(got.map((f) => Buffer.from(f.body).toString("hex"))).toEqual(frames.map(([, b]) => Buffer.from(b ?? []).toString("hex")));
      }),
      { numRuns: 300 },
    );
  });

  it("protocol messages: decode(encode(x)) is x", () => {
    const roundTrip = <T>(type: { encode(v: T): Uint8Array; decode(b: Uint8Array): unknown }, arb: fc.Arbitrary<T>) =>
      fc.assert(
        fc.property(arb, (v) => {
          expect(type.decode(type.encode(v))).toEqual(v);
        }),
        { numRuns: 200 },
      );
    roundTrip(Header, header);
    roundTrip(Hello, fc.record({ version: u32, service: u64, fingerprint: u64, zeroCopy: fc.boolean(), maxFrameBytes: u32, noDescriptors: fc.boolean() }));
    roundTrip(Welcome, fc.record({ version: u32, token: u64, regions: fc.array(region, { maxLength: 4 }), zeroCopy: fc.boolean(), maxFrameBytes: u32, descriptors: fc.boolean() }));
    roundTrip(Region, region);
    roundTrip(Placed, fc.record({ segments: fc.array(fc.record({ extent: u32, offset: u64, words: u32 }), { maxLength: 6 }) }));
    roundTrip(Failure, fc.record({ kind: u16.map((k) => k as Failure_Kind), code: text, message: text, data: bytes(32) }));
    roundTrip(Signal, fc.record({ count: u32 }));
    roundTrip(End, fc.record({ reason: text }));
  });

  it("placed handles: segments inside the extents are accepted as they are, others refused", () => {
    const extents = fc.array(fc.integer({ min: 8, max: 1 << 20 }).map((n) => ({ size: n })), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(extents, fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { minLength: 1, maxLength: 8 }), fc.boolean(), (ext, raw, stray) => {
        const segments = raw.map(([e, o, w]) => {
          const extent = e % ext.length;
          const words = Math.floor(ext[extent].size / 8);
          const wordCount = 1 + (w % words);
          const offset = 8 * (o % (words - wordCount + 1));
          return { extent, offset, words: wordCount };
        });
        if (stray) segments.push({ extent: ext.length, offset: 0, words: 1 });
        const handle = Placed.encode({ segments: segments.map((s) => ({ ...s, offset: BigInt(s.offset) })) });
        const total = segments.reduce((n, s) => n + s.words * 8, 0);
        if (stray || segments.length > MAX_PLACED_SEGMENTS) expect(() => placedSegments(handle, ext, 2 ** 40)).toThrow(/never announced/);
        else {
          expect(placedSegments(handle, ext, 2 ** 40)).toEqual(segments.map((s) => ({ extent: s.extent, offset: s.offset, bytes: s.words * 8 })));
          if (total > 8) expect(() => placedSegments(handle, ext, total - 8)).toThrow(/larger than this side's limit/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("ring indices: FIFO, ringSize - 1 in flight, and no lost wake-up on either edge", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 9 }), fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 200 }), (ringSize, ops) => {
        const layout = packetStreamLayout({ ringSize, bufferSize: 64, descriptor: { dataWords: 1, offsetAt: 0, offsetBytes: 4, sizeAt: 4, sizeBytes: 4 } });
        const control = new SharedArrayBuffer(layout.regionSize);
        const view = new DataView(control);
        const { submit: producer } = sourceRings(control, layout);
        const { submit: consumer } = sinkRings(control, layout);
        const model: number[] = [];
        let next = 1;
        // Whether each side found the ring at its edge (empty / full) since the other side last flushed.
        let consumerSawEmpty = false;
        let producerSawFull = false;
        for (const op of ops) {
          if (op <= 1) {
            const at = producer.reserve();
            if (at < 0) {
              expect(model.length).toBe(ringSize - 1);
              producerSawFull = true;
              continue;
            }
            expect(model.length).toBeLessThan(ringSize - 1);
            view.setUint32(at, next, true);
            model.push(next++);
            producer.publish();
          } else if (op <= 3) {
            const at = consumer.peek();
            if (at < 0) {
              expect(model.length).toBe(0);
              consumerSawEmpty = true;
              continue;
            }
            expect(view.getUint32(at, true)).toBe(model.shift());
            consumer.release();
          } else if (op === 4) {
            // packet_avail: a consumer that found the ring empty must be woken once something was published.
            const edge = producer.flushEdge();
            if (consumerSawEmpty && model.length > 0) {
              expect(edge).toBe(true);
              consumerSawEmpty = false;
            }
          } else {
            // ready_to_submit: a producer that found the ring full must be woken once room was made.
            const edge = consumer.flushEdge();
            if (producerSawFull && model.length < ringSize - 1) {
              expect(edge).toBe(true);
              producerSawFull = false;
            }
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
