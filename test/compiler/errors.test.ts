/**
 * The negative corpus: schemas that must fail, with the same messages at the same positions as capnp 0.9.2.
 *
 * 1. capnp's own `testdata/errors.capnp.nobuild` / `errors2.capnp.nobuild` with `errors.txt` / `errors2.txt`,
 *    run as capnp's `capnp-test.sh` does (the path up to the file name becomes `file`). ipcgen must report
 *    every expected line and nothing else (order-insensitive); capnp's live output is checked against the
 *    same files, so the expectations are known to be the oracle's.
 * 2. Small broken schemas of our own, each compiled by capnp live: ipcgen (in-process, and the built CLI
 *    when `dist/` exists) must fail too (exit status 1) with the same formatted messages (but for the few
 *    that CLEARER lists: same position, a clearer message on purpose).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_MAIN, CORPUS, cliBuilt, ipcgenCompile, runCli } from "../support/ipcgen.js";
import { type CapnpRun, type CompileArgs, capnpCompile, compileArgv, errorLines, mapLimit, noteIfOracleMissing, oracle } from "../support/oracle.js";

noteIfOracleMissing("negative-corpus tests");
if (oracle !== null && !cliBuilt()) {
  console.warn(`[skipped] CLI error-output tests: ${CLI_MAIN} does not exist (run \`npm run build\` first)`);
}

/** Lines in `actual` but not `expected` and the reverse, as multisets. */
function multisetDiff(expected: string[], actual: string[]): { missing: string[]; extra: string[] } {
  const left = [...expected];
  const extra: string[] = [];
  for (const line of actual) {
    const i = left.indexOf(line);
    if (i >= 0) left.splice(i, 1);
    else extra.push(line);
  }
  return { missing: left, extra };
}

function expectSameLines(expected: string[], actual: string[], what: string): void {
  const { missing, extra } = multisetDiff(expected, actual);
  if (missing.length > 0 || extra.length > 0) {
    const show = (title: string, lines: string[]) => (lines.length > 0 ? `\n${title} (${lines.length}):\n  ${lines.join("\n  ")}` : "");
    throw new Error(`${what}: messages differ from capnp's${show("expected but not reported", missing)}${show("reported but not expected", extra)}`);
  }
}

const TESTDATA = "src/capnp/testdata";
const CORPUS_ERR_ARGS: CompileArgs = { cwd: CORPUS, standardImport: false };

describe.skipIf(oracle === null)("capnp's negative corpus (testdata/errors*.capnp.nobuild)", () => {
  const cases = [
    { file: `${TESTDATA}/errors.capnp.nobuild`, expected: `${TESTDATA}/errors.txt`, pattern: /^.*errors[.]capnp[.]nobuild:/ },
    { file: `${TESTDATA}/errors2.capnp.nobuild`, expected: `${TESTDATA}/errors2.txt`, pattern: /^.*errors2[.]capnp[.]nobuild:/ },
  ];
  const expectedLines = (path: string) => readFileSync(join(CORPUS, path), "utf8").replace(/\r/g, "").split("\n").filter((l) => l !== "");

  it.each(cases)("$file: capnp's live output is $expected", async ({ file, expected, pattern }) => {
    const run = await capnpCompile([file], CORPUS_ERR_ARGS);
    expect(run.status).toBe(1);
    expect(run.messages.map((m) => m.replace(pattern, "file:"))).toEqual(expectedLines(expected));
  });

  it.each(cases)("$file: ipcgen reports exactly the lines of $expected", async ({ file, expected, pattern }) => {
    const result = await ipcgenCompile([file], CORPUS_ERR_ARGS);
    expect(result.ok, `ipcgen accepted ${file}`).toBe(false);
    expectSameLines(expectedLines(expected), result.messages.map((m) => m.replace(pattern, "file:")), file);
  });
});

