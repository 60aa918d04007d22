/**
 * Hostile input for the wire reader. Generated code reads messages from other processes with
 * `MessageReader`, so whatever the bytes, reading must end in a value or a `MessageDecodeError` with a
 * message saying what was wrong: never a RangeError from a DataView, a TypeError, a stack overflow, a hang
 * or a huge allocation. Every case reads the message deeply (every field of TestAllTypes, plus a generic
 * canonical copy) so that no pointer goes unfollowed.
 */

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { words } from "./words.js";
import { decodeStruct } from "../../generator/model/codec.js";
import {
  EL_BIT,
  EL_BYTE,
  EL_COMPOSITE,
  EL_EIGHT,
  EL_POINTER,
  EL_VOID,
  MessageBuilder,
  MessageDecodeError,
  MessageReader,
  canonicalize,
  splitSegments,
  type ReaderOptions,
} from "../../runtime/codec/wire.js";
import { CORPUS, encodeText, frame, testSchema } from "../model/oracle.js";

// ---------------------------------------------------------------------------------------------------------
// Helpers

const TESTDATA = `${CORPUS}/src/capnp/testdata`;

/** Every message `wire.ts` fails with; an error outside this list would be an unclear one. */
const KNOWN_FAILURE =
  /out of bounds|truncated|too many segments|no segments|first segment is empty|traversal limit|nesting limit|far pointer|landing pad|expected a|inline composite|NUL-terminated|byte list|capability/;

function allTypes() {
  return testSchema().node("TestAllTypes");
}

/** Pointer index (or data offset, in units of the field's size) of a TestAllTypes field. */
function slot(name: string): number {
  const n = allTypes();
  if (n.which !== "struct") throw new Error("TestAllTypes is not a struct");
  const f = n.struct.fields.find((x) => x.name === name);
  if (f === undefined || f.which !== "slot") throw new Error(`no slot field ${name}`);
  return f.slot.offset;
}

/** TestAllTypes' section sizes: hand-built roots use them so every field has a slot. */
const DATA_WORDS = 6;
const PTR_COUNT = 20;

/** Reads the whole message: a generic canonical copy of the root, then every field as TestAllTypes. */
function readRoot(msg: MessageReader): Record<string, unknown> {
  const root = msg.root();
  canonicalize(root);
  return decodeStruct(root.struct(), allTypes().id, undefined, testSchema().lookup);
}

function readFramed(bytes: Uint8Array, options?: ReaderOptions): Record<string, unknown> {
  return readRoot(MessageReader.fromFramed(bytes, options));
}

function readFlat(bytes: Uint8Array, options?: ReaderOptions): Record<string, unknown> {
  return readRoot(MessageReader.fromFlat(bytes, options));
}

/**
 * Runs `read`: "ok", or the MessageDecodeError it threw. Anything else (another exception type, or a
 * decode error with a message outside the known list) is rethrown naming `label`, failing the test.
 */
function outcome(label: string, read: () => unknown): "ok" | MessageDecodeError {
  try {
    read();
    return "ok";
  } catch (e) {
    if (e instanceof MessageDecodeError && KNOWN_FAILURE.test(e.message)) return e;
    const what = e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
    throw new Error(`${label}: expected success or a clear MessageDecodeError, got ${what}`, { cause: e });
  }
}

/** Asserts that `read` throws a MessageDecodeError whose message matches `message`, within `ms`. */
function expectDecodeError(read: () => unknown, message: RegExp, ms = 1000): void {
  const t0 = performance.now();
  let thrown: unknown;
  try {
    read();
  } catch (e) {
    thrown = e;
  }
  const elapsed = performance.now() - t0;
  expect(thrown).toBeInstanceOf(MessageDecodeError);
  expect((thrown as Error).message).toMatch(message);
  // A synchronous loop cannot be interrupted by the test timeout, so "fails fast" is checked here.
  expect(elapsed).toBeLessThan(ms);
}


