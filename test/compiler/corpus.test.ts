/**
 * Differential test over real schemas: every `.capnp` file of the capnp 0.9.2 corpus and of this project is
 * compiled by ipcgen (in-process, and through the built CLI) and by the official compiler, and the two
 * models must be equal (nodes and source info matched by id, everything else in order), and so must the
 * encoded requests, entry by entry, byte for byte.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeRequest, encodeRequest } from "../../generator/model/request.js";
import type { CodeGeneratorRequest } from "../../generator/model/schema.js";
import { assertSameRequest, assertSameRequestBytes } from "../support/compare.js";
import { CLI_MAIN, CORPUS, CORPUS_ARGS, PROJECT_ARGS, cliBuilt, corpusSchemas, ipcgenCompile, projectSchemas, runCli } from "../support/ipcgen.js";
import { type CapnpRun, type CompileArgs, capnpCompile, compileArgv, mapLimit, noteIfOracleMissing, oracle } from "../support/oracle.js";

const corpusFiles = corpusSchemas();
const projectFiles = projectSchemas();

noteIfOracleMissing("corpus differential tests");

/** capnp's model of each file, compiled on its own (files of the corpus import each other). */
async function oracleModels(files: string[], args: CompileArgs): Promise<Map<string, { run: CapnpRun; model: CodeGeneratorRequest | null }>> {
  const runs = await mapLimit(files, 2, (f) => capnpCompile([f], args));
  return new Map(runs.map((run) => [run.files[0], { run, model: run.ok ? decodeRequest(run.stdout) : null }]));
}

function describeSet(title: string, files: string[], args: CompileArgs): void {
  describe.skipIf(oracle === null)(title, () => {
    let expected: Awaited<ReturnType<typeof oracleModels>>;
    beforeAll(async () => {
      expected = await oracleModels(files, args);
    });

    it("has schemas to compare", () => {
      expect(files.length).toBeGreaterThan(0);
    });

    it.each(files)("%s: capnp accepts it", (file) => {
      const { run } = expected.get(file)!;
      expect(run.stderr.split("\n").filter((l) => / error: /.test(l)), `capnp failed on ${file}`).toEqual([]);
      expect(run.status).toBe(0);
    });

    it.each(files)("%s: ipcgen's model equals capnp's", async (file) => {
      const { model, run } = expected.get(file)!;
      const result = await ipcgenCompile([file], args);
      expect(result.messages, `ipcgen reported errors for ${file}`).toEqual([]);
      expect(result.ok).toBe(true);
      assertSameRequest(model!, result.request, `${file} (in ${args.cwd})`);
      assertSameRequestBytes(run.stdout, encodeRequest(result.request), `${file} (in ${args.cwd})`);
    });
  });
}

describeSet("capnp 0.9.2 corpus", corpusFiles, CORPUS_ARGS);
if (projectFiles.length > 0) describeSet("this project's schemas", projectFiles, PROJECT_ARGS);

/** Small schemas of our own that capnp accepts, for corners the corpus does not reach. `ID` is a file id line. */
const ID = "@0xbf5147cbbecf40c1;";
const ACCEPTED: Record<string, string> = {
  // Struct literals naming several members of one union: the later one is selected, the earlier ones'
  // bytes stay where they do not overlap; a group's assignment clears its fields and first union member.
  "union-members-in-literal": `${ID}
struct S { union { a @0 :Int32; b @1 :Text; } }
const c :S = (a = 1, b = "two");
const c2 :S = (b = "two", a = 5);
struct G { g :group { union { a @0 :Int32; b @1 :Text; } } x @2 :UInt8; }
const d :G = (g = (a = 1, b = "two"));
const e :G = (g = (b = "two", a = 5), x = 3);
const k :G = (g = (b = "x"), g = (a = 1));
struct O { union { a @0 :UInt8 = 3; b @1 :UInt16; c @2 :Int64; t @3 :Text; v @4 :Void; } }
const f :O = (b = 0x1234, a = 7);
const g :O = (a = 7, b = 0x1234, a = 9);
const h :O = (t = "x", c = -1, v = void);
struct H { union { a @0 :UInt32; g :group { p @1 :UInt32; q @2 :Text; } } }
const i :H = (a = 5, g = (q = "x"));
const j :H = (g = (p = 3, q = "x"), a = 5);
struct P { union { t @0 :Text; g :group { q @1 :Text; } } }
const l :P = (t = "x", g = ());
const m :P = (t = "x", g = (q = "y"), t = "z");
struct L { l @0 :List(S) = [(a = 1, b = "x"), (b = "y", a = 2)]; }
`,
};

describe.skipIf(oracle === null)("small schemas capnp accepts", () => {
  let dir: string;
  let args: CompileArgs;
  const names = Object.keys(ACCEPTED);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ipcgen-accepted-"));
    args = { cwd: dir, standardImport: false };
    for (const [name, text] of Object.entries(ACCEPTED)) writeFileSync(join(dir, `${name}.capnp`), text);
  });
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it.each(names)("%s: ipcgen's model equals capnp's", async (name) => {
    const file = `${name}.capnp`;
    const run = await capnpCompile([file], args);
    expect(run.messages, `capnp rejected ${file}`).toEqual([]);
    expect(run.status).toBe(0);
    const result = await ipcgenCompile([file], args);
    expect(result.messages, `ipcgen reported errors for ${file}`).toEqual([]);
    expect(result.ok).toBe(true);
    assertSameRequest(decodeRequest(run.stdout), result.request, file);
  });
});

if (oracle !== null && !cliBuilt()) {
  console.warn(`[skipped] CLI differential test: ${CLI_MAIN} does not exist (run \`npm run build\` first)`);
}

describe.skipIf(oracle === null || !cliBuilt())("ipcgen compile -o- (the built CLI) on the corpus", () => {
  it.each(corpusFiles)("%s: CLI output decodes to capnp's model", async (file) => {
    const argv = compileArgv([file], CORPUS_ARGS);
    const [theirs, ours] = await Promise.all([capnpCompile([file], CORPUS_ARGS), runCli(argv, CORPUS)]);
    expect(ours.stderr.split("\n").filter((l) => / error: /.test(l)), `ipcgen CLI stderr for ${file}`).toEqual([]);
    expect(ours.status).toBe(0);
    assertSameRequest(decodeRequest(theirs.stdout), decodeRequest(ours.stdout), `ipcgen compile -o- ${file}`);
    assertSameRequestBytes(theirs.stdout, ours.stdout, `ipcgen compile -o- ${file}`);
  });
});
