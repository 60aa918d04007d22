/**
 * What generated plain-object views call: small, monomorphic readers and writers over the wire layer.
 * Generated code passes constant offsets (already in bytes or pointer indexes), so each field is one call.
 *
 * Reading never trusts the message: every pointer goes through `MessageReader` (bounds, traversal and
 * nesting limits) and every failure is a `MessageDecodeError`. A field past the end of a struct's section
 * reads as zero / null, which is how old messages look to new schemas.
 */
import {
  EL_BIT,
  EL_BYTE,
  EL_COMPOSITE,
  EL_EIGHT,
  EL_FOUR,
  EL_POINTER,
  EL_TWO,
  EL_VOID,
  DEFAULT_TRAVERSAL_LIMIT_WORDS,
  EMPTY_STRUCT,
  canonicalize,
  type DataPlacer,
  type ListReader,
  MessageBuilder,
  MessageDecodeError,
  MessageReader,
  type PointerReader,
  type ReaderOptions,
  type StructReader,
  StructReader as StructReaderClass,
} from "./wire.js";

/**
 * An AnyPointer field's value in a plain view: the object it points to, copied out as a canonical
 * single-segment message (flat, no segment table); `null` for a null pointer.
 */
export type AnyPointerValue = Uint8Array | null;

/**
 * Reads and writes one pointer-typed value: what a generic struct's plain view is given for each of its
 * parameters. `R` is what reading gives (a `Plain` type), `W` what writing takes (an `Init` type).
 */
export interface PointerCodec<R, W = R> {
  read(s: StructReader, index: number): R;
  /** Reads list element `i` of a pointer list. */
  readElement(l: ListReader, i: number): R;
  write(b: MessageBuilder, ptrWord: number, value: W): void;
}

// ---------------------------------------------------------------------------------------------------------
// Messages

export interface DecodeOptions extends ReaderOptions {
  /** The bytes are packed (Cap'n Proto's packing). Default false. */
  packed?: boolean;
  /** "framed" (default): with the standard segment table; "flat": one segment without a table. */
  framing?: "framed" | "flat";
}

/** A reader over `bytes` in the given encoding; a reader given instead is used as it is (its options stand). */
export function readerFor(bytes: Uint8Array | MessageReader, options: DecodeOptions = {}): MessageReader {
  if (bytes instanceof MessageReader) return bytes;
  const plain = options.packed === true ? unpack(bytes, (options.traversalLimitInWords ?? DEFAULT_TRAVERSAL_LIMIT_WORDS) * 8 + 1024) : bytes;
  if (options.framing === "flat") return MessageReader.fromFlat(plain, options);
  // One segment, the common case (every message ipcgen writes): its table is read here, without a loop.
  if (plain.length >= 8 && plain[0] === 0 && plain[1] === 0 && plain[2] === 0 && plain[3] === 0) {
    const words = (plain[4] | (plain[5] << 8) | (plain[6] << 16)) + plain[7] * 0x1000000;
    if (8 + words * 8 <= plain.length) return new MessageReader([plain.subarray(8, 8 + words * 8)], options);
  }
  return MessageReader.fromFramed(plain, options);
}

/**
 * Undoes Cap'n Proto packing. `maxBytes` bounds the output: two input bytes can stand for 2 KiB of zeros,
 * so a hostile input could otherwise make a huge allocation.
 */
