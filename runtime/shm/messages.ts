/**
 * Zero-copy messages: Cap'n Proto messages whose segments lie in shared memory, so that only a small
 * handle (`Placed`: which extent, where, how long) crosses the socket and the receiver reads the message
 * where it lies.
 *
 * Each side of a session owns a **zero-copy pool**: extents of shared memory that only it allocates in,
 * made as they are needed (sealed memfds, region.ts) and announced to the peer (`poolExtent`, the
 * descriptor on the session's descriptor channel), which maps them. A message goes placed when the peer said at log-in it can map the pool and the message is large:
 * a Data value of `threshold` bytes or more gets a segment of its own in the pool (copied there once, or
 * not at all when it already lies in a `PoolBlock` the application filled), and so does the rest of a
 * message that holds one, or that is that large itself.
 *
 * Who may touch the memory, and when (docs/runtime.md, "Zero-copy messages"):
 * - The sender's blocks are the receiver's from the moment the frame is sent until the receiver releases
 *   the frame (`release`). The sender's views of a `PoolBlock` it sent are detached when it is sent, and
 *   `block.bytes` throws `PoolBlockError` until the release comes back.
 * - The receiver releases a request or one-way message when its handler settles, and an answer when the
 *   caller disposes of the results (or they are garbage collected). Its views are detached on release: a
 *   Data value kept past that reads as empty, never as another message's bytes.
 * - Everything the peer says is checked: extents must come in order, be sealed memfds of the size
 *   announced and fit the limits; segments must lie inside an extent. A bad handle ends the session. A
 *   peer that writes into a message it sent can change what the receiver reads, never where it reads.
 */
import { DEFAULT_TRAVERSAL_LIMIT_WORDS, MessageReader, splitSegments, type DataPlacer } from "../codec/wire.js";
import { encodeWith } from "../codec/plain.js";
import { BackpressureError, PoolBlockError } from "../errors.js";
import { loadNativeAddon, type NativeBinding, type SharedMapping } from "../native/index.js";
import { Header_Kind, Placed, Region, Region_Purpose } from "../protocol/protocol.capnp.js";
import { type ZeroCopyMemory, type OutgoingBody, type PlacedBody, PlacedMessage, type Session } from "../session/session.js";
import { BulkAllocator } from "./allocator.js";
import { closeAll } from "../transport/descriptor-channel.js";
import { placedSegments } from "./placed.js";
import { createRegion, mapRegion } from "./region.js";

export interface ZeroCopyOptions {
  /** Data values, and whole messages, of at least this many bytes go through the pool. Default 64 KiB. */
  threshold?: number;
  /** The most this side's pool may hold, all extents together; past it messages go over the socket. Default 1 GiB. */
  maxPoolBytes?: number;
  /** The size of a new extent (a larger message gets one its own size). Default 8 MiB. */
  extentBytes?: number;
  /** The most of the peer's pool this side maps, all extents together. Default 16 GiB. */
  maxPeerPoolBytes?: number;
  /** The largest placed message this side reads. Default 1 GiB. */
  maxPlacedBytes?: number;
}

const DEFAULTS: Required<ZeroCopyOptions> = {
  threshold: 64 * 1024,
  maxPoolBytes: 1024 * 1024 * 1024,
  extentBytes: 8 * 1024 * 1024,
  maxPeerPoolBytes: 16 * 1024 * 1024 * 1024,
  maxPlacedBytes: 1024 * 1024 * 1024,
};

/** Blocks start at multiples of this: a segment must start on a word, and a cache line avoids false sharing. */
const ALIGN = 64;
/** New extents are made in multiples of this. */
const EXTENT_GRAIN = 1024 * 1024;
/** The most segments a placed message may have (its handle is read before any of them). */
const MAX_SEGMENTS = 1024;
/** The most extents a peer may announce. */
const MAX_EXTENTS = 256;

const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

/** One extent of this side's pool. */
interface Extent {
  readonly index: number;
  readonly mapping: SharedMapping;
  readonly allocator: BulkAllocator;
}

/** Bytes allocated in one extent. */
interface Allocation {
  readonly extent: Extent;
  readonly offset: number;
  readonly length: number;
}

/** Where a placed message's segment lies, as the handle names it. */
interface SegmentRef {
  extent: number;
  offset: number;
  words: number;
}

