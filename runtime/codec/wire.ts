/**
 * ipcgen's own Cap'n Proto message layer, under both the compiler's model codec and the fast paths of
 * generated code (plain-object views). It reads and writes the same bytes as capnp-ts and the C++ library.
 *
 * Reading handles everything a conforming writer may produce (multi-segment messages, far and double-far
 * pointers, every list encoding) and defends against hostile input: every access is bounds-checked, the
 * total amount of data visited is capped (the traversal limit, which also stops pointer loops and
 * amplification through shared subtrees) and so is pointer nesting depth. All decoding failures throw
 * `MessageDecodeError`.
 *
 * Writing builds one growable segment, allocating objects in the order they are set; callers set pointers
 * in preorder, so messages come out without padding. `copyPointer` deep-copies a pointer's target from a
 * reader, optionally in canonical form; that is how `PointerValue`s are made.
 */

import { IpcgenError } from "../errors.js";

/** Any failure to decode a message: truncation, bad pointers, exceeded limits. */
export class MessageDecodeError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_MESSAGE_DECODE";
  override readonly code = MessageDecodeError.code;
  override name = "MessageDecodeError";
}

/** Wire element sizes (the `ElementSize` enum of schema.capnp by ordinal). */
export const EL_VOID = 0;
export const EL_BIT = 1;
export const EL_BYTE = 2;
export const EL_TWO = 3;
export const EL_FOUR = 4;
export const EL_EIGHT = 5;
export const EL_POINTER = 6;
export const EL_COMPOSITE = 7;

/** Bits per element of each non-composite element size. */
const ELEMENT_BITS = [0, 1, 8, 16, 32, 64, 64, 0];

export const DEFAULT_TRAVERSAL_LIMIT_WORDS = 8 * 1024 * 1024;
export const DEFAULT_NESTING_LIMIT = 64;
/**
 * The most segments a framed message may have. Each segment costs a few objects here (~300 bytes for its
 * 4-byte table entry), so an uncapped table would amplify memory ~80-fold; the cap bounds that to ~20 MB.
 * Writers stay far below it: the C++ stream reader refuses 512 segments, and even `capnp convert
 * --segment-size=8` of test.capnp's CodeGeneratorRequest makes only ~2,000.
 */
const MAX_SEGMENTS = 65536;

export interface ReaderOptions {
  traversalLimitInWords?: number;
  nestingLimit?: number;
  /**
   * Data fields come out as views of the message's own memory instead of copies. For messages whose
   * memory outlives the read and is not reused meanwhile: zero-copy messages, whose views are taken away
   * (detached) when the message is released.
   */
  shareData?: boolean;
}

export interface Segment {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Length in words. */
  readonly words: number;
}

function fail(message: string): never {
  throw new MessageDecodeError(message);
}

function makeSegment(bytes: Uint8Array): Segment {
  // `bytes` may be a Buffer (from a socket): copies out of it are made with `copyBytes` (Buffer's slice shares).
  return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), words: bytes.length >>> 3 };
}

/** A plain Uint8Array copy (`slice` would make a Buffer of a Buffer, through its species). */
const copyBytes = (bytes: Uint8Array, start: number, end: number): Uint8Array => new Uint8Array(bytes.subarray(start, end));

