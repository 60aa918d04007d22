/**
 * Self-test of the differential harness, against the oracle alone: capnp's request equals itself (decoded
 * twice, and in any node order), and every single mutation of it is detected with a path that names it.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { markNullness } from "../../generator/model/codec.js";
import { decodeRequest, encodeRequest } from "../../generator/model/request.js";
import type { CodeGeneratorRequest, Field, Node, Value } from "../../generator/model/schema.js";
import {
  assertSameRequest,
  assertSameRequestBytes,
  diffRequestBytes,
  diffRequests,
  diffValues,
  formatDiff,
  hexId,
  normalizeRequest,
  restrictToFiles,
} from "./compare.js";
import { CORPUS_ARGS } from "./ipcgen.js";
import { capnpCompileSync, noteIfOracleMissing, oracle } from "./oracle.js";

noteIfOracleMissing("compare self-test");

type StructNodeT = Node & { which: "struct" };

describe("diffValues (no oracle needed)", () => {
  it("compares bigint, NaN, -0, bytes and pointer values exactly", () => {
    expect(diffValues(1n, 1n).total).toBe(0);
    expect(diffValues(1n, 2n).total).toBe(1);
    expect(diffValues(NaN, NaN).total).toBe(0);
    expect(diffValues(0, -0).differences[0]).toMatchObject({ expected: "0", actual: "-0" });
    expect(diffValues(new Uint8Array([1, 2]), new Uint8Array([1, 2])).total).toBe(0);
    expect(diffValues(new Uint8Array([1, 2]), new Uint8Array([1, 3])).differences[0].actual).toMatch(/first difference at byte 1/);
    expect(diffValues(new Uint8Array([1]), new Uint8Array([1, 0])).total).toBe(1);
    const p = (...b: number[]) => ({ canonical: new Uint8Array(b) });
    expect(diffValues({ list: p(1, 2) }, { list: p(1, 2) }).total).toBe(0);
    expect(diffValues({ list: p(1, 2) }, { list: p(1, 2, 3) }, "v").differences[0].path).toBe("v.list.canonical");
    expect(diffValues({ list: p(1) }, { list: null }).total).toBe(1);
  });

  it("reports a changed union member as `which`, not as its contents", () => {
    const r = diffValues({ which: "int32", int32: 1 }, { which: "int64", int64: 1n }, "x");
    expect(r.differences).toEqual([{ path: "x.which", expected: '"int32"', actual: '"int64"' }]);
  });

  it("names array elements by index and name, and reports length changes", () => {
    const r = diffValues([{ name: "a", v: 1 }, { name: "b", v: 2 }], [{ name: "a", v: 1 }, { name: "b", v: 3 }], "f");
    expect(r.differences).toEqual([{ path: "f[1](b).v", expected: "2", actual: "3" }]);
    expect(diffValues([1, 2], [1]).differences.map((d) => d.path)).toEqual([".length", "[1]"]);
  });
});

describe.skipIf(oracle === null)("compare: capnp's request against itself and its mutations", () => {
  let bytes: Uint8Array;
  const fresh = (): CodeGeneratorRequest => decodeRequest(bytes);

  beforeAll(() => {
    const run = capnpCompileSync(["src/capnp/test.capnp"], CORPUS_ARGS);
    expect(run.status, run.stderr).toBe(0);
    bytes = run.stdout;
  });

  const structNamed = (req: CodeGeneratorRequest, displayName: string): StructNodeT => {
    const node = req.nodes.find((n) => n.displayName === displayName);
    if (node === undefined || node.which !== "struct") throw new Error(`no struct ${displayName}`);
    return node;
  };
  const fieldNamed = (req: CodeGeneratorRequest, struct: string, name: string): Field & { which: "slot" } => {
    const f = structNamed(req, struct).struct.fields.find((x) => x.name === name);
    if (f === undefined || f.which !== "slot") throw new Error(`no slot ${struct}.${name}`);
    return f;
  };

  it("finds no difference between two decodings, nor after shuffling nodes and sourceInfo", () => {
    const a = fresh();
    const b = fresh();
    expect(diffRequests(a, b).total).toBe(0);
    b.nodes.reverse();
    b.sourceInfo.reverse();
    expect(diffRequests(a, b).total).toBe(0);
    expect(() => assertSameRequest(a, b, "same")).not.toThrow();
    expect(normalizeRequest(b).nodes.map((n) => n.id)).toEqual(normalizeRequest(a).nodes.map((n) => n.id));
  });

  const mutations: [string, (r: CodeGeneratorRequest) => void, RegExp][] = [
    [
      "a slot offset",
      (r) => (fieldNamed(r, "src/capnp/test.capnp:TestAllTypes", "int16Field").slot.offset += 1),
      /^nodes\[id=0x[0-9a-f]{16}\(src\/capnp\/test\.capnp:TestAllTypes\)\]\.struct\.fields\[\d+\]\(int16Field\)\.slot\.offset: expected \d+, got \d+$/,
    ],
    [
      "a node's id",
      (r) => (structNamed(r, "src/capnp/test.capnp:TestAllTypes").id ^= 1n),
      /^nodes\[id=0x[0-9a-f]{16}\(src\/capnp\/test\.capnp:TestAllTypes\)\]: expected (present|absent), got (absent|present)$/,
    ],
    [
      "a field type's id (bigint)",
      (r) => {
        const t = fieldNamed(r, "src/capnp/test.capnp:TestAllTypes", "structField").slot.type;
        if (t.which === "struct") t.struct.typeId += 2n;
      },
      /\.fields\[\d+\]\(structField\)\.slot\.type\.struct\.typeId: expected 0x[0-9a-f]{16}\(src\/capnp\/test\.capnp:TestAllTypes\), got 0x/,
    ],
    [
      "the order of two fields",
      (r) => {
        const fields = structNamed(r, "src/capnp/test.capnp:TestAllTypes").struct.fields;
        [fields[0], fields[1]] = [fields[1], fields[0]];
      },
      /\.struct\.fields\[0\]\(\w+\)\.name: expected "voidField", got "boolField"/,
    ],
    [
      "a removed field",
      (r) => structNamed(r, "src/capnp/test.capnp:TestAllTypes").struct.fields.pop(),
      /\.struct\.fields\.length: expected \d+, got \d+/,
    ],
    [
      "a display name",
      (r) => (structNamed(r, "src/capnp/test.capnp:TestAllTypes").displayName += "x"),
      /\.displayName: expected "src\/capnp\/test\.capnp:TestAllTypes", got "src\/capnp\/test\.capnp:TestAllTypesx"/,
    ],
    [
      "an Int64 default",
      (r) => {
        const v = fieldNamed(r, "src/capnp/test.capnp:TestDefaults", "int64Field").slot.defaultValue;
        if (v.which === "int64") v.int64 -= 1n;
      },
      /\(int64Field\)\.slot\.defaultValue\.int64: expected -123456789012345n, got -123456789012346n/,
    ],
    [
      "a Float32 default turned -0",
      (r) => {
        const v = fieldNamed(r, "src/capnp/test.capnp:TestDefaults", "float32Field").slot.defaultValue;
        if (v.which === "float32") v.float32 = -0;
      },
      /\(float32Field\)\.slot\.defaultValue\.float32: expected 1234\.5, got -0/,
    ],
    [
      "a Data default (Uint8Array)",
      (r) => {
        const v = fieldNamed(r, "src/capnp/test.capnp:TestDefaults", "dataField").slot.defaultValue;
        if (v.which === "data") v.data = Uint8Array.from([...v.data, 0]);
      },
      /\(dataField\)\.slot\.defaultValue\.data: expected <3 bytes 626172>, got <4 bytes 62617200>/,
    ],
    [
      "a struct default (PointerValue)",
      (r) => {
        const v = fieldNamed(r, "src/capnp/test.capnp:TestDefaults", "structField").slot.defaultValue;
        if (v.which === "struct" && v.struct !== null) {
          const c = v.struct.canonical.slice();
          c[c.length - 1] ^= 0x80;
          v.struct = { canonical: c };
        }
      },
      // Flipping padding changes only the layout: the value as read (the canonical form) is the same.
      /\(structField\)\.slot\.defaultValue\.struct\.(canonical|layout): expected <\d+ bytes [0-9a-f…]+>, got <\d+ bytes [0-9a-f…]+> \(first difference at byte \d+\)/,
    ],
    [
      "a struct default stored trimmed (the canonical form) instead of at full size",
      (r) => {
        const v = fieldNamed(r, "src/capnp/test.capnp:TestDefaults", "structField").slot.defaultValue;
        if (v.which === "struct" && v.struct !== null) v.struct = { canonical: v.struct.canonical };
      },
      /\(structField\)\.slot\.defaultValue\.struct\.layout: expected <\d+ bytes [0-9a-f…]+>, got <\d+ bytes [0-9a-f…]+> \(first difference at byte \d+\)/,
    ],
    [
      "an empty list written as null (an interface without methods: its source info's members)",
      (r) => {
        const node = r.nodes.find((n) => n.displayName === "src/capnp/test.capnp:TestExtends2")!;
        const info = r.sourceInfo.find((x) => x.id === node.id)!;
        expect(info.members).toEqual([]);
        info.members = markNullness([], true);
      },
      /^sourceInfo\[id=0x[0-9a-f]{16}\(src\/capnp\/test\.capnp:TestExtends2\)\]\.members: expected present \[0 elements\], got a null pointer$/,
    ],
    [
      "an empty list written as null (an empty struct's annotations, which capnp leaves null, written empty)",
      (r) => {
        const node = r.nodes.find((n) => n.displayName === "src/capnp/test.capnp:TestEmptyStruct")!;
        expect(node.annotations).toEqual([]);
        node.annotations = markNullness([], false);
      },
      /^nodes\[id=0x[0-9a-f]{16}\(src\/capnp\/test\.capnp:TestEmptyStruct\)\]\.annotations: expected a null pointer, got present \[0 elements\]$/,
    ],
    [
      "a default's kind",
      (r) => {
        const f = fieldNamed(r, "src/capnp/test.capnp:TestDefaults", "int32Field");
        f.slot.defaultValue = { which: "int64", int64: -12345678n } as Value;
      },
      /\(int32Field\)\.slot\.defaultValue\.which: expected "int32", got "int64"/,
    ],
    [
      "a doc comment",
      (r) => {
        const withDoc = r.sourceInfo.find((s) => s.docComment !== "")!;
        withDoc.docComment += "!";
      },
      /^sourceInfo\[id=0x[0-9a-f]{16}\([^)]*\)\]\.docComment: expected ".*", got ".*!"$/,
    ],
    [
      "a removed sourceInfo entry",
      (r) => r.sourceInfo.splice(3, 1),
      /^sourceInfo\[id=0x[0-9a-f]{16}(\(.*\))?\]: expected present, got absent$/,
    ],
    [
      "a requested file's import",
      (r) => (r.requestedFiles[0].imports[0].name += "x"),
      /^requestedFiles\[0\]\.imports\[0\]\(.*\)\.name: expected ".*", got ".*x"$/,
    ],
    [
      "an annotation",
      (r) => {
        const node = r.nodes.find((n) => n.annotations.length > 0)!;
        node.annotations[0].id += 1n;
      },
      /\.annotations\[0\]\.id: expected 0x/,
    ],
    [
      "the capnp version",
      (r) => (r.capnpVersion.micro = 3),
      /^capnpVersion\.micro: expected 2, got 3$/,
    ],
  ];

  it.each(mutations)("detects a change of %s", (_what, mutate, path) => {
    const expected = fresh();
    const actual = fresh();
    mutate(actual);
    const result = diffRequests(expected, actual);
    expect(result.total).toBeGreaterThan(0);
    const lines = formatDiff(result).split("\n").map((l) => l.trim());
    expect(lines.some((l) => path.test(l)), lines.join("\n")).toBe(true);
    expect(() => assertSameRequest(expected, actual, "mutated")).toThrow(/^mutated: ipcgen's model differs from capnp's; \d+ differences?:/);
  });

  it("compares the encoded requests entry by entry: equal as re-encoded, and a changed Text or layout is found", () => {
    expect(diffRequestBytes(bytes, encodeRequest(fresh())).total).toBe(0);
    expect(() => assertSameRequestBytes(bytes, encodeRequest(fresh()), "same")).not.toThrow();

    const doc = fresh();
    const withDoc = doc.sourceInfo.find((x) => x.docComment !== "")!;
    withDoc.docComment += "!";
    const r1 = diffRequestBytes(bytes, encodeRequest(doc));
    expect(r1.total).toBe(1);
    expect(r1.differences[0].path).toBe(`sourceInfo[id=${hexId(withDoc.id)}(${doc.nodes.find((n) => n.id === withDoc.id)!.displayName})] (bytes)`);
    // Left out when exempted, or when outside the ids compared.
    expect(diffRequestBytes(bytes, encodeRequest(doc), { exempt: (kind, id) => kind === "sourceInfo" && id === withDoc.id }).total).toBe(0);
    expect(diffRequestBytes(bytes, encodeRequest(doc), { only: new Set([doc.nodes[0].id === withDoc.id ? doc.nodes[1].id : doc.nodes[0].id]) }).total).toBe(0);

    const trimmed = fresh();
    const v = fieldNamed(trimmed, "src/capnp/test.capnp:TestDefaults", "structField").slot.defaultValue;
    if (v.which === "struct" && v.struct !== null) v.struct = { canonical: v.struct.canonical };
    const r2 = diffRequestBytes(bytes, encodeRequest(trimmed));
    expect(r2.differences.map((d) => d.path)).toEqual([expect.stringMatching(/^nodes\[id=0x[0-9a-f]{16}\(src\/capnp\/test\.capnp:TestDefaults\)\] \(bytes\)$/)]);
    expect(() => assertSameRequestBytes(bytes, encodeRequest(trimmed), "trimmed")).toThrow(/^trimmed: ipcgen's request bytes differ from capnp's; 1 difference:/);
  });

  it("restricts a batch to one file's nodes: test.capnp's part of its own request is all of its nodes", () => {
    const r = fresh();
    const own = restrictToFiles(r, ["src/capnp/test.capnp"]);
    expect(own.nodes.length).toBeGreaterThan(100);
    expect(own.nodes.every((n) => n.displayName.startsWith("src/capnp/test.capnp"))).toBe(true);
    expect(own.requestedFiles.map((f) => f.filename)).toEqual(["src/capnp/test.capnp"]);
    expect(r.nodes.length).toBeGreaterThan(own.nodes.length); // the imports' nodes are left out
  });
});
