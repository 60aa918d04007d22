/**
 * Differential test over real schemas: every `.capnp` file of the capnp 0.9.2 corpus and of this project is
 * compiled by ipcgen (in-process, and through the built CLI) and by the official compiler, and the two
 * models must be equal (nodes and source info matched by id, everything else in order), and so must the
 * encoded requests, entry by entry, byte for byte.
 */
import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeRequest, encodeRequest } from "../../generator/model/request.js";
import type { CodeGeneratorRequest } from "../../generator/model/schema.js";
import { assertSameRequest, assertSameRequestBytes } from "../support/compare.js";
import { CLI_MAIN, CORPUS, CORPUS_ARGS, REPO, cliBuilt, ipcgenCompile, runCli } from "../support/ipcgen.js";
import { type CapnpRun, type CompileArgs, capnpCompile, compileArgv, mapLimit, noteIfOracleMissing, oracle } from "../support/oracle.js";

/** `.capnp` files under `dir`, relative to `base`, sorted. */
function capnpFiles(base: string, dir: string): string[] {
  const root = join(base, dir);
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === "node_modules") continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".capnp")) out.push(relative(base, p));
    }
  };
  walk(root);
  return out.sort();
}

const corpusFiles = [...capnpFiles(CORPUS, "src"), ...capnpFiles(CORPUS, "samples")];
/** This project's schemas, compiled from the repository root against its bundled standard directory. */
const PROJECT_ARGS: CompileArgs = { cwd: REPO, importPath: ["generator/std"], standardImport: false };
const projectFiles = ["generator/std", "runtime", "examples", "test/fixtures"].flatMap((d) => capnpFiles(REPO, d));

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
