/**
 * The shared-memory layout of a packet stream (Genode's `os/packet_stream.h`) and its two single-producer /
 * single-consumer rings. packet-stream.ts builds the source and the sink on these.
 *
 * One region per stream, made by one side (the creator) and mapped by the other (the opener):
 *
 *   line 0    header, written once by the creator and checked by the opener (`HEADER_*` below)
 *   line 1    written by the source only: submit.head, ack.tail
 *   line 2    written by the sink only: submit.tail, ack.head
 *   line 3... submit ring slots: ringSize descriptors of slotBytes (source -> sink)
 *   ...       ack ring slots, 64-byte aligned: ringSize descriptors (sink -> source)
 *   ...       bulk buffer, 64-byte aligned, bufferSize rounded up to 64 bytes
 *
 * A line is 64 bytes, a cache line: the indices each side writes sit on a line of their own, so one side's
 * stores do not evict the line the other side keeps reading. A zero-filled region is a valid pair of empty
 * rings (every index 0). Every index is read with Atomics.load and written with Atomics.store (sequentially
 * consistent: the slot's bytes, written before the store of the index, are visible once the index is), and
 * each side keeps its own indices in private variables: it writes them to the region but never reads them
 * back, so a peer scribbling on them changes nothing here. Descriptors and payload go through the mapping's
 * Buffer view (`data`) and its memory, not the SharedArrayBuffer, which V8 copies word by word
 * (node-platform.md); the index stores order them.
 */
import { IpcgenError } from "../errors.js";
import type { DescriptorLayout, PacketStreamConfig } from "../contract.js";

export type { DescriptorLayout, PacketStreamConfig };

/** A cache line: the alignment of every part of the region. */
export const LINE = 64;
/** "IGPS" (ipcgen packet stream) in the first four bytes. */
export const MAGIC = 0x53504749;
/** Changes whenever the layout does: a peer built against another layout is refused. */
export const LAYOUT_VERSION = 2;

/** The largest ring: its slots live in the control part, and a peer's claims must stay small. */
export const MAX_RING_SIZE = 65536;
/** The largest bulk buffer: the schema's `bufferSize` is a UInt32. */
export const MAX_BUFFER_SIZE = 2 ** 32;
/** The largest descriptor: 64 data words. */
export const MAX_DATA_WORDS = 64;

// The header's 32-bit words (indices into an Int32Array over the region).
const HEADER_MAGIC = 0;
const HEADER_VERSION = 1;
const HEADER_RING_SIZE = 2;
const HEADER_SLOT_BYTES = 3;
const HEADER_DESCRIPTOR = 4; // offsetAt, offsetBytes, sizeAt, sizeBytes: one byte each
const HEADER_BULK_OFFSET = 5;
const HEADER_BULK_SIZE_LO = 6;
const HEADER_BULK_SIZE_HI = 7;
const HEADER_REGION_SIZE_LO = 8;
const HEADER_REGION_SIZE_HI = 9;

/** Byte offsets of the index words; each side's indices on a line of their own. (The doorbell is not in
 * the region: it is a socket pair whose ends are passed beside it, see doorbell.ts.) */
const SUBMIT_HEAD = LINE; // source
const ACK_TAIL = LINE + 4; // source
const SUBMIT_TAIL = 2 * LINE; // sink
const ACK_HEAD = 2 * LINE + 4; // sink
const SLOTS = 3 * LINE;

/** Where everything lies in a stream's region, in bytes from its start. */
export interface PacketStreamLayout {
  readonly ringSize: number;
  readonly slotBytes: number;
  readonly descriptor: Readonly<DescriptorLayout>;
  readonly submitHead: number;
  readonly submitTail: number;
  readonly ackHead: number;
  readonly ackTail: number;
  readonly submitSlots: number;
  readonly ackSlots: number;
  readonly bulkOffset: number;
  readonly bulkSize: number;
  /** The whole region: what the creator makes and the opener maps. */
  readonly regionSize: number;
}