/** Our own broken schemas. `@ID` stands for a valid file id line. */
const ID = "@0xbf5147cbbecf40c1;";
const BROKEN: Record<string, string> = {
  "missing-file-id": "struct A { x @0 :Int32; }\n",
  "invalid-file-id": "@0x1234;\nstruct A {}\n",
  "unknown-type": `${ID}\nstruct A { x @0 :Foo; }\n`,
  "duplicate-ordinal": `${ID}\nstruct A {\n  x @0 :Int32;\n  y @0 :Text;\n}\n`,
  "skipped-ordinal": `${ID}\nstruct A { x @0 :Int32; y @2 :Int32; }\n`,
  "ordinal-too-big": `${ID}\nstruct A { x @65536 :Int32; }\n`,
  "bad-import": `${ID}\nusing X = import "nosuch.capnp";\nstruct A { x @0 :X.Y; }\n`,
  "import-of-broken-file": `${ID}\nusing import "parse-error.capnp".A;\n`,
  "embed-missing-file": `${ID}\nconst d :Data = embed "nosuch.bin";\n`,
  "duplicate-name": `${ID}\nstruct A {}\nstruct A {}\n`,
  "duplicate-id": `${ID}\nstruct A @0xd0a4c2d3b8c7e1f2 {}\nstruct B @0xd0a4c2d3b8c7e1f2 {}\n`,
  "parse-error": `${ID}\nstruct A { x @0 :Int32 }\n`,
  "unterminated-block": `${ID}\nstruct A {\n  x @0 :Int32;\n`,
  "bad-escape": `${ID}\nconst t :Text = "a\\qb";\n`,
  "tabs-and-utf8-columns": `${ID}\n\t# é日本\nstruct A {\n\tx @0 :Int32;\tyé @1 :Nope;\n}\n`,
  "naming-rules": `${ID}\nstruct foo {}\nstruct B { Bad @0 :Int32; under_score @1 :Int32; }\n`,
  "default-type-mismatch": `${ID}\nstruct A { x @0 :Int32 = "text"; }\n`,
  "struct-literal-for-list": `${ID}\nstruct A { x @0 :List(Int32) = (a = 1); }\n`,
  "integers-out-of-range": `${ID}\nstruct A { x @0 :UInt8 = 256; y @1 :Int8 = -129; z @2 :UInt16 = -1; }\n`,
  // capnp 0.9.2 rejects an enum-typed constant as an enum default (found by the random test's generator).
  "enum-constant-as-default": `${ID}\nenum E { a @0; b @1; }\nconst k :E = b;\nstruct S { f @0 :E = .k; }\n`,
  "unqualified-constant": `${ID}\nconst a :Int32 = 1;\nconst b :Int32 = a;\n`,
  "recursive-constants": `${ID}\nconst a :Int32 = .b;\nconst b :Int32 = .a;\n`,
  "not-a-constant": `${ID}\nstruct A {}\nconst c :Int32 = .A;\n`,
  "no-such-field-in-literal": `${ID}\nstruct A { x @0 :Int32; }\nconst c :A = (y = 1);\n`,
  "union-with-one-member": `${ID}\nstruct A {\n  u :union {\n    x @0 :Int32;\n  }\n}\n`,
  "empty-group": `${ID}\nstruct A { g :group {} }\n`,
  "annotation-wrong-target": `${ID}\nannotation foo(struct) :Void;\nenum E $foo { a @0; }\n`,
  "annotation-wrong-target-param": `${ID}\nannotation f(field) :Void;\ninterface I { m @0 (a :Int32 $f); }\n`,
  "annotation-missing-value": `${ID}\nannotation foo(*) :Int32;\nstruct A $foo {}\n`,
  "void-annotation-with-value": `${ID}\nannotation v(*) :Void;\nstruct A $v(5) {}\n`,
  "list-of-anypointer": `${ID}\nstruct A { x @0 :List(AnyPointer); }\n`,
  // capnp reads a generic parameter's index as the kind of an unconstrained AnyPointer: List(first) is
  // refused as List(AnyPointer), List(second) as List(AnyStruct), the others pass.
  "list-of-generic-parameter": `${ID}
struct Box(T) { x @0 :T; }
struct A(T, U, V) {
  f @0 :List(T);
  g @1 :Box(List(T));
  using L = List(T);
  h @2 :L;
  i @3 :List(U);
  j @4 :List(V);
  k @5 :List(List(T)) = [];
  const c :List(T) = [];
  using W = U;
  l @6 :List(W);
}
interface I(T) {
  m @0 (p :List(T)) -> (r :List(T));
  n @1 [X, Y, Z] (p :List(X), q :List(Y), r :List(Z)) -> ();
}
`,
  // An annotation's value is checked against the type capnp's builder was left with: List(Void) here.
  "annotation-of-failed-list-type": `${ID}
struct A(T) {
  annotation ann(*) :List(T);
  h @0 :AnyPointer $ann(5);
  i @1 :AnyPointer $ann([]);
}
annotation b(*) :List(AnyPointer);
annotation c(*) :List(Nope);
annotation d(*) :Nope;
struct B $b([]) $c([]) $d([]) {}
`,
  // A `using` cycle: each alias is compiled once, the way back finds nothing ("Not defined" at each use).
  "using-cycle": `${ID}\nusing A = B;\nusing B = A;\nstruct S { f @0 :A; }\n`,
  "using-cycle-longer": `${ID}
using A = B;
using B = C;
using C = A;
struct S { f @0 :B; }
using F = F;
struct U { f @0 :F; }
struct N {
  using X = N.Y;
  using Y = X;
  a @0 :X;
  b @1 :Y;
}
struct V { using Q = V.Q; }
const k :Int32 = .K;
using K = K;
`,
  "using-cycle-through-generic": `${ID}
struct G(T) { x @0 :T; }
using D = G(E);
using E = D;
struct S { f @0 :D; g @1 :E; }
using H = G(H).x;
`,
  // Two parameters (or results) with one name: capnp's schema loader refuses the method's param struct, at
  // the interface, only while no error was reported before (see CLEARER for the message).
  "duplicate-param-name": `${ID}\ninterface I {\n  m @0 (a :Text, a :Data) -> ();\n}\n`,
  "duplicate-result-name": `${ID}\nstruct S {\n  interface J {\n    m @0 () -> (a :Text, b :Data, a :Int32);\n  }\n}\n`,
  "duplicate-param-name-first-only": `${ID}
struct A { i @0 :K; }
interface I {
  m @0 (a :Text) -> (r :Text, r :Data);
}
interface K {
  n @0 (b :Text, b :Data) -> (c :Text, c :Data);
}
struct W { x @0 :Nope; }
`,
  "duplicate-param-name-after-error": `${ID}\nstruct W { x @0 :Nope; }\ninterface I {\n  m @0 (a :Text, a :Data) -> ();\n}\n`,
  "generic-primitive-argument": `${ID}\nstruct G(T) { t @0 :T; }\nstruct A { x @0 :G(Int32); }\n`,
  "method-duplicate-ordinal": `${ID}\ninterface I {\n  a @0 ();\n  b @0 ();\n}\n`,
  "extends-a-struct": `${ID}\nstruct S {}\ninterface I extends(S) {}\n`,
};

