/**
 * The README's quick start, run as written: a folder with ipcgen installed (linked, as `npm install
 * /path/to/ipcgen` does), the README's schema, server and client; `ipcgen` generates, TypeScript checks
 * everything strictly, and the server and client run as two processes.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { CLI_MAIN, cliBuilt, REPO } from "./support/ipcgen.js";

const readme = readFileSync(join(REPO, "README.md"), "utf8");
const quickStart = readme.slice(readme.indexOf("## Quick start"), readme.indexOf("\n## ", readme.indexOf("## Quick start") + 1));

/** The code blocks of the quick start with the given language, in order. */
function blocks(lang: string): string[] {
  return [...quickStart.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]);
}

const dir = mkdtempSync(join(tmpdir(), "ipcgen-readme-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!cliBuilt())("README quick start", () => {
  it("has one schema, a server and a client", () => {
    expect(blocks("capnp")).toHaveLength(1);
    expect(blocks("ts")).toHaveLength(2);
  });

  it("generates, type-checks and runs as written", async () => {
    const [schema] = blocks("capnp");
    const [server, client] = blocks("ts");
    const socket = join(dir, "hello.sock");
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "hello", type: "module" }));
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(REPO, join(dir, "node_modules/ipcgen"));
    writeFileSync(join(dir, "hello.capnp"), schema);
    // The README's socket path is shared by every run on this machine: the test uses its own.
    writeFileSync(join(dir, "server.ts"), server.replaceAll("/tmp/hello.sock", socket));
    writeFileSync(join(dir, "client.ts"), client.replaceAll("/tmp/hello.sock", socket));

    // `npx ipcgen hello.capnp`, as npx runs the package's bin.
    expect(quickStart).toContain("`npx ipcgen hello.capnp` writes `hello.capnp.ts`");
    const gen = spawnSync(process.execPath, [CLI_MAIN, "hello.capnp"], { cwd: dir, encoding: "utf8" });
    expect(gen.stderr).toBe("");
    expect(gen.stdout).toBe("wrote hello.capnp.ts\n");
    expect(gen.status).toBe(0);

    // The user's tsc, strict, resolving `ipcgen` through node_modules as for any package.
    const program = ts.createProgram([join(dir, "server.ts"), join(dir, "client.ts")], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ["lib.es2023.d.ts"],
      // The quick start installs no @types/node: Node's types come with ipcgen.
      types: [],
      skipLibCheck: true,
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(diagnostics).toEqual([]);

    // `npx tsx server.ts`, then `npx tsx client.ts Ann` in another terminal.
    const tsx = join(REPO, "node_modules/tsx/dist/esm/index.mjs");
    const serverProcess = spawn(process.execPath, ["--import", tsx, "server.ts"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    children.push(serverProcess);
    await new Promise<void>((resolve, reject) => {
      let out = "";
      serverProcess.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes(`listening on ${socket}`)) resolve();
      });
      serverProcess.once("exit", (code) => reject(new Error(`the server exited (${code})`)));
    });
    const run = spawnSync(process.execPath, ["--import", tsx, "client.ts", "Ann"], { cwd: dir, encoding: "utf8", timeout: 30_000 });
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toMatch(/^Hello, Ann! \(process \d+ asked\)$/);
    expect(run.stdout).toContain(`(process ${run.pid} asked)`);
  });
});
