import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import type { Declaration, Expression } from "../../generator/compiler/ast.js";
import { lex, type Token } from "../../generator/compiler/lexer.js";
import { FileErrorReporter, type Diagnostic } from "../../generator/compiler/diagnostics.js";
import { parseCapnpText, type TextValue } from "./support/capnp-text.js";
import { CORPUS } from "../support/ipcgen.js";
import {
  capnpParserErrors,
  capnpRequestText,
  haveCapnp,
  isParserMessage,
  normalizeMessage,
  parseSource,
} from "./parse-helpers.js";

const ID = "@0xccd0890aa4926a9b;\n";

function corpusFiles(dir = CORPUS): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return corpusFiles(path);
    return name.endsWith(".capnp") ? [relative(CORPUS, path)] : [];
  });
}

function parseOk(source: string) {
  const { parsed, messages } = parseSource(source);
  expect(messages).toEqual([]);
  return parsed.root;
}

function child(decl: Declaration, name: string): Declaration {
  const found = decl.nestedDecls.find((d) => d.name.value === name);
  if (found === undefined) throw new Error(`no ${name} in ${decl.name.value}`);
  return found;
}

function tokensOf(source: string): { tokens: Token[]; errors: Diagnostic[] } {
  const errors: Diagnostic[] = [];
  const statements = lex(new TextEncoder().encode(source), new FileErrorReporter("file", errors));
  return { tokens: statements.flatMap((s) => s.tokens), errors };
}

function textAt(source: string, node: { start: number; end: number }): string {
  return Buffer.from(source).subarray(node.start, node.end).toString();
}

// ------------------------------------------------------------------------------------------------

