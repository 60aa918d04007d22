/**
 * Generated TypeScript for capnp's own test.capnp and this project's schemas, checked against the C++
 * implementation (`capnp encode` / `capnp decode`): it must compile under `tsc --strict`, read what C++
 * writes, and write what C++ reads back to the same value.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";
import { generateTypeScript } from "../../generator/codegen/index.js";
import { MessageBuilder, MessageDecodeError } from "../../runtime/codec/wire.js";
import { decodeToText, encodeText, testSchema } from "../model/oracle.js";
import { CORPUS, CORPUS_ARGS, REPO, ipcgenCompile } from "../support/ipcgen.js";
import { noteIfOracleMissing, oracle } from "../support/oracle.js";

const OUT = join(REPO, "test/.gen/codegen");
const TESTDATA = join(CORPUS, "src/capnp/testdata");

noteIfOracleMissing("generated-code wire tests");

const GENERICS_TEXT = '(value = (value = (foo = "hello", rev = (foo = (int32Field = 5)), list = [(foo = "a", bar = (int8Field = 1))])))';

// The generated module's shape, as far as these tests use it.
interface PlainFace {
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array, options?: { packed?: boolean; framing?: "framed" | "flat"; traversalLimitInWords?: number; nestingLimit?: number }): Record<string, unknown>;
}
type TestModule = Record<string, PlainFace>;

async function generate(files: string[], args: typeof CORPUS_ARGS, subdir: string): Promise<string[]> {
  const result = await ipcgenCompile(files, args);
  expect(result.messages).toEqual([]);
  const written: string[] = [];
  for (const f of generateTypeScript(result.request)) {
    const path = join(OUT, subdir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content);
    written.push(path);
  }
  return written;
}

/** Type-checks files under the project's strict settings; returns the diagnostics as text. */
function typecheck(files: string[]): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(REPO, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
  const program = ts.createProgram(files, { ...config.options, noEmit: true });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file === undefined ? "" : `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: `;
    return where + ts.flattenDiagnosticMessageText(d.messageText, "\n");
  });
}