const NULL = [0, 0] as const;
const structPtr = (offset: number, dataWords: number, ptrCount: number) => [offset << 2, dataWords | (ptrCount << 16)] as const;
const listPtr = (offset: number, es: number, count: number) => [(offset << 2) | 1, es | (count << 3)] as const;
const farPtr = (pad: number, segment: number, double = false) => [(pad << 3) | (double ? 6 : 2), segment] as const;
/** The tag word of an inline-composite list. */
const tag = (count: number, dataWords: number, ptrCount: number) => [count << 2, dataWords | (ptrCount << 16)] as const;

/** The standard framing (segment table) around `segments`. */
function framed(...segments: Uint8Array[]): Uint8Array {
  const header = Math.ceil((4 + segments.length * 4) / 8) * 8;
  const out = new Uint8Array(header + segments.reduce((n, s) => n + s.length, 0));
  const v = new DataView(out.buffer);
  v.setUint32(0, segments.length - 1, true);
  let at = header;
  segments.forEach((s, i) => {
    v.setUint32(4 + i * 4, s.length / 8, true);
    out.set(s, at);
    at += s.length;
  });
  return out;
}

/**
 * A flat message whose root is a TestAllTypes-sized struct (words 1..26) with pointer `ptr` aimed at the
 * object `body` appended after it (at word 27).
 */
function rootWithPointer(ptr: number, pointer: (offset: number) => readonly [number, number], ...body: (readonly [number, number])[]): Uint8Array {
  const struct: (readonly [number, number])[] = Array.from({ length: DATA_WORDS + PTR_COUNT }, () => NULL);
  const ptrWord = 1 + DATA_WORDS + ptr;
  const bodyWord = 1 + DATA_WORDS + PTR_COUNT;
  struct[DATA_WORDS + ptr] = pointer(bodyWord - ptrWord - 1);
  return words(structPtr(0, DATA_WORDS, PTR_COUNT), ...struct, ...body);
}

/** Segment count and table size of a trusted framed message (a base for garbling). */
function segmentCount(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true) + 1;
}
function headerBytes(bytes: Uint8Array): number {
  return Math.ceil((4 + segmentCount(bytes) * 4) / 8) * 8;
}