describe("corpus", () => {
  const files = corpusFiles();

  it("finds the corpus", () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
  });

  it.each(files)("%s parses without errors", (file) => {
    const { parsed, messages } = parseSource(readFileSync(join(CORPUS, file)), file);
    expect(messages).toEqual([]);
    expect(parsed.root.which).toBe("file");
    expect(parsed.root.id.which).toBe("uid");
    expect(parsed.root.nestedDecls.length).toBeGreaterThan(0);
  });

  it("builds the expected tree for test.capnp", () => {
    const source = readFileSync(join(CORPUS, "src/capnp/test.capnp"), "utf8");
    const { parsed, messages } = parseSource(source);
    expect(messages).toEqual([]);
    const root = parsed.root;
    expect(root.id).toMatchObject({ which: "uid", uid: { value: 0xd508eebdc2dc42b8n } });
    expect(root.annotations).toHaveLength(1);
    expect(textAt(source, root.annotations[0].name)).toBe("Cxx.namespace");

    const cxx = child(root, "Cxx");
    expect(cxx).toMatchObject({ which: "using", target: { which: "import", path: { value: "c++.capnp" } } });

    const testEnum = child(root, "TestEnum");
    expect(testEnum.which).toBe("enum");
    expect(testEnum.nestedDecls.map((d) => [d.name.value, d.which, d.id.which === "ordinal" && d.id.ordinal.value])).toEqual(
      ["foo", "bar", "baz", "qux", "quux", "corge", "grault", "garply"].map((n, i) => [n, "enumerant", BigInt(i)]),
    );

    const allTypes = child(root, "TestAllTypes");
    expect(allTypes.which).toBe("struct");
    expect(allTypes.nestedDecls).toHaveLength(34);
    const int32Field = child(allTypes, "int32Field");
    expect(int32Field).toMatchObject({ which: "field", id: { which: "ordinal", ordinal: { value: 4n } } });
    expect(int32Field.which === "field" && int32Field.type).toMatchObject({ which: "relativeName", name: { value: "Int32" } });

    const union0 = child(child(root, "TestUnion"), "union0");
    expect(union0).toMatchObject({ which: "union", id: { which: "ordinal", ordinal: { value: 0n } } });
    expect(union0.docComment).toBe("Pack union 0 under ideal conditions: there is no unused padding space prior to it.\n");
    const groups = child(child(root, "TestGroups"), "groups");
    expect(groups).toMatchObject({ which: "union", id: { which: "unspecified" } });
    expect(child(groups, "foo").which).toBe("group");

    const generics = child(root, "TestGenerics");
    expect(generics.parameters.map((p) => p.name)).toEqual(["Foo", "Bar"]);
    const ann = child(generics, "ann");
    expect(ann).toMatchObject({ which: "annotation", targetsStruct: true, targetsField: false });

    const alias = child(root, "BrandedAlias");
    expect(alias.which === "using" && alias.target).toMatchObject({
      which: "application",
      function: { which: "relativeName", name: { value: "TestGenerics" } },
      params: [{ name: null, value: { which: "relativeName" } }, { name: null, value: { which: "relativeName" } }],
    });

    const iface = child(root, "TestInterface");
    expect(iface.nestedDecls.map((d) => d.name.value)).toEqual(["foo", "bar", "baz"]);
    const foo = child(iface, "foo");
    expect(foo.which).toBe("method");
    if (foo.which === "method") {
      expect(foo.params.kind.which).toBe("namedList");
      if (foo.params.kind.which === "namedList") {
        expect(foo.params.kind.params.map((p) => p.name?.value)).toEqual(["i", "j"]);
      }
      expect(foo.results?.kind).toMatchObject({ which: "namedList", params: [{ name: { value: "x" } }] });
    }
    const baz = child(iface, "baz");
    expect(baz.which === "method" && baz.results).toBeNull();

    const ext = child(root, "TestExtends");
    expect(ext.which === "interface" && ext.superclasses.map((s) => textAt(source, s))).toEqual(["TestInterface"]);

    const streaming = root.nestedDecls.find((d) => d.name.value === "TestStreaming")!;
    const doStreamI = child(streaming, "doStreamI");
    expect(doStreamI.which === "method" && doStreamI.results?.kind).toEqual({ which: "stream" });

    const nonAscii = child(root, "nonAsciiText");
    expect(nonAscii.which === "const" && nonAscii.value).toMatchObject({ which: "string", value: "♫ é ✓" });
    const embedded = child(root, "embeddedData");
    expect(embedded.which === "const" && embedded.value).toMatchObject({ which: "embed", path: { value: "testdata/packed" } });

    const renamed = child(root, "TestNameAnnotation");
    expect(renamed.annotations).toHaveLength(1);
    expect(renamed.annotations[0].value).toMatchObject({ which: "string", value: "RenamedStruct" });
  });
});

// ------------------------------------------------------------------------------------------------

/** Our declaration at a `A.B.C` path; unnamed unions are looked through, as capnp's scopes do. */
function findPath(root: Declaration, path: string[]): Declaration | null {
  let current = root;
  for (const name of path) {
    const next = findMember(current, name);
    if (next === null) return null;
    current = next;
  }
  return current;
}

function findMember(decl: Declaration, name: string): Declaration | null {
  for (const d of decl.nestedDecls) {
    if (d.name.value === name && !(d.which === "union" && name === "")) return d;
    if (d.which === "union" && d.name.value === "") {
      const inner = findMember(d, name);
      if (inner !== null) return inner;
    }
  }
  return null;
}

type Obj = { [field: string]: TextValue };

function memberNames(node: Obj): string[] {
  const kind = (node.struct ?? node.enum ?? node.interface) as Obj | undefined;
  const list = (kind?.fields ?? kind?.enumerants ?? kind?.methods ?? []) as Obj[];
  return list.map((m) => m.name as string);
}

