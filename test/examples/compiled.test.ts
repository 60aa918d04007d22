/**
 * The examples compiled to JavaScript with tsc, as a project without a TypeScript loader ships them, and
 * their demos run on this Node with no loader. The target is ES2022, the one docs/codegen.md names for
 * Node 20: TypeScript lowers `await using` there, which Node 20 cannot parse.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliBuilt, REPO } from "../support/ipcgen.js";

const dir = mkdtempSync(join(tmpdir(), "ipcgen-compiled-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!cliBuilt())("the examples as compiled JavaScript", () => {
  beforeAll(() => {
    cpSync(join(REPO, "examples"), join(dir, "examples"), { recursive: true });
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "compiled", type: "module" }));
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(REPO, join(dir, "node_modules/ipcgen"));
    const files = ts.sys.readDirectory(join(dir, "examples"), [".ts"]);
    const program = ts.createProgram(files, {
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ["lib.es2023.d.ts"],
      types: ["node"],
      typeRoots: [join(REPO, "node_modules/@types")],
      skipLibCheck: true,
      outDir: join(dir, "out"),
      rootDir: join(dir, "examples"),
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => `${d.file?.fileName ?? ""}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
    expect(diagnostics).toEqual([]);
    expect(program.emit().emitSkipped).toBe(false);
  }, 120_000);

  for (const example of ["chat", "channels", "capture"]) {
    it(`${example}: the demo runs with node alone`, () => {
      const run = spawnSync(process.execPath, [join(dir, "out", example, "demo.js")], { cwd: dir, encoding: "utf8", timeout: 60_000 });
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stderr).not.toMatch(/SyntaxError|Error \[/);
    });
  }
});