/** A small deterministic PRNG (xorshift32), so that a garbling failure can be replayed from its iteration. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

// The rich messages everything starts from: capnp's own test value (short.txt) encoded by `capnp encode`
// as one segment, and capnp's multi-segment rendering of the same value (far and double-far pointers).
const shortText = readFileSync(`${TESTDATA}/short.txt`, "utf8");
const rich = encodeText("TestAllTypes", shortText);
const segmented = new Uint8Array(readFileSync(`${TESTDATA}/segmented`));
const expected = readFramed(rich);

// ---------------------------------------------------------------------------------------------------------

describe("hostile messages fail with MessageDecodeError", () => {
  it("the rich messages read, and agree", () => {
    const n = allTypes();
    expect(n.which === "struct" && [n.struct.dataWordCount, n.struct.pointerCount]).toEqual([DATA_WORDS, PTR_COUNT]);
    expect(expected.textField).toBe("foo");
    expect((expected.structField as Record<string, unknown>).textField).toBe("baz");
    expect(splitSegments(segmented).length).toBeGreaterThan(100);
    expect(readFramed(segmented)).toEqual(expected);
  });

  it("1. truncation: every prefix, and every segment cut short", () => {
    for (const message of [rich, segmented]) {
      // Prefixes of the framed bytes: most end inside the table's promise of segment bytes.
      for (let n = 0; n < message.length; n++) {
        const r = outcome(`prefix of ${n} bytes`, () => readFramed(message.subarray(0, n)));
        expect(r, `prefix of ${n} bytes decoded`).not.toBe("ok");
      }
      expect(readFramed(message)).toEqual(expected);
    }

    // A table rewritten to match the cut: the reader then follows pointers into words that are missing.
    // A deep read visits every object and landing pad, so a cut can only go unnoticed where no pointer
    // leads: then the value must be exactly the original one.
    const segs = splitSegments(segmented);
    const unnoticed = new Set<number>();
    let cuts = 0;
    for (let i = 0; i < segs.length; i++) {
      for (let w = 0; w < segs[i].length / 8; w++) {
        const cut = segs.map((s, j) => (j === i ? s.subarray(0, w * 8) : s));
        let value: unknown;
        const r = outcome(`segment ${i} cut to ${w} words`, () => (value = readFramed(framed(...cut))));
        if (r === "ok") {
          expect(value).toEqual(expected);
          unnoticed.add(i);
        }
        cuts++;
      }
    }
    // capnp's segmented test message has segments that no far pointer names (space its builder
    // abandoned); those are the only ones whose loss goes unnoticed.
    const named = new Set<number>([0]);
    for (const s of segs) {
      const v = new DataView(s.buffer, s.byteOffset, s.byteLength);
      for (let w = 0; w < s.length / 8; w++) if ((v.getUint32(w * 8, true) & 3) === 2) named.add(v.getUint32(w * 8 + 4, true));
    }
    const unreferenced = segs.flatMap((_, i) => (named.has(i) ? [] : [i]));
    expect(unreferenced.length).toBeGreaterThan(0);
    expect([...unnoticed]).toEqual(unreferenced);
    const flat = rich.subarray(8);
    for (let w = 0; w < flat.length / 8; w++) {
      const r = outcome(`single segment cut to ${w} words`, () => readFramed(frame(flat.subarray(0, w * 8))));
      expect(r, `single segment cut to ${w} words decoded`).not.toBe("ok");
      if (w > 0) expect(outcome(`flat cut to ${w} words`, () => readFlat(flat.subarray(0, w * 8)))).not.toBe("ok");
      cuts++;
    }
    expect(cuts).toBeGreaterThan(600);
  });

  it("2. garbling: seeded random flips and overwrites give a value or a MessageDecodeError", () => {
    const random = rng(0x5eed);
    const bases = [rich, segmented];
    const messages = new Map<string, number>();
    let ok = 0;
    for (let iter = 0; iter < 3000; iter++) {
      const base = bases[iter % bases.length];
      const bytes = base.slice();
      const v = new DataView(bytes.buffer);
      const header = headerBytes(base);
      const wordCount = (bytes.length - header) / 8;
      for (let k = 1 + random(4); k > 0; k--) {
        switch (random(4)) {
          case 0: {
            const at = random(bytes.length);
            bytes[at] ^= 1 << random(8);
            break;
          }
          case 1:
            bytes[random(bytes.length)] = random(256);
            break;
          default: {
            // A plausible pointer: random bytes mostly land far out of bounds, these reach real objects.
            const at = header + random(wordCount) * 8;
            const near = random(129) - 64;
            let p: readonly [number, number];
            switch (random(4)) {
              case 0:
                p = structPtr(near, random(8), random(8));
                break;
              case 1:
                p = listPtr(near, random(8), random(2) ? random(64) : random(1 << 29));
                break;
              case 2:
                p = farPtr(random(wordCount + 4), random(segmentCount(base) + 2), random(2) === 1);
                break;
              default:
                p = [random(0x10000) * 0x10000 + random(0x10000), random(0x10000) * 0x10000 + random(0x10000)];
            }
            v.setUint32(at, p[0] >>> 0, true);
            v.setUint32(at + 4, p[1] >>> 0, true);
          }
        }
      }
      // Every third message is also read under tight limits, so that limit errors meet garbled data too.
      if (iter % 3 === 0) outcome(`garbling iteration ${iter}, tight limits`, () => readFramed(bytes, { nestingLimit: 3, traversalLimitInWords: 300 }));
      const r = outcome(`garbling iteration ${iter}`, () => readFramed(bytes));
      if (r === "ok") ok++;
      else {
        const kind = r.message.replace(/[\d]+/g, "N");
        messages.set(kind, (messages.get(kind) ?? 0) + 1);
      }
    }
    // Not vacuous: plenty of both outcomes, and many different failures.
    expect(ok).toBeGreaterThan(200);
    expect(3000 - ok).toBeGreaterThan(1000);
    expect(messages.size).toBeGreaterThan(10);
    // No state leaks between messages.
    expect(readFramed(rich)).toEqual(expected);
    expect(readFramed(segmented)).toEqual(expected);
  });

  it("3. pointer loops stop at the nesting limit", () => {
    const structField = slot("structField");
    // A struct whose structField points at the struct itself.
    const self = words(structPtr(0, DATA_WORDS, PTR_COUNT), ...Array.from({ length: DATA_WORDS + PTR_COUNT }, (_, i) =>
      i === DATA_WORDS + structField ? structPtr(-(DATA_WORDS + structField) - 1, DATA_WORDS, PTR_COUNT) : NULL,
    ));
    expectDecodeError(() => readFlat(self), /nesting limit/);
    expectDecodeError(() => decodeStruct(MessageReader.fromFlat(self).root().struct(), allTypes().id, undefined, testSchema().lookup), /nesting limit/);

    // A list whose elements point back at the struct holding the list: root (1 pointer) -> list of 3
    // pointers -> root, root, root. Branching 3 every two levels: only depth-first order and the nesting
    // limit keep this from being 3^32 reads.
    const fanBack = words(structPtr(0, 0, 1), listPtr(0, EL_POINTER, 3), structPtr(-2, 0, 1), structPtr(-3, 0, 1), structPtr(-4, 0, 1));
    expectDecodeError(() => canonicalize(MessageReader.fromFlat(fanBack).root()), /nesting limit/);
    // The same through the schema: a structList whose elements' structField leads back to the root.
    const elemWords = DATA_WORDS + PTR_COUNT;
    const msg = new MessageBuilder();
    const root = msg.initStruct(0, DATA_WORDS, PTR_COUNT);
    const first = msg.initStructList(root + DATA_WORDS + slot("structList"), 2, DATA_WORDS, PTR_COUNT);
    for (let e = 0; e < 2; e++) {
      const ptrWord = first + e * elemWords + DATA_WORDS + structField;
      msg.view.setInt32(ptrWord * 8, (root - ptrWord - 1) << 2, true);
      msg.view.setUint32(ptrWord * 8 + 4, DATA_WORDS | (PTR_COUNT << 16), true);
    }
    expectDecodeError(() => readFlat(msg.toFlat()), /nesting limit/);

    // A single far pointer whose landing pad is itself cannot loop: it is refused outright. A double far
    // whose pad is itself is refused too (the pad is not a single far pointer).
    expectDecodeError(() => readFlat(words(farPtr(0, 0))), /landing pad is itself a far pointer/);
    expectDecodeError(() => readFlat(words(farPtr(0, 0, true), NULL)), /double-far landing pad does not start with a single far pointer/);
    // A loop through far pointers: segment 1 holds a pad aimed at a struct whose only pointer is a far
    // pointer to that same pad.
    const seg0 = words(farPtr(0, 1));
    const seg1 = words(structPtr(0, 0, 1), farPtr(0, 1));
    expectDecodeError(() => canonicalize(MessageReader.fromFramed(framed(seg0, seg1)).root()), /nesting limit/);
    // A loop across two segments: S0 (segment 0) points through a pad in segment 1 at S1, which points
    // through a pad in segment 0 back at S0.
    const a = words(structPtr(1, 0, 1), structPtr(0, 0, 1), farPtr(0, 1));
    const b = words(structPtr(0, 0, 1), farPtr(1, 0));
    expectDecodeError(() => canonicalize(MessageReader.fromFramed(framed(a, b)).root()), /nesting limit/);

    expect(readFramed(rich)).toEqual(expected);
  });

  it("4. deep nesting: 100,000 nested structs or lists hit the nesting limit, 64 levels read", () => {
    const structField = slot("structField");
    const int32Byte = slot("int32Field") * 4;
    /** A chain of `n` structs (1 data word, 3 pointers) linked through structField, numbered in int32Field. */
    const chain = (n: number): Uint8Array => {
      const b = new MessageBuilder(n * 4 + 1);
      let ptr = 0;
      for (let i = 0; i < n; i++) {
        const at = b.initStruct(ptr, 1, structField + 1);
        b.view.setInt32(at * 8 + int32Byte, i + 1, true);
        ptr = at + 1 + structField;
      }
      return b.toFramed();
    };
    const deep = chain(100_000);
    expectDecodeError(() => readFramed(deep), /nesting limit/);
    expectDecodeError(() => decodeStruct(MessageReader.fromFramed(deep).root().struct(), allTypes().id, undefined, testSchema().lookup), /nesting limit/);
    expectDecodeError(() => readFramed(chain(65)), /nesting limit/);

    // Within the limit (64 levels, the default), the whole chain reads.
    let level = readFramed(chain(64));
    for (let i = 1; i <= 64; i++) {
      expect(level.int32Field).toBe(i);
      level = level.structField as Record<string, unknown>;
    }
    expect(level.int32Field).toBe(0); // the null pointer past the end reads as defaults

    // Lists nest too: 100,000 one-element pointer lists, each holding the next.
    const lists = words(...Array.from({ length: 100_000 }, () => listPtr(0, EL_POINTER, 1)), NULL);
    expectDecodeError(() => canonicalize(MessageReader.fromFlat(lists).root()), /nesting limit/);
    expect(() => canonicalize(MessageReader.fromFlat(words(...Array.from({ length: 64 }, () => listPtr(0, EL_POINTER, 1)), NULL)).root())).not.toThrow();
  });

  it("5. huge list lengths fail fast", () => {
    const huge = (1 << 29) - 1;
    // 2^29-1 eight-byte elements claimed by a 3-word message.
    const eights = words(structPtr(0, 0, 1), listPtr(0, EL_EIGHT, huge), NULL);
    expectDecodeError(() => MessageReader.fromFlat(eights).root().struct()!.pointer(0)!.list(), /list pointer out of bounds/);
    expectDecodeError(() => readFlat(rootWithPointer(slot("int64List"), (o) => listPtr(o, EL_EIGHT, huge), NULL)), /out of bounds/);

    // An inline-composite tag claiming far more elements than the list's words hold.
    expectDecodeError(
      () => readFlat(rootWithPointer(slot("structList"), (o) => listPtr(o, EL_COMPOSITE, 1), tag((1 << 30) - 1, 1, 0), NULL)),
      /inline composite list of 1073741823 elements of 1 words overruns its 1 words/,
    );
    // Zero-sized structs take no words: 2^30-1 of them in 0 words is consistent, but each is charged
    // a word of traversal, so a full read stops at once instead of building a billion objects.
    expectDecodeError(() => readFlat(rootWithPointer(slot("structList"), (o) => listPtr(o, EL_COMPOSITE, 0), tag((1 << 30) - 1, 0, 0))), /traversal limit/);
    // Void lists likewise, whether read as List(Void) or as a list of structs (which capnp allows).
    expectDecodeError(() => readFlat(rootWithPointer(slot("voidList"), (o) => listPtr(o, EL_VOID, huge))), /traversal limit/);
    expectDecodeError(() => readFlat(rootWithPointer(slot("structList"), (o) => listPtr(o, EL_VOID, huge))), /traversal limit/);
    expectDecodeError(() => readFlat(rootWithPointer(slot("interfaceList"), (o) => listPtr(o, EL_VOID, huge))), /traversal limit/);
    // Bit lists are charged by the words they cover; 2^29-1 bits is 8M words, more than a small message has.
    expectDecodeError(() => readFlat(rootWithPointer(slot("boolList"), (o) => listPtr(o, EL_BIT, huge), NULL)), /out of bounds/);

    // Text without its NUL, and the empty byte list (no room for one).
    const abc = [0x636261, 0] as const;
    expectDecodeError(() => readFlat(rootWithPointer(slot("textField"), (o) => listPtr(o, EL_BYTE, 3), abc)), /text is not NUL-terminated/);
    expectDecodeError(() => readFlat(rootWithPointer(slot("textField"), (o) => listPtr(o, EL_BYTE, 0))), /text is not NUL-terminated/);
    // Byte pointers to lists of other element sizes, and to a struct.
    expectDecodeError(() => readFlat(rootWithPointer(slot("dataField"), (o) => listPtr(o, EL_BIT, 8), NULL)), /data pointer does not point to a byte list/);
    expectDecodeError(() => readFlat(rootWithPointer(slot("textField"), (o) => listPtr(o, EL_EIGHT, 1), NULL)), /text pointer does not point to a byte list/);
    expectDecodeError(() => readFlat(rootWithPointer(slot("textField"), (o) => structPtr(o, 1, 0), NULL)), /expected a list pointer/);
    // Lists of the wrong encoding for their type.
    expectDecodeError(() => readFlat(rootWithPointer(slot("boolList"), (o) => listPtr(o, EL_BYTE, 3), NULL)), /expected a list of Bool/);
    expectDecodeError(() => readFlat(rootWithPointer(slot("structList"), (o) => listPtr(o, EL_BIT, 3), NULL)), /expected a list of structs/);
    expectDecodeError(() => readFlat(rootWithPointer(slot("int32List"), (o) => listPtr(o, EL_BIT, 3), NULL)), /expected a list of non-Bool primitives/);
    expectDecodeError(() => readFlat(rootWithPointer(slot("textList"), (o) => listPtr(o, EL_EIGHT, 1), NULL)), /expected a list of pointers/);
    expectDecodeError(() => readFlat(rootWithPointer(slot("structField"), (o) => listPtr(o, EL_EIGHT, 1), NULL)), /expected a struct pointer/);
    expectDecodeError(() => readFlat(rootWithPointer(slot("structList"), (o) => listPtr(o, EL_COMPOSITE, 1), listPtr(0, EL_BYTE, 0), NULL)), /tag is not a struct tag/);

    expect(readFramed(rich)).toEqual(expected);
  });

  it("6. amplification: 10,000 pointers to one large text exceed the traversal limit", () => {
    /** A TestAllTypes whose textList has `n` elements, all pointing at one text of `textWords` words. */
    const shared = (n: number, textWords: number): Uint8Array => {
      const b = new MessageBuilder(n + textWords + 32);
      const root = b.initStruct(0, DATA_WORDS, PTR_COUNT);
      const list = b.initList(root + DATA_WORDS + slot("textList"), EL_POINTER, n) / 8;
      const text = b.alloc(textWords);
      b.bytes.fill(0x61, text * 8, (text + textWords) * 8 - 1); // "aaa…a" and its NUL
      for (let i = 0; i < n; i++) {
        b.view.setInt32((list + i) * 8, ((text - (list + i) - 1) << 2) | 1, true);
        b.view.setUint32((list + i) * 8 + 4, EL_BYTE | ((textWords * 8) << 3), true);
      }
      return b.toFramed();
    };
    // 8 KiB each: 10,000 reads would be 80 MiB of text from an 88 KiB message.
    const bytes = shared(10_000, 1024);
    expect(bytes.length).toBeLessThan(100_000);
    expectDecodeError(() => decodeStruct(MessageReader.fromFramed(bytes).root().struct(), allTypes().id, undefined, testSchema().lookup), /traversal limit/, 2000);
    expectDecodeError(() => canonicalize(MessageReader.fromFramed(bytes).root()), /traversal limit/, 2000);

    // Sharing itself is legal: within the limit the shared text reads everywhere.
    const value = readFramed(shared(100, 1024));
    expect(value.textList).toEqual(Array.from({ length: 100 }, () => "a".repeat(8191)));
    // ... and the next message is unaffected.
    expect(readFramed(rich)).toEqual(expected);
  });

  it("7. segment tables", () => {
    const table = (...u32: number[]) => {
      const out = new Uint8Array(Math.max(u32.length * 4, 8));
      const v = new DataView(out.buffer);
      u32.forEach((x, i) => v.setUint32(i * 4, x >>> 0, true));
      return out;
    };
    const fails = (bytes: Uint8Array, message: RegExp) => expectDecodeError(() => readFramed(bytes), message, 50);

    // 2^32-1 and 2^32 segments (the count is stored minus one): refused before any table is read.
    fails(table(0xfffffffe, 1, 0, 0), /too many segments/);
    fails(table(0xffffffff, 1, 0, 0), /too many segments/);
    // Many segments that the input does hold: still refused past 65,536, since each costs a few objects on
    // our side (a 16 MB table of empty segments used to take 1.3 GB and 4.6 s).
    const tableOf = (count: number) => {
      const out = new Uint8Array(Math.ceil((4 + count * 4) / 8) * 8 + 8);
      const v = new DataView(out.buffer);
      v.setUint32(0, count - 1, true);
      v.setUint32(4, 1, true); // segment 0: one word, a null root; the rest empty
      return out;
    };
    fails(tableOf(4_000_000), /too many segments: 4000000 \(at most 65536/);
    fails(tableOf(65_537), /too many segments: 65537/);
    const t0 = performance.now();
    expect(readFramed(tableOf(65_536)).int32Field).toBe(0);
    expect(performance.now() - t0).toBeLessThan(1000);
    // Segment sizes beyond the input, alone and summing past 2^32 words (no 32-bit wraparound).
    fails(table(0, 0xffffffff), /truncated/);
    fails(table(1, 0x80000000, 0x80000000, 0), /truncated/);
    fails(table(0, 2, 0, 0), /truncated/);
    // The table itself cut short.
    fails(table(3, 1), /truncated inside the segment table/);
    fails(table(2, 0, 0).subarray(0, 9), /truncated inside the segment table/);
    // Zero segments cannot be framed (the count is stored minus one); given directly they are refused.
    expectDecodeError(() => new MessageReader([]), /no segments/);
    // An empty first segment has no root pointer.
    fails(table(0, 0), /first segment is empty/);
    // Odd lengths: every length up to a word, and a one-word message missing some bytes.
    for (let n = 0; n < 8; n++) fails(new Uint8Array(n), /truncated/);
    for (let n = 9; n < 16; n++) fails(frame(new Uint8Array(8)).subarray(0, n), /truncated/);
    expectDecodeError(() => readFlat(new Uint8Array(12)), /whole number of words/);
    expectDecodeError(() => readFlat(new Uint8Array(0)), /whole number of words/);
    // Bytes after the message are left to the caller (framedMessageLength): they do not disturb it.
    const trailing = new Uint8Array(rich.length + 5);
    trailing.set(rich);
    trailing.fill(0xff, rich.length);
    expect(readFramed(trailing)).toEqual(expected);
    // A message at an odd byte offset reads the same (DataViews need no alignment).
    const odd = new Uint8Array(rich.length + 3);
    odd.set(rich, 3);
    expect(readFramed(odd.subarray(3))).toEqual(expected);
  });

  it("8. far pointers to nowhere", () => {
    // A segment that does not exist.
    expectDecodeError(() => readFramed(framed(words(farPtr(0, 7)))), /far pointer names segment 7, but the message has 1/);
    expectDecodeError(() => readFramed(framed(words(farPtr(0, 0xffffffff)))), /names segment 4294967295/);
    // Landing pads past the end of their segment, single and double (which needs two words).
    expectDecodeError(() => readFramed(framed(words(farPtr(3, 1)), words(NULL))), /far pointer landing pad is out of bounds/);
    expectDecodeError(() => readFramed(framed(words(farPtr((1 << 29) - 1, 1)), words(NULL))), /far pointer landing pad is out of bounds/);
    expectDecodeError(() => readFramed(framed(words(farPtr(0, 1, true)), words(farPtr(0, 0)))), /double-far pointer landing pad is out of bounds/);
    expectDecodeError(() => readFramed(framed(words(farPtr(0, 1)), new Uint8Array(0))), /far pointer landing pad is out of bounds/);
    // Double far whose pad is not a single far pointer, or whose tag is one.
    expectDecodeError(() => readFramed(framed(words(farPtr(0, 1, true)), words(structPtr(0, 0, 0), structPtr(0, 0, 0)))), /does not start with a single far pointer/);
    expectDecodeError(() => readFramed(framed(words(farPtr(0, 1, true)), words(farPtr(0, 0, true), structPtr(0, 0, 0)))), /does not start with a single far pointer/);
    expectDecodeError(() => readFramed(framed(words(farPtr(0, 1, true)), words(farPtr(0, 0), farPtr(0, 0)))), /tag is a far pointer/);
    // A double far whose content lies beyond its segment, or in a missing one.
    expectDecodeError(() => readFramed(framed(words(farPtr(0, 1, true)), words(farPtr(5, 0), structPtr(0, 1, 0)))), /struct pointer out of bounds/);
    expectDecodeError(() => readFramed(framed(words(farPtr(0, 1, true)), words(farPtr(0, 9), structPtr(0, 1, 0)))), /names segment 9/);
    // A single far's pad whose content lies outside the pad's segment.
    expectDecodeError(() => readFramed(framed(words(farPtr(0, 1)), words(structPtr(-5, 1, 0)))), /struct pointer out of bounds/);
    // A well-formed double far reads (the content is a TestAllTypes with int32Field = 42 in segment 2).
    const content = new Uint8Array(8);
    new DataView(content.buffer).setInt32(slot("int32Field") * 4, 42, true);
    const good = framed(words(farPtr(0, 1, true)), words(farPtr(0, 2), structPtr(0, 1, 0)), content);
    expect(readFramed(good).int32Field).toBe(42);
  });

  it("9. custom limits", () => {
    expectDecodeError(() => readFramed(rich, { traversalLimitInWords: 10 }), /traversal limit/);
    expect(readFramed(framed(words(structPtr(0, 1, 0), NULL)), { traversalLimitInWords: 10 }).int32Field).toBe(0);
    // Enough budget for the rich message read twice (canonical copy, then decode) suffices.
    expect(readFramed(rich, { traversalLimitInWords: 2 * (rich.length / 8) + 100 })).toEqual(expected);

    // nestingLimit 2: the root and one nested struct read; a third level does not.
    const structField = slot("structField");
    const nest = (n: number) => {
      const b = new MessageBuilder();
      let ptr = 0;
      for (let i = 0; i < n; i++) ptr = b.initStruct(ptr, 0, structField + 1) + structField;
      return b.toFramed();
    };
    expect(() => readFramed(nest(2), { nestingLimit: 2 })).not.toThrow();
    expectDecodeError(() => readFramed(nest(3), { nestingLimit: 2 }), /nesting limit/);
    expectDecodeError(() => MessageReader.fromFramed(nest(1), { nestingLimit: 0 }).root().struct(), /nesting limit/);

    // Limits that are not numbers would silently switch the checks off; they are refused up front.
    for (const bad of [NaN, -1, 1.5]) {
      expect(() => new MessageReader([new Uint8Array(8)], { nestingLimit: bad })).toThrow(RangeError);
      expect(() => new MessageReader([new Uint8Array(8)], { traversalLimitInWords: bad })).toThrow(RangeError);
    }
    expect(readFramed(rich)).toEqual(expected);
  });
});