describe.skipIf(!haveCapnp)("doc comments agree with capnp's sourceInfo", () => {
  it.each(corpusFiles())("%s", (file) => {
    const request = parseCapnpText(capnpRequestText(CORPUS, file)) as Obj;
    const nodes = new Map((request.nodes as Obj[]).map((n) => [n.id as string, n]));
    const { parsed } = parseSource(readFileSync(join(CORPUS, file)), file);
    let compared = 0;
    for (const info of request.sourceInfo as Obj[]) {
      const node = nodes.get(info.id as string);
      if (node === undefined) continue; // capnp 0.9.2 emits an entry with id 0 for some files
      const displayName = node.displayName as string;
      if (displayName !== file && !displayName.startsWith(file + ":")) continue; // an imported file
      if (displayName.includes("$")) continue; // synthesized method param/result structs
      const path = displayName === file ? [] : displayName.slice(file.length + 1).split(".");
      const decl = findPath(parsed.root, path);
      expect(decl, displayName).not.toBeNull();
      expect(decl!.docComment, displayName).toBe((info.docComment as string | undefined) ?? null);
      const members = (info.members ?? []) as Obj[];
      memberNames(node).forEach((name, i) => {
        const member = findMember(decl!, name);
        expect(member, `${displayName}.${name}`).not.toBeNull();
        expect(member!.docComment, `${displayName}.${name}`).toBe((members[i]?.docComment as string | undefined) ?? null);
        compared++;
      });
      compared++;
    }
    expect(compared).toBeGreaterThan(0);
  });
});

// ------------------------------------------------------------------------------------------------

describe("negative corpus", () => {
  for (const name of ["errors", "errors2"]) {
    it(`reproduces the parser errors of ${name}.txt`, () => {
      const dir = join(CORPUS, "src/capnp/testdata");
      const expected = readFileSync(join(dir, `${name}.txt`), "utf8").split("\n").filter(isParserMessage);
      const { messages } = parseSource(readFileSync(join(dir, `${name}.capnp.nobuild`)), "file");
      expect(messages).toEqual(expected);
    });
  }

  it("errors.txt has the parser errors we expect to own", () => {
    const expected = readFileSync(join(CORPUS, "src/capnp/testdata/errors.txt"), "utf8").split("\n").filter(isParserMessage);
    expect(expected).toHaveLength(5);
  });
});

// ------------------------------------------------------------------------------------------------