/** capnp's refusal of some unions in unions (capnproto issue 344): an uncaught exception, not a message. */
const BAD_NEWS_SCHEMA = `${ID}
struct S {
  u :union {
    a @0 :UInt8;
    b :group {
      v :union {
        c @1 :UInt8;
        d @2 :UInt16;
      }
    }
  }
}
`;

/**
 * Where ipcgen reports an error on purpose with a clearer message than capnp's, at the same position: per
 * case, the position (`LINE:COL-COL`), capnp's message and ipcgen's. The comparison puts ipcgen's message in
 * place of capnp's in capnp's line, so position, count and every other line are still capnp's; each entry
 * must match one of capnp's lines (so a stale entry fails).
 */
const CLEARER: Record<string, { at: string; capnp: string; ipcgen: string }[]> = {
  // capnp: its schema loader's exception ("duplicate name") as an internal compiler bug.
  "duplicate-param-name": [
    { at: "2:11-12", capnp: "Internal compiler bug: Bootstrap schema failed validation:", ipcgen: "Method 'm' has two parameters named 'a'." },
  ],
  "duplicate-result-name": [
    { at: "3:13-14", capnp: "Internal compiler bug: Bootstrap schema failed validation:", ipcgen: "Method 'm' has two results named 'a'." },
  ],
  "duplicate-param-name-first-only": [
    { at: "6:11-12", capnp: "Internal compiler bug: Bootstrap schema failed validation:", ipcgen: "Method 'n' has two parameters named 'b'." },
  ],
};

