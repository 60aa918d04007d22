/**
 * Packet streams (Genode's `os/packet_stream.h`): bulk data through one shared region, with a submit ring
 * (source -> sink), an acknowledgement ring (sink -> source) and a bulk buffer the packets lie in. The
 * region's layout and the rings are in ring.ts.
 *
 * The SOURCE allocates a packet in the bulk buffer (only it allocates), fills it and submits its descriptor;
 * the SINK gets it, processes it and acknowledges it (in any order); the source gets the acknowledgement
 * back and releases the packet. Putting a descriptor in a ring hands the packet over: from then on the side
 * that put it there must not touch its bytes. Shared memory cannot enforce that, so the API does what it
 * can: a `Packet` object stands for one turn of ownership and dies when it is handed over (`data` and
 * `extra` then throw), and the other side's next turn comes as a new object. A Buffer taken from `data`
 * earlier cannot be revoked (the mapping's memory cannot be detached): do not keep it past the handover.
 *
 * Nothing blocks and nothing is dropped: backpressure is a full ring or a failed allocation. The `try*`
 * calls answer at once; the promise calls and the async iterators wait, woken by a doorbell (doorbell.ts:
 * a socket pair, one end held by each side) that is rung only on the four edges of Genode's protocol:
 * packet_avail (the submit ring went from empty to non-empty), ready_to_submit (it went from full to not
 * full), ack_avail and ready_to_ack (the same for the acknowledgement ring). A ring is one datagram to the
 * peer's end; when this side looks for edges is the `wake` option (after each operation, or once per turn
 * of the event loop).
 *
 * Everything read from the region is the peer's word and is checked before use: ring indices, descriptors
 * (inside the bulk buffer, without overflow), acknowledgements (of a packet in flight, once). A violation
 * fails the stream for good with a `PacketStreamError` whose `violation` is true: every call then throws
 * it, every waiter gets it, and `onViolation` tells the owner, which should end the session. Work per turn
 * is bounded (at most ringSize descriptors taken from a ring per turn of the event loop, the rest on the
 * next turn), so a peer that refills a ring as fast as it is emptied cannot hold the event loop.
 */
import { BulkAllocator } from "./allocator.js";
import type { SharedMapping } from "../native/index.js";
import type { Doorbell } from "./doorbell.js";
import {
  checkHeader,
  type PacketStreamConfig,
  PacketStreamError,
  type PacketStreamLayout,
  packetStreamLayout,
  RingConsumer,
  RingProducer,
  sinkRings,
  sourceRings,
  writeHeader,
} from "./ring.js";

export {
  type DescriptorLayout,
  type PacketStreamConfig,
  PacketStreamError,
  type PacketStreamErrorReason,
  type PacketStreamLayout,
  type PacketStreamViolation,
  packetStreamLayout,
} from "./ring.js";

export interface PacketStreamOptions {
  /**
   * Called once, when the peer breaks the protocol (the error's `reason` says how). The stream has failed
   * by then: its waiters have the error and its calls throw it. The owner should end the session.
   */
  onViolation?: (error: PacketStreamError) => void;
  /**
   * When this side looks whether its operations crossed an edge the peer waits on (it rings the peer
   * only then, whichever is chosen):
   *   - "operation" (the default): after each operation, at the cost of one Atomics.load of the peer's
   *     index. A peer that caught up and may be asleep is woken at once, so it works while this side goes
   *     on; a burst of operations while the peer is busy rings nothing.
   *   - "turn": once per turn of the event loop, when it ends (and at `flush()`): the fewest rings, but
   *     a peer that ran dry waits for this side's whole turn, however long (bench/shm.ts measures both).
   */
  wake?: "operation" | "turn";
}

/**
 * What a stream runs over: its region and this side's end of its doorbell pair (Doorbell.pair(): the side
 * that makes the region keeps one end and passes the other to the peer with the region). An end rings its
 * bell to wake the peer, and watches it to be woken. The end made over it owns the bell and closes it when
 * it closes.
 */
export interface StreamRegion {
  mapping: SharedMapping;
  bell: Doorbell;
}

/** An end made over `region`; if making it fails, its doorbell is closed (it was given to it). */
function made<T>(region: StreamRegion, make: () => T): T {
  try {
    return make();
  } catch (err) {
    region.bell.close();
    throw err;
  }
}

