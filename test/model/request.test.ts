import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { decodeRequest, encodeRequest } from "../../generator/model/request.js";
import { SCHEMA_CAPNP_NODES } from "../../generator/model/schema-capnp.nodes.js";
import { NO_DISCRIMINANT, type Node } from "../../generator/model/schema.js";
import { MessageBuilder, MessageReader, canonicalize } from "../../runtime/codec/wire.js";
import { officialSchemaNodes, nodesOfFile } from "../../scripts/gen-schema-nodes.js";
import { CORPUS, canonical, capnp, compile, requestText, testSchema } from "./oracle.js";

/** The message copied into one segment in preorder, keeping every struct's size and every null pointer. */
function plainCopy(framed: Uint8Array): Uint8Array {
  const b = new MessageBuilder(1 << 12);
  b.copyPointer(0, MessageReader.fromFramed(framed, { traversalLimitInWords: Infinity }).root(), false);
  return b.toFlat();
}

const corpusFiles = execFileSync("find", ["src", "samples", "-name", "*.capnp"], { cwd: CORPUS })
  .toString()
  .trim()
  .split("\n")
  .sort();

describe("CodeGeneratorRequest round trip through capnp 0.9.2", () => {
  it("covers the whole corpus", () => {
    expect(corpusFiles.length).toBeGreaterThanOrEqual(21);
  });

  it.each(corpusFiles)("%s", (file) => {
    const official = compile(file);
    const req = decodeRequest(official);
    const ours = encodeRequest(req);
    // Text shows every field but prints AnyPointer contents as opaque; canonical bytes cover those too.
    expect(requestText(ours)).toBe(requestText(official));
    expect(Buffer.from(canonical(ours)).equals(Buffer.from(canonical(official)))).toBe(true);
    // Our canonicalization of capnp's message agrees with capnp's.
    const mine = canonicalize(MessageReader.fromFramed(official).root());
    expect(Buffer.from(mine).equals(Buffer.from(canonical(official)))).toBe(true);
    // And as laid out, not only as read: structs at their written sizes (a struct default is stored at
    // full size, which the canonical form trims) and empty lists told apart from null ones.
    expect(Buffer.from(plainCopy(ours)).equals(Buffer.from(plainCopy(official)))).toBe(true);
    // Decoding our own output gives the same model.
    expect(decodeRequest(ours)).toEqual(req);
  });

  it("reads multi-segment requests with far and double-far pointers", () => {
    const official = compile("src/capnp/test.capnp");
    const segmented = new Uint8Array(capnp(["convert", "--segment-size=8", "binary:binary"], official));
    const segments = new DataView(segmented.buffer, segmented.byteOffset).getUint32(0, true) + 1;
    expect(segments).toBeGreaterThan(100);
    expect(decodeRequest(segmented)).toEqual(decodeRequest(official));
  });
});

describe("decoded model", () => {
  it("has the known facts of test.capnp", () => {
    const { req, node } = testSchema();
    expect(req.capnpVersion).toEqual({ major: 0, minor: 9, micro: 2 });
    expect(req.requestedFiles.map((f) => f.filename)).toEqual(["src/capnp/test.capnp"]);
    const all = node("TestAllTypes");
    expect(all.id).toBe(0xa0a8f314b80b63fdn);
    expect(all.which).toBe("struct");
    if (all.which !== "struct") return;
    expect(all.struct).toMatchObject({ dataWordCount: 6, pointerCount: 20, preferredListEncoding: "inlineComposite", isGroup: false });
    const f = (name: string) => all.struct.fields.find((x) => x.name === name)!;
    expect(f("int8Field")).toMatchObject({ codeOrder: 2, discriminantValue: NO_DISCRIMINANT, ordinal: { which: "explicit", explicit: 2 } });
    expect(f("boolField")).toMatchObject({ which: "slot", slot: { offset: 0, type: { which: "bool" } } });
    expect(f("int8Field")).toMatchObject({ slot: { offset: 1, type: { which: "int8" } } });
    expect(f("textField")).toMatchObject({ slot: { offset: 0, type: { which: "text" }, defaultValue: { which: "text", text: "" } } });
    expect(f("structList")).toMatchObject({
      slot: { type: { which: "list", list: { elementType: { which: "struct", struct: { typeId: 0xa0a8f314b80b63fdn } } } } },
    });
    const defaults = node("TestDefaults");
    if (defaults.which !== "struct") throw new Error("not a struct");
    const int32 = defaults.struct.fields.find((x) => x.name === "int32Field")!;
    expect(int32).toMatchObject({ slot: { defaultValue: { which: "int32", int32: -12345678 }, hadExplicitDefault: true } });
    const u64 = defaults.struct.fields.find((x) => x.name === "uInt64Field")!;
    expect(u64).toMatchObject({ slot: { defaultValue: { which: "uint64", uint64: 12345678901234567890n } } });
    const union = node("TestUnion.union0");
    expect(union).toMatchObject({ which: "struct", struct: { isGroup: true, discriminantCount: 14 } });
    const e = node("TestEnum");
    expect(e.which === "enum" && e.enum.enumerants.map((x) => x.name)).toEqual(["foo", "bar", "baz", "qux", "quux", "corge", "grault", "garply"]);
    const generics = node("TestGenerics");
    expect(generics).toMatchObject({ isGeneric: true, parameters: [{ name: "Foo" }, { name: "Bar" }] });
  });

  it("schema.capnp: Field.discriminantValue has its 0xffff default at offset 1", () => {
    const field = SCHEMA_CAPNP_NODES.find((n) => n.displayName.endsWith(":Field"))!;
    expect(field.id).toBe(0x9aad50a41f4af45fn);
    if (field.which !== "struct") throw new Error("not a struct");
    expect(field.struct).toMatchObject({ dataWordCount: 3, pointerCount: 4 });
    expect(field.struct.fields.find((f) => f.name === "discriminantValue")).toMatchObject({
      slot: { offset: 1, type: { which: "uint16" }, defaultValue: { which: "uint16", uint16: 0xffff } },
    });
  });

  it("the committed schema.capnp nodes equal the bootstrap output and capnp's request", () => {
    expect(officialSchemaNodes()).toEqual(SCHEMA_CAPNP_NODES);
    const req = decodeRequest(compile("src/capnp/schema.capnp"));
    const nodes: Node[] = nodesOfFile(req.nodes, req.requestedFiles[0].id);
    expect(nodes).toEqual(SCHEMA_CAPNP_NODES);
  });

  it("decodes and encodes test.capnp's request in a few ms", () => {
    const bytes = compile("src/capnp/test.capnp");
    const req = decodeRequest(bytes);
    for (let i = 0; i < 20; i++) encodeRequest(decodeRequest(bytes)); // warm up
    const runs = 20;
    let t = performance.now();
    for (let i = 0; i < runs; i++) decodeRequest(bytes);
    const dec = (performance.now() - t) / runs;
    t = performance.now();
    for (let i = 0; i < runs; i++) encodeRequest(req);
    const enc = (performance.now() - t) / runs;
    console.log(`test.capnp request (${bytes.length} bytes): decode ${dec.toFixed(2)} ms, encode ${enc.toFixed(2)} ms`);
    expect(dec).toBeLessThan(25);
    expect(enc).toBeLessThan(25);
  });
});