describe("bad input", () => {
  const cases: [string, string | Uint8Array, string[]][] = [
    ["unterminated string at end of line", ID + 'const a :Text = "abc;\n', ["file:2:22: error: Parse error."]],
    ["unterminated string at end of file", ID + 'const a :Text = "abc', ["file:2:21: error: Parse error."]],
    ["unknown escape", ID + 'const a :Text = "a\\qb";\n', ["file:2:20: error: Parse error."]],
    ["short hex escape", ID + 'const a :Text = "a\\x4gb";\n', ["file:2:22: error: Parse error."]],
    ["missing closing brace", ID + "struct Foo {\n  a @0 :Text;\n", ["file:4:1: error: Parse error."]],
    ["extra closing brace", ID + "struct Foo {\n  a @0 :Text;\n}\n}\n", ["file:5:1: error: Parse error."]],
    ["statement missing ';' before '}'", ID + "struct Foo {\n  a @0 :Text\n}\n", ["file:4:1: error: Parse error."]],
    ["statement missing ';' before the next", ID + "struct Foo {\n  a @0 :Text\n  b @1 :Text;\n}\n", ["file:4:5: error: Parse error."]],
    ["garbage byte", ID + "struct Foo {} `\n", ["file:2:15: error: Parse error."]],
    [
      "NUL byte",
      ID + "\x00struct S {}\n",
      [
        "file:2:1-2: error: Non-UTF-8 input detected. Cap'n Proto schema files must be UTF-8 text.",
        "file:2:2: error: Parse error.",
      ],
    ],
    [
      "UTF-16 byte order mark",
      new Uint8Array([...new TextEncoder().encode(ID), 0xff, 0xfe, 0x41]),
      [
        "file:2:1-3: error: Non-UTF-8 input detected. Cap'n Proto schema files must be UTF-8 text.",
        "file:2:3: error: Parse error.",
      ],
    ],
    ["invalid UTF-8 between tokens", new Uint8Array([...new TextEncoder().encode(ID), 0xc3, 0x28]), ["file:2:1: error: Parse error."]],
    [
      "ordinal too large (reported by both the union and the field rule, as capnp does)",
      ID + "struct Foo { foo @70000 :Text; }\n",
      ["file:2:19-24: error: Ordinals cannot be greater than 65535.", "file:2:19-24: error: Ordinals cannot be greater than 65535."],
    ],
    ["id without the top bit", ID + "struct Foo @0x1 {}\n", ["file:2:13-16: error: Invalid ID.  Please generate a new one with 'capnpc -i'."]],
    [
      "bad list items",
      ID + "struct Foo { foo @0 :List(Text, 1 2, , ) $x(a b); }\n",
      ["file:2:33-36: error: Parse error.", "file:2:26-41: error: Parse error: Empty list item.", "file:2:45-48: error: Parse error."],
    ],
    ["block where ';' belongs", ID + 'const a :Text = "x" {}\n', ["file:2:1-23: error: This statement should end with a semicolon, not a block."]],
    ["';' where a block belongs", ID + "struct Foo;\n", ["file:2:1-12: error: This statement should end with a block, not a semicolon."]],
    ["second file id", ID + "@0xccd0890aa4926a9c;\n", ["file:2:1-21: error: File can only have one ID."]],
    [
      "annotation targets",
      ID + "annotation a(struct, struct, bogus, *) :Void;\n",
      [
        "file:2:22-28: error: Duplicate target specification.",
        "file:2:30-35: error: Not a valid annotation target.",
        "file:2:37-38: error: Wildcard should not be specified together with other targets.",
      ],
    ],
    ["exponent without digits", ID + "const a :Float64 = 1e+;\n", ["file:2:20-23: error: Invalid floating-point number: the exponent has no digits."]],
  ];

  it.each(cases)("%s", (_name, source, expected) => {
    expect(parseSource(source).messages).toEqual(expected);
  });

  it("reports a missing file id", () => {
    expect(parseSource("struct Foo {}\n").messages.map(normalizeMessage)).toEqual([
      "file:1:1: error: File does not declare an ID.  I've generated one for you.  Add this line to your file: @0x<random>;",
    ]);
  });

  it("does not throw on random bytes or absurd nesting", () => {
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256;
    for (let n = 0; n < 200; n++) {
      const bytes = Uint8Array.from({ length: 200 }, random);
      expect(() => parseSource(bytes)).not.toThrow();
    }
    const alphabet = ' \n{}();,[]@$:=.-#"x0aZ_\\';
    for (let n = 0; n < 500; n++) {
      const text = ID + Array.from({ length: 60 }, () => alphabet[random() % alphabet.length]).join("");
      expect(() => parseSource(text)).not.toThrow();
    }
    expect(parseSource(ID + "const a :Text = " + "(".repeat(100000) + ";").messages).toEqual([
      expect.stringMatching(/Parse error\.$/),
    ]);
  });
});