/** Keeps a leading U+FEFF, which is part of the Text (the default decoder would drop it). */
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Decodes UTF-8; short ASCII strings skip TextDecoder, whose per-call cost dominates for schema names. */
function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 64) {
    let s = "";
    for (let i = start; i < end; i++) {
      const c = bytes[i];
      if (c >= 0x80) return utf8Decoder.decode(bytes.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8Decoder.decode(bytes.subarray(start, end));
}

/**
 * A message being read. Pointer resolution results are left in the `r*` fields rather than returned as
 * objects: resolution is the hottest path of decoding.
 */
export class MessageReader {
  readonly segments: Segment[];
  readonly nestingLimit: number;
  readonly shareData: boolean;
  private budget: number;
  private rSeg!: Segment;
  private rWord = 0;
  private rLo = 0;
  private rHi = 0;

  constructor(segments: Uint8Array[], options: ReaderOptions = {}) {
    if (segments.length === 0) fail("message has no segments");
    this.segments = segments.map(makeSegment);
    // A limit that is NaN or negative would not stop anything (`budget < 0` and `depth <= 0` never hold
    // for NaN): refuse it rather than read without limits.
    this.budget = checkLimit("traversalLimitInWords", options.traversalLimitInWords ?? DEFAULT_TRAVERSAL_LIMIT_WORDS);
    this.nestingLimit = checkLimit("nestingLimit", options.nestingLimit ?? DEFAULT_NESTING_LIMIT);
    this.shareData = options.shareData === true;
  }

  /** Reads a message framed with the standard segment table (what `capnp` tools read and write). */
  static fromFramed(bytes: Uint8Array, options?: ReaderOptions): MessageReader {
    return new MessageReader(splitSegments(bytes), options);
  }

  /** Reads a single segment without a table (the flat and canonical formats). */
  static fromFlat(bytes: Uint8Array, options?: ReaderOptions): MessageReader {
    if (bytes.length === 0 || bytes.length % 8 !== 0) {
      fail(`flat message must be a non-empty whole number of words, got ${bytes.length} bytes`);
    }
    return new MessageReader([bytes], options);
  }

  /** The root pointer (first word of the first segment). */
  root(): PointerReader {
    if (this.segments[0].words === 0) fail("first segment is empty: no root pointer");
    return new PointerReader(this, this.segments[0], 0, this.nestingLimit);
  }

  /**
   * Counts `words` against the traversal limit. Public for readers that build more than the message holds
   * (a plain view fills every field of every element, however small the elements are on the wire).
   */
  charge(words: number): void {
    this.budget -= words;
    if (this.budget < 0) {
      fail("traversal limit exceeded: the message is too large or contains a pointer cycle");
    }
  }

  private segment(id: number): Segment {
    const seg = this.segments[id];
    if (seg === undefined) fail(`far pointer names segment ${id}, but the message has ${this.segments.length}`);
    return seg;
  }

  /**
   * Follows the pointer at `word` of `seg` through any far pointers. Returns false for a null pointer;
   * otherwise leaves the content segment, content start word and the describing pointer's two halves in
   * the `r*` fields.
   */
  private resolve(seg: Segment, word: number): boolean {
    const lo = seg.view.getUint32(word * 8, true);
    const hi = seg.view.getUint32(word * 8 + 4, true);
    if (lo === 0 && hi === 0) return false;
    if ((lo & 3) !== 2) {
      this.rSeg = seg;
      this.rWord = word + 1 + ((lo | 0) >> 2);
      this.rLo = lo;
      this.rHi = hi;
      return true;
    }
    const padSeg = this.segment(hi);
    const pad = lo >>> 3;
    if ((lo & 4) === 0) {
      // Single far: the landing pad is an ordinary pointer, relative to itself.
      if (pad + 1 > padSeg.words) fail("far pointer landing pad is out of bounds");
      const padLo = padSeg.view.getUint32(pad * 8, true);
      if ((padLo & 3) === 2) fail("far pointer landing pad is itself a far pointer");
      this.rSeg = padSeg;
      this.rWord = pad + 1 + ((padLo | 0) >> 2);
      this.rLo = padLo;
      this.rHi = padSeg.view.getUint32(pad * 8 + 4, true);
      return true;
    }
    // Double far: the pad is a far pointer to the content, then a tag describing it.
    if (pad + 2 > padSeg.words) fail("double-far pointer landing pad is out of bounds");
    const farLo = padSeg.view.getUint32(pad * 8, true);
    if ((farLo & 7) !== 2) fail("double-far landing pad does not start with a single far pointer");
    const tagLo = padSeg.view.getUint32(pad * 8 + 8, true);
    if ((tagLo & 3) === 2) fail("double-far landing pad tag is a far pointer");
    this.rSeg = this.segment(padSeg.view.getUint32(pad * 8 + 4, true));
    this.rWord = farLo >>> 3;
    this.rLo = tagLo;
    this.rHi = padSeg.view.getUint32(pad * 8 + 12, true);
    return true;
  }

  private checkBounds(seg: Segment, start: number, words: number, what: string): void {
    if (start < 0 || start + words > seg.words) {
      fail(`${what} pointer out of bounds: words ${start}..${start + words} of a ${seg.words}-word segment`);
    }
  }

  /** 0 struct, 1 list, 3 capability, -1 null; far pointers are followed. */
  pointerKind(seg: Segment, word: number): number {
    return this.resolve(seg, word) ? this.rLo & 3 : -1;
  }

  readStruct(seg: Segment, word: number, depth: number): StructReader | null {
    if (!this.resolve(seg, word)) return null;
    if ((this.rLo & 3) !== 0) fail("expected a struct pointer, found a different kind of pointer");
    if (depth <= 0) fail("nesting limit exceeded: pointers nested too deeply (or a pointer cycle)");
    const dataWords = this.rHi & 0xffff;
    const ptrCount = this.rHi >>> 16;
    const s = this.rSeg;
    const start = this.rWord;
    this.checkBounds(s, start, dataWords + ptrCount, "struct");
    this.charge(dataWords + ptrCount);
    return new StructReader(this, s, start * 8, dataWords * 8, start + dataWords, ptrCount, depth - 1);
  }

  readList(seg: Segment, word: number, depth: number): ListReader | null {
    if (!this.resolve(seg, word)) return null;
    if ((this.rLo & 3) !== 1) fail("expected a list pointer, found a different kind of pointer");
    if (depth <= 0) fail("nesting limit exceeded: pointers nested too deeply (or a pointer cycle)");
    const es = this.rHi & 7;
    const count = this.rHi >>> 3;
    const s = this.rSeg;
    const start = this.rWord;
    if (es === EL_COMPOSITE) {
      this.checkBounds(s, start, count + 1, "list");
      const tagLo = s.view.getUint32(start * 8, true);
      const tagHi = s.view.getUint32(start * 8 + 4, true);
      if ((tagLo & 3) !== 0) fail("inline composite list tag is not a struct tag");
      const n = tagLo >>> 2;
      const dataWords = tagHi & 0xffff;
      const ptrCount = tagHi >>> 16;
      const perElement = dataWords + ptrCount;
      if (n * perElement > count) {
        fail(`inline composite list of ${n} elements of ${perElement} words overruns its ${count} words`);
      }
      // Zero-sized elements cost one word each so that a tiny message cannot stand for a huge one.
      this.charge(perElement === 0 ? n : n * perElement);
      return new ListReader(this, s, (start + 1) * 8, es, n, perElement * 8, dataWords * 8, ptrCount, depth - 1);
    }
    const bits = ELEMENT_BITS[es];
    const words = Math.ceil((count * bits) / 64);
    this.checkBounds(s, start, words, "list");
    this.charge(bits === 0 ? count : words);
    const ptrCount = es === EL_POINTER ? 1 : 0;
    const dataBytes = es === EL_POINTER ? 0 : bits >>> 3;
    return new ListReader(this, s, start * 8, es, count, bits >>> 3, dataBytes, ptrCount, depth - 1);
  }

  /** Text or Data: a byte list. Returns [segment, start byte, length] or null. */
  private readBytes(seg: Segment, word: number, depth: number, what: string): ListReader | null {
    const list = this.readList(seg, word, depth);
    if (list !== null && list.elementSize !== EL_BYTE) fail(`${what} pointer does not point to a byte list`);
    return list;
  }

  readText(seg: Segment, word: number, depth: number): string | null {
    const list = this.readBytes(seg, word, depth, "text");
    if (list === null) return null;
    const n = list.length;
    if (n === 0 || list.segment.bytes[list.startByte + n - 1] !== 0) fail("text is not NUL-terminated");
    return decodeUtf8(list.segment.bytes, list.startByte, list.startByte + n - 1);
  }

  readData(seg: Segment, word: number, depth: number): Uint8Array | null {
    const list = this.readBytes(seg, word, depth, "data");
    if (list === null) return null;
    if (this.shareData) return list.segment.bytes.subarray(list.startByte, list.startByte + list.length);
    return copyBytes(list.segment.bytes, list.startByte, list.startByte + list.length);
  }
}

/** A pointer slot not yet followed. */
export class PointerReader {
  constructor(
    readonly msg: MessageReader,
    readonly segment: Segment,
    readonly word: number,
    readonly depth: number,
  ) {}

  isNull(): boolean {
    return this.segment.view.getUint32(this.word * 8, true) === 0 && this.segment.view.getUint32(this.word * 8 + 4, true) === 0;
  }
  /** 0 struct, 1 list, 3 capability, -1 null. */
  kind(): number {
    return this.msg.pointerKind(this.segment, this.word);
  }
  struct(): StructReader | null {
    return this.msg.readStruct(this.segment, this.word, this.depth);
  }
  list(): ListReader | null {
    return this.msg.readList(this.segment, this.word, this.depth);
  }
  text(): string | null {
    return this.msg.readText(this.segment, this.word, this.depth);
  }
  data(): Uint8Array | null {
    return this.msg.readData(this.segment, this.word, this.depth);
  }
}

/**
 * A struct's sections. Reads past the end of either section return zero / null, which is how a reader
 * sees fields added to a schema after the message was written.
 */
export class StructReader {
  constructor(
    readonly msg: MessageReader | null,
    readonly segment: Segment,
    /** Byte offset of the data section. */
    readonly dataByte: number,
    readonly dataBytes: number,
    /** Word index of the pointer section. */
    readonly ptrWord: number,
    readonly ptrCount: number,
    /** Remaining nesting allowance for pointers out of this struct. */
    readonly depth: number,
  ) {}

  bool(bit: number): boolean {
    const byte = bit >>> 3;
    return byte < this.dataBytes && (this.segment.bytes[this.dataByte + byte] & (1 << (bit & 7))) !== 0;
  }
  u8(byte: number): number {
    return byte < this.dataBytes ? this.segment.bytes[this.dataByte + byte] : 0;
  }
  u16(byte: number): number {
    return byte + 2 <= this.dataBytes ? this.segment.view.getUint16(this.dataByte + byte, true) : 0;
  }
  u32(byte: number): number {
    return byte + 4 <= this.dataBytes ? this.segment.view.getUint32(this.dataByte + byte, true) : 0;
  }
  u64(byte: number): bigint {
    return byte + 8 <= this.dataBytes ? this.segment.view.getBigUint64(this.dataByte + byte, true) : 0n;
  }
  /** Pointer `i`, or null when the section is shorter (reads as a null pointer). */
  pointer(i: number): PointerReader | null {
    return i < this.ptrCount && this.msg !== null ? new PointerReader(this.msg, this.segment, this.ptrWord + i, this.depth) : null;
  }
}

const EMPTY_SEGMENT = makeSegment(new Uint8Array(0));
/** A struct with no sections: what a null struct pointer reads as. */
export const EMPTY_STRUCT = new StructReader(null, EMPTY_SEGMENT, 0, 0, 0, 0, 0);

export class ListReader {
  constructor(
    readonly msg: MessageReader,
    readonly segment: Segment,
    readonly startByte: number,
    readonly elementSize: number,
    readonly length: number,
    /** Bytes from one element to the next; 0 for bit and void lists. */
    readonly stepBytes: number,
    /** Data bytes of each element (a struct element's data section, or the primitive itself). */
    readonly dataBytes: number,
    readonly ptrCount: number,
    readonly depth: number,
  ) {}

  bool(i: number): boolean {
    if (this.elementSize !== EL_BIT) fail("expected a list of Bool, found a list of another element size");
    return (this.segment.bytes[this.startByte + (i >>> 3)] & (1 << (i & 7))) !== 0;
  }

  /** Element `i` seen as a struct: works for every encoding except bit lists, as the C++ reader does. */
  struct(i: number): StructReader {
    if (this.elementSize === EL_BIT) fail("expected a list of structs, found a list of Bool");
    const at = this.startByte + i * this.stepBytes;
    return new StructReader(this.msg, this.segment, at, this.dataBytes, (at + this.dataBytes) >>> 3, this.ptrCount, this.depth);
  }

  /** Byte offset of element `i`'s data, checked to hold `size` bytes; -1 means "reads as zero". */
  dataAt(i: number, size: number): number {
    if (this.elementSize === EL_BIT) fail("expected a list of non-Bool primitives, found a list of Bool");
    return size <= this.dataBytes ? this.startByte + i * this.stepBytes : -1;
  }

  pointer(i: number): PointerReader {
    if (this.ptrCount === 0) fail("expected a list of pointers, found a list of data");
    return new PointerReader(this.msg, this.segment, (this.startByte + i * this.stepBytes + this.dataBytes) >>> 3, this.depth);
  }
}

/** Splits a framed message into its segments, validating the segment table. */
export function splitSegments(bytes: Uint8Array): Uint8Array[] {
  if (bytes.length < 8) fail(`message truncated: ${bytes.length} bytes is shorter than the smallest message`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The count is capped, and the table's size checked against the input, before the table is read.
  const count = view.getUint32(0, true) + 1;
  if (count > MAX_SEGMENTS) fail(`segment table claims too many segments: ${count} (at most ${MAX_SEGMENTS} are accepted)`);
  const headerBytes = Math.ceil((4 + count * 4) / 8) * 8;
  if (bytes.length < headerBytes) {
    fail(`message truncated inside the segment table: it claims ${count} segments, input has ${bytes.length} bytes`);
  }
  let total = 0;
  for (let i = 0; i < count; i++) total += view.getUint32(4 + i * 4, true);
  if (headerBytes + total * 8 > bytes.length) {
    fail(`message truncated: segment table claims ${total * 8} bytes of segments, only ${bytes.length - headerBytes} present`);
  }
  const segments: Uint8Array[] = [];
  let at = headerBytes;
  for (let i = 0; i < count; i++) {
    const size = view.getUint32(4 + i * 4, true) * 8;
    segments.push(bytes.subarray(at, at + size));
    at += size;
  }
  return segments;
}

/** Total bytes of the first framed message in `bytes` (header plus segments), for reading streams. */
export function framedMessageLength(bytes: Uint8Array): number {
  const segs = splitSegments(bytes);
  const last = segs[segs.length - 1];
  return last.byteOffset - bytes.byteOffset + last.length;
}

// ---------------------------------------------------------------------------------------------------------
// Building

/**
 * Where a builder may put a Data value instead of copying it into its own segment: zero-copy messages keep
 * large values in segments of their own, in shared memory (runtime/shm/messages.ts).
 */
export interface DataPlacer {
  /**
   * The segment (1 or more; 0 is the builder's own) and the word in it where `data`'s bytes lie, or were
   * put; null to copy them into the builder's segment as usual.
   */
  place(data: Uint8Array): { segment: number; word: number } | null;
}

/**
 * A single-segment message under construction (with a `placer`, large Data values may lie in other
 * segments, which the placer keeps). Word 0 is the root pointer. The buffer grows by doubling,
 * so hold offsets, never `bytes`/`view`, across allocations.
 */
export class MessageBuilder {
  bytes: Uint8Array;
  view: DataView;
  /** Words in use. */
  used = 1;
  /** Set while a zero-copy message is built (see `DataPlacer`). */
  placer: DataPlacer | null = null;

  constructor(initialWords = 256) {
    this.bytes = new Uint8Array(Math.max(initialWords, 1) * 8);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Empties the builder for another message, keeping its memory. */
  reset(): void {
    this.bytes.fill(0, 0, this.used * 8);
    this.used = 1;
  }

  /** Allocates zeroed words, returns the first word index. */
  alloc(words: number): number {
    const at = this.used;
    const need = (at + words) * 8;
    if (need > this.bytes.length) this.grow(need);
    this.used = at + words;
    return at;
  }

  private grow(need: number): void {
    let size = this.bytes.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.used * 8));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  private setPointer(ptrWord: number, lo: number, hi: number): void {
    this.view.setUint32(ptrWord * 8, lo >>> 0, true);
    this.view.setUint32(ptrWord * 8 + 4, hi >>> 0, true);
  }

  /** Allocates a struct and points `ptrWord` at it; returns its first word (data section start). */
  initStruct(ptrWord: number, dataWords: number, ptrCount: number): number {
    const at = this.alloc(dataWords + ptrCount);
    // An empty struct has offset -1 so that its pointer is not all zeros (which would mean null).
    const lo = dataWords + ptrCount === 0 ? 0xfffffffc : (at - ptrWord - 1) << 2;
    this.setPointer(ptrWord, lo, dataWords | (ptrCount << 16));
    return at;
  }

  /** Allocates a non-composite list; returns its first byte. */
  initList(ptrWord: number, elementSize: number, count: number): number {
    checkListLength(count);
    const at = this.alloc(Math.ceil((count * ELEMENT_BITS[elementSize]) / 64));
    this.setPointer(ptrWord, ((at - ptrWord - 1) << 2) | 1, elementSize | (count << 3));
    return at * 8;
  }

  /** Allocates an inline-composite list of structs; returns the first word of element 0. */
  initStructList(ptrWord: number, count: number, dataWords: number, ptrCount: number): number {
    checkListLength(count);
    const words = count * (dataWords + ptrCount);
    if (words >= 1 << 29) throw new RangeError(`struct list of ${words} words is too large for a message`);
    const at = this.alloc(words + 1);
    this.setPointer(ptrWord, ((at - ptrWord - 1) << 2) | 1, EL_COMPOSITE | (words << 3));
    this.setPointer(at, count << 2, dataWords | (ptrCount << 16));
    return at + 1;
  }

  setText(ptrWord: number, text: string): void {
    const len = utf8Length(text);
    const at = this.initList(ptrWord, EL_BYTE, len + 1);
    if (len === text.length) {
      for (let i = 0; i < len; i++) this.bytes[at + i] = text.charCodeAt(i);
    } else {
      utf8Encoder.encodeInto(text, this.bytes.subarray(at, at + len));
    }
  }

  /** Text given as its UTF-8 bytes, written as they are (a schema literal may hold bytes that are not UTF-8). */
  setTextBytes(ptrWord: number, utf8: Uint8Array): void {
    const at = this.initList(ptrWord, EL_BYTE, utf8.length + 1);
    this.bytes.set(utf8, at);
  }

  setData(ptrWord: number, data: Uint8Array): void {
    const length = data.length; // placing may hand the bytes over (their view then reads as empty)
    const placed = this.placer?.place(data);
    if (placed != null) {
      this.setFarData(ptrWord, placed.segment, placed.word, length);
      return;
    }
    const at = this.initList(ptrWord, EL_BYTE, data.length);
    this.bytes.set(data, at);
  }

  /**
   * Points `ptrWord` at a byte list in another segment through a double-far pointer, whose two-word landing
   * pad lies here: the other segment then holds nothing but the bytes.
   */
  private setFarData(ptrWord: number, segment: number, word: number, length: number): void {
    checkListLength(length);
    const pad = this.alloc(2);
    this.setPointer(ptrWord, (pad << 3) | 4 | 2, 0);
    this.setPointer(pad, (word << 3) | 2, segment);
    this.setPointer(pad + 1, 1, EL_BYTE | (length << 3));
  }

  /**
   * Deep-copies the target of a reader's pointer to `ptrWord`. Canonical form truncates struct sections
   * (each struct list to its widest element) and, since the copy is preorder, adds no padding.
   */
  copyPointer(ptrWord: number, src: PointerReader, canonical: boolean): void {
    const kind = src.kind();
    if (kind === -1) return;
    if (kind === 3) throw new MessageDecodeError("cannot copy a capability pointer: messages here have no capability table");
    if (kind === 0) this.copyStruct(ptrWord, src.struct()!, canonical);
    else this.copyList(ptrWord, src.list()!, canonical);
  }

  private copyStruct(ptrWord: number, s: StructReader, canonical: boolean): void {
    let dataBytes = s.dataBytes;
    let ptrCount = s.ptrCount;
    if (canonical) {
      dataBytes = trimmedDataBytes(s.segment.bytes, s.dataByte, dataBytes);
      ptrCount = trimmedPointerCount(s);
    }
    const dataWords = (dataBytes + 7) >>> 3;
    const at = this.initStruct(ptrWord, dataWords, ptrCount);
    this.bytes.set(s.segment.bytes.subarray(s.dataByte, s.dataByte + dataBytes), at * 8);
    for (let i = 0; i < ptrCount; i++) this.copyPointer(at + dataWords + i, s.pointer(i)!, canonical);
  }

  private copyList(ptrWord: number, l: ListReader, canonical: boolean): void {
    const es = l.elementSize;
    if (es === EL_COMPOSITE) {
      let dataBytes = l.dataBytes;
      let ptrCount = l.ptrCount;
      if (canonical) {
        dataBytes = 0;
        ptrCount = 0;
        for (let i = 0; i < l.length; i++) {
          const e = l.struct(i);
          dataBytes = Math.max(dataBytes, trimmedDataBytes(e.segment.bytes, e.dataByte, e.dataBytes));
          ptrCount = Math.max(ptrCount, trimmedPointerCount(e));
        }
      }
      const dataWords = (dataBytes + 7) >>> 3;
      let at = this.initStructList(ptrWord, l.length, dataWords, ptrCount);
      for (let i = 0; i < l.length; i++) {
        this.copyStructContent(at, dataWords, ptrCount, l.struct(i), canonical);
        at += dataWords + ptrCount;
      }
      return;
    }
    const at = this.initList(ptrWord, es, l.length);
    if (es === EL_POINTER) {
      for (let i = 0; i < l.length; i++) this.copyPointer((at >>> 3) + i, l.pointer(i), canonical);
      return;
    }
    const bits = l.length * ELEMENT_BITS[es];
    const whole = bits >>> 3;
    this.bytes.set(l.segment.bytes.subarray(l.startByte, l.startByte + whole), at);
    // Padding bits after the last element of a bit list are not part of the value: leave them zero.
    if (bits & 7) this.bytes[at + whole] = l.segment.bytes[l.startByte + whole] & ((1 << (bits & 7)) - 1);
  }

  /**
   * Deep-copies a struct's content into space already allocated at word `at` (a struct-list element),
   * cutting or zero-filling its sections to `dataWords` and `ptrCount`, as C++'s struct copy does.
   */
  copyStructContent(at: number, dataWords: number, ptrCount: number, s: StructReader, canonical: boolean): void {
    this.bytes.set(s.segment.bytes.subarray(s.dataByte, s.dataByte + Math.min(dataWords * 8, s.dataBytes)), at * 8);
    const n = Math.min(ptrCount, s.ptrCount);
    for (let j = 0; j < n; j++) this.copyPointer(at + dataWords + j, s.pointer(j)!, canonical);
  }

  /** The message as one segment without a table (the flat / canonical format). */
  toFlat(): Uint8Array {
    return this.bytes.slice(0, this.used * 8);
  }

  /** The message with the standard one-segment table, as `capnp` tools read and write it. */
  toFramed(): Uint8Array {
    const words = this.used;
    // From Node's pool for small messages: a fresh Uint8Array costs a backing-store allocation each time.
    const out = Buffer.allocUnsafe(8 + words * 8);
    // The segment table: one segment (count - 1 = 0), then its length in words, little-endian.
    out[0] = 0;
    out[1] = 0;
    out[2] = 0;
    out[3] = 0;
    out[4] = words & 0xff;
    out[5] = (words >>> 8) & 0xff;
    out[6] = (words >>> 16) & 0xff;
    out[7] = words >>> 24;
    out.set(this.bytes.subarray(0, words * 8), 8);
    return out;
  }
}

function checkLimit(name: string, value: number): number {
  if (!(value >= 0 && (Number.isInteger(value) || value === Infinity))) {
    throw new RangeError(`${name} must be a non-negative integer or Infinity, got ${value}`);
  }
  return value;
}

function checkListLength(count: number): void {
  if (!Number.isInteger(count) || count < 0 || count >= 1 << 29) {
    throw new RangeError(`list length ${count} is out of range (at most 2^29 - 1 elements)`);
  }
}

function trimmedDataBytes(bytes: Uint8Array, start: number, size: number): number {
  let end = size;
  while (end > 0 && bytes[start + end - 1] === 0) end--;
  return end;
}

function trimmedPointerCount(s: StructReader): number {
  let n = s.ptrCount;
  while (n > 0 && s.pointer(n - 1)!.isNull()) n--;
  return n;
}

/** UTF-8 byte length of a JS string (lone surrogates count as U+FFFD, as TextEncoder writes them). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a pair: two UTF-16 units, four bytes
      i++;
    } else n += 2;
  }
  return n;
}

/** Copies a pointer's target into a fresh single-segment message in canonical form (flat, no table). */
export function canonicalize(src: PointerReader): Uint8Array {
  const b = new MessageBuilder(16);
  b.copyPointer(0, src, true);
  return b.toFlat();
}
