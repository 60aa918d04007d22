import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeStruct, decodeValue, encodeStruct, encodeValue } from "../../generator/model/codec.js";
import type { Node, Type } from "../../generator/model/schema.js";
import { MessageReader, canonicalize } from "../../runtime/codec/wire.js";
import { TEST_CAPNP, canonical, capnp, decodeToText, encodeText, frame, testSchema } from "./oracle.js";

const defaultsText = readFileSync(new URL("./fixtures/test-defaults.txt", import.meta.url), "utf8");
const noBrand = { scopes: [] };

function structOf(node: Node) {
  if (node.which !== "struct") throw new Error(`${node.displayName} is not a struct`);
  return node.struct;
}

function readRoot(bytes: Uint8Array, node: Node) {
  const { lookup } = testSchema();
  return decodeStruct(MessageReader.fromFramed(bytes).root().struct(), node.id, noBrand, lookup);
}

/** Encodes with our codec and has capnp print the message. */
function printed(typeName: string, value: unknown): string {
  const { node, lookup } = testSchema();
  const pv = encodeStruct(node(typeName).id, noBrand, value as never, lookup);
  return decodeToText(typeName, frame(pv.canonical));
}

const allTypesText = `(
  boolField = true, int8Field = -100, int16Field = -30000, int32Field = -2000000000,
  int64Field = -9000000000000000000, uInt8Field = 250, uInt16Field = 65000, uInt32Field = 4000000000,
  uInt64Field = 18000000000000000000, float32Field = 1.5, float64Field = -2.25e100,
  textField = "héllo ✓", dataField = "\\x00\\x01\\xff", structField = (int32Field = 7, textField = "inner"),
  enumField = grault,
  voidList = [void, void], boolList = [true, false, true, true, false, false, false, false, true],
  int8List = [-128, 127], int16List = [-32768, 32767], int32List = [1, -1], int64List = [-9223372036854775808],
  uInt8List = [0, 255], uInt16List = [65535], uInt32List = [4294967295], uInt64List = [18446744073709551615],
  float32List = [0.5, inf, -inf], float64List = [1e300, -0.125],
  textList = ["a", "", "ccc"], dataList = ["x", ""],
  structList = [(int8Field = 1), (textField = "two", enumList = [bar])], enumList = [foo, garply, qux]
)`;

const allTypesValue = {
  boolField: true, int8Field: -100, int16Field: -30000, int32Field: -2000000000,
  int64Field: -9000000000000000000n, uInt8Field: 250, uInt16Field: 65000, uInt32Field: 4000000000,
  uInt64Field: 18000000000000000000n, float32Field: 1.5, float64Field: -2.25e100,
  textField: "héllo ✓", dataField: new Uint8Array([0, 1, 255]), structField: { int32Field: 7, textField: "inner" },
  enumField: "grault",
  voidList: [null, null], boolList: [true, false, true, true, false, false, false, false, true],
  int8List: [-128, 127], int16List: [-32768, 32767], int32List: [1, -1], int64List: [-9223372036854775808n],
  uInt8List: [0, 255], uInt16List: [65535], uInt32List: [4294967295], uInt64List: [18446744073709551615n],
  float32List: [0.5, Infinity, -Infinity], float64List: [1e300, -0.125],
  textList: ["a", "", "ccc"], dataList: [new Uint8Array([120]), new Uint8Array(0)],
  structList: [{ int8Field: 1 }, { textField: "two", enumList: ["bar"] }], enumList: ["foo", 7, "qux"],
};