// The same sources, judged by the official compiler (its parser-stage errors only).
describe.skipIf(!haveCapnp)("errors agree with capnp", () => {
  const H = ID;
  const sources: (string | Uint8Array)[] = [
    H + 'const a :Text = "a\\x41\\101\\n";\n',
    H + "const a :UInt64 = 0x;\n",
    H + "const a :UInt64 = 0x1g;\n",
    H + "const a :UInt64 = 09;\n",
    H + "const a :Float64 = 1.5.3;\n",
    H + 'const a :Data = 0x"01 2";\n',
    H + 'const a :Data = 0x"";\n',
    H + "struct Foo bar {}\n",
    H + "struct Foo { foo @0 :Text = [1, , 2]; bar @1 :Text = [,]; }\n",
    H + "struct Foo { foo @0 :Text = (a = 1, 2 3); }\n",
    H + "annotation a(*) :Void;\nannotation b(*, *) :Void;\nannotation c() :Void;\nannotation d(a b) :Void;\n",
    H + "annotation a(struct, Struct, *, ) :Void;\n",
    H + 'using Foo;\nusing Foo.Bar;\nusing X = Foo;\nusing import "x.capnp";\n',
    H + "struct S { u @0 union { a @1 :Text; b @2 :Text; } v @3! union {} w @4 :union {} x :union {} union {} }\n",
    H + "struct S { union $foo { } }\n",
    H + "struct S(T, 1, ) { }\n",
    H + "interface I extends(A, , B(1 2)) { m @0 (a :Text, b) -> (c :Text = 5 5); n @1 [T, 5] stream -> stream; p @70000 (); }\n",
    H + "enum E { a @0; b; c @1 :Text; }\n",
    new Uint8Array([...new TextEncoder().encode(H), 0xff, 0x41]),
    new Uint8Array([...new TextEncoder().encode(H), 0xef, 0xbb, 0xbf, ...new TextEncoder().encode("struct S {}")]),
    new Uint8Array([...new TextEncoder().encode(H), 0xef, 0xbb, 0x41]),
    H + 'const a :Text = "x" "y";\nconst b :Float64 = -inf;\nconst c :Float64 = - 1.5;\nconst d :Int32 =-5;\n',
    H + "$foo(1);\n$bar(a = 1, b = 2);\n$baz;\n$qux();\nfoo bar;\n;\n{}\n",
    H + "struct S { ; }\nstruct T { a @0 :Text; } extra",
    H + "const a :Text = .;\nconst b :Text = import;\nconst c :Text = embed 5;\nconst d :Text = Foo(a = );\n",
    H + "struct S { a @0 :Text $; b @1 : ; c @ :Text; d @2! :Text; }\n",
    H + "struct S { g :group $a(1 1) $b { x @0 :Text; } }\n",
    H + "interface I { m @0 (a :Text) -> ; n @1 -> (); }\ninterface J(T) extends() {}\n",
    H + "const x :Text = 'a';\n",
    H + "struct S {\n  a @0 :Text;  # trailing\n}\n}",
    H + "const a :Text = (1;\n",
    H + "const a :Text = 1);\n",
    H + "struct A { struct B { struct C { x @0 :Text } } }\n",
    H + 'const a @0x8000000000000000 :Text = "";\nconst b @0x1234 :Text = "";\nenum E @0x12 {}\n',
    H + "const a :Float64 = 1.0x;\nconst c :Float64 = .5;\n",
    H + "\r\nstruct S {\r\n  a @0 :Text;\r\n}\r\n",
    H + 'struct S { a @0 :Text = "abc\n"; }\n',
    "struct Foo {}\n# no id\n",
  ];

  it.each(sources.map((s) => [typeof s === "string" ? s.slice(H.length) : `bytes ${s.length}`, s] as const))(
    "%s",
    (_label, source) => {
      const ours = parseSource(source).messages.filter(isParserMessage).map(normalizeMessage);
      expect(ours).toEqual(capnpParserErrors(source));
    },
  );
});

// ------------------------------------------------------------------------------------------------