describe.skipIf(oracle === null)("generated code for test.capnp", () => {
  let files: string[];
  let gen: TestModule;

  beforeAll(async () => {
    rmSync(join(OUT, "corpus"), { recursive: true, force: true });
    files = await generate(["src/capnp/test.capnp"], CORPUS_ARGS, "corpus");
    gen = (await import(join(OUT, "corpus/src/capnp/test.capnp.ts"))) as TestModule;
  }, 120_000);

  it("compiles under tsc --strict", () => {
    expect(typecheck(files)).toEqual([]);
  }, 120_000);

  /** capnp encodes `text`; the generated code reads it and writes it again; capnp must read back the same. */
  function roundTrip(type: string, text: string): { plain: Record<string, unknown>; expected: string; actual: string } {
    const bytes = encodeText(type, text);
    const plain = gen[type.replace(/\./g, "_")].decode(bytes);
    const again = gen[type.replace(/\./g, "_")].encode(plain);
    return { plain, expected: decodeToText(type, bytes), actual: decodeToText(type, again) };
  }

  const samples: [string, string][] = [
    ["TestAllTypes", readFileSync(join(TESTDATA, "short.txt"), "utf8")],
    ["TestAllTypes", "()"],
    ["TestDefaults", "()"],
    ["TestDefaults", "(boolField = false, int8Field = 0, textField = \"\", structField = (), int32List = [])"],
    ["TestUnion", "(union0 = (u0f1s32 = -7), union1 = (u1f0sp = \"x\"), union2 = (u2f0s1 = true), union3 = (u3f0s64 = -1))"],
    ["TestUnion", "(union0 = (u0f0sp = \"abc\"), union1 = (u1f1s16 = 300), union2 = (u2f0s64 = 5), union3 = (u3f0s8 = 3))"],
    ["TestUnnamedUnion", "(before = \"a\", bar = 123, after = \"z\", middle = 9)"],
    ["TestUnnamedUnion", "(foo = 7)"],
    ["TestGroups", "(groups = (foo = (corge = 1, grault = 2, garply = \"g\")))"],
    ["TestGroups", "(groups = (baz = (corge = 4, grault = \"x\", garply = \"y\")))"],
    ["TestInterleavedGroups", "(group1 = (foo = 1, bar = 2, corge = (grault = 3, garply = 4, plugh = \"p\", xyzzy = \"x\"), waldo = \"w\"), group2 = (foo = 5, qux = 6))"],
    ["TestUnionDefaults", "()"],
    ["TestLists", "(list0 = [(f = void)], list1 = [(f = true), (f = false)], list8 = [(f = 1)], list16 = [(f = 2)], list32 = [(f = 3)], list64 = [(f = 4)], listP = [(f = \"p\")], int32ListList = [[1, 2], [], [3]], textListList = [[\"a\"], [\"b\", \"c\"]], structListList = [[(int32Field = 1)], []])"],
    ["TestListDefaults", "()"],
    ["TestGenericsWrapper2", GENERICS_TEXT],
    ["TestUseGenerics", "()"],
    ["TestUseGenerics", "(basic = (foo = (int8Field = 3)), inner2 = (baz = \"z\", innerBound = (foo = (int8Field = 2))))"],
  ];

  /** Structs with schema defaults: the generated writer sets a default-valued field explicitly, so C++ prints it. */
  const HAS_DEFAULTS = new Set(["TestDefaults", "TestUnionDefaults", "TestListDefaults", "TestUseGenerics"]);

  it.each(samples.map(([t, text], i) => [`${t} #${i}`, t, text] as const))("%s: C++ -> generated -> C++ keeps the value", (_label, type, text) => {
    const { plain, expected, actual } = roundTrip(type, text);
    if (!HAS_DEFAULTS.has(type)) expect(actual).toBe(expected);
    // What C++ reads from the generated bytes, written again by C++, reads back to the same plain value.
    const viaCpp = gen[type.replace(/\./g, "_")].decode(encodeText(type, actual));
    if (type === "TestUseGenerics") {
      // Its field defaultUser defaults to a TestUseGenerics whose own defaultUser is null, so reads as that
      // default again, without end: the plain view cuts the repetition with null (codec.structOrDefault),
      // and a value written with the cut in it reads back one level deeper. Everything else must be equal.
      delete viaCpp.defaultUser;
      delete plain.defaultUser;
    }
    expect(viaCpp).toEqual(plain);
  });

  it("reads short.txt's values field by field", () => {
    const { plain } = roundTrip("TestAllTypes", readFileSync(join(TESTDATA, "short.txt"), "utf8"));
    expect(plain).toMatchObject({
      boolField: true,
      int8Field: -123,
      int16Field: -12345,
      int32Field: -12345678,
      int64Field: -123456789012345n,
      uInt8Field: 234,
      uInt16Field: 45678,
      uInt32Field: 3456789012,
      uInt64Field: 12345678901234567890n,
      float32Field: 1234.5,
      float64Field: -1.23e47,
      textField: "foo",
      dataField: new TextEncoder().encode("bar"),
      enumField: 5, // corge
      voidList: [null, null, null, null, null, null],
      boolList: [true, false, false, true],
      int8List: [111, -111],
      uInt64List: [11111111111111111111n],
      float32List: [5555.5, Infinity, -Infinity, NaN],
      textList: ["plugh", "xyzzy", "thud"],
      dataList: ["oops", "exhausted", "rfc3092"].map((t) => new TextEncoder().encode(t)),
      enumList: [0, 7], // foo, garply
    });
    expect((plain.structField as Record<string, unknown>).textField).toBe("baz");
    expect((plain.structList as Record<string, unknown>[]).map((s) => s.textField)).toEqual(["structlist 1", "structlist 2", "structlist 3"]);
  });

  it("keeps a union member it does not know (from a newer schema) as its discriminant", () => {
    const bytes = gen.TestUnnamedUnion.encode({ before: "b", which: 7 } as never);
    const plain = gen.TestUnnamedUnion.decode(bytes);
    expect(plain.which).toBe(7);
    expect(plain.before).toBe("b");
    expect(gen.TestUnnamedUnion.decode(gen.TestUnnamedUnion.encode(plain)).which).toBe(7);
  });

  it("reads generic fields as their bound types", () => {
    const { plain } = roundTrip("TestGenericsWrapper2", GENERICS_TEXT);
    // TestGenericsWrapper2.value is TestGenericsWrapper(Text, TestAllTypes): foo is Text, rev's foo a struct.
    const generics = (plain.value as Record<string, unknown>).value as Record<string, unknown>;
    expect(generics.foo).toBe("hello");
    expect((generics.rev as Record<string, Record<string, unknown>>).foo.int32Field).toBe(5);
    expect(generics.list).toEqual([{ foo: "a", bar: expect.objectContaining({ int8Field: 1 }) }]);

    // Inner2(Text) inside TestGenerics(TestAllTypes, TestAnyPointer): baz is bound here, innerBound's foo is
    // inherited from the outer brand.
    const use = gen.TestUseGenerics.decode(encodeText("TestUseGenerics", '(inner2 = (baz = "z", innerBound = (foo = (int8Field = 2))))'));
    const inner2 = use.inner2 as Record<string, unknown>;
    expect(inner2.baz).toBe("z");
    expect(((inner2.innerBound as Record<string, unknown>).foo as Record<string, unknown>).int8Field).toBe(2);
  });

  it("reads TestDefaults' defaults from an empty message", () => {
    const plain = gen.TestDefaults.decode(encodeText("TestDefaults", "()"));
    expect(plain).toMatchObject({
      boolField: true,
      int8Field: -123,
      int64Field: -123456789012345n,
      uInt64Field: 12345678901234567890n,
      float32Field: 1234.5,
      float64Field: -1.23e47,
      textField: "foo",
      dataField: new TextEncoder().encode("bar"),
      int32List: [111111111, -111111111],
      textList: ["plugh", "xyzzy", "thud"],
    });
    expect((plain.structField as Record<string, unknown>).textField).toBe("baz");
  });

  it.each([
    ["binary", {}],
    ["flat", { framing: "flat" as const }],
    ["packed", { packed: true }],
    ["packedflat", { packed: true, framing: "flat" as const }],
    ["segmented", {}],
    ["segmented-packed", { packed: true }],
  ])("reads testdata/%s like capnp", (file, options) => {
    const plain = gen.TestAllTypes.decode(new Uint8Array(readFileSync(join(TESTDATA, file))), options);
    const again = gen.TestAllTypes.encode(plain);
    expect(decodeToText("TestAllTypes", again)).toBe(decodeToText("TestAllTypes", new Uint8Array(readFileSync(join(TESTDATA, "binary")))));
  });

  it("rejects hostile bytes with MessageDecodeError", () => {
    const good = encodeText("TestAllTypes", readFileSync(join(TESTDATA, "short.txt"), "utf8"));
    for (let cut = 0; cut < good.length; cut += 8) {
      expect(() => gen.TestAllTypes.decode(good.subarray(0, cut))).toThrow(MessageDecodeError);
    }
    expect(() => gen.TestAllTypes.decode(good, { traversalLimitInWords: 16 })).toThrow(/traversal limit/);
    expect(() => gen.TestAllTypes.decode(good, { nestingLimit: 1 })).toThrow(/nesting limit/);
    // A root struct pointer that points at itself: a cycle, stopped by the nesting limit.
    const loop = new Uint8Array(8 + 16);
    const v = new DataView(loop.buffer);
    v.setUint32(4, 2, true);
    v.setUint32(8, 0, true);
    v.setUint32(12, 0x00010000 | 0, true); // root: struct, offset 0, 0 data words, 1 pointer
    v.setUint32(16, 0xfffffffc, true); // the pointer: struct, offset -1 (itself)
    v.setUint32(20, 0x00010000, true);
    expect(() => gen.TestAllTypes.decode(loop)).toThrow(MessageDecodeError);
  });

  it("charges zero-sized list elements at their schema size, so a tiny message cannot make a million objects", () => {
    const schema = testSchema().node("TestAllTypes");
    if (schema.which !== "struct") throw new Error("TestAllTypes is not a struct");
    const field = schema.struct.fields.find((f) => f.name === "structList")!;
    if (field.which !== "slot") throw new Error("structList is not a slot");
    const { dataWordCount, pointerCount } = schema.struct;
    // Root TestAllTypes, all zero but for structList: a composite list of 1,000,000 zero-sized elements.
    const b = new MessageBuilder(64);
    const at = b.initStruct(0, dataWordCount, pointerCount);
    const list = at + dataWordCount + field.slot.offset;
    const tag = b.alloc(1);
    b.view.setUint32(list * 8, ((tag - list - 1) << 2) | 1, true);
    b.view.setUint32(list * 8 + 4, 7, true); // inline composite, 0 words of elements
    b.view.setUint32(tag * 8, 1_000_000 << 2, true); // 1,000,000 elements of 0 data words, 0 pointers
    const bytes = b.toFramed();
    expect(bytes.length).toBeLessThan(300);
    const started = performance.now();
    expect(() => gen.TestAllTypes.decode(bytes)).toThrow(/traversal limit/);
    expect(performance.now() - started).toBeLessThan(1000); // refused up front, not after building objects
    // A count the limit allows reads, as elements of all defaults.
    b.view.setUint32(tag * 8, 1000 << 2, true);
    const plain = gen.TestAllTypes.decode(b.toFramed());
    expect((plain.structList as { int32Field: number }[]).map((e) => e.int32Field)).toEqual(new Array(1000).fill(0));
  }, 60_000);
});