const align = (n: number, to: number): number => Math.ceil(n / to) * to;

function checkInteger(what: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new RangeError(`packet stream: ${what} must be an integer from ${min} to ${max}, got ${value}`);
}

/** The layout a config makes; throws RangeError for a config no stream can have. */
export function packetStreamLayout(config: PacketStreamConfig): PacketStreamLayout {
  const { ringSize, bufferSize, descriptor: d } = config;
  checkInteger("ringSize", ringSize, 2, MAX_RING_SIZE);
  checkInteger("bufferSize", bufferSize, 1, MAX_BUFFER_SIZE);
  checkInteger("descriptor.dataWords", d.dataWords, 1, MAX_DATA_WORDS);
  const slotBytes = d.dataWords * 8;
  for (const [name, at, bytes] of [
    ["offset", d.offsetAt, d.offsetBytes],
    ["size", d.sizeAt, d.sizeBytes],
  ] as const) {
    if (bytes !== 4 && bytes !== 8) throw new RangeError(`packet stream: the descriptor's ${name} field must be 4 or 8 bytes wide, not ${String(bytes)}`);
    checkInteger(`descriptor.${name}At`, at, 0, slotBytes - bytes);
    if (at % bytes !== 0) throw new RangeError(`packet stream: the descriptor's ${name} field must be aligned to its width (${bytes}), not at byte ${at}`);
  }
  if (d.offsetAt < d.sizeAt + d.sizeBytes && d.sizeAt < d.offsetAt + d.offsetBytes) throw new RangeError("packet stream: the descriptor's offset and size fields overlap");

  const ringBytes = ringSize * slotBytes;
  const ackSlots = align(SLOTS + ringBytes, LINE);
  const bulkOffset = align(ackSlots + ringBytes, LINE);
  const bulkSize = align(bufferSize, LINE);
  return {
    ringSize,
    slotBytes,
    descriptor: { ...d },
    submitHead: SUBMIT_HEAD,
    submitTail: SUBMIT_TAIL,
    ackHead: ACK_HEAD,
    ackTail: ACK_TAIL,
    submitSlots: SLOTS,
    ackSlots,
    bulkOffset,
    bulkSize,
    regionSize: bulkOffset + bulkSize,
  };
}

/** The descriptor field positions packed into one header word, one byte each. */
function descriptorWord(d: DescriptorLayout): number {
  return (d.offsetAt | (d.offsetBytes << 8) | (d.sizeAt << 16) | (d.sizeBytes << 24)) | 0;
}

// ---------------------------------------------------------------------------------------------------------
// Errors

/** What a peer did wrong (the stream fails), or why a call cannot be served here. */
export type PacketStreamViolation =
  /** On open: the header is not the one this side's schema makes (magic, version, ring, descriptor, sizes). */
  | "header-mismatch"
  /** On open: the region is smaller than the header or this side's layout needs. */
  | "region-too-small"
  /** A ring index read from the region is not from 0 to ringSize - 1. */
  | "index-out-of-range"
  /** The peer's consumer index moved past what the producer (this side) has published. */
  | "index-overrun"
  /** A submitted descriptor's offset and size do not lie inside the bulk buffer. */
  | "descriptor-out-of-bounds"
  /** An acknowledgement names no packet this source has in flight. */
  | "unexpected-ack"
  /** An acknowledgement names a packet that was already acknowledged. */
  | "duplicate-ack"
  /** An acknowledgement names a packet in flight but with another size. */
  | "ack-mismatch";

export type PacketStreamErrorReason =
  | PacketStreamViolation
  /** The stream was closed on this side. */
  | "closed"
  /** The packet is not this side's to use now (handed over, released, or of another stream). */
  | "stale-packet";

const NOT_VIOLATIONS: ReadonlySet<PacketStreamErrorReason> = new Set(["closed", "stale-packet"]);