describe("lexer", () => {
  it("reads integers as capnp does, wrapping at 64 bits", () => {
    const values = (src: string) =>
      tokensOf(src + ";").tokens.map((t) => (t.kind === "integer" ? t.value : t.kind === "float" ? `f${t.value}` : t.kind));
    expect(values("123 0x1F 017 0 09")).toEqual([123n, 31n, 15n, 0n, 0n, 9n]);
    expect(values("18446744073709551615 18446744073709551616 0x1ffffffffffffffff")).toEqual([
      (1n << 64n) - 1n,
      0n,
      (1n << 64n) - 1n,
    ]);
    expect(values("1.5 2e3 1. 5e-1 08.5")).toEqual(["f1.5", "f2000", "f1", "f0.5", 0n, "f8.5"]);
    expect(values("1e999")).toEqual(["fInfinity"]);
  });

  it("decodes strings and binary literals", () => {
    const { tokens } = tokensOf('"a\\x41\\101\\n\\t\\\\\\"\\?\\\'" "é" 0x"0a 0B ff";');
    expect(tokens.map((t) => (t.kind === "string" ? t.text : t.kind === "binary" ? [...t.bytes] : t.kind))).toEqual([
      'aAA\n\t\\"?\'',
      "é",
      [10, 11, 255],
    ]);
  });

  it("keeps positions as byte offsets", () => {
    const { tokens } = tokensOf('"é" x;');
    expect(tokens.map((t) => [t.start, t.end])).toEqual([
      [0, 4],
      [5, 6],
    ]);
  });

  it("lexes operators greedily and splits lists on commas", () => {
    const { tokens } = tokensOf("a =-5 -> (x, , y,) [];");
    expect(tokens.map((t) => (t.kind === "operator" ? t.text : t.kind))).toEqual([
      "identifier",
      "=-",
      "integer",
      "->",
      "parenList",
      "bracketList",
    ]);
    const list = tokens[4];
    expect(list.kind === "parenList" && list.items.map((i) => i.length)).toEqual([1, 0, 1]);
    expect(tokens[5].kind === "bracketList" && tokens[5].items).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------------------

describe("doc comments", () => {
  it("attaches comments after ';' on the same and following lines, up to a blank line", () => {
    const root = parseOk(
      ID +
        "struct S {\n" +
        "  a @0 :Text;  # one\n" +
        "  #two\n" +
        "  #  three\n" +
        "\n" +
        "  # not a doc comment of anything\n" +
        "  b @1 :Text;\n" +
        "\n" +
        "  # also dropped: blank line after the ';'\n" +
        "  c @2 :Text;\n" +
        "}\n",
    );
    const s = child(root, "S");
    expect(child(s, "a").docComment).toBe("one\ntwo\n three\n");
    expect(child(s, "b").docComment).toBeNull();
    expect(child(s, "c").docComment).toBeNull();
  });

  it("prefers a comment after '{' to one after '}'", () => {
    const root = parseOk(
      ID + "struct A {\n  # inner\n}\n# outer\nstruct B {\n  x @0 :Text;\n}  # after\nstruct C {}\n",
    );
    expect(child(root, "A").docComment).toBe("inner\n");
    expect(child(root, "B").docComment).toBe("after\n");
    expect(child(root, "C").docComment).toBeNull();
  });

  it("gives the file the comment after its id, and keeps a carriage return", () => {
    const root = parseOk("@0xccd0890aa4926a9b;\r\n# file doc\r\nstruct A {}\n");
    expect(root.docComment).toBe("file doc\r\n");
  });

  it("ends the statement's range after its doc comment", () => {
    const source = ID + "const a :Text = \"x\";  # doc\nconst b :Text = \"y\";\n";
    const root = parseOk(source);
    expect(textAt(source, child(root, "a"))).toBe('const a :Text = "x";  # doc\n');
    expect(textAt(source, child(root, "b"))).toBe('const b :Text = "y";');
  });
});

// ------------------------------------------------------------------------------------------------

describe("declarations and expressions", () => {
  function constValue(source: string): Expression {
    const root = parseOk(ID + source);
    const c = root.nestedDecls[0];
    if (c.which !== "const") throw new Error("not a const");
    return c.value;
  }

  it("parses literals with capnp's ranges", () => {
    const src = ID + "const a :Int8 = -5;";
    const root = parseOk(src);
    const a = root.nestedDecls[0];
    expect(a.which === "const" && a.value).toMatchObject({ which: "negativeInt", value: 5n });
    expect(a.which === "const" && textAt(src, a.value)).toBe("5"); // the minus sign is outside the range
    expect(constValue("const a :Float64 = -inf;")).toMatchObject({ which: "float", value: -Infinity });
    expect(constValue("const a :Float64 = inf;")).toMatchObject({ which: "relativeName", name: { value: "inf" } });
    expect(constValue('const a :Text = "ab" "cd";')).toMatchObject({ which: "string", value: "abcd" });
    expect(constValue("const a :Data = 0x\"01\";")).toMatchObject({ which: "binary", value: new Uint8Array([1]) });
    expect(constValue("const a :Foo = (x = 1, y = [2, 3]);")).toMatchObject({
      which: "tuple",
      params: [
        { name: { value: "x" }, value: { which: "positiveInt", value: 1n } },
        { name: { value: "y" }, value: { which: "list", elements: [{ value: 2n }, { value: 3n }] } },
      ],
    });
    expect(constValue("const a :Foo = (7);")).toMatchObject({ which: "positiveInt", value: 7n });
    expect(constValue("const a :Foo = .Bar.baz;")).toMatchObject({
      which: "member",
      parent: { which: "absoluteName", name: { value: "Bar" } },
      name: { value: "baz" },
    });
  });

  it("parses generic applications and member access", () => {
    const src = ID + "struct S { f @0 :Foo(Text).Bar(x = Int32); }";
    const field = child(parseOk(src), "S").nestedDecls[0];
    if (field.which !== "field") throw new Error("not a field");
    expect(textAt(src, field.type)).toBe("Foo(Text).Bar(x = Int32)");
    expect(field.type).toMatchObject({
      which: "application",
      params: [{ name: { value: "x" } }],
      function: { which: "member", name: { value: "Bar" }, parent: { which: "application", function: { name: { value: "Foo" } } } },
    });
  });

  it("splits annotation names from their values", () => {
    const root = parseOk(ID + "struct S $a $b(1) $c(x = 1) $d() $e.f(\"s\") {}");
    expect(child(root, "S").annotations.map((a) => [a.name.which, a.value?.which ?? null])).toEqual([
      ["relativeName", null],
      ["relativeName", "positiveInt"],
      ["relativeName", "tuple"],
      ["relativeName", "tuple"],
      ["member", "string"],
    ]);
  });

  it("parses unions, groups, methods and annotation declarations", () => {
    const root = parseOk(
      ID +
        "struct S(T) {\n" +
        "  union { a @0 :Void; b @1 :Void; }\n" +
        "  u @2! :union { c @3 :Void; d @4 :Void; }\n" +
        "  g :group { e @5 :T; }\n" +
        "}\n" +
        "interface I(T) extends(J, K(T)) {\n" +
        "  m @0 [U] (a :U = 5 $x, b :Text) -> stream $y;\n" +
        "  n @1 S -> S.g;\n" +
        "}\n" +
        "annotation ann @0xf00000000000000f (file, struct, param) :Text;\n" +
        "annotation all(*) :Void;\n",
    );
    const s = child(root, "S");
    expect(s.nestedDecls.map((d) => [d.which, d.name.value, d.id.which])).toEqual([
      ["union", "", "unspecified"],
      ["union", "u", "ordinal"],
      ["group", "g", "unspecified"],
    ]);
    const m = child(child(root, "I"), "m");
    expect(m.parameters.map((p) => p.name)).toEqual(["U"]);
    expect(m.which === "method" && m.params.kind).toMatchObject({
      which: "namedList",
      params: [{ name: { value: "a" }, defaultValue: { value: 5n }, annotations: [{}] }, { name: { value: "b" } }],
    });
    expect(m.which === "method" && m.results?.kind.which).toBe("stream");
    const n = child(child(root, "I"), "n");
    expect(n.which === "method" && [n.params.kind.which, n.results?.kind.which]).toEqual(["type", "type"]);
    expect(child(root, "ann")).toMatchObject({
      id: { which: "uid", uid: { value: 0xf00000000000000fn } },
      targetsFile: true,
      targetsStruct: true,
      targetsParam: true,
      targetsField: false,
    });
    const all = child(root, "all");
    expect(all.which === "annotation" && Object.entries(all).filter(([k, v]) => k.startsWith("targets") && v !== true)).toEqual([]);
  });
});
