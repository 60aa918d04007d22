/**
 * Both ends of a checked packet stream for the packet-stream tests, run in the test's process or in a child
 * (packet-peer.ts): the source sends packets of pseudo-random sizes and bytes with their sequence number and
 * CRC-32 in the descriptor's own fields; the sink checks both, marks the descriptor and acknowledges out of
 * order; the source checks what comes back.
 */
import { crc32 } from "node:zlib";
import type { Packet, PacketSink, PacketSource, PacketStreamConfig } from "../../../runtime/shm/packet-stream.js";

/** A descriptor like a service's: `offset :UInt64` and `size :UInt32`, then the service's fields. */
export const DESCRIPTOR = { dataWords: 3, offsetAt: 0, offsetBytes: 8, sizeAt: 8, sizeBytes: 4 } as const;
/** The service's fields, in bytes from the start of the data section. */
export const SEQ_AT = 12;
export const CRC_AT = 16;
/** Set by the sink before it acknowledges: the packet was checked. */
export const STATUS_AT = 20;
export const CHECKED = 0x600d;

export const CONFIG: PacketStreamConfig = { ringSize: 64, bufferSize: 1 << 20, descriptor: DESCRIPTOR };

/** A small seeded generator (mulberry32): both processes derive the same sizes from the same seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

export interface Totals {
  count: number;
  bytes: number;
  /** The sum of every packet's CRC-32, modulo 2^32. */
  crcSum: number;
}

export interface ProduceOptions {
  count: number;
  seed: number;
  maxSize: number;
}

/**
 * Sends `count` packets through `source` (sizes 0 to maxSize, bytes from a pseudo-random pool) and waits for
 * all of them to come back checked; throws at the first thing wrong. `reordered` counts the
 * acknowledgements that came before one of a packet submitted earlier.
 */
export async function produce(source: PacketSource, options: ProduceOptions): Promise<Totals & { reordered: number }> {
  const random = prng(options.seed);
  const pool = Buffer.alloc((1 << 20) + options.maxSize);
  for (let i = 0; i < pool.length; i += 4) pool.writeUInt32LE(random(), i);
  const expected = new Map<number, { seq: number; crc: number }>();
  const totals: Totals = { count: 0, bytes: 0, crcSum: 0 };

  let acked = 0;
  let reordered = 0;
  const acks = (async () => {
    if (options.count === 0) return;
    for await (const packet of source) {
      const want = expected.get(packet.offset);
      const fields = Buffer.from(packet.extra.buffer, packet.extra.byteOffset, packet.extra.length);
      if (want === undefined) throw new Error(`an acknowledgement for ${packet.offset}, which has no packet in flight`);
      if (fields.readUInt32LE(SEQ_AT) !== want.seq || fields.readUInt32LE(CRC_AT) !== want.crc) throw new Error(`the acknowledgement of packet ${want.seq} carries other fields`);
      if (fields.readUInt32LE(STATUS_AT) !== CHECKED) throw new Error(`packet ${want.seq} came back unchecked`);
      // Map keys keep insertion (submit) order: an acknowledgement of any but the first is out of order.
      if (expected.keys().next().value !== packet.offset) reordered++;
      expected.delete(packet.offset);
      source.release(packet);
      if (++acked === options.count) return;
    }
  })();

  for (let seq = 0; seq < options.count; seq++) {
    const size = random() % (options.maxSize + 1);
    const packet = await source.alloc(size);
    const from = random() % (1 << 20);
    pool.copy(packet.data, 0, from, from + size);
    const crc = crc32(packet.data);
    const fields = Buffer.from(packet.extra.buffer, packet.extra.byteOffset, packet.extra.length);
    fields.writeUInt32LE(seq, SEQ_AT);
    fields.writeUInt32LE(crc, CRC_AT);
    expected.set(packet.offset, { seq, crc });
    await source.submit(packet);
    totals.count++;
    totals.bytes += size;
    totals.crcSum = (totals.crcSum + crc) >>> 0;
  }
  await acks;
  if (expected.size !== 0) throw new Error(`${expected.size} packets never came back`);
  return { ...totals, reordered };
}

export interface ConsumeOptions {
  count: number;
  seed: number;
  /** Packets held before acknowledging a random one of them (1: in order). */
  window: number;
}

/**
 * Takes `count` packets from `sink`, checks them, and acknowledges them in a pseudo-random order: it holds up
 * to `window` of them, and acknowledges one at random whenever it would otherwise wait (the source may need
 * the bytes of the packets held here to allocate the next one).
 */
export async function consume(sink: PacketSink, options: ConsumeOptions): Promise<Totals> {
  const random = prng(options.seed ^ 0x5eed);
  const totals: Totals = { count: 0, bytes: 0, crcSum: 0 };
  const held: Packet[] = [];
  const ackOne = async (): Promise<void> => {
    const [packet] = held.splice(random() % held.length, 1);
    await sink.ack(packet);
  };
  while (totals.count < options.count) {
    let packet = sink.tryGet();
    if (packet === null) {
      if (held.length > 0) {
        await ackOne();
        continue;
      }
      packet = await sink.get();
    }
    const fields = Buffer.from(packet.extra.buffer, packet.extra.byteOffset, packet.extra.length);
    const seq = fields.readUInt32LE(SEQ_AT);
    if (seq !== totals.count) throw new Error(`packet ${seq} came where ${totals.count} was due`);
    // Copied out first: the source could change shared bytes while they are checked.
    const crc = crc32(Buffer.from(packet.data));
    if (crc !== fields.readUInt32LE(CRC_AT)) throw new Error(`packet ${seq} (${packet.size} bytes at ${packet.offset}) has CRC ${crc}, not ${fields.readUInt32LE(CRC_AT)}`);
    fields.writeUInt32LE(CHECKED, STATUS_AT);
    totals.count++;
    totals.bytes += packet.size;
    totals.crcSum = (totals.crcSum + crc) >>> 0;
    held.push(packet);
    if (held.length >= options.window) await ackOne();
  }
  while (held.length > 0) await ackOne();
  sink.flush();
  return totals;
}