export interface WaitOptions {
  /** Gives up waiting: the promise rejects with the signal's reason, and nothing was taken or handed over. */
  signal?: AbortSignal;
}

/** Packets are allocated in chunks of this many bytes, so that every packet starts 64-byte aligned. */
export const CHUNK = 64;

/** Descriptors are Cap'n Proto data sections, little-endian; they are read and written as host words. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------------------
// Packets

const LIVE = 0;
/** Waiting in `submit` or `ack` for room in the ring: still this side's, but promised. */
const QUEUED = 1;
/** Handed over or released. */
const GONE = 2;

/**
 * One turn of ownership of a packet: `offset` and `size` place it in the bulk buffer, `data` is its bytes
 * and `extra` is the descriptor's data section (the service's own fields). It dies when this side hands
 * it over (submit, ack, release): its accessors then throw a PacketStreamError ("stale-packet").
 */
export class Packet {
  /** @internal */
  state = LIVE;
  private view: Buffer | null = null;

  /** @internal */
  constructor(
    /** @internal */
    readonly owner: PacketStreamEnd,
    /** In bytes from the start of the bulk buffer; unique among the source's allocated packets. */
    readonly offset: number,
    readonly size: number,
    /** @internal The descriptor's bytes, or null while they are all zero but for offset and size. */
    public fields: Buffer | null,
  ) {}

  /** Whether this side may still use the packet. */
  get live(): boolean {
    return this.state !== GONE;
  }

  /**
   * The packet's bytes, in the shared bulk buffer: the source writes them before submitting, the sink reads
   * (and may write) them before acknowledging. The peer can change them at any time: a sink copies out what
   * it must check and keep. Do not keep this Buffer past the handover.
   */
  get data(): Buffer {
    if (this.state === GONE) throw this.stale("data");
    return (this.view ??= this.owner.bulk.subarray(this.offset, this.offset + this.size));
  }

  /**
   * The descriptor struct's data section (slotBytes long), for the service's fields: the source fills it
   * before submitting, the sink reads it and may change it before acknowledging (the acknowledgement
   * carries it back). The bytes of the `offset` and `size` fields are the stream's: they are overwritten
   * with the packet's own when the descriptor is written into a ring. A copy, not shared memory.
   */
  get extra(): Uint8Array {
    if (this.state === GONE) throw this.stale("extra");
    return (this.fields ??= this.owner.zeroFields(this.offset, this.size));
  }

  private stale(what: string): PacketStreamError {
    return new PacketStreamError("stale-packet", `packet stream: the packet at ${this.offset} was handed over or released; its ${what} is no longer this side's`);
  }
}

/** The bytes a packet of `size` takes in the bulk buffer: at least one chunk, so offsets stay unique. */
const chunkBytes = (size: number): number => (size <= CHUNK ? CHUNK : Math.ceil(size / CHUNK) * CHUNK);

// ---------------------------------------------------------------------------------------------------------
// Waiting

interface Waiter<T, A> {
  readonly arg: A;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** Promises waiting their turn, first in first out; an aborted one leaves the queue at once. */
class WaitQueue<T, A = undefined> {
  private readonly waiters = new Set<Waiter<T, A>>();

  constructor(private readonly changed: () => void) {}

  get size(): number {
    return this.waiters.size;
  }

  wait(arg: A, signal: AbortSignal | undefined, onAbort?: (arg: A) => void): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const abort = (): void => {
        if (!this.waiters.delete(waiter)) return;
        onAbort?.(arg);
        this.changed();
        reject(signal!.reason);
      };
      const waiter: Waiter<T, A> = {
        arg,
        resolve: (value) => {
          signal?.removeEventListener("abort", abort);
          resolve(value);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", abort);
          reject(error);
        },
      };
      signal?.addEventListener("abort", abort, { once: true });
      this.waiters.add(waiter);
      this.changed();
    });
  }

  /** The waiter whose turn it is, or undefined when none waits. */
  first(): Waiter<T, A> | undefined {
    for (const waiter of this.waiters) return waiter;
    return undefined;
  }

  /** Removes `waiter` (which `first` returned) and resolves it. */
  resolve(waiter: Waiter<T, A>, value: T): void {
    this.waiters.delete(waiter);
    this.changed();
    waiter.resolve(value);
  }

  rejectAll(error: unknown): void {
    const all = [...this.waiters];
    this.waiters.clear();
    this.changed();
    for (const waiter of all) waiter.reject(error);
  }
}

