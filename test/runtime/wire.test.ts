import { describe, expect, it } from "vitest";
import { words } from "./words.js";
import { decodeStruct } from "../../generator/model/codec.js";
import { decodeRequest } from "../../generator/model/request.js";
import { MessageBuilder, MessageDecodeError, MessageReader, canonicalize } from "../../runtime/codec/wire.js";
import { encodeText, testSchema } from "../model/oracle.js";

/** Reads the whole message as a TestAllTypes (every pointer followed). */
function readAll(bytes: Uint8Array, flat = false): unknown {
  const { node, lookup } = testSchema();
  const msg = flat ? MessageReader.fromFlat(bytes) : MessageReader.fromFramed(bytes);
  const root = msg.root();
  canonicalize(root);
  return decodeStruct(root.struct(), node("TestAllTypes").id, undefined, lookup);
}


describe("hostile input throws MessageDecodeError", () => {
  const small = encodeText("TestAllTypes", '(int32Field = 5, textField = "hello", structField = (textList = ["a", "b"]), int16List = [1, 2, 3])');

  it("truncated at every byte", () => {
    expect(() => readAll(small)).not.toThrow();
    for (let n = 0; n < small.length; n++) {
      expect(() => readAll(small.subarray(0, n)), `length ${n}`).toThrow(MessageDecodeError);
    }
  });

  it("a flat message cut at every word boundary", () => {
    const flat = small.subarray(8);
    for (let n = 8; n < flat.length; n += 8) expect(() => readAll(flat.subarray(0, n), true), `words ${n / 8}`).toThrow(MessageDecodeError);
  });

  it("a far pointer whose landing pad is itself", () => {
    const loop = words([2 | (0 << 3), 0]); // far pointer to segment 0, word 0: itself
    expect(() => readAll(loop, true)).toThrow(/landing pad is itself a far pointer/);
    const doubleFar = words([6, 0], [2, 0]); // double-far whose pad is this same pair
    expect(() => readAll(doubleFar, true)).toThrow(MessageDecodeError);
    expect(() => readAll(words([2 | (5 << 3), 7]), true)).toThrow(/segment 7/);
  });

  it("pointers past the segment end", () => {
    expect(() => readAll(words([100 << 2, 1 << 16 | 1]), true)).toThrow(/out of bounds/);
    expect(() => readAll(words([-100 << 2, 1]), true)).toThrow(/out of bounds/);
  });

  it("lists claiming 2^29 elements", () => {
    // Root struct with one pointer (textField slot 0) to a huge list of 8-byte elements.
    const huge = words([0, 1 << 16], [1, 5 | (((1 << 29) - 1) << 3)]);
    expect(() => MessageReader.fromFlat(huge).root().struct()!.pointer(0)!.list()).toThrow(/out of bounds/);
    // Void elements take no space: the traversal limit stops them.
    const voids = words([0, 1 << 16], [1, 0 | (((1 << 29) - 1) << 3)]);
    expect(() => MessageReader.fromFlat(voids).root().struct()!.pointer(0)!.list()).toThrow(/traversal limit/);
    // An inline composite tag claiming more elements than its words hold.
    const composite = words([0, 1 << 16], [1, 7 | (1 << 3)], [((1 << 29) - 1) << 2, 1], [0, 0]);
    expect(() => MessageReader.fromFlat(composite).root().struct()!.pointer(0)!.list()).toThrow(/overruns/);
    // Zero-sized struct elements are charged one word each.
    const empties = words([0, 1 << 16], [1, 7], [((1 << 29) - 1) << 2, 0]);
    expect(() => MessageReader.fromFlat(empties).root().struct()!.pointer(0)!.list()).toThrow(/traversal limit/);
  });

  it("segment tables claiming 4 GiB or 2^32 segments", () => {
    const table = new Uint8Array(16);
    new DataView(table.buffer).setUint32(4, 0x1fffffff, true);
    expect(() => readAll(table)).toThrow(/truncated/);
    const many = new Uint8Array(16);
    new DataView(many.buffer).setUint32(0, 0xfffffffe, true);
    expect(() => readAll(many)).toThrow(/segment table/);
    expect(() => decodeRequest(new Uint8Array(3))).toThrow(MessageDecodeError);
  });

  it("deep nesting and pointer cycles", () => {
    // A chain of 100 nested structs via structField (pointer 2 of TestAllTypes).
    const b = new MessageBuilder();
    let ptr = 0;
    for (let i = 0; i < 100; i++) ptr = b.initStruct(ptr, 6, 20) + 6 + 2;
    expect(() => readAll(b.toFramed())).toThrow(/nesting limit/);
    // A struct whose structField points back at itself.
    const self = words([0, 6 | (20 << 16)], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [-9 << 2, 6 | (20 << 16)]);
    expect(() => readAll(self, true)).toThrow(MessageDecodeError);
    // Amplification: 2000 list elements all pointing at one 8 KiB blob exceed the traversal limit.
    const amp = new MessageBuilder();
    const s = amp.initStruct(0, 0, 1);
    const list = amp.initList(s, 6, 2000) / 8;
    const blob = amp.alloc(8192);
    const v = amp.view;
    for (let i = 0; i < 2000; i++) {
      v.setInt32((list + i) * 8, ((blob - (list + i) - 1) << 2) | 1, true);
      v.setUint32((list + i) * 8 + 4, 5 | (8192 << 3), true);
    }
    const msg = MessageReader.fromFlat(amp.toFlat());
    expect(() => canonicalize(msg.root())).toThrow(/traversal limit/);
  });
});

describe("wire basics", () => {
  it("empty structs are not null; empty lists are not null", () => {
    const b = new MessageBuilder();
    const s = b.initStruct(0, 0, 2);
    b.initStruct(s, 0, 0);
    b.initList(s + 1, 4, 0);
    const r = MessageReader.fromFlat(b.toFlat()).root().struct()!;
    expect(r.pointer(0)!.isNull()).toBe(false);
    expect(r.pointer(0)!.struct()!.dataBytes).toBe(0);
    expect(r.pointer(1)!.list()!.length).toBe(0);
  });

  it("canonical form truncates and reorders", () => {
    const b = new MessageBuilder();
    const s = b.initStruct(0, 3, 3);
    b.view.setUint8(s * 8 + 3, 9); // data word 0 only
    b.setText(s + 3 + 1, "x"); // pointer 1 set, pointer 2 null
    const c = canonicalize(MessageReader.fromFlat(b.toFlat()).root());
    const r = MessageReader.fromFlat(c).root().struct()!;
    expect([r.dataBytes, r.ptrCount]).toEqual([8, 2]);
    expect(c.length).toBe(8 * (1 + 1 + 2 + 1));
  });
});