function checkBlockSize(size: number): void {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`a block's size must be a positive integer, got ${size}`);
}

/** A block of ordinary memory: where the peer cannot map the pool, blocks are sent by copying. */
function ordinaryBlock(size: number): PoolBlock {
  checkBlockSize(size);
  return new PoolBlock(size, null, null);
}

/** Each block's current ArrayBuffer (the one its `bytes` views), for the encoder to recognize them. */
const blockOfBuffer = new WeakMap<ArrayBuffer, PoolBlock>();

/**
 * Memory in this side's zero-copy pool that the application fills and then sends as a Data value (or part
 * of one: any 8-byte-aligned subarray) without a copy: the encoder finds it and points the message at it.
 * Sending hands it to the peer until the peer releases that message; meanwhile `bytes` throws and the views
 * taken before are empty. Where the peer cannot map the pool (or the native addon is missing) a block is
 * ordinary memory, sent by copying as any other value.
 */
export class PoolBlock {
  private buffer: ArrayBuffer | null = null;
  /** Placed messages in flight that point into it. */
  private holders = 0;
  private freed = false;
  private freeOnReturn = false;
  private waiters: (() => void)[] = [];

  /** @internal */
  constructor(
    readonly size: number,
    /** @internal Null for a block of ordinary memory. */
    readonly pool: ZeroCopyPool | null,
    /** @internal */
    readonly allocation: Allocation | null,
  ) {}

  /** A view for reading and writing, valid until the block is sent or freed. */
  get bytes(): Uint8Array {
    if (this.freed) throw new PoolBlockError("freed", "the block was freed");
    if (this.holders > 0) throw new PoolBlockError("in-flight", "the block is in a message the peer has not released yet: await block.whenReturned()");
    if (this.buffer === null) {
      if (this.allocation === null) this.buffer = new ArrayBuffer(this.size);
      else {
        const { extent, offset } = this.allocation;
        this.buffer = this.pool!.native.shmView(extent.mapping.handle, offset, this.size) as ArrayBuffer;
        blockOfBuffer.set(this.buffer, this);
      }
    }
    return new Uint8Array(this.buffer);
  }

  /** Whether a message holding it is in flight (the peer has not released it). */
  get inFlight(): boolean {
    return this.holders > 0;
  }

