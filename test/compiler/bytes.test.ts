/**
 * Text that is not plain UTF-8 must reach the request as the schema's bytes, as capnp 0.9.2 writes them: an
 * embedded file keeps a leading BOM and bytes that are not UTF-8, and so do Text literals, the Text of an
 * embedded message and doc comments (a Latin-1 comment keeps its 0xe9). ipcgen's request is compared with
 * capnp's byte for byte, element by element: nodes and source info by id (capnp writes them in hash-map
 * order), each element in canonical form. Decoding capnp's request and encoding it again keeps the bytes too.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeRequest, encodeRequest } from "../../generator/model/request.js";
import { hexId } from "../support/compare.js";
import { ipcgenCompile } from "../support/ipcgen.js";
import { type CompileArgs, capnpCompile, noteIfOracleMissing, oracle } from "../support/oracle.js";
import { type ListReader, MessageBuilder, MessageReader, type StructReader, canonicalize } from "../../runtime/codec/wire.js";

noteIfOracleMissing("byte-exact Text differential test");

const BOM = [0xef, 0xbb, 0xbf];
const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));

/** The files of the test directory: schemas and the files they embed. */
const FILES: Record<string, Uint8Array> = {
  "bom.txt": bytes(BOM, "hello BOM\n"),
  "bad.txt": bytes("a", [0xff, 0xfe, 0x80], "b\n"),
  "bom-bad.txt": bytes(BOM, [0xe9], "\n"),
  // A message of embed.capnp's M, as `capnp encode` writes (t = "a\xffb", l = ["\xef\xbb\xbfz", "\xe9"]).
  "message.bin": Buffer.from("000000000800000000000000000002000500000022000000050000001600000061ff620000000000050000002a0000000500000012000000efbbbf7a00000000e900000000000000", "hex"),
  "embed.capnp": bytes(
    "@0xd1b2a3c4e5f60718;\n",
    "annotation note(*) :Text;\n",
    'struct S $note(embed "bad.txt") {\n',
    '  a @0 :Text = embed "bom.txt";\n',
    '  b @1 :Text = embed "bad.txt";\n',
    '  c @2 :Text = embed "bom-bad.txt";\n',
    "}\n",
    'const textBom :Text = embed "bom.txt";\n',
    'const textBad :Text = embed "bad.txt";\n',
    'const dataBad :Data = embed "bad.txt";\n',
    'const dataBom :Data = embed "bom.txt";\n',
    'const list :List(Text) = [embed "bad.txt", embed "bom.txt"];\n',
    'const struct :S = (a = embed "bad.txt", b = embed "bom.txt");\n',
    'const escapes :Text = "\\xef\\xbb\\xbfx\\xff";\n',
    'const literalBom :Text = "', BOM, 'y";\n',
    'const literalLatin1 :Text = "caf', [0xe9], '";\n',
    "struct M { t @0 :Text; l @1 :List(Text); }\n",
    'const message :M = embed "message.bin";\n',
  ),
  "latin1.capnp": bytes(
    "@0xd1b2a3c4e5f60719;\n",
    "# file doc caf", [0xe9], "\n",
    "struct S { # struct doc ", [0xe9], "t", [0xe9], "\n",
    "  a @0 :Text; # field ", [0xe9], "\n",
    "  b @1 :UInt8; # ", BOM, "a BOM, then UTF-8: ", [0xc3, 0xa9], "\n",
    "  g :group { # group ", [0xe9], "\n",
    "    x @2 :Int32; # in a group ", [0xe9], "\n",
    "  }\n",
    "  u :union { # union ", [0xe9], "\n",
    "    y @3 :Void; # member ", [0xe9], "\n",
    "    z @4 :Void;\n",
    "  }\n",
    "}\n",
    "enum E { # enum ", [0xe9], "\n",
    "  x @0; # enumerant ", [0xe9], "\n",
    "}\n",
    "interface I { # interface ", [0xe9], "\n",
    "  m @0 (); # method ", [0xe9], "\n",
    "}\n",
    "const c :Int32 = 1; # const ", [0xe9], [0xe9], "\n",
  ),
};

/** A struct element in canonical form, as its own message. */
function canonicalElement(s: StructReader): Uint8Array {
  const b = new MessageBuilder(16);
  const dataWords = s.dataBytes >>> 3;
  const at = b.initStruct(0, dataWords, s.ptrCount);
  b.copyStructContent(at, dataWords, s.ptrCount, s, false);
  return canonicalize(MessageReader.fromFlat(b.toFlat()).root());
}

