/**
 * Packet descriptors and ring indices: a packet stream's sink or source (runtime/shm/packet-stream.ts over
 * ring.ts) over a real SharedArrayBuffer and Buffer, with the peer's half of the region (its ring index,
 * the descriptors it writes, the header when this side opens the region) written by the input, between
 * this side's own operations. Whatever the peer writes, this side must only ever hand out packets inside
 * the bulk buffer, take back only packets it has in flight, and fail with PacketStreamError.
 *
 * Doorbells are no-ops for the run (wake-ups are not what is fuzzed, and the target then needs no native
 * addon): the stream is driven by calling it, as its doorbell handler would.
 */
import type { SharedMapping } from "../../../runtime/native/index.js";
import type { Doorbell } from "../../../runtime/shm/doorbell.js";
import {
  type DescriptorLayout,
  type Packet,
  PacketSink,
  PacketSource,
  PacketStreamError,
  packetStreamLayout,
  type PacketStreamConfig,
  type StreamRegion,
} from "../../../runtime/shm/packet-stream.js";
import { ByteStream, type FuzzTarget, PropertyViolation } from "../engine.js";

const RING_SIZES = [2, 3, 4, 8];
const BUFFER_SIZES = [64, 200, 4096, 1];
const DESCRIPTORS: DescriptorLayout[] = [
  { dataWords: 2, offsetAt: 0, offsetBytes: 8, sizeAt: 8, sizeBytes: 4 },
  { dataWords: 1, offsetAt: 0, offsetBytes: 4, sizeAt: 4, sizeBytes: 4 },
  { dataWords: 3, offsetAt: 16, offsetBytes: 8, sizeAt: 0, sizeBytes: 8 },
  { dataWords: 2, offsetAt: 4, offsetBytes: 4, sizeAt: 8, sizeBytes: 8 },
];
const VALUES = [0, 1, 2, 3, 7, 8, 63, 64, 65, 199, 200, 4095, 4096, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe];

function mappingOf(size: number): SharedMapping {
  const control = new SharedArrayBuffer(size);
  return { handle: {}, control, data: Buffer.from(control), size };
}

/** A doorbell that rings nobody and is never rung. */
const silent = (): Doorbell => ({ ring() {}, watch() {}, close() {} }) as unknown as Doorbell;

/** A stream's region over `mapping`, with silent doorbells. */
const regionOf = (mapping: SharedMapping): StreamRegion => ({ mapping, bell: silent() });

