/**
 * The class face of generated code (capnp-ts `Struct` subclasses) against the C++ implementation: messages
 * built through the generated setters decode with `capnp decode` to the expected text, and messages made by
 * `capnp encode` read back through the generated getters field by field, defaults included.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as capnp from "capnp-ts";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeToText, encodeText } from "../model/oracle.js";
import { CORPUS, CORPUS_ARGS, REPO, ipcgenCompile } from "../support/ipcgen.js";
import { generateInto } from "../support/generated.js";
import { noteIfOracleMissing, oracle } from "../support/oracle.js";

noteIfOracleMissing("generated-class wire tests");

const OUT = join(REPO, "test/.gen/classes");

/* eslint-disable @typescript-eslint/no-explicit-any -- the generated module is imported at run time */
type Gen = Record<string, any>;

/** A capnp-ts message as the framed bytes `capnp decode` reads. */
const bytesOf = (m: capnp.Message): Uint8Array => new Uint8Array(m.toArrayBuffer());
/** capnp's reading of bytes, and of the text it would have encoded itself, must agree. */
const sameAsCpp = (type: string, bytes: Uint8Array, text: string): void => {
  expect(decodeToText(type, bytes)).toBe(decodeToText(type, encodeText(type, text)));
};

describe.skipIf(oracle === null)("generated classes for test.capnp", () => {
  let gen: Gen;

  beforeAll(async () => {
    const result = await ipcgenCompile(["src/capnp/test.capnp"], CORPUS_ARGS);
    generateInto(result.request, OUT);
    gen = (await import(join(OUT, "src/capnp/test.capnp.ts"))) as Gen;
  }, 120_000);

  it("setters build what capnp encodes from the same values", () => {
    const m = new capnp.Message();
    const t = (m.initRoot(gen.TestAllTypes) as Gen);
    t.boolField = true;
    t.int8Field = -123;
    t.int16Field = -12345;
    t.int32Field = -12345678;
    t.int64Field = -123456789012345n;
    t.uInt8Field = 234;
    t.uInt16Field = 45678;
    t.uInt32Field = 3456789012;
    t.uInt64Field = 12345678901234567890n;
    t.float32Field = 1234.5;
    t.float64Field = -1.23e47;
    t.textField = "foo";
    const data = t.initDataField(3);
    data.copyBuffer(new TextEncoder().encode("bar"));
    const inner = t.initStructField();
    inner.textField = "nested";
    inner.enumField = gen.TestEnum.CORGE;
    t.enumField = gen.TestEnum.BAZ;
    const ints = t.initInt32List(2);
    ints.set(0, 7);
    ints.set(1, -7);
    const texts = t.initTextList(2);
    texts.set(0, "plugh");
    texts.set(1, "xyzzy");
    const structs = t.initStructList(2);
    structs.get(0).textField = "one";
    structs.get(1).uInt8Field = 2;
    sameAsCpp(
      "TestAllTypes",
      bytesOf(m),
      '(boolField = true, int8Field = -123, int16Field = -12345, int32Field = -12345678, int64Field = -123456789012345, ' +
        "uInt8Field = 234, uInt16Field = 45678, uInt32Field = 3456789012, uInt64Field = 12345678901234567890, " +
        'float32Field = 1234.5, float64Field = -1.23e47, textField = "foo", dataField = "bar", ' +
        'structField = (textField = "nested", enumField = corge), enumField = baz, int32List = [7, -7], ' +
        'textList = ["plugh", "xyzzy"], structList = [(textField = "one"), (uInt8Field = 2)])',
    );
  });

  it("getters read what capnp encodes", () => {
    const bytes = encodeText("TestAllTypes", readFileSync(join(CORPUS, "src/capnp/testdata/short.txt"), "utf8"));
    const t = (new capnp.Message(bytes, false).getRoot(gen.TestAllTypes) as Gen);
    expect(t.boolField).toBe(true);
    expect(t.int8Field).toBe(-123);
    expect(t.int64Field).toBe(-123456789012345n);
    expect(t.uInt64Field).toBe(12345678901234567890n);
    expect(t.float64Field).toBe(-1.23e47);
    expect(t.textField).toBe("foo");
    expect(t.structField.textField).toBe("baz");
    expect(t.structField.structField.textField).toBe("nested");
    expect(t.enumField).toBe(gen.TestEnum.CORGE);
    expect(t.textList.toArray()).toEqual(["plugh", "xyzzy", "thud"]);
    expect(t.structList.toArray().map((s: Gen) => s.textField)).toEqual(["structlist 1", "structlist 2", "structlist 3"]);
    expect(t.hasDataField()).toBe(true);
  });

  it("getters of an empty message return the schema's defaults (XOR masks and default pointers)", () => {
    const d = (new capnp.Message(encodeText("TestDefaults", "()"), false).getRoot(gen.TestDefaults) as Gen);
    expect(d.boolField).toBe(true);
    expect(d.int8Field).toBe(-123);
    expect(d.uInt32Field).toBe(3456789012);
    expect(d.int64Field).toBe(-123456789012345n);
    expect(d.float32Field).toBe(1234.5);
    expect(d.textField).toBe("foo");
    expect(new TextDecoder().decode(d.dataField.toUint8Array())).toBe("bar");
    expect(d.structField.textField).toBe("baz");
    expect(d.int32List.toArray()).toEqual([111111111, -111111111]);
    expect(d.hasTextField()).toBe(false);
    // Setting a default-valued field explicitly writes zero bits (the XOR), which C++ reads as the value set.
    const m = new capnp.Message();
    const w = (m.initRoot(gen.TestDefaults) as Gen);
    w.int8Field = 5;
    w.boolField = false;
    sameAsCpp("TestDefaults", bytesOf(m), "(int8Field = 5, boolField = false)");
  });

  it("unions: which(), is*(), and setters that select the member", () => {
    const m = new capnp.Message();
    const u = (m.initRoot(gen.TestUnion) as Gen);
    u.union0.u0f1s32 = -7;
    u.union1.u1f0sp = "x";
    u.union3.u3f0s64 = -1n;
    expect(u.union0.which()).toBe(gen.TestUnion_Union0_Which.U0F1S32);
    expect(u.union0.isU0f1s32()).toBe(true);
    expect(() => u.union0.u0f0sp).toThrow();
    sameAsCpp("TestUnion", bytesOf(m), '(union0 = (u0f1s32 = -7), union1 = (u1f0sp = "x"), union3 = (u3f0s64 = -1))');

    const read = (new capnp.Message(encodeText("TestUnnamedUnion", '(before = "a", bar = 9)'), false).getRoot(gen.TestUnnamedUnion) as Gen);
    expect(read.which()).toBe(gen.TestUnnamedUnion_Which.BAR);
    expect(read.bar).toBe(9);
    expect(read.before).toBe("a");
  });

  it("groups are views of their struct", () => {
    const m = new capnp.Message();
    const g = (m.initRoot(gen.TestGroups) as Gen);
    const baz = g.groups.initBaz();
    baz.corge = 4;
    baz.grault = "x";
    sameAsCpp("TestGroups", bytesOf(m), '(groups = (baz = (corge = 4, grault = "x")))');
  });

  it("nested lists read through their list constructors", () => {
    const bytes = encodeText("TestLists", '(int32ListList = [[1, 2], [], [3]], textListList = [["a"], ["b", "c"]], structListList = [[(int32Field = 5)], []])');
    const l = (new capnp.Message(bytes, false).getRoot(gen.TestLists) as Gen);
    expect(l.int32ListList.toArray().map((x: capnp.List<number>) => x.toArray())).toEqual([[1, 2], [], [3]]);
    expect(l.textListList.toArray().map((x: capnp.List<string>) => x.toArray())).toEqual([["a"], ["b", "c"]]);
    expect(l.structListList.get(0).get(0).int32Field).toBe(5);
  });
});