/** An async iterator over `next`, which ends (done) once the stream is closed on this side. */
function iterate(next: (options: WaitOptions) => Promise<Packet>, options: WaitOptions): AsyncIterableIterator<Packet> {
  let done = false;
  const iterator: AsyncIterableIterator<Packet> = {
    next: async () => {
      if (done) return { value: undefined, done: true };
      try {
        return { value: await next(options), done: false };
      } catch (error) {
        if (error instanceof PacketStreamError && error.reason === "closed") {
          done = true;
          return { value: undefined, done: true };
        }
        throw error;
      }
    },
    return: async () => {
      done = true;
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

// ---------------------------------------------------------------------------------------------------------
// What both sides share

/** Either side of a stream: its region, its doorbell, its turn of the event loop, its failure. */
export abstract class PacketStreamEnd {
  readonly layout: PacketStreamLayout;
  /** @internal The bulk buffer (a view of the mapping). */
  readonly bulk: Buffer;
  /** The control part of the mapping as 32-bit words, for descriptors (not the SharedArrayBuffer: plain
   * element access, no Atomics needed, since the ring indices order them). */
  private readonly words: Uint32Array;
  private readonly offsetWord: number;
  private readonly sizeWord: number;
  private readonly wideOffset: boolean;
  private readonly wideSize: boolean;
  /** The slot's words that are neither offset nor size: the service's fields (or padding). */
  private readonly extraWords: readonly number[];

  /** This side's end of the doorbell pair: rung to wake the peer, watched to be woken. */
  private readonly bell: Doorbell;
  /** Times this side rang the peer (edges crossed, not operations). */
  private ringCount = 0;
  /** Holds the process alive while promises wait on the peer (the doorbell's watch does not). */
  private readonly keepAlive: NodeJS.Timeout;
  private readonly eager: boolean;

  private failure: PacketStreamError | null = null;
  private isClosed = false;

  /** Descriptors this side may still take from its incoming ring in the current turn of the event loop. */
  private budget: number;
  private turnScheduled = false;

  readonly mapping: SharedMapping;

  protected constructor(
    region: StreamRegion,
    layout: PacketStreamLayout,
    private readonly options: PacketStreamOptions,
  ) {
    if (!LITTLE_ENDIAN) throw new RangeError("packet stream: descriptors are little-endian, and this host is not");
    const mapping = region.mapping;
    this.mapping = mapping;
    this.layout = layout;
    this.bulk = mapping.data.subarray(layout.bulkOffset, layout.bulkOffset + layout.bulkSize);
    this.words = new Uint32Array(mapping.data.buffer, mapping.data.byteOffset, layout.bulkOffset / 4);
    const d = layout.descriptor;
    this.offsetWord = d.offsetAt / 4;
    this.sizeWord = d.sizeAt / 4;
    this.wideOffset = d.offsetBytes === 8;
    this.wideSize = d.sizeBytes === 8;
    const taken = (w: number) => (w >= this.offsetWord && w < this.offsetWord + d.offsetBytes / 4) || (w >= this.sizeWord && w < this.sizeWord + d.sizeBytes / 4);
    this.extraWords = Array.from({ length: layout.slotBytes / 4 }, (_, w) => w).filter((w) => !taken(w));
    this.budget = layout.ringSize;
    this.eager = (options.wake ?? "operation") === "operation";
    this.bell = region.bell;
    this.keepAlive = setInterval(() => {}, 2 ** 30).unref();
  }

  /** Starts watching this side's doorbell; the subclass calls it once its rings exist. */
  protected start(): void {
    this.bell.watch(this.wake);
    setImmediate(this.wake);
  }

  /** How many times this side has rung the peer: once per edge crossed, not per operation. */
  get rings(): number {
    return this.ringCount;
  }

  private ring(): void {
    this.ringCount++;
    this.bell.ring();
  }

  /** The error the stream failed with (a peer's violation), or null. */
  get error(): PacketStreamError | null {
    return this.failure;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Rings the peer now if the operations since the last look crossed an edge it waits on. With
   * `wake: "turn"` this runs by itself when the turn of the event loop ends: call it to wake the peer
   * sooner, e.g. every so often in a long synchronous loop. Throws the stream's error on a violation.
   */
  flush(): void {
    if (this.failure !== null || this.isClosed) return;
    try {
      if (this.flushEdges()) this.ring();
    } catch (error) {
      throw this.failed(error);
    }
  }

  /**
   * Stops watching the doorbell and closes this side's end of it, after a last flush. Promises waiting reject
   * with a PacketStreamError ("closed"), iterators end, and every later call throws it. The mapping stays
   * until its views are gone.
   */
  close(): void {
    if (this.isClosed) return;
    try {
      this.flush();
    } catch (error) {
      // A violation found by the last flush has failed the stream already; closing goes on.
      if (!(error instanceof PacketStreamError)) throw error;
    }
    this.isClosed = true;
    this.stop(new PacketStreamError("closed", "packet stream: closed"));
  }

  /** Whether the peer crossed an edge since the last look (each subclass looks at its two rings). */
  protected abstract flushEdges(): boolean;
  /** Does whatever waiting calls can do now; loops until no progress. */
  protected abstract pump(): void;
  protected abstract rejectAll(error: PacketStreamError): void;
  /** How many promises wait. */
  protected abstract waiting(): number;

  /** Throws unless the stream can be used. */
  protected check(): void {
    if (this.failure !== null) throw this.failure;
    if (this.isClosed) throw new PacketStreamError("closed", "packet stream: closed");
  }

  /** Throws unless `packet` is this side's to hand over now. */
  protected own(packet: Packet): void {
    if (!(packet instanceof Packet) || packet.owner !== this) throw new TypeError("packet stream: not a packet of this stream");
    if (packet.state !== LIVE)
      throw new PacketStreamError("stale-packet", `packet stream: the packet at ${packet.offset} was ${packet.state === QUEUED ? "already queued" : "handed over or released"}`);
  }

  /** For a catch: a violation fails the stream; answers the error to throw on. */
  protected failed(error: unknown): unknown {
    if (error instanceof PacketStreamError && error.violation) this.fail(error);
    return error;
  }

  /** The doorbell rang (or a start poll or a new turn came): serve the waiters. Never throws a violation. */
  private readonly wake = (): void => {
    if (this.failure !== null || this.isClosed) return;
    try {
      this.pump();
    } catch (error) {
      if (!(error instanceof PacketStreamError && error.violation)) throw error;
      this.fail(error);
    }
  };

  /** Takes one unit of this turn's budget for one descriptor read from the incoming ring. */
  protected take(): boolean {
    if (this.budget === 0) return false;
    this.budget--;
    this.endTurnLater();
    return true;
  }

  /** A slot was published or released: look for edges now (wake: "operation") or when the turn ends. */
  protected moved(): void {
    if (this.eager && this.flushEdges()) this.ring();
    this.endTurnLater();
  }

  private endTurnLater(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(this.endTurn);
  }

  private readonly endTurn = (): void => {
    this.turnScheduled = false;
    if (this.failure !== null || this.isClosed) return;
    const exhausted = this.budget === 0;
    this.budget = this.layout.ringSize;
    try {
      if (this.flushEdges()) this.ring();
    } catch (error) {
      if (!(error instanceof PacketStreamError && error.violation)) throw error;
      this.fail(error);
      return;
    }
    // Descriptors left in a ring when the budget ran out get no new ring from the peer: serve them now.
    if (exhausted || this.waiting() > 0) this.wake();
  };

  /** The peer broke the protocol: the stream fails for good. */
  protected fail(error: PacketStreamError): void {
    if (this.failure !== null || this.isClosed) return;
    this.failure = error;
    this.stop(error);
    this.options.onViolation?.(error);
  }

  private stop(error: PacketStreamError): void {
    // A failed stream rings no more either: its doorbell goes.
    this.bell.close();
    clearInterval(this.keepAlive);
    this.rejectAll(error);
  }

  /** Waiters changed: hold the process alive while any wait. */
  protected readonly waitersChanged = (): void => {
    if (this.waiting() > 0 && this.failure === null && !this.isClosed) this.keepAlive.ref();
    else this.keepAlive.unref();
  };

  // Descriptors: the descriptor struct's data section in a ring slot, read and written as 32-bit words.

  /** @internal An all-zero descriptor with `offset` and `size` in place. */
  zeroFields(offset: number, size: number): Buffer {
    const fields = Buffer.alloc(this.layout.slotBytes);
    const words = new Uint32Array(fields.buffer, fields.byteOffset, fields.length / 4);
    putNumber(words, this.offsetWord, this.wideOffset, offset);
    putNumber(words, this.sizeWord, this.wideSize, size);
    return fields;
  }

  /** Writes a packet's descriptor into the ring slot at byte `at` of the region. */
  protected writeDescriptor(at: number, packet: Packet): void {
    const base = at / 4;
    const { words } = this;
    if (packet.fields !== null) {
      const fields = packet.fields;
      for (const w of this.extraWords) words[base + w] = fields.readUInt32LE(w * 4);
    } else {
      for (const w of this.extraWords) words[base + w] = 0;
    }
    putNumber(words, base + this.offsetWord, this.wideOffset, packet.offset);
    putNumber(words, base + this.sizeWord, this.wideSize, packet.size);
  }

  /** The descriptor at byte `at` as a copy in this process's memory, or null when its service fields are
   * all zero (the common case of a descriptor with none: no allocation). */
  protected copyFields(at: number): Buffer | null {
    const base = at / 4;
    const { words } = this;
    let zero = true;
    for (const w of this.extraWords) if (words[base + w] !== 0) zero = false;
    if (zero) return null;
    const fields = Buffer.allocUnsafe(this.layout.slotBytes);
    for (let w = 0; w < this.layout.slotBytes / 4; w++) fields.writeUInt32LE(words[base + w], w * 4);
    return fields;
  }

  /** The offset field of the slot at byte `at`: -1 when it is 2^53 or more (no safe integer). */
  protected readOffset(at: number): number {
    return getNumber(this.words, at / 4 + this.offsetWord, this.wideOffset);
  }

  protected readSize(at: number): number {
    return getNumber(this.words, at / 4 + this.sizeWord, this.wideSize);
  }
}

function putNumber(words: Uint32Array, i: number, wide: boolean, value: number): void {
  words[i] = value % 2 ** 32;
  if (wide) words[i + 1] = Math.floor(value / 2 ** 32);
}

/** A 32- or 64-bit unsigned field; -1 for 2^53 or more. */
function getNumber(words: Uint32Array, i: number, wide: boolean): number {
  if (!wide) return words[i];
  const hi = words[i + 1];
  return hi < 0x200000 ? hi * 2 ** 32 + words[i] : -1;
}

/** Maps a fresh region's layout, or checks an existing one's header. */
function prepare(mapping: SharedMapping, config: PacketStreamConfig, create: boolean): PacketStreamLayout {
  const layout = packetStreamLayout(config);
  if (create) {
    if (mapping.size < layout.regionSize) throw new RangeError(`packet stream: the region holds ${mapping.size} bytes, the stream needs ${layout.regionSize}`);
    writeHeader(mapping.control, mapping.data, layout);
  } else {
    checkHeader(mapping.control, Math.min(mapping.size, mapping.control.byteLength, mapping.data.length), layout);
  }
  return layout;
}

// ---------------------------------------------------------------------------------------------------------
// The source

/**
 * The side that allocates packets, fills them, submits them, gets them back acknowledged and releases them.
 * Iterating it yields acknowledged packets; each must be released (or submitted again) once done with:
 * until then its bytes stay allocated, and `alloc` waits for releases. Acknowledgements are taken from
 * their ring whenever this side is idle (its doorbell handler) or about to wait in `submit`, into a queue
 * of their own, so a sink is never held up by an application that is slow to ask for them.
 */
export class PacketSource extends PacketStreamEnd {
  private readonly submitRing: RingProducer;
  private readonly ackRing: RingConsumer;
  private readonly allocator: BulkAllocator;
  /** Offset -> state of each allocated packet: its size while it is this side's, -1 - size while in flight. */
  private readonly packets = new Map<number, number>();
  private sent = 0;
  private readonly allocs = new WaitQueue<Packet, number>(this.waitersChanged);
  private readonly submits = new WaitQueue<void, Packet>(this.waitersChanged);
  private readonly acks = new WaitQueue<Packet>(this.waitersChanged);
  /** Acknowledgements taken from the ring that the application has not asked for yet (bounded by the
   * packets in flight, each acknowledged once). */
  private readonly backlog: Packet[] = [];

  /** A source over a fresh region (zero-filled, as a new region is): writes its header. */
  static create(region: StreamRegion, config: PacketStreamConfig, options: PacketStreamOptions = {}): PacketSource {
    return made(region, () => new PacketSource(region, prepare(region.mapping, config, true), options));
  }

  /** A source over a region the sink made: checks its header against `config` (PacketStreamError if it differs). */
  static open(region: StreamRegion, config: PacketStreamConfig, options: PacketStreamOptions = {}): PacketSource {
    return made(region, () => new PacketSource(region, prepare(region.mapping, config, false), options));
  }

  private constructor(region: StreamRegion, layout: PacketStreamLayout, options: PacketStreamOptions) {
    super(region, layout, options);
    ({ submit: this.submitRing, ack: this.ackRing } = sourceRings(region.mapping.control, layout));
    this.allocator = new BulkAllocator(layout.bulkSize);
    this.start();
  }

  /** Packets submitted and not acknowledged yet. */
  get inFlight(): number {
    return this.sent;
  }

  /** Bytes of the bulk buffer not allocated. */
  get availableBytes(): number {
    return this.allocator.available;
  }

  /**
   * A new packet of `size` bytes (0 to the bulk buffer's size), 64-byte aligned, or null while the bulk
   * buffer has no room for it (or earlier `alloc` calls wait: they come first). Its bytes are not cleared.
   */
  tryAlloc(size: number): Packet | null {
    this.check();
    this.checkSize(size);
    return this.allocs.size > 0 ? null : this.allocate(size);
  }

  /** A new packet of `size` bytes, once releases made room for it (in the order the calls were made). */
  alloc(size: number, options: WaitOptions = {}): Promise<Packet> {
    let packet: Packet | null;
    try {
      packet = this.tryAlloc(size);
    } catch (error) {
      return Promise.reject(error);
    }
    return packet !== null ? Promise.resolve(packet) : this.allocs.wait(size, options.signal);
  }

  /**
   * Hands `packet` to the sink, if the submit ring has room (and no `submit` call waits for room): true
   * when it did, and then the packet object is dead. False leaves it this side's.
   */
  trySubmit(packet: Packet): boolean {
    this.check();
    this.own(packet);
    if (this.submits.size > 0) return false;
    try {
      return this.put(packet);
    } catch (error) {
      throw this.failed(error);
    }
  }

  /** Hands `packet` to the sink once the submit ring has room, in the order of the calls. */
  submit(packet: Packet, options: WaitOptions = {}): Promise<void> {
    try {
      if (this.trySubmit(packet)) return Promise.resolve();
      // The sink may be held up by a full acknowledgement ring that this side has not looked at while it
      // was busy: taking the acknowledgements now lets it go on taking submits.
      this.pump();
      if (this.trySubmit(packet)) return Promise.resolve();
    } catch (error) {
      return Promise.reject(this.failed(error));
    }
    packet.state = QUEUED;
    return this.submits.wait(packet, options.signal, (p) => (p.state = LIVE));
  }

  /**
   * The next acknowledged packet, this side's again (a new object: `extra` holds the descriptor as the sink
   * acknowledged it), or null when there is none now (or this turn's budget of ringSize is spent: then the
   * next turn serves the waiters). Throws the stream's error if the acknowledgement breaks the rules.
   */
  tryGetAck(): Packet | null {
    this.check();
    if (this.acks.size > 0) return null;
    if (this.backlog.length > 0) return this.backlog.shift()!;
    try {
      return this.takeAck();
    } catch (error) {
      throw this.failed(error);
    }
  }

  /** The next acknowledged packet, once there is one. */
  getAck(options: WaitOptions = {}): Promise<Packet> {
    let packet: Packet | null;
    try {
      packet = this.tryGetAck();
    } catch (error) {
      return Promise.reject(error);
    }
    return packet !== null ? Promise.resolve(packet) : this.acks.wait(undefined, options.signal);
  }

  /** Acknowledged packets as they come; ends when the stream is closed on this side. */
  acknowledged(options: WaitOptions = {}): AsyncIterableIterator<Packet> {
    return iterate((o) => this.getAck(o), options);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Packet> {
    return this.acknowledged();
  }

  /** Frees `packet` (new or acknowledged; not in flight): its bytes may go to the next allocation. */
  release(packet: Packet): void {
    this.check();
    this.own(packet);
    this.packets.delete(packet.offset);
    this.allocator.free(packet.offset, chunkBytes(packet.size));
    packet.state = GONE;
    this.serveAllocs();
  }

  private checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.layout.bulkSize)
      throw new RangeError(`packet stream: a packet's size must be an integer from 0 to the bulk buffer's ${this.layout.bulkSize} bytes, got ${size}`);
  }

  private allocate(size: number): Packet | null {
    const offset = this.allocator.alloc(chunkBytes(size));
    if (offset < 0) return null;
    this.packets.set(offset, size);
    return new Packet(this, offset, size, null);
  }

  private put(packet: Packet): boolean {
    const at = this.submitRing.reserve();
    if (at < 0) return false;
    this.writeDescriptor(at, packet);
    this.submitRing.publish();
    this.packets.set(packet.offset, -1 - packet.size);
    this.sent++;
    packet.state = GONE;
    this.moved();
    return true;
  }

  private takeAck(): Packet | null {
    const at = this.ackRing.peek();
    if (at < 0 || !this.take()) return null;
    // Read once, checked, then used: the sink may rewrite the slot at any time.
    const offset = this.readOffset(at);
    const size = this.readSize(at);
    const state = this.packets.get(offset);
    if (state === undefined) {
      const where = offset < 0 ? "an offset of 2^53 or more" : String(offset);
      throw new PacketStreamError("unexpected-ack", `packet stream: the sink acknowledged a packet at ${where} (size ${size}), which this source has not submitted`);
    }
    if (state >= 0) throw new PacketStreamError("duplicate-ack", `packet stream: the sink acknowledged the packet at ${offset} again`);
    const sent = -1 - state;
    if (size !== sent) throw new PacketStreamError("ack-mismatch", `packet stream: the sink acknowledged the packet at ${offset} with size ${size}, not the ${sent} submitted`);
    const fields = this.copyFields(at);
    this.ackRing.release();
    this.packets.set(offset, size);
    this.sent--;
    this.moved();
    return new Packet(this, offset, size, fields);
  }

  private serveAllocs(): void {
    for (let waiter = this.allocs.first(); waiter !== undefined; waiter = this.allocs.first()) {
      const packet = this.allocate(waiter.arg);
      if (packet === null) return;
      this.allocs.resolve(waiter, packet);
    }
  }

  protected pump(): void {
    let progress = true;
    while (progress) {
      progress = false;
      for (let waiter = this.submits.first(); waiter !== undefined; waiter = this.submits.first()) {
        waiter.arg.state = LIVE;
        if (!this.put(waiter.arg)) {
          waiter.arg.state = QUEUED;
          break;
        }
        this.submits.resolve(waiter, undefined);
        progress = true;
      }
      // Waiters exist only while the backlog is empty (they take from it first).
      for (let packet = this.takeAck(); packet !== null; packet = this.takeAck()) {
        const waiter = this.acks.first();
        if (waiter !== undefined) this.acks.resolve(waiter, packet);
        else this.backlog.push(packet);
        progress = true;
      }
    }
  }

  protected flushEdges(): boolean {
    const packetAvail = this.submitRing.flushEdge();
    const readyToAck = this.ackRing.flushEdge();
    return packetAvail || readyToAck;
  }

  protected rejectAll(error: PacketStreamError): void {
    this.backlog.length = 0;
    for (const queue of [this.allocs, this.submits, this.acks] as WaitQueue<unknown, unknown>[]) queue.rejectAll(error);
  }

  protected waiting(): number {
    return this.allocs.size + this.submits.size + this.acks.size;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The sink

/**
 * The side that gets packets, processes them and acknowledges them (in any order; each exactly once).
 * Iterating it yields the packets as they come.
 */
export class PacketSink extends PacketStreamEnd {
  private readonly submitRing: RingConsumer;
  private readonly ackRing: RingProducer;
  private readonly gets = new WaitQueue<Packet>(this.waitersChanged);
  private readonly pendingAcks = new WaitQueue<void, Packet>(this.waitersChanged);

  /** A sink over a fresh region (zero-filled, as a new region is): writes its header. */
  static create(region: StreamRegion, config: PacketStreamConfig, options: PacketStreamOptions = {}): PacketSink {
    return made(region, () => new PacketSink(region, prepare(region.mapping, config, true), options));
  }

  /** A sink over a region the source made: checks its header against `config` (PacketStreamError if it differs). */
  static open(region: StreamRegion, config: PacketStreamConfig, options: PacketStreamOptions = {}): PacketSink {
    return made(region, () => new PacketSink(region, prepare(region.mapping, config, false), options));
  }

  private constructor(region: StreamRegion, layout: PacketStreamLayout, options: PacketStreamOptions) {
    super(region, layout, options);
    ({ submit: this.submitRing, ack: this.ackRing } = sinkRings(region.mapping.control, layout));
    this.start();
  }

  /**
   * The next submitted packet, or null when there is none now (or this turn's budget of ringSize is spent:
   * then the next turn serves the waiters). Throws the stream's error if the descriptor breaks the rules.
   */
  tryGet(): Packet | null {
    this.check();
    if (this.gets.size > 0) return null;
    try {
      return this.takePacket();
    } catch (error) {
      throw this.failed(error);
    }
  }

  /** The next submitted packet, once there is one. */
  get(options: WaitOptions = {}): Promise<Packet> {
    let packet: Packet | null;
    try {
      packet = this.tryGet();
    } catch (error) {
      return Promise.reject(error);
    }
    return packet !== null ? Promise.resolve(packet) : this.gets.wait(undefined, options.signal);
  }

  /** Submitted packets as they come; ends when the stream is closed on this side. */
  packets(options: WaitOptions = {}): AsyncIterableIterator<Packet> {
    return iterate((o) => this.get(o), options);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Packet> {
    return this.packets();
  }

  /**
   * Gives `packet` back to the source, with its `extra` as the descriptor's fields, if the acknowledgement
   * ring has room (and no `ack` call waits for room): true when it did, and then the packet object is dead.
   */
  tryAck(packet: Packet): boolean {
    this.check();
    this.own(packet);
    if (this.pendingAcks.size > 0) return false;
    try {
      return this.put(packet);
    } catch (error) {
      throw this.failed(error);
    }
  }

  /** Gives `packet` back once the acknowledgement ring has room, in the order of the calls. */
  ack(packet: Packet, options: WaitOptions = {}): Promise<void> {
    try {
      if (this.tryAck(packet)) return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
    packet.state = QUEUED;
    return this.pendingAcks.wait(packet, options.signal, (p) => (p.state = LIVE));
  }

  private put(packet: Packet): boolean {
    const at = this.ackRing.reserve();
    if (at < 0) return false;
    this.writeDescriptor(at, packet);
    this.ackRing.publish();
    packet.state = GONE;
    this.moved();
    return true;
  }

  private takePacket(): Packet | null {
    const at = this.submitRing.peek();
    if (at < 0 || !this.take()) return null;
    // Read once, checked, then used: the source may rewrite the slot at any time.
    const offset = this.readOffset(at);
    const size = this.readSize(at);
    const bulkSize = this.layout.bulkSize;
    if (offset < 0 || size < 0 || offset > bulkSize || size > bulkSize - offset) {
      const show = (n: number) => (n < 0 ? "2^53 or more" : String(n));
      throw new PacketStreamError("descriptor-out-of-bounds", `packet stream: the source submitted a packet at ${show(offset)} of ${show(size)} bytes, not inside the bulk buffer of ${bulkSize} bytes`);
    }
    const fields = this.copyFields(at);
    this.submitRing.release();
    this.moved();
    return new Packet(this, offset, size, fields);
  }

  protected pump(): void {
    let progress = true;
    while (progress) {
      progress = false;
      for (let waiter = this.pendingAcks.first(); waiter !== undefined; waiter = this.pendingAcks.first()) {
        waiter.arg.state = LIVE;
        if (!this.put(waiter.arg)) {
          waiter.arg.state = QUEUED;
          break;
        }
        this.pendingAcks.resolve(waiter, undefined);
        progress = true;
      }
      for (let waiter = this.gets.first(); waiter !== undefined; waiter = this.gets.first()) {
        const packet = this.takePacket();
        if (packet === null) break;
        this.gets.resolve(waiter, packet);
        progress = true;
      }
    }
  }

  protected flushEdges(): boolean {
    const readyToSubmit = this.submitRing.flushEdge();
    const ackAvail = this.ackRing.flushEdge();
    return readyToSubmit || ackAvail;
  }

  protected rejectAll(error: PacketStreamError): void {
    for (const queue of [this.gets, this.pendingAcks] as WaitQueue<unknown, unknown>[]) queue.rejectAll(error);
  }

  protected waiting(): number {
    return this.gets.size + this.pendingAcks.size;
  }
}