export const ringsTarget: FuzzTarget = {
  name: "rings",
  describe: "a packet stream's sink or source with the peer's ring indices, descriptors and header from the input",
  modules: ["runtime/shm/ring.ts", "runtime/shm/packet-stream.ts"],
  maxLen: 256,
  seeds() {
    return [
      // sink, legit peer publishes, this side takes and acknowledges
      new Uint8Array([0x00, 3, 4, 5, 3, 4, 5, 4, 5, 6]),
      // source: allocates and submits, the peer acknowledges
      new Uint8Array([0x11, 4, 10, 4, 20, 3, 3, 5, 5, 7, 6]),
      // sink over a region whose header the peer wrote (one word changed)
      new Uint8Array([0x42, 2, 4, 9, 3, 4, 5]),
      // hostile index and descriptor
      new Uint8Array([0x05, 0, 7, 1, 0, 15, 13, 4, 4]),
    ];
  },
  run(input) {
    const s = new ByteStream(input);
    const control = s.u8();
    const ringSize = RING_SIZES[control & 3];
    const descriptor = DESCRIPTORS[(control >> 2) & 3];
    const source = (control & 0x10) !== 0;
    const bufferSize = BUFFER_SIZES[s.u8() & 3];
    const config: PacketStreamConfig = { ringSize, bufferSize, descriptor };
    const layout = packetStreamLayout(config);
    const short = control & 0x80 ? 64 : 0;
    const mapping = mappingOf(layout.regionSize - short);
    const words = new Int32Array(mapping.control);
    const data = mapping.data;
    const options = { wake: control & 0x20 ? ("turn" as const) : ("operation" as const) };

    let end: PacketSink | PacketSource;
    try {
      if (control & 0x40) {
        // The peer made the region: a proper header, then some of its words changed.
        const maker = PacketSink.create(regionOf(mappingOf(layout.regionSize)), config);
        maker.close();
        data.set(new Uint8Array(maker.mapping.control, 0, Math.min(layout.regionSize, data.length)));
        for (let k = s.u8() & 3; k > 0; k--) words[s.u8() & 15] = VALUES[s.u8() % VALUES.length] | 0;
        end = source ? PacketSource.open(regionOf(mapping), config, options) : PacketSink.open(regionOf(mapping), config, options);
      } else {
        if (short) return;
        end = source ? PacketSource.create(regionOf(mapping), config, options) : PacketSink.create(regionOf(mapping), config, options);
      }
    } catch (e) {
      if (e instanceof PacketStreamError && (e.reason === "header-mismatch" || e.reason === "region-too-small")) return;
      throw e;
    }

    // The peer's own state, as a well-behaved peer would keep it (the input may also scribble).
    let peerHead = 0; // the peer's producer index (submit ring for a sink under test, ack ring for a source)
    let peerTail = 0; // the peer's consumer index
    const peerHeadWord = (source ? layout.ackHead : layout.submitHead) / 4;
    const peerTailWord = (source ? layout.submitTail : layout.ackTail) / 4;
    const peerSlots = source ? layout.ackSlots : layout.submitSlots;
    const ownSlots = source ? layout.submitSlots : layout.ackSlots;
    const { offsetAt, offsetBytes, sizeAt, sizeBytes } = descriptor;
    const putField = (at: number, bytes: number, value: number) => {
      data.writeUInt32LE(value % 2 ** 32, at);
      if (bytes === 8) data.writeUInt32LE(Math.floor(value / 2 ** 32) % 2 ** 32, at + 4);
    };
    const field = (at: number, bytes: number) => data.readUInt32LE(at) + (bytes === 8 ? data.readUInt32LE(at + 4) * 2 ** 32 : 0);
    const writeDescriptor = (slot: number, offset: number, size: number) => {
      const at = peerSlots + slot * layout.slotBytes;
      putField(at + offsetAt, offsetBytes, offset);
      putField(at + sizeAt, sizeBytes, size);
    };
    const value = () => (s.u8() & 1 ? VALUES[s.u8() % VALUES.length] : s.u32());

    const held: Packet[] = [];
    /** Source under test: offset -> size of packets it submitted and not got back. */
    const inFlight = new Map<number, number>();
    const check = (p: Packet, what: string) => {
      if (!(p.offset >= 0 && p.size >= 0 && p.offset + p.size <= layout.bulkSize) || p.data.length !== p.size) {
        throw new PropertyViolation(`${what}: a packet at ${p.offset} of ${p.size} bytes handed out, outside the bulk buffer of ${layout.bulkSize}`);
      }
    };

    try {
      while (s.left > 0) {
        const op = s.u8();
        switch (op % 9) {
          case 0: // the peer's producer index, any value
            Atomics.store(words, peerHeadWord, value() | 0);
            break;
          case 1: // the peer's consumer index, any value
            Atomics.store(words, peerTailWord, value() | 0);
            break;
          case 2: // a descriptor in one of the peer's slots, any offset and size
            writeDescriptor(s.u8() % ringSize, value(), value());
            break;
          case 3: {
            // A well-behaved peer's step: a sink's peer submits a packet; a source's peer acknowledges the oldest it has.
            if (source) {
              const submitHead = Atomics.load(words, layout.submitHead / 4);
              if (peerTail === submitHead || (peerHead + 1) % ringSize === Atomics.load(words, layout.ackTail / 4)) break;
              const at = ownSlots + peerTail * layout.slotBytes;
              const offset = field(at + offsetAt, offsetBytes);
              const size = field(at + sizeAt, sizeBytes);
              peerTail = (peerTail + 1) % ringSize;
              Atomics.store(words, peerTailWord, peerTail);
              writeDescriptor(peerHead, offset, size);
              peerHead = (peerHead + 1) % ringSize;
              Atomics.store(words, peerHeadWord, peerHead);
            } else {
              if ((peerHead + 1) % ringSize === Atomics.load(words, layout.submitTail / 4)) break;
              const offset = (s.u8() * 64) % layout.bulkSize;
              writeDescriptor(peerHead, offset, Math.min(s.u8(), layout.bulkSize - offset));
              peerHead = (peerHead + 1) % ringSize;
              Atomics.store(words, peerHeadWord, peerHead);
            }
            break;
          }
          case 4:
            // This side takes a packet (sink) or allocates and submits one (source).
            if (end instanceof PacketSink) {
              const p = end.tryGet();
              if (p !== null) {
                check(p, "tryGet");
                void p.extra;
                held.push(p);
              }
            } else {
              const p = end.tryAlloc(Math.min(s.u8(), layout.bulkSize));
              if (p !== null) {
                check(p, "tryAlloc");
                const { offset, size } = p;
                if (end.trySubmit(p)) inFlight.set(offset, size);
                else held.push(p);
              }
            }
            break;
          case 5:
            // This side acknowledges a packet (sink) or takes an acknowledgement back (source).
            if (end instanceof PacketSink) {
              const p = held.shift();
              if (p !== undefined && !end.tryAck(p)) held.unshift(p);
            } else {
              const p = end.tryGetAck();
              if (p !== null) {
                check(p, "tryGetAck");
                if (inFlight.get(p.offset) !== p.size) throw new PropertyViolation(`an acknowledgement of ${p.offset}/${p.size} taken back, which was not in flight`);
                inFlight.delete(p.offset);
                end.release(p);
              }
            }
            break;
          case 6:
            end.flush();
            break;
          case 7: {
            // A source submits a packet it held back.
            if (end instanceof PacketSource) {
              const p = held.shift();
              if (p !== undefined) {
                const { offset, size } = p;
                if (end.trySubmit(p)) inFlight.set(offset, size);
                else held.unshift(p);
              }
            }
            break;
          }
          default: // any word of the control part (the header, this side's own indices, doorbells)
            Atomics.store(words, s.u16() % (layout.bulkOffset / 4), value() | 0);
        }
      }
    } catch (e) {
      if (!(e instanceof PacketStreamError)) throw e;
      if (!e.violation) throw new PropertyViolation(`a correct use of the stream failed: ${e.reason}: ${e.message}`);
      if (end.error !== e) throw new PropertyViolation(`a violation (${e.reason}) that did not fail the stream`);
    } finally {
      end.close();
    }
  },
};
