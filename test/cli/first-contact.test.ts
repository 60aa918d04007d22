/**
 * A new user's first steps, in a fresh folder with ipcgen installed (linked, as `npm install
 * /path/to/ipcgen` does): `ipcgen schema.capnp` with no `-o`, code that compiles with no `@types/node` of
 * the app's own and with `erasableSyntaxOnly`, `await using` compiled to JavaScript and run on this Node,
 * the warnings and notes for what is not generated or not found, and a runtime of another API refused at
 * import with a clear message.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUNTIME_API } from "../../runtime/codec/api.js";
import { CLI_MAIN, cliBuilt, REPO } from "../support/ipcgen.js";

const dir = mkdtempSync(join(tmpdir(), "ipcgen-first-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HELLO = `@0xd2c4a7e1b3f59071;
using Ipc = import "/ipcgen/ipc.capnp";
using Shared = import "shared/names.capnp";

interface Greeter $Ipc.session {
  # Greets whoever connects.
  greet @0 (name :Text $Ipc.maxSize(64), tone :Shared.Tone) -> (greeting :Text);
}

interface Calculator {
  add @0 (a :Int32, b :Int32) -> (sum :Int32);
}
`;

const NAMES = `@0xd2c4a7e1b3f59072;
enum Tone {
  plain @0;
  loud @1;
}
`;

const MAIN = `import { Greeter } from "./hello.capnp.js";
import { Tone } from "./shared/names.capnp.js";

const path = process.argv[2]!;
const server = await Greeter.listen(path, {
  greet({ name, tone }) {
    const greeting = \`Hello, \${name}!\`;
    return { greeting: tone === Tone.LOUD ? greeting.toUpperCase() : greeting };
  },
});
{
  await using greeter = await Greeter.connect(path);
  const { greeting } = await greeter.greet({ name: "Ann", tone: Tone.LOUD }, { signal: AbortSignal.timeout(10_000) });
  console.log(greeting);
}
await server.close();
`;

function ipcgen(args: string[]) {
  const run = spawnSync(process.execPath, [CLI_MAIN, ...args], { cwd: dir, encoding: "utf8" });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe.skipIf(!cliBuilt())("first contact", () => {
  beforeAll(() => {
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "first", type: "module" }));
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(REPO, join(dir, "node_modules/ipcgen"));
    mkdirSync(join(dir, "shared"));
    writeFileSync(join(dir, "hello.capnp"), HELLO);
    writeFileSync(join(dir, "shared/names.capnp"), NAMES);
    writeFileSync(join(dir, "main.ts"), MAIN);
  });

  it("`ipcgen hello.capnp` writes each module beside its schema, says so, and warns about the plain interface", () => {
    const run = ipcgen(["hello.capnp"]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.split("\n").filter(Boolean).sort()).toEqual(["wrote hello.capnp.ts", "wrote shared/names.capnp.ts"]);
    expect(run.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^hello\.capnp:10:11-21: warning: interface Calculator is not a session and no channel opens it: nothing is generated for it \(annotate it with \$Ipc\.session/),
    ]);
    const hello = readFileSync(join(dir, "hello.capnp.ts"), "utf8");
    expect(hello).toContain('import { Tone } from "./shared/names.capnp.js";');
    expect(hello).toContain(`codec.requireRuntimeApi(${RUNTIME_API}, "hello.capnp");`);
    expect(hello).not.toContain("Calculator");
    // ipcgen's own schema is not generated into the app: its module comes with the package.
    expect(spawnSync("find", [dir, "-name", "ipc.capnp.ts", "-not", "-path", "*/node_modules/*"], { encoding: "utf8" }).stdout).toBe("");
    // A second run writes nothing.
    expect(ipcgen(["hello.capnp"]).stdout).toBe("");
  });

  it("the code compiles with no @types/node of the app's own, with erasableSyntaxOnly, and runs as JavaScript on this Node", () => {
    const options: ts.CompilerOptions = {
      strict: true,
      target: ts.ScriptTarget.ES2022, // what Node 20 runs: TypeScript lowers `await using`
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ["lib.es2023.d.ts"],
      types: [], // nothing from the app: Node's types come through ipcgen's own typings
      erasableSyntaxOnly: true,
      verbatimModuleSyntax: true,
      skipLibCheck: true,
      outDir: join(dir, "out"),
      rootDir: dir,
    };
    const program = ts.createProgram([join(dir, "main.ts")], options);
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => `${d.file?.fileName ?? ""}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
    expect(diagnostics).toEqual([]);
    expect(program.emit().emitSkipped).toBe(false);
    writeFileSync(join(dir, "out/package.json"), JSON.stringify({ type: "module" }));

    const run = spawnSync(process.execPath, [join(dir, "out/main.js"), join(dir, "hello.sock")], { cwd: dir, encoding: "utf8", timeout: 30_000 });
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe("HELLO, ANN!");
  });

  it("a module generated for another runtime API fails at import, saying what to do", () => {
    const compiled = join(dir, "out/hello.capnp.js");
    const text = readFileSync(compiled, "utf8");
    expect(text).toContain(`requireRuntimeApi(${RUNTIME_API}, "hello.capnp")`);
    writeFileSync(compiled, text.replace(`requireRuntimeApi(${RUNTIME_API},`, `requireRuntimeApi(${RUNTIME_API + 1},`));
    const run = spawnSync(process.execPath, [join(dir, "out/main.js"), join(dir, "skew.sock")], { cwd: dir, encoding: "utf8", timeout: 30_000 });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(
      `RuntimeApiError: the module generated from hello.capnp needs ipcgen's runtime API ${RUNTIME_API + 1}, but the installed ipcgen provides API ${RUNTIME_API}: ` +
        "install the ipcgen that generated it (or a newer one), or generate it again with the installed ipcgen: npx ipcgen hello.capnp",
    );
  });

  it("an import that does not resolve names where it was looked for", () => {
    writeFileSync(join(dir, "broken.capnp"), '@0xd2c4a7e1b3f59073;\nusing A = import "/nowhere/a.capnp";\nusing B = import "near/b.capnp";\n');
    const run = ipcgen(["broken.capnp", "-I", "shared"]);
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split("\n");
    expect(lines).toEqual([
      expect.stringMatching(/^broken\.capnp:2:18-36: error: Import failed: \/nowhere\/a\.capnp$/),
      expect.stringMatching(/^ipcgen: note: import "\/nowhere\/a\.capnp" was looked for at shared\/nowhere\/a\.capnp, \/.*\/generator\/std\/nowhere\/a\.capnp; -I DIR adds a directory/),
      expect.stringMatching(/^broken\.capnp:3:18-32: error: Import failed: near\/b\.capnp$/),
      'ipcgen: note: import "near/b.capnp" was looked for at near/b.capnp',
    ]);
  });
});
