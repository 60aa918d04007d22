/**
 * How the oracle behaves when given several files at once, which the batch helpers rely on.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeRequest } from "../../generator/model/request.js";
import { diffRequests, formatDiff, restrictToFiles } from "./compare.js";
import { capnpCompile, capnpCompileBatch, capnpCompileSync, noteIfOracleMissing, oracle } from "./oracle.js";

noteIfOracleMissing("oracle batch tests");

describe.skipIf(oracle === null)("capnp compile with several files", () => {
  let dir: string;
  const args = () => ({ cwd: dir, standardImport: false });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ipcgen-oracle-"));
    writeFileSync(join(dir, "a.capnp"), '@0xbf5147cbbecf40c1;\nstruct A { x @0 :Int32; }\n');
    writeFileSync(join(dir, "b.capnp"), '@0xbf5147cbbecf40c2;\nusing import "a.capnp".A;\nstruct B { a @0 :A; }\n');
    writeFileSync(join(dir, "bad.capnp"), "@0xbf5147cbbecf40c3;\nstruct C { y @0 :Nope; }\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reports its version", () => {
    expect(oracle!.version).toBe("Cap'n Proto version 0.9.2");
  });

  it("lists requested files in command-line order, each node once, and gives each file the nodes it has alone", async () => {
    const both = await capnpCompile(["b.capnp", "a.capnp"], args());
    expect(both.ok, both.stderr).toBe(true);
    const req = decodeRequest(both.stdout);
    expect(req.requestedFiles.map((f) => f.filename)).toEqual(["b.capnp", "a.capnp"]);
    expect(new Set(req.nodes.map((n) => n.id)).size).toBe(req.nodes.length);
    for (const file of ["a.capnp", "b.capnp"]) {
      const alone = decodeRequest(capnpCompileSync([file], args()).stdout);
      const d = diffRequests(restrictToFiles(alone, [file]), restrictToFiles(req, [file]));
      expect(d.total, formatDiff(d)).toBe(0);
    }
  });

  it("writes nothing when any file fails, and the batch helper then compiles file by file", async () => {
    const run = await capnpCompile(["a.capnp", "bad.capnp"], args());
    expect(run.status).toBe(1);
    expect(run.stdout.length).toBe(0);
    expect(run.messages).toEqual(["bad.capnp:2:18-22: error: Not defined: Nope"]);

    // First pass: chunk [a, b, bad] fails and chunk [a] succeeds; then a, b and bad run one by one.
    const runs = await capnpCompileBatch(["a.capnp", "b.capnp", "bad.capnp", "a.capnp"], args(), { chunkSize: 3 });
    expect(runs.map((r) => [r.files, r.ok])).toEqual([
      [["a.capnp"], true],
      [["a.capnp"], true],
      [["b.capnp"], true],
      [["bad.capnp"], false],
    ]);
  });
});