/** capnp's lines for case `name`, with CLEARER's messages in place of capnp's. */
function withClearerMessages(name: string, lines: string[]): string[] {
  const entries = CLEARER[name] ?? [];
  const used = new Set<number>();
  const out = lines.map((line) => {
    const i = entries.findIndex((e) => line === `${name}.capnp:${e.at}: error: ${e.capnp}`);
    if (i < 0) return line;
    used.add(i);
    return `${name}.capnp:${entries[i].at}: error: ${entries[i].ipcgen}`;
  });
  const stale = entries.filter((_, i) => !used.has(i));
  if (stale.length > 0) throw new Error(`CLEARER entries of ${name} match none of capnp's lines: ${JSON.stringify(stale)}\ncapnp:\n  ${lines.join("\n  ")}`);
  return out;
}

/** The id capnp makes up for a file without one is random: compare the message without it. */
const normalize = (lines: string[]) => lines.map((l) => l.replace(/Add this line to your file: @0x[0-9a-f]{16};/, "Add this line to your file: @0x…;"));

describe.skipIf(oracle === null)("broken schemas: ipcgen fails as capnp does", () => {
  let dir: string;
  let args: CompileArgs;
  const live = new Map<string, CapnpRun>();
  const names = Object.keys(BROKEN);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ipcgen-errors-"));
    args = { cwd: dir, standardImport: false };
    for (const [name, text] of Object.entries(BROKEN)) writeFileSync(join(dir, `${name}.capnp`), text);
    writeFileSync(join(dir, "bad-news.capnp"), BAD_NEWS_SCHEMA);
    const runs = await mapLimit([...names, "bad-news"], 2, (name) => capnpCompile([`${name}.capnp`], args));
    for (const run of runs) live.set(run.files[0], run);
  });
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it.each(names)("%s: capnp fails with status 1 and messages", (name) => {
    const run = live.get(`${name}.capnp`)!;
    expect(run.status).toBe(1);
    expect(run.messages.length).toBeGreaterThan(0);
  });

  it.each(names)("%s: ipcgen reports capnp's messages", async (name) => {
    const file = `${name}.capnp`;
    const result = await ipcgenCompile([file], args);
    const theirs = live.get(file)!.messages;
    expect(result.ok, `ipcgen accepted ${file}; capnp reported:\n  ${theirs.join("\n  ")}`).toBe(false);
    expectSameLines(normalize(withClearerMessages(name, theirs)), normalize(result.messages), file);
  });

  it('bad-news: a union layout capnp 0.9.2 refuses ("Bad news", issue 344) is refused by ipcgen too', async () => {
    const run = live.get("bad-news.capnp")!;
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("Bad news: Cap'n Proto 0.5.x and previous contained a bug");
    const result = await ipcgenCompile(["bad-news.capnp"], args);
    expect(result.ok).toBe(false);
    expect(result.messages.some((m) => m.includes("Bad news"))).toBe(true);
  });

  describe.skipIf(!cliBuilt())("the built CLI", () => {
    it.each(names)("%s: `ipcgen compile -o-` exits 1 with capnp's messages", async (name) => {
      const file = `${name}.capnp`;
      const ours = await runCli(compileArgv([file], args), dir);
      expect(ours.status, `ipcgen compile ${file} exited ${ours.status}; stderr:\n${ours.stderr}`).toBe(1);
      expect(ours.stdout.length).toBe(0);
      expectSameLines(normalize(withClearerMessages(name, live.get(file)!.messages)), normalize(errorLines(ours.stderr)), `ipcgen compile ${file}`);
    });
  });
});