describe.skipIf(oracle === null)("generated code for this project's schemas", () => {
  const PROJECT = { cwd: REPO, importPath: ["generator/std"], standardImport: false };
  /** `capnp encode|decode` of a project schema, run at the repository root. */
  const capnpAt = (args: string[], input: Uint8Array | string): Buffer =>
    execFileSync("capnp", [args[0], "-I", "generator/std", "--no-standard-import", ...args.slice(1)], {
      cwd: REPO,
      input,
      env: { ...process.env, PWD: REPO },
      stdio: ["pipe", "pipe", "pipe"],
    });

  let files: string[];
  beforeAll(async () => {
    rmSync(join(OUT, "project"), { recursive: true, force: true });
    files = await generate(["test/fixtures/reused-constants.capnp", "examples/addressbook.capnp"], PROJECT, "project");
  }, 120_000);

  it("compiles under tsc --strict", () => {
    expect(typecheck(files)).toEqual([]);
  }, 120_000);

  it("examples/addressbook.capnp: what the generated code writes, C++ reads, and the other way", async () => {
    const ab = (await import(join(OUT, "project/examples/addressbook.capnp.ts"))) as TestModule;
    const value = {
      people: [
        { id: 1, name: "Ann", email: "ann@example.com", phones: [{ number: "555", type: 1 }], employment: { which: "employer", employer: "ACME" } },
        { id: 2, name: "Bo", phones: [], employment: { which: "unemployed" } },
      ],
    };
    const text = '(people = [(id = 1, name = "Ann", email = "ann@example.com", phones = [(number = "555", type = home)], employment = (employer = "ACME")), (id = 2, name = "Bo", employment = (unemployed = void))])';
    const decode = (bytes: Uint8Array) => capnpAt(["decode", "examples/addressbook.capnp", "AddressBook"], bytes).toString();
    const expected = decode(new Uint8Array(capnpAt(["encode", "examples/addressbook.capnp", "AddressBook"], text)));
    expect(decode(ab.AddressBook.encode(value))).toBe(expected);
    const read = ab.AddressBook.decode(new Uint8Array(capnpAt(["encode", "examples/addressbook.capnp", "AddressBook"], text)));
    expect(read).toEqual({
      people: [
        { ...value.people[0] },
        { id: 2, name: "Bo", email: "", phones: [], employment: { which: "unemployed" } },
      ],
    });
  });

  it("test/fixtures/reused-constants.capnp: constants are the values capnp compiled", async () => {
    const rc = (await import(join(OUT, "project/test/fixtures/reused-constants.capnp.ts"))) as unknown as Record<string, unknown>;
    expect(rc.raws).toEqual([new TextDecoder().decode(new Uint8Array([0x80, 0x08])), "plain"]);
    expect((rc.tree as { children: { name: string }[] }).children.map((c) => c.name)).toEqual(["leaf", "inline", "leaf"]);
  });
});