export function unpack(packed: Uint8Array, maxBytes = 1 << 30): Uint8Array {
  // First pass: the unpacked size, with every read checked.
  let size = 0;
  let i = 0;
  const n = packed.length;
  const short = (): never => {
    throw new MessageDecodeError("packed message is truncated");
  };
  while (i < n) {
    const tag = packed[i++];
    let bytes = 0;
    for (let bit = 0; bit < 8; bit++) if (tag & (1 << bit)) bytes++;
    if (i + bytes > n) short();
    i += bytes;
    size += 8;
    if (tag === 0 || tag === 0xff) {
      if (i >= n) short();
      const run = packed[i++];
      if (tag === 0) size += run * 8;
      else {
        if (i + run * 8 > n) short();
        i += run * 8;
        size += run * 8;
      }
    }
    if (size > maxBytes) throw new MessageDecodeError(`packed message unpacks to more than ${maxBytes} bytes`);
  }
  const out = new Uint8Array(size);
  let o = 0;
  i = 0;
  while (i < n) {
    const tag = packed[i++];
    for (let bit = 0; bit < 8; bit++, o++) if (tag & (1 << bit)) out[o] = packed[i++];
    if (tag === 0) o += packed[i++] * 8;
    else if (tag === 0xff) {
      const run = packed[i++] * 8;
      out.set(packed.subarray(i, i + run), o);
      i += run;
      o += run;
    }
  }
  return out;
}

/** The root struct of a message; a null root reads as a struct of all defaults. */
export function rootStruct(reader: MessageReader): StructReader {
  return reader.root().struct() ?? EMPTY_STRUCT;
}

/**
 * One builder that `encode` calls share: encoding copies the finished message out, so the builder's memory
 * can serve the next call (no allocation per message for the builder). Taken by `newRoot`, given back by
 * `finishRoot`; a nested or failed encode simply gets a fresh one.
 */
let spare: MessageBuilder | null = new MessageBuilder(512);
/** A builder that grew past this is not kept (a single huge message should not pin its memory). */
const SPARE_MAX_BYTES = 1 << 20;

/** The placer the next `newRoot` takes (see `encodeWith`). */
let pendingPlacer: DataPlacer | null = null;

/**
 * Runs `encode` (a generated `encode` call) with `placer` deciding where its message's Data values go.
 * Encoding is synchronous, so the placer is simply left for the `newRoot` the call makes.
 */
export function encodeWith<T>(placer: DataPlacer, encode: () => T): T {
  pendingPlacer = placer;
  try {
    return encode();
  } finally {
    pendingPlacer = null;
  }
}

/** Starts a message whose root is a struct of the given size; returns the builder and the struct's word. */
export function newRoot(dataWords: number, ptrCount: number, sizeHintWords = 64): [MessageBuilder, number] {
  let b = spare;
  if (b === null) b = new MessageBuilder(sizeHintWords);
  else {
    spare = null;
    b.reset();
  }
  b.placer = pendingPlacer;
  pendingPlacer = null;
  return [b, b.initStruct(0, dataWords, ptrCount)];
}