function elements(list: ListReader | null): StructReader[] {
  return list === null ? [] : Array.from({ length: list.length }, (_, i) => list.struct(i));
}

/** The request's parts: nodes and source info keyed by id, requested files and version in order. */
function requestParts(request: Uint8Array): Map<string, string> {
  const root = MessageReader.fromFramed(request).root().struct()!;
  const parts = new Map<string, string>();
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
  for (const n of elements(root.pointer(0)!.list())) parts.set(`node ${hexId(n.u64(0))}`, hex(canonicalElement(n)));
  elements(root.pointer(1)!.list()).forEach((f, i) => parts.set(`requestedFiles[${i}]`, hex(canonicalElement(f))));
  parts.set("capnpVersion", hex(canonicalize(root.pointer(2)!)));
  for (const s of elements(root.pointer(3)!.list())) parts.set(`sourceInfo ${hexId(s.u64(0))}`, hex(canonicalElement(s)));
  return parts;
}

describe.skipIf(oracle === null)("Text bytes survive as capnp keeps them", () => {
  let dir: string;
  let args: CompileArgs;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ipcgen-bytes-"));
    for (const [name, content] of Object.entries(FILES)) writeFileSync(join(dir, name), content);
    args = { cwd: dir };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function both(file: string): Promise<{ theirs: Uint8Array; ours: Uint8Array }> {
    const run = await capnpCompile([file], args);
    expect(run.messages, `capnp on ${file}`).toEqual([]);
    expect(run.status).toBe(0);
    const result = await ipcgenCompile([file], args);
    expect(result.messages, `ipcgen on ${file}`).toEqual([]);
    expect(result.ok).toBe(true);
    return { theirs: run.stdout, ours: encodeRequest(result.request) };
  }

  it.each(["embed.capnp", "latin1.capnp"])("%s: ipcgen's request equals capnp's, byte for byte", async (file) => {
    const { theirs, ours } = await both(file);
    expect(Object.fromEntries(requestParts(ours))).toEqual(Object.fromEntries(requestParts(theirs)));
  });

  it.each(["embed.capnp", "latin1.capnp"])("%s: capnp's request, decoded and encoded again, keeps its Text bytes", async (file) => {
    const { theirs } = await both(file);
    expect(Object.fromEntries(requestParts(encodeRequest(decodeRequest(theirs))))).toEqual(Object.fromEntries(requestParts(theirs)));
  });

  it("capnp keeps the bytes the test is about (the oracle's request has them)", async () => {
    const { theirs } = await both("latin1.capnp");
    const has = (needle: Uint8Array) => Buffer.from(theirs).includes(Buffer.from(needle));
    expect(has(bytes("file doc caf", [0xe9], "\n"))).toBe(true);
    expect(has(bytes(BOM, "a BOM"))).toBe(true);
    const embedded = (await both("embed.capnp")).theirs;
    expect(Buffer.from(embedded).includes(Buffer.from(bytes(BOM, "hello BOM\n", [0])))).toBe(true);
    expect(Buffer.from(embedded).includes(Buffer.from(bytes("a", [0xff, 0xfe, 0x80], "b\n", [0])))).toBe(true);
    expect(Buffer.from(embedded).includes(Buffer.from(bytes("a", [0xff], "b", [0])))).toBe(true);
  });

  it("the model reads bytes that are not UTF-8 as U+FFFD and keeps a BOM", async () => {
    const result = await ipcgenCompile(["latin1.capnp"], args);
    const file = result.request.nodes.find((n) => n.which === "file")!;
    const info = result.request.sourceInfo.find((s) => s.id === file.id)!;
    expect(info.docComment).toBe("file doc caf\uFFFD\n");
    const embedded = await ipcgenCompile(["embed.capnp"], args);
    const constText = (name: string) => {
      const node = embedded.request.nodes.find((n) => n.displayName === `embed.capnp:${name}`)!;
      return node.which === "const" && node.const.value.which === "text" ? node.const.value.text : undefined;
    };
    expect(constText("textBom")).toBe("\uFEFFhello BOM\n");
    expect(constText("textBad")).toBe("a\uFFFD\uFFFD\uFFFDb\n");
    expect(constText("literalBom")).toBe("\uFEFFy");
    // Reading capnp's request keeps the BOM too.
    const theirs = decodeRequest((await capnpCompile(["embed.capnp"], args)).stdout);
    const node = theirs.nodes.find((n) => n.displayName === "embed.capnp:textBom")!;
    expect(node.which === "const" && node.const.value.which === "text" && node.const.value.text).toBe("\uFEFFhello BOM\n");
  });
});