describe("codec against capnp 0.9.2", () => {
  it("TestAllTypes: every field type and list element size encodes as capnp reads it", () => {
    expect(printed("TestAllTypes", allTypesValue)).toBe(decodeToText("TestAllTypes", encodeText("TestAllTypes", allTypesText)));
  });

  it("TestAllTypes: reads capnp encode output back", () => {
    const { node } = testSchema();
    const read = readRoot(encodeText("TestAllTypes", allTypesText), node("TestAllTypes"));
    expect(read).toMatchObject({ ...allTypesValue, enumList: ["foo", "garply", "qux"], structField: { int32Field: 7, textField: "inner", boolField: false } });
    expect(read.textList).toEqual(["a", "", "ccc"]);
    expect(read.interfaceList).toEqual([]); // null list reads as empty
    // Writing what we read and reading it again is lossless.
    const pv = encodeStruct(node("TestAllTypes").id, noBrand, read as never, testSchema().lookup);
    expect(readRoot(frame(pv.canonical), node("TestAllTypes"))).toEqual(read);
    // With every Text set (null and empty Text read alike), it is byte-identical to capnp's canonical form.
    const full = '(textField = "t", structField = (textField = "u", dataField = "d"), dataField = "", textList = ["", "x"])';
    const fullRead = readRoot(encodeText("TestAllTypes", full), node("TestAllTypes"));
    const again = encodeStruct(node("TestAllTypes").id, noBrand, fullRead as never, testSchema().lookup);
    expect(Buffer.from(again.canonical).equals(Buffer.from(canonical(encodeText("TestAllTypes", full))))).toBe(true);
  });

  it("TestDefaults: a null struct reads as the defaults (XOR of every primitive, pointer defaults)", () => {
    const { node } = testSchema();
    const defaults = readRoot(encodeText("TestDefaults", "()"), node("TestDefaults"));
    const expected = readRoot(encodeText("TestAllTypes", defaultsText), node("TestAllTypes"));
    expect(defaults).toEqual(expected);
    expect(defaults).toMatchObject({ boolField: true, int8Field: -123, uInt64Field: 12345678901234567890n, float32Field: 1234.5, enumField: "corge" });
  });

  it("TestDefaults: writing the defaults leaves the data section all zero", () => {
    const { node, lookup } = testSchema();
    const defaults = readRoot(encodeText("TestDefaults", "()"), node("TestDefaults"));
    const pv = encodeStruct(node("TestDefaults").id, noBrand, defaults as never, lookup);
    const root = MessageReader.fromFlat(pv.canonical).root().struct()!;
    expect(root.dataBytes).toBe(0); // canonical form truncated an all-zero data section
    // Pointers read from defaults are written back null, except Text (a string cannot remember that).
    expect(decodeToText("TestDefaults", frame(pv.canonical))).toBe(decodeToText("TestDefaults", encodeText("TestDefaults", '(textField = "foo")')));
  });

  it("TestDefaults: pointer default values are canonical copies of the same values written by capnp", () => {
    const { node } = testSchema();
    const fixture = MessageReader.fromFlat(canonical(encodeText("TestAllTypes", defaultsText))).root().struct()!;
    const fields = structOf(node("TestDefaults")).fields;
    let checked = 0;
    for (const f of fields) {
      if (f.which !== "slot") continue;
      const d = f.slot.defaultValue;
      const pv = d.which === "list" ? d.list : d.which === "struct" ? d.struct : null;
      if (pv === null) continue;
      const expected = canonicalize(fixture.pointer(f.slot.offset)!);
      expect(Buffer.from(pv.canonical).equals(Buffer.from(expected)), f.name).toBe(true);
      checked++;
    }
    expect(checked).toBe(17);
  });

  it("struct constants equal capnp eval output in canonical form", () => {
    const { req } = testSchema();
    let checked = 0;
    for (const n of req.nodes) {
      if (n.which !== "const" || n.const.value.which !== "struct" || !n.displayName.startsWith(TEST_CAPNP)) continue;
      const name = n.displayName.slice(TEST_CAPNP.length + 1);
      const evaluated = capnp(["eval", "-obinary", "-I", "src", "--no-standard-import", TEST_CAPNP, name]);
      expect(Buffer.from(n.const.value.struct!.canonical).equals(Buffer.from(canonical(evaluated))), name).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  });

  it("TestUnion and TestGroups: unions, named unions, groups", () => {
    const unionValue = {
      union0: { which: "u0f1s32", u0f1s32: 1234567 },
      bit0: true,
      union1: { which: "u1f1sp", u1f1sp: "foo" },
      union2: { which: "u2f0s1", u2f0s1: true },
      union3: { which: "u3f0s64", u3f0s64: -5n },
    };
    const unionText = "(union0 = (u0f1s32 = 1234567), bit0 = true, union1 = (u1f1sp = \"foo\"), union2 = (u2f0s1 = true), union3 = (u3f0s64 = -5))";
    expect(printed("TestUnion", unionValue)).toBe(decodeToText("TestUnion", encodeText("TestUnion", unionText)));
    const { node } = testSchema();
    expect(readRoot(encodeText("TestUnion", unionText), node("TestUnion"))).toMatchObject(unionValue);

    const groupsValue = { groups: { which: "bar", bar: { corge: 123, grault: "x", garply: 789n } } };
    const groupsText = '(groups = (bar = (corge = 123, grault = "x", garply = 789)))';
    expect(printed("TestGroups", groupsValue)).toBe(decodeToText("TestGroups", encodeText("TestGroups", groupsText)));
    expect(readRoot(encodeText("TestGroups", groupsText), node("TestGroups"))).toEqual(groupsValue);
    // A Void union member is just `which`.
    const voidMember = readRoot(encodeText("TestUnion", "(union0 = (u0f0s0 = void))"), node("TestUnion"));
    expect(voidMember.union0).toEqual({ which: "u0f0s0" });
  });

  it("generics: parameters take their types from the brand", () => {
    const value = {
      basic: {
        foo: { int32Field: 5, textField: "foo" },
        rev: { foo: { anyPointerField: null }, rev: { foo: { int16Field: 9 } } },
        which: "ug",
        ug: { ugfoo: 42 },
        list: [{ foo: { int8Field: 1 }, bar: {} }],
      },
      inner2: { bar: {}, baz: "bound text", innerBound: { foo: { int64Field: 3n } } },
    };
    const text =
      "(basic = (foo = (int32Field = 5, textField = \"foo\"), rev = (foo = (), rev = (foo = (int16Field = 9))), ug = (ugfoo = 42), list = [(foo = (int8Field = 1), bar = ())])," +
      " inner2 = (bar = (), baz = \"bound text\", innerBound = (foo = (int64Field = 3))))";
    expect(printed("TestUseGenerics", value)).toBe(decodeToText("TestUseGenerics", encodeText("TestUseGenerics", text)));
    const { node } = testSchema();
    const read = readRoot(encodeText("TestUseGenerics", text), node("TestUseGenerics"));
    expect(read).toMatchObject({ basic: { foo: { int32Field: 5 }, rev: { rev: { foo: { int16Field: 9 } } }, ug: { ugfoo: 42 } }, inner2: { baz: "bound text" } });
    // Generic defaults are read through the brand too.
    expect(read.default).toMatchObject({ foo: { int16Field: 123 }, rev: { foo: "text", rev: { foo: { int16Field: 321 } } } });
    expect(read.defaultWrapper).toMatchObject({ value: { foo: "text", rev: { foo: { int16Field: 321 } } } });
    // An unbound parameter is an AnyPointer.
    expect((read.unspecified as { foo: unknown }).foo).toBeNull();
  });

  it("encodeValue / decodeValue for pointer types", () => {
    const { lookup, node } = testSchema();
    const listOfInt32: Type = { which: "list", list: { elementType: { which: "int32" } } };
    const pv = encodeValue(listOfInt32, [111111111, -111111111], lookup)!;
    expect(decodeValue(listOfInt32, pv, lookup)).toEqual([111111111, -111111111]);
    const field = structOf(node("TestDefaults")).fields.find((f) => f.name === "int32List")!;
    expect(field.which === "slot" && field.slot.defaultValue).toEqual({ which: "list", list: pv });
    expect(encodeValue({ which: "text" }, null, lookup)).toBeNull();
    expect(decodeValue({ which: "text" }, encodeValue({ which: "text" }, "hi", lookup), lookup)).toBe("hi");
    const nested: Type = { which: "list", list: { elementType: listOfInt32 } };
    expect(decodeValue(nested, encodeValue(nested, [[1], [], [2, 3]], lookup), lookup)).toEqual([[1], [], [2, 3]]);
  });

  it("rejects values that do not fit, naming the field", () => {
    const { lookup, node } = testSchema();
    const id = node("TestAllTypes").id;
    const bad: [unknown, RegExp][] = [
      [{ int32Field: "x" }, /TestAllTypes\.int32Field: expected an integer/],
      [{ int8Field: 200 }, /int8Field.*-128\.\.127/],
      [{ uInt64Field: -1n }, /uInt64Field.*out of range/],
      [{ enumField: "nope" }, /enumField: 'nope' is not an enumerant of TestEnum/],
      [{ textField: 5 }, /textField: expected a string/],
      [{ structList: [{ int8Field: 1 }, { bogus: 1 }] }, /structList\[1\]: struct TestAllTypes has no field 'bogus'/],
      [{ int16List: [1, 1.5] }, /int16List\[1\]/],
      [{ noSuchField: 1 }, /has no field 'noSuchField'/],
      ["str", /expected an object/],
    ];
    for (const [value, message] of bad) expect(() => encodeStruct(id, noBrand, value as never, lookup)).toThrow(message);
    expect(() => encodeStruct(node("TestUnion").id, noBrand, { union0: { which: "zzz" } } as never, lookup)).toThrow(TypeError);
  });
});