  /** Resolves once no message holding the block is in flight (at once if none is). */
  whenReturned(): Promise<void> {
    if (this.holders === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Gives the block back to the pool: now, or when the peer releases the last message holding it. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.detach();
    if (this.holders > 0) this.freeOnReturn = true;
    else this.pool?.free(this.allocation);
  }

  [Symbol.dispose](): void {
    this.free();
  }

  /** @internal Whether `data` views this block through its current buffer. */
  isCurrentView(data: Uint8Array): boolean {
    return this.buffer !== null && data.buffer === this.buffer && !this.freed;
  }

  /** @internal Why a view of the block that is not its current one cannot be sent. */
  staleViewError(): PoolBlockError {
    if (this.freed) return new PoolBlockError("freed", "a view of a freed block was sent");
    if (this.holders > 0) return new PoolBlockError("in-flight", "a view of a block was sent while the block is in a message the peer has not released");
    return new PoolBlockError("stale-view", "a view of a block was sent after the block was sent before: take block.bytes again");
  }

  /** @internal A message being built points into the block. */
  lend(): void {
    this.holders++;
  }

  /** @internal The message is on its way: views taken before are emptied. */
  handOver(): void {
    this.detach();
  }

  /** @internal The peer released a message holding the block (or it was never sent). */
  giveBack(): void {
    if (--this.holders > 0) return;
    if (this.freeOnReturn) {
      this.freeOnReturn = false;
      this.pool?.free(this.allocation);
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private detach(): void {
    if (this.buffer === null || this.allocation === null) return;
    this.pool!.native.detach(this.buffer);
    this.buffer = null;
  }
}

/** A message built in this side's pool, on its way or in the peer's hands. */
class OutgoingPlaced implements PlacedBody {
  constructor(
    readonly handle: Uint8Array,
    /** Blocks allocated for this message alone: freed on release. */
    readonly owned: readonly Allocation[],
    /** The application's blocks it points into: given back on release. */
    readonly lent: readonly PoolBlock[],
  ) {}
}

/** The empty list placements share until they place something (never written to). */
const NONE: never[] = [];

/**
 * Decides, while one message is encoded, which Data values go into the pool. Most messages place nothing:
 * its lists are made on the first value placed.
 */
class Placement implements DataPlacer {
  /** Segment 0 is the encoder's own; it is placed when the message is finished. */
  private segments: SegmentRef[] | null = null;
  private owned: Allocation[] = NONE;
  private lent: PoolBlock[] = NONE;

  constructor(private readonly pool: ZeroCopyPool) {}

  place(data: Uint8Array): { segment: number; word: number } | null {
    const block = blockOfBuffer.get(data.buffer as ArrayBuffer);
    // A view taken before the block was last sent or freed is empty now: sending it would send nothing.
    if (block !== undefined && !block.isCurrentView(data)) throw block.staleViewError();
    if (data.length === 0 || (this.segments?.length ?? 0) >= MAX_SEGMENTS) return null;
    if (block !== undefined && block.pool === this.pool && data.byteOffset % 8 === 0) {
      block.lend();
      if (this.lent === NONE) this.lent = [];
      this.lent.push(block);
      const { extent, offset } = block.allocation!;
      return this.add({ extent: extent.index, offset: offset + data.byteOffset, words: Math.ceil(data.length / 8) });
    }
    if (data.length < this.pool.options.threshold) return null;
    const allocation = this.pool.allocate(data.length);
    if (allocation === null) return null;
    allocation.extent.mapping.data.set(data, allocation.offset);
    if (this.owned === NONE) this.owned = [];
    this.owned.push(allocation);
    return this.add({ extent: allocation.extent.index, offset: allocation.offset, words: Math.ceil(data.length / 8) });
  }

  private add(ref: SegmentRef): { segment: number; word: number } {
    this.segments ??= [{ extent: 0, offset: 0, words: 0 }];
    this.segments.push(ref);
    return { segment: this.segments.length - 1, word: 0 };
  }

  /**
   * The message to send, given the encoder's framed bytes: as they are when nothing was placed and they
   * are small; else placed, with the framed segments copied into a block. Null when the pool has no room.
   */
  finish(framed: Uint8Array): OutgoingBody | null {
    const placedData = this.segments !== null;
    if (!placedData && framed.length < this.pool.options.threshold) return framed;
    // With placed Data the encoder wrote one segment (far pointers name the others); bytes built
    // elsewhere (capnp-ts) may have several, none placed.
    const own = splitSegments(framed);
    if (placedData && own.length !== 1) throw new Error("a message with placed values must be encoded as one segment (an ipcgen bug: the encoder wrote several)");
    let total = 0;
    for (const seg of own) total += seg.length;
    const block = this.pool.allocate(total);
    if (block === null) return null;
    if (this.owned === NONE) this.owned = [];
    this.owned.push(block);
    // The framed segments come first: with placed values, one, in the place kept for it.
    const refs = this.segments ?? [];
    let at = block.offset;
    own.forEach((seg, i) => {
      block.extent.mapping.data.set(seg, at);
      refs[i] = { extent: block.extent.index, offset: at, words: seg.length / 8 };
      at += seg.length;
    });
    for (const b of this.lent) b.handOver();
    const handle = Placed.encode({ segments: refs.map((r) => ({ extent: r.extent, offset: BigInt(r.offset), words: r.words })) });
    return new OutgoingPlaced(handle, this.owned, this.lent);
  }

  /** The message will not be sent as placed: everything goes back. */
  undo(): void {
    for (const a of this.owned) this.pool.free(a);
    for (const b of this.lent) b.giveBack();
  }
}

/**
 * A placed message of the peer's that this side holds. Its views are not kept here but by its
 * `PlacedMessage` (its release detaches them): an answer's results may be dropped without being disposed
 * of, and then the collection of all its views releases it.
 */
interface Held {
  /** Views not yet garbage collected (answers only). */
  live: number;
  readonly collectable: boolean;
}

/**
 * A session's zero-copy messages: this side's pool (placing, and freeing on release) and its mappings of
 * the peer's pool (opening placed messages, releasing them). The session hands it the frames.
 */
export class ZeroCopyPool implements ZeroCopyMemory {
  readonly options: Required<ZeroCopyOptions>;
  /** @internal */
  readonly native: NativeBinding;
  private readonly extents: Extent[] = [];
  private poolBytes = 0;
  /** This side's placed messages in the peer's hands, by the id of the frame that carried them. */
  private readonly inFlight = new Map<number, OutgoingPlaced>();

  private readonly peerExtents: SharedMapping[] = [];
  private peerBytes = 0;
  /** The peer's placed messages this side holds, by frame id. */
  private readonly held = new Map<number, Held>();
  private readonly collected = new FinalizationRegistry<{ id: number; held: Held }>(({ id, held }) => {
    // Every view of the message is garbage: nobody can read it any more, so it goes back.
    if (--held.live === 0 && this.held.get(id) === held) this.giveBackToPeer(id);
  });
  private closed = false;

  constructor(
    private readonly session: Session,
    options: ZeroCopyOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    this.native = loadNativeAddon();
  }

  // ---- this side's pool ----

  /** A block of `size` bytes for the application to fill and send (see `PoolBlock`). */
  allocateBlock(size: number): PoolBlock {
    if (!this.session.peerTakesPlaced || this.closed) return ordinaryBlock(size);
    checkBlockSize(size);
    const allocation = this.allocate(size);
    // The session ended meanwhile (its peer died): an ordinary block, as for any session that has ended.
    if (allocation === null && this.closed) return ordinaryBlock(size);
    if (allocation === null) throw new BackpressureError(`the zero-copy pool has no room for ${size} bytes (${this.poolBytes} bytes in extents, limit ${this.options.maxPoolBytes}): the peer holds too many messages`);
    return new PoolBlock(size, this, allocation);
  }

  /** @internal `length` bytes in some extent, a new one if none has room; null past the pool's limit. */
  allocate(length: number): Allocation | null {
    if (this.closed) return null;
    const n = roundUp(length, ALIGN);
    for (const extent of this.extents) {
      const offset = extent.allocator.alloc(n);
      if (offset >= 0) return { extent, offset, length: n };
    }
    const size = Math.max(this.options.extentBytes, roundUp(n, EXTENT_GRAIN));
    if (this.poolBytes + size > this.options.maxPoolBytes || this.extents.length >= MAX_EXTENTS) return null;
    const extent = this.grow(size);
    if (extent === null) return null;
    return { extent, offset: extent.allocator.alloc(n), length: n };
  }

  /** @internal */
  free(allocation: Allocation | null): void {
    // After the session's end the extents are gone: nothing to give back to.
    if (allocation !== null && !this.closed) allocation.extent.allocator.free(allocation.offset, allocation.length);
  }

  /**
   * Makes and announces a new extent: its descriptor goes on the descriptor channel, then the frame that
   * announces it; the peer maps it before any frame after that. Null when that cannot be done (no memory,
   * no descriptors left, a descriptor channel that is gone): the message then goes over the socket.
   */
  private grow(size: number): Extent | null {
    const channel = this.session.descriptors;
    if (channel === null) return null;
    let made: { mapping: SharedMapping; fd: number };
    try {
      made = createRegion(size);
    } catch {
      return null;
    }
    try {
      channel.send([made.fd]);
    } catch (err) {
      // The peer's end is gone (it died): so is the session, whose socket will say so soon; end it now,
      // so that what waits for the pool ends with the session instead of failing for want of room.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EPIPE" || code === "ECONNRESET" || code === "ECONNREFUSED" || code === "ENOTCONN") {
        this.session.fail("peer-died", `the descriptor channel was closed by the peer (${code})`);
      }
      return null;
    } finally {
      closeAll([made.fd]);
    }
    const index = this.extents.length;
    const extent: Extent = { index, mapping: made.mapping, allocator: new BulkAllocator(size) };
    this.extents.push(extent);
    this.poolBytes += size;
    this.session.sendFrame(0, Header_Kind.POOL_EXTENT, 0, Region.encode({ size: BigInt(size), purpose: Region_Purpose.ZERO_COPY_POOL, index }));
    return extent;
  }

  place(encode: () => Uint8Array): OutgoingBody {
    const placement = new Placement(this);
    let body: OutgoingBody | null;
    try {
      body = placement.finish(encodeWith(placement, encode));
    } catch (err) {
      placement.undo();
      throw err;
    }
    if (body !== null) return body;
    // No room in the pool: the message goes over the socket, encoded again with every value in it.
    placement.undo();
    return encode();
  }

  sent(id: number, body: PlacedBody): void {
    this.inFlight.set(id, body as OutgoingPlaced);
  }

  discard(body: PlacedBody): void {
    this.giveBack(body as OutgoingPlaced);
  }

  released(id: number): boolean {
    const body = this.inFlight.get(id);
    if (body === undefined) return false;
    this.inFlight.delete(id);
    this.giveBack(body);
    return true;
  }

  private giveBack(body: OutgoingPlaced): void {
    for (const a of body.owned) this.free(a);
    for (const b of body.lent) b.giveBack();
  }

  // ---- the peer's pool ----

  /**
   * Maps an extent the peer announced (`body`, a `Region`) from its descriptor. Throws for an announcement
   * that breaks the rules, which the session turns into its end as a protocol violation.
   */
  mapPeerExtent(body: Uint8Array, fd: number): void {
    let region: Region.Plain;
    try {
      region = Region.decode(body, { traversalLimitInWords: 64 });
      if (region.purpose !== Region_Purpose.ZERO_COPY_POOL) throw new Error("the region is not a zero-copy pool extent");
      if (region.index !== this.peerExtents.length) throw new Error(`extent ${region.index} where ${this.peerExtents.length} was due`);
      if (this.peerExtents.length >= MAX_EXTENTS) throw new Error(`more than ${MAX_EXTENTS} extents`);
      if (region.size < 1n || region.size > BigInt(this.options.maxPeerPoolBytes - this.peerBytes)) {
        throw new Error(`an extent of ${region.size} bytes takes the peer's pool past this side's limit of ${this.options.maxPeerPoolBytes}`);
      }
    } catch (err) {
      closeAll([fd]);
      throw err;
    }
    const size = Number(region.size);
    this.peerExtents.push(mapRegion(fd, size));
    this.peerBytes += size;
  }

  open(id: number, handle: Uint8Array, collectable: boolean): PlacedMessage {
    const buffers: ArrayBuffer[] = [];
    let total = 0;
    for (const ref of placedSegments(handle, this.peerExtents, this.options.maxPlacedBytes)) {
      buffers.push(this.native.shmView(this.peerExtents[ref.extent].handle, ref.offset, ref.bytes) as ArrayBuffer);
      total += ref.bytes;
    }
    // A message is read at most once over: its size, on top of the default (which the values' objects
    // are charged against, see docs/codegen.md), bounds the traversal (Data read in place included).
    const reader = new MessageReader(
      buffers.map((b) => new Uint8Array(b)),
      { shareData: true, traversalLimitInWords: DEFAULT_TRAVERSAL_LIMIT_WORDS + total / 8 },
    );
    const held: Held = { live: buffers.length, collectable };
    this.held.set(id, held);
    if (collectable) for (const b of buffers) this.collected.register(b, { id, held }, held);
    return new PlacedMessage(reader, () => this.releaseHeld(id, held, buffers));
  }

  /** This side is done with the peer's message of frame `id`: its views are emptied and it goes back. */
  private releaseHeld(id: number, held: Held, views: readonly ArrayBuffer[]): void {
    if (this.held.get(id) !== held) return;
    if (held.collectable) this.collected.unregister(held);
    for (const view of views) this.native.detach(view);
    this.giveBackToPeer(id);
  }

  private giveBackToPeer(id: number): void {
    this.held.delete(id);
    if (!this.closed) this.session.sendSoon(0, Header_Kind.RELEASE, id);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // The memory goes with the last view of it, on either side.
    for (const body of this.inFlight.values()) for (const b of body.lent) b.giveBack();
    this.inFlight.clear();
  }
}

/**
 * A factory for `ConnectOptions.zeroCopyPool` / `ServerOptions.zeroCopyPool`: zero-copy messages for each session.
 * Null when the native addon cannot be loaded (messages then all go over the socket).
 */
export function zeroCopy(options: ZeroCopyOptions = {}): ((session: Session) => ZeroCopyMemory) | null {
  try {
    loadNativeAddon();
  } catch {
    return null;
  }
  return (session) => new ZeroCopyPool(session, options);
}

/** A block for the application to fill and send without a copy, from `session`'s pool when it has one. */
export function allocateBlock(session: Session, size: number): PoolBlock {
  return session.zeroCopyPool instanceof ZeroCopyPool ? session.zeroCopyPool.allocateBlock(size) : ordinaryBlock(size);
}