/** The finished message (framed), copied out of `b`, which goes back to be shared. */
export function finishRoot(b: MessageBuilder): Uint8Array {
  const out = b.toFramed();
  b.placer = null;
  if (spare === null && b.bytes.length <= SPARE_MAX_BYTES) spare = b;
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Struct fields (byte offsets into the data section, indexes into the pointer section)

const f32Scratch = new DataView(new ArrayBuffer(8));

export function i8(s: StructReader, byte: number): number {
  return (s.u8(byte) << 24) >> 24;
}
export function i16(s: StructReader, byte: number): number {
  return (s.u16(byte) << 16) >> 16;
}
export function i32(s: StructReader, byte: number): number {
  return s.u32(byte) | 0;
}
export function i64(s: StructReader, byte: number): bigint {
  return BigInt.asIntN(64, s.u64(byte));
}
/** Float32 from its bit pattern (after the default's XOR). */
export function f32Bits(bits: number): number {
  f32Scratch.setUint32(0, bits >>> 0, true);
  return f32Scratch.getFloat32(0, true);
}
export function f64Bits(bits: bigint): number {
  f32Scratch.setBigUint64(0, bits, true);
  return f32Scratch.getFloat64(0, true);
}
export function f32(s: StructReader, byte: number): number {
  return byte + 4 <= s.dataBytes ? s.segment.view.getFloat32(s.dataByte + byte, true) : 0;
}
export function f64(s: StructReader, byte: number): number {
  return byte + 8 <= s.dataBytes ? s.segment.view.getFloat64(s.dataByte + byte, true) : 0;
}

/** Text field `i`; `fallback` (the field's default) when the pointer is null. */
export function text(s: StructReader, i: number, fallback = ""): string {
  if (i >= s.ptrCount || s.msg === null) return fallback;
  return s.msg.readText(s.segment, s.ptrWord + i, s.depth) ?? fallback;
}

export function data(s: StructReader, i: number, fallback?: Uint8Array): Uint8Array {
  if (i >= s.ptrCount || s.msg === null) return fallback === undefined ? new Uint8Array(0) : fallback.slice();
  // Each value is an object of its own, however few bytes it holds (see DATA_WORDS).
  s.msg.charge(DATA_WORDS);
  return s.msg.readData(s.segment, s.ptrWord + i, s.depth) ?? (fallback === undefined ? new Uint8Array(0) : fallback.slice());
}

/** Struct field `i`, or null when the pointer is null (the caller then reads the default). */
export function struct(s: StructReader, i: number): StructReader | null {
  if (i >= s.ptrCount || s.msg === null) return null;
  return s.msg.readStruct(s.segment, s.ptrWord + i, s.depth);
}

/** A struct field read by `read`, or null for a null pointer (plain views do not invent eager defaults). */
export function structField<T>(s: StructReader, i: number, read: (s: StructReader) => T): T | null {
  const r = struct(s, i);
  return r === null ? null : read(r);
}

/** Defaults being read, by key: a default that contains itself (through a field with the same default) is cut there. */
const readingDefaults = new Set<string>();

/**
 * A struct field with a schema default: the struct if present, else the default (a canonical flat message).
 * Cap'n Proto reads defaults lazily, so a default may contain itself (`struct S { s @0 :S = (s = ...) }` or a
 * default whose own field is null and so defaults again); a plain object is eager, so where the default
 * would repeat itself inside itself the field reads as null. `key` names the field's default.
 */
export function structOrDefault<T>(s: StructReader, i: number, read: (s: StructReader) => T, key: string, canonical: Uint8Array): T | null {
  const r = struct(s, i);
  if (r !== null) return read(r);
  if (readingDefaults.has(key)) return null;
  readingDefaults.add(key);
  try {
    return read(rootStruct(defaultRoot(canonical)));
  } finally {
    readingDefaults.delete(key);
  }
}

/** A list field with a schema default: as `structOrDefault`, where a default that leads back to itself reads as empty. */
export function listOrDefault<T>(s: StructReader, i: number, read: (l: ListReader | null) => T, key: string, canonical: Uint8Array): T {
  const l = list(s, i);
  if (l !== null) return read(l);
  if (readingDefaults.has(key)) return read(null);
  readingDefaults.add(key);
  try {
    return read(defaultRoot(canonical).root().list());
  } finally {
    readingDefaults.delete(key);
  }
}

/** A schema constant of pointer type, stored as a canonical flat message, read as its plain value. */
export function constant<T>(canonical: Uint8Array, codec: PointerCodec<T, unknown>): T {
  const reader = defaultRoot(canonical);
  // The root pointer seen as pointer 0 of a struct with no data, so that the codec reads it as a field.
  const holder = new StructReaderClass(reader, reader.segments[0], 0, 0, 0, 1, reader.nestingLimit);
  return codec.read(holder, 0);
}

export function list(s: StructReader, i: number): ListReader | null {
  if (i >= s.ptrCount || s.msg === null) return null;
  return s.msg.readList(s.segment, s.ptrWord + i, s.depth);
}

export function anyPointer(s: StructReader, i: number): AnyPointerValue {
  const p = s.pointer(i);
  return p === null ? null : pointerValue(p);
}

/** What an AnyPointer holds, as a canonical message; null for a null pointer. */
function pointerValue(p: PointerReader): AnyPointerValue {
  if (p.isNull()) return null;
  if (p.kind() === 3) throw new MessageDecodeError("capabilities are not supported: an AnyPointer holds a capability");
  return canonicalize(p);
}

/** A default struct or list value, stored by the generator as a canonical flat message. */
export function defaultRoot(canonical: Uint8Array): MessageReader {
  return MessageReader.fromFlat(canonical, { traversalLimitInWords: Infinity });
}

// ---------------------------------------------------------------------------------------------------------
// Lists
//
// The traversal limit counts words read, but a plain view builds JS values, which may cost more than their
// bytes on the wire: a Bool is a bit there and an 8-byte slot of an array here. So list readers charge
// each element what it costs in JS memory (V8, 64-bit, measured), less what reading the list already
// charged, before they build anything: the limit then bounds the memory a message can make this side
// spend, not only the bytes it has.

/** An array slot: a boolean, a small integer, or a pointer to a value on the heap. */
const SLOT_WORDS = 1;
/** A slot and a 64-bit BigInt (24 bytes): Int64 and UInt64 elements. */
const BIGINT_WORDS = 4;
/** A string's header (16 bytes), besides its characters, which are no more than its UTF-8 bytes. */
const STRING_WORDS = 2;
/** A Uint8Array with an ArrayBuffer of its own: about 192 bytes, even when empty. */
const DATA_WORDS = 24;

/** Bits per element of each non-composite element size (as on the wire). */
const WIRE_BITS = [0, 1, 8, 16, 32, 64, 64, 0];

/** What reading a list charged: its words, or a word per element of a list whose elements take none. */
function wireWords(l: ListReader): number {
  if (l.elementSize === EL_COMPOSITE) {
    const perElement = l.stepBytes >>> 3;
    return perElement === 0 ? l.length : l.length * perElement;
  }
  const bits = WIRE_BITS[l.elementSize];
  return bits === 0 ? l.length : Math.ceil((l.length * bits) / 64);
}

/** Charges the rest of `words` per element that reading `l` did not. */
function chargeElements(l: ListReader, words: number): void {
  const extra = l.length * words - wireWords(l);
  if (extra > 0) l.msg.charge(extra);
}

export function voidList(l: ListReader | null): null[] {
  return l === null ? [] : new Array<null>(l.length).fill(null);
}

export function boolList(l: ListReader | null): boolean[] {
  if (l === null) return [];
  if (l.length > 0 && l.elementSize !== EL_BIT) l.bool(0); // the error for a list of another encoding, before any charge
  chargeElements(l, SLOT_WORDS);
  const out = new Array<boolean>(l.length);
  for (let i = 0; i < l.length; i++) out[i] = l.bool(i);
  return out;
}

type NumberRead = (v: DataView, at: number) => number;

function numberList(l: ListReader | null, size: number, read: NumberRead): number[] {
  if (l === null) return [];
  if (l.length > 0 && l.elementSize === EL_BIT) l.dataAt(0, size); // the error for a list of Bool, before any charge
  chargeElements(l, SLOT_WORDS);
  const out = new Array<number>(l.length);
  const v = l.segment.view;
  // Structs as elements (a schema upgraded from primitives) keep the value in their first data bytes.
  if (l.elementSize === EL_COMPOSITE || l.dataBytes !== size) {
    for (let i = 0; i < l.length; i++) {
      const at = l.dataAt(i, size);
      out[i] = at < 0 ? 0 : read(v, at);
    }
    return out;
  }
  let at = l.startByte;
  for (let i = 0; i < l.length; i++, at += size) out[i] = read(v, at);
  return out;
}

const readers = {
  i8: (v: DataView, at: number) => v.getInt8(at),
  u8: (v: DataView, at: number) => v.getUint8(at),
  i16: (v: DataView, at: number) => v.getInt16(at, true),
  u16: (v: DataView, at: number) => v.getUint16(at, true),
  i32: (v: DataView, at: number) => v.getInt32(at, true),
  u32: (v: DataView, at: number) => v.getUint32(at, true),
  f32: (v: DataView, at: number) => v.getFloat32(at, true),
  f64: (v: DataView, at: number) => v.getFloat64(at, true),
};

export const int8List = (l: ListReader | null): number[] => numberList(l, 1, readers.i8);
export const uint8List = (l: ListReader | null): number[] => numberList(l, 1, readers.u8);
export const int16List = (l: ListReader | null): number[] => numberList(l, 2, readers.i16);
export const uint16List = (l: ListReader | null): number[] => numberList(l, 2, readers.u16);
export const int32List = (l: ListReader | null): number[] => numberList(l, 4, readers.i32);
export const uint32List = (l: ListReader | null): number[] => numberList(l, 4, readers.u32);
export const float32List = (l: ListReader | null): number[] => numberList(l, 4, readers.f32);
export const float64List = (l: ListReader | null): number[] => numberList(l, 8, readers.f64);

function bigList(l: ListReader | null, signed: boolean): bigint[] {
  if (l === null) return [];
  if (l.length > 0 && l.elementSize === EL_BIT) l.dataAt(0, 8); // the error for a list of Bool, before any charge
  chargeElements(l, BIGINT_WORDS);
  const out = new Array<bigint>(l.length);
  const v = l.segment.view;
  for (let i = 0; i < l.length; i++) {
    const at = l.dataAt(i, 8);
    const bits = at < 0 ? 0n : v.getBigUint64(at, true);
    out[i] = signed ? BigInt.asIntN(64, bits) : bits;
  }
  return out;
}
export const int64List = (l: ListReader | null): bigint[] => bigList(l, true);
export const uint64List = (l: ListReader | null): bigint[] => bigList(l, false);

/**
 * Elements of a struct list; `read` gets each element (any non-bit encoding reads as structs).
 * `schemaWords` is what an element costs: the larger of the struct's size in the schema and its plain
 * object's size in JS memory (the generator works both out). Elements smaller on the wire (a list of
 * zero-sized structs costs one word each) are charged up to it, so that a small message cannot make the
 * reader build a huge number of full objects within the traversal limit.
 */
export function structList<T>(l: ListReader | null, read: (s: StructReader) => T, schemaWords = 1): T[] {
  if (l === null) return [];
  const wireWords = Math.max(1, l.stepBytes >>> 3);
  if (schemaWords > wireWords) l.msg.charge((schemaWords - wireWords) * l.length);
  const out = new Array<T>(l.length);
  for (let i = 0; i < l.length; i++) out[i] = read(l.struct(i));
  return out;
}

/** Elements of a pointer list, each read by `read(list, index)`. */
export function pointerList<T>(l: ListReader | null, read: (l: ListReader, i: number) => T): T[] {
  if (l === null) return [];
  if (l.elementSize !== EL_POINTER && l.elementSize !== EL_COMPOSITE) {
    throw new MessageDecodeError(`expected a list of pointers, found a list with element size ${l.elementSize}`);
  }
  const out = new Array<T>(l.length);
  for (let i = 0; i < l.length; i++) out[i] = read(l, i);
  return out;
}

export function textElement(l: ListReader, i: number): string {
  const p = l.pointer(i);
  l.msg.charge(STRING_WORDS);
  return p.text() ?? "";
}
export function dataElement(l: ListReader, i: number): Uint8Array {
  const p = l.pointer(i);
  l.msg.charge(DATA_WORDS - SLOT_WORDS); // its slot was charged as the list's pointer
  return p.data() ?? new Uint8Array(0);
}
export function listElement(l: ListReader, i: number): ListReader | null {
  return l.pointer(i).list();
}
export function anyPointerElement(l: ListReader, i: number): AnyPointerValue {
  return pointerValue(l.pointer(i));
}

// ---------------------------------------------------------------------------------------------------------
// Writing (generated writers set fields in code order, so objects are laid out as capnp-ts lays them out)

export function setText(b: MessageBuilder, ptrWord: number, value: string): void {
  b.setText(ptrWord, value);
}

export function setData(b: MessageBuilder, ptrWord: number, value: Uint8Array): void {
  b.setData(ptrWord, value);
}

/**
 * A Data field without a default: an empty value leaves the pointer null. A zero-copy placer still sees it:
 * an empty view may be one of a block already handed over (detached), which it refuses to send as nothing.
 */
export function setDataField(b: MessageBuilder, ptrWord: number, value: Uint8Array): void {
  if (value.length !== 0) b.setData(ptrWord, value);
  else b.placer?.place(value);
}

export function setAnyPointer(b: MessageBuilder, ptrWord: number, value: AnyPointerValue): void {
  if (value === null) return;
  b.copyPointer(ptrWord, MessageReader.fromFlat(value).root(), false);
}

export function setF32(b: MessageBuilder, byte: number, value: number, defaultBits = 0): void {
  if (defaultBits === 0) b.view.setFloat32(byte, value, true);
  else {
    f32Scratch.setFloat32(0, value, true);
    b.view.setUint32(byte, (f32Scratch.getUint32(0, true) ^ defaultBits) >>> 0, true);
  }
}

export function setF64(b: MessageBuilder, byte: number, value: number, defaultBits = 0n): void {
  if (defaultBits === 0n) b.view.setFloat64(byte, value, true);
  else {
    f32Scratch.setFloat64(0, value, true);
    b.view.setBigUint64(byte, f32Scratch.getBigUint64(0, true) ^ defaultBits, true);
  }
}

export function setBool(b: MessageBuilder, bit: number, value: boolean, defaultValue = false): void {
  if (value !== defaultValue) b.bytes[bit >>> 3] |= 1 << (bit & 7);
}

export function writeVoidList(b: MessageBuilder, ptrWord: number, values: readonly null[]): void {
  b.initList(ptrWord, EL_VOID, values.length);
}

export function writeBoolList(b: MessageBuilder, ptrWord: number, values: readonly boolean[]): void {
  const at = b.initList(ptrWord, EL_BIT, values.length);
  for (let i = 0; i < values.length; i++) if (values[i]) b.bytes[at + (i >>> 3)] |= 1 << (i & 7);
}

type NumberWrite = (v: DataView, at: number, x: number) => void;

function writeNumbers(b: MessageBuilder, ptrWord: number, values: readonly number[], es: number, size: number, write: NumberWrite): void {
  let at = b.initList(ptrWord, es, values.length);
  const v = b.view;
  for (let i = 0; i < values.length; i++, at += size) write(v, at, values[i]);
}

export const writeInt8List = (b: MessageBuilder, p: number, xs: readonly number[]): void =>
  writeNumbers(b, p, xs, EL_BYTE, 1, (v, at, x) => v.setInt8(at, x));
export const writeUint8List = (b: MessageBuilder, p: number, xs: readonly number[]): void =>
  writeNumbers(b, p, xs, EL_BYTE, 1, (v, at, x) => v.setUint8(at, x));
export const writeInt16List = (b: MessageBuilder, p: number, xs: readonly number[]): void =>
  writeNumbers(b, p, xs, EL_TWO, 2, (v, at, x) => v.setInt16(at, x, true));
export const writeUint16List = (b: MessageBuilder, p: number, xs: readonly number[]): void =>
  writeNumbers(b, p, xs, EL_TWO, 2, (v, at, x) => v.setUint16(at, x, true));
export const writeInt32List = (b: MessageBuilder, p: number, xs: readonly number[]): void =>
  writeNumbers(b, p, xs, EL_FOUR, 4, (v, at, x) => v.setInt32(at, x, true));
export const writeUint32List = (b: MessageBuilder, p: number, xs: readonly number[]): void =>
  writeNumbers(b, p, xs, EL_FOUR, 4, (v, at, x) => v.setUint32(at, x, true));
export const writeFloat32List = (b: MessageBuilder, p: number, xs: readonly number[]): void =>
  writeNumbers(b, p, xs, EL_FOUR, 4, (v, at, x) => v.setFloat32(at, x, true));
export const writeFloat64List = (b: MessageBuilder, p: number, xs: readonly number[]): void =>
  writeNumbers(b, p, xs, EL_EIGHT, 8, (v, at, x) => v.setFloat64(at, x, true));

export function writeInt64List(b: MessageBuilder, ptrWord: number, values: readonly bigint[]): void {
  let at = b.initList(ptrWord, EL_EIGHT, values.length);
  for (let i = 0; i < values.length; i++, at += 8) b.view.setBigInt64(at, BigInt.asIntN(64, values[i]), true);
}
export function writeUint64List(b: MessageBuilder, ptrWord: number, values: readonly bigint[]): void {
  let at = b.initList(ptrWord, EL_EIGHT, values.length);
  for (let i = 0; i < values.length; i++, at += 8) b.view.setBigUint64(at, BigInt.asUintN(64, values[i]), true);
}

/** A struct list: `write(b, elementWord, value)` fills each element in place. */
export function writeStructList<T>(
  b: MessageBuilder,
  ptrWord: number,
  values: readonly T[],
  dataWords: number,
  ptrCount: number,
  write: (b: MessageBuilder, at: number, value: T) => void,
): void {
  let at = b.initStructList(ptrWord, values.length, dataWords, ptrCount);
  const step = dataWords + ptrCount;
  for (let i = 0; i < values.length; i++, at += step) write(b, at, values[i]);
}

/** A pointer list: `write(b, pointerWord, value)` fills each element's pointer. */
export function writePointerList<T>(b: MessageBuilder, ptrWord: number, values: readonly T[], write: (b: MessageBuilder, ptrWord: number, value: T) => void): void {
  const at = b.initList(ptrWord, EL_POINTER, values.length) >>> 3;
  for (let i = 0; i < values.length; i++) write(b, at + i, values[i]);
}

// ---------------------------------------------------------------------------------------------------------
// Codecs for generic parameters

export const textCodec: PointerCodec<string> = {
  read: (s, i) => text(s, i),
  readElement: textElement,
  write: setText,
};

export const dataCodec: PointerCodec<Uint8Array> = {
  read: (s, i) => data(s, i),
  readElement: dataElement,
  write: setData,
};

export const anyPointerCodec: PointerCodec<AnyPointerValue> = {
  read: anyPointer,
  readElement: anyPointerElement,
  write: setAnyPointer,
};

/** The codec of a struct type, from its generated reader and writer. */
export function structCodec<R, W>(
  read: (s: StructReader) => R,
  write: (b: MessageBuilder, at: number, value: W) => void,
  dataWords: number,
  ptrCount: number,
): PointerCodec<R, W> {
  return {
    read: (s, i) => read(struct(s, i) ?? EMPTY_STRUCT),
    readElement: (l, i) => read(l.pointer(i).struct() ?? EMPTY_STRUCT),
    write: (b, ptrWord, value) => write(b, b.initStruct(ptrWord, dataWords, ptrCount), value),
  };
}

/** Capabilities have no plain form: read as null, never written. */
export const capabilityCodec: PointerCodec<null> = {
  read: () => null,
  readElement: () => null,
  write: () => {},
};

/** The codec of a list type, from readers and writers of its pointer. */
export function listCodec<R, W>(read: (l: ListReader | null) => R, write: (b: MessageBuilder, ptrWord: number, value: W) => void): PointerCodec<R, W> {
  return {
    read: (s, i) => read(list(s, i)),
    readElement: (l, i) => read(l.pointer(i).list()),
    write,
  };
}

export { EMPTY_STRUCT, MessageBuilder, MessageDecodeError, MessageReader };
export type { DataPlacer, ListReader, ReaderOptions, StructReader };