/**
 * A packet stream's failure or misuse. `violation` is true when the peer broke the rules: the stream has
 * failed for good and its session should end (see `onViolation`).
 */
export class PacketStreamError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_PACKET_STREAM";
  override readonly code = PacketStreamError.code;
  override name = "PacketStreamError";
  constructor(
    readonly reason: PacketStreamErrorReason,
    message: string,
  ) {
    super(message);
  }

  get violation(): boolean {
    return !NOT_VIOLATIONS.has(this.reason);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The header

/** Zeroes the control part of a fresh region and writes its header (the creator does this once). */
export function writeHeader(control: SharedArrayBuffer, data: Buffer, layout: PacketStreamLayout): void {
  data.fill(0, 0, layout.bulkOffset);
  const words = new Int32Array(control, 0, LINE / 4);
  words[HEADER_VERSION] = LAYOUT_VERSION;
  words[HEADER_RING_SIZE] = layout.ringSize;
  words[HEADER_SLOT_BYTES] = layout.slotBytes;
  words[HEADER_DESCRIPTOR] = descriptorWord(layout.descriptor);
  words[HEADER_BULK_OFFSET] = layout.bulkOffset;
  words[HEADER_BULK_SIZE_LO] = layout.bulkSize % 2 ** 32 | 0;
  words[HEADER_BULK_SIZE_HI] = Math.floor(layout.bulkSize / 2 ** 32);
  words[HEADER_REGION_SIZE_LO] = layout.regionSize % 2 ** 32 | 0;
  words[HEADER_REGION_SIZE_HI] = Math.floor(layout.regionSize / 2 ** 32);
  // The magic last: a header with the magic is a whole one.
  Atomics.store(words, HEADER_MAGIC, MAGIC);
}

/**
 * Checks the header of a region the peer made against the layout this side expects from its schema; throws
 * PacketStreamError ("header-mismatch" or "region-too-small") naming the first difference. Reads nothing
 * outside `regionSize` bytes.
 */
export function checkHeader(control: SharedArrayBuffer, regionSize: number, layout: PacketStreamLayout): void {
  if (regionSize < LINE || control.byteLength < LINE) throw new PacketStreamError("region-too-small", `packet stream: the region holds ${regionSize} bytes, too few for a header`);
  const words = new Int32Array(control, 0, LINE / 4);
  const u32 = (i: number): number => words[i] >>> 0;
  const u64 = (lo: number): number => u32(lo + 1) * 2 ** 32 + u32(lo);
  const mismatch = (what: string, found: number, expected: number): PacketStreamError =>
    new PacketStreamError("header-mismatch", `packet stream: the region's header says ${what} ${found}, this side expects ${expected}`);
  const magic = Atomics.load(words, HEADER_MAGIC) >>> 0;
  if (magic !== MAGIC) throw new PacketStreamError("header-mismatch", `packet stream: the region does not start with a packet stream header (magic 0x${magic.toString(16)}, expected 0x${MAGIC.toString(16)})`);
  if (u32(HEADER_VERSION) !== LAYOUT_VERSION) throw mismatch("layout version", u32(HEADER_VERSION), LAYOUT_VERSION);
  // Sizes the header claims, before the fields that depend on them: a claim beyond the region is its own error.
  const claimedRegion = u64(HEADER_REGION_SIZE_LO);
  if (claimedRegion > regionSize) throw new PacketStreamError("region-too-small", `packet stream: the region's header claims ${claimedRegion} bytes, but the region holds ${regionSize}`);
  const claimedBulkEnd = u32(HEADER_BULK_OFFSET) + u64(HEADER_BULK_SIZE_LO);
  if (claimedBulkEnd > regionSize) throw new PacketStreamError("region-too-small", `packet stream: the region's header puts the bulk buffer's end at byte ${claimedBulkEnd}, but the region holds ${regionSize}`);
  if (u32(HEADER_RING_SIZE) !== layout.ringSize) throw mismatch("ringSize", u32(HEADER_RING_SIZE), layout.ringSize);
  if (u32(HEADER_SLOT_BYTES) !== layout.slotBytes) throw mismatch("descriptor bytes", u32(HEADER_SLOT_BYTES), layout.slotBytes);
  const descriptor = words[HEADER_DESCRIPTOR];
  if (descriptor !== descriptorWord(layout.descriptor)) {
    const d = (w: number) => `offset ${w & 0xff}/${(w >>> 8) & 0xff}, size ${(w >>> 16) & 0xff}/${w >>> 24}`;
    throw new PacketStreamError("header-mismatch", `packet stream: the region's header says descriptor fields at ${d(descriptor)} (at/bytes), this side expects ${d(descriptorWord(layout.descriptor))}`);
  }
  if (u32(HEADER_BULK_OFFSET) !== layout.bulkOffset) throw mismatch("bulk offset", u32(HEADER_BULK_OFFSET), layout.bulkOffset);
  if (u64(HEADER_BULK_SIZE_LO) !== layout.bulkSize) throw mismatch("bulk size", u64(HEADER_BULK_SIZE_LO), layout.bulkSize);
  if (claimedRegion !== layout.regionSize) throw mismatch("region size", claimedRegion, layout.regionSize);
  if (regionSize < layout.regionSize) throw new PacketStreamError("region-too-small", `packet stream: the region holds ${regionSize} bytes, this side's layout needs ${layout.regionSize}`);
}

// ---------------------------------------------------------------------------------------------------------
// The rings

/** How far `to` is ahead of `from` on a ring of `n` slots. */
const distance = (from: number, to: number, n: number): number => (to - from + n) % n;

/**
 * The producer's end of a ring: it fills the slot at `head`, then publishes it by storing head + 1. Full
 * when (head + 1) % n == tail. The consumer's `tail` is re-read only when the ring looks full (it can only
 * have moved towards head), and checked on every read: from 0 to n - 1, and not past head.
 */
export class RingProducer {
  private head = 0;
  /** The consumer's index as last read (and checked). */
  private tail = 0;
  /** Slots published since the last `flushEdge`. */
  private produced = 0;
  private readonly n: number;

  constructor(
    private readonly words: Int32Array,
    private readonly headWord: number,
    private readonly tailWord: number,
    /** Byte offset of slot 0 in the region. */
    private readonly slots: number,
    private readonly slotBytes: number,
    n: number,
    private readonly name: string,
  ) {
    this.n = n;
  }

  /** The byte offset of the slot the next `publish` hands over, or -1 while the ring is full. */
  reserve(): number {
    const next = (this.head + 1) % this.n;
    if (next === this.tail && next === this.readTail()) return -1;
    return this.slots + this.head * this.slotBytes;
  }

  /** Hands the slot `reserve` returned to the consumer. */
  publish(): void {
    this.head = (this.head + 1) % this.n;
    Atomics.store(this.words, this.headWord, this.head);
    this.produced++;
  }

  /** Whether a publish would find room now (re-reads the consumer's index). */
  hasRoom(): boolean {
    return (this.head + 1) % this.n !== this.readTail();
  }

  /**
   * Ends a batch of publishes: whether the consumer may have found the ring empty since the last batch
   * ended (the empty -> non-empty edge: it needs a wake-up). Under sequentially consistent atomics, a
   * consumer that found the ring empty stopped with its tail at a head value of this batch's range, so
   * `head - tail` is now at most the count published in it; a consumer still behind that range did not stop.
   */
  flushEdge(): boolean {
    if (this.produced === 0) return false;
    const produced = this.produced;
    this.produced = 0;
    const used = distance(this.readTail(), this.head, this.n);
    return used <= produced;
  }

  private readTail(): number {
    const tail = Atomics.load(this.words, this.tailWord);
    if (tail < 0 || tail >= this.n) throw new PacketStreamError("index-out-of-range", `packet stream: the ${this.name} ring's consumer index is ${tail}, outside 0..${this.n - 1}`);
    // The consumer moves from where it was towards head, and never past it.
    if (distance(this.tail, tail, this.n) > distance(this.tail, this.head, this.n))
      throw new PacketStreamError("index-overrun", `packet stream: the ${this.name} ring's consumer index moved from ${this.tail} to ${tail}, past the producer's ${this.head}`);
    this.tail = tail;
    return tail;
  }
}

/**
 * The consumer's end of a ring: it reads the slot at `tail`, then releases it by storing tail + 1. Empty
 * when head == tail. The producer's `head` is re-read only when the ring looks empty, and checked: from 0
 * to n - 1 (any such value is a possible state; the descriptors it exposes are checked one by one).
 */
export class RingConsumer {
  private tail = 0;
  /** The producer's index as last read (and checked). */
  private head = 0;
  /** Slots released since the last `flushEdge`. */
  private consumed = 0;
  private readonly n: number;

  constructor(
    private readonly words: Int32Array,
    private readonly headWord: number,
    private readonly tailWord: number,
    private readonly slots: number,
    private readonly slotBytes: number,
    n: number,
    private readonly name: string,
  ) {
    this.n = n;
  }

  /** The byte offset of the oldest published slot, or -1 while the ring is empty. */
  peek(): number {
    if (this.tail === this.head && this.tail === this.readHead()) return -1;
    return this.slots + this.tail * this.slotBytes;
  }

  /** Gives the slot `peek` returned back to the producer (its bytes must have been copied out before). */
  release(): void {
    this.tail = (this.tail + 1) % this.n;
    Atomics.store(this.words, this.tailWord, this.tail);
    this.consumed++;
  }

  /**
   * Ends a batch of releases: whether the producer may have found the ring full since the last batch ended
   * (the full -> not full edge: it needs a wake-up). A producer that found it full stopped with its head at
   * (a tail of this batch) - 1, so `head - tail` now plus the count released is at least n - 1.
   */
  flushEdge(): boolean {
    if (this.consumed === 0) return false;
    const consumed = this.consumed;
    this.consumed = 0;
    const used = distance(this.tail, this.readHead(), this.n);
    return used + consumed >= this.n - 1;
  }

  private readHead(): number {
    const head = Atomics.load(this.words, this.headWord);
    if (head < 0 || head >= this.n) throw new PacketStreamError("index-out-of-range", `packet stream: the ${this.name} ring's producer index is ${head}, outside 0..${this.n - 1}`);
    this.head = head;
    return head;
  }
}

/** Both rings of a region, seen from one side. */
export function sourceRings(control: SharedArrayBuffer, layout: PacketStreamLayout): { submit: RingProducer; ack: RingConsumer } {
  const words = new Int32Array(control, 0, layout.bulkOffset / 4);
  const { ringSize: n, slotBytes } = layout;
  return {
    submit: new RingProducer(words, layout.submitHead / 4, layout.submitTail / 4, layout.submitSlots, slotBytes, n, "submit"),
    ack: new RingConsumer(words, layout.ackHead / 4, layout.ackTail / 4, layout.ackSlots, slotBytes, n, "acknowledgement"),
  };
}

export function sinkRings(control: SharedArrayBuffer, layout: PacketStreamLayout): { submit: RingConsumer; ack: RingProducer } {
  const words = new Int32Array(control, 0, layout.bulkOffset / 4);
  const { ringSize: n, slotBytes } = layout;
  return {
    submit: new RingConsumer(words, layout.submitHead / 4, layout.submitTail / 4, layout.submitSlots, slotBytes, n, "submit"),
    ack: new RingProducer(words, layout.ackHead / 4, layout.ackTail / 4, layout.ackSlots, slotBytes, n, "acknowledgement"),
  };
}
