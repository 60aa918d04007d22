/**
 * When the generated code does not type-check because of the user's environment, not ipcgen, generation
 * says so. Here ipcgen is installed as a package whose dependencies lack @types/node (an incomplete
 * install), in a folder with none above it: the check fails, and the message names the missing types
 * instead of calling it a bug in ipcgen.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cliBuilt, REPO } from "../support/ipcgen.js";

const dir = mkdtempSync(join(tmpdir(), "ipcgen-env-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!cliBuilt())("a check that fails because of the environment", () => {
  it("names what is missing, not ipcgen", () => {
    const pkg = join(dir, "pkg");
    mkdirSync(join(pkg, "node_modules"), { recursive: true });
    for (const part of ["package.json", "dist", "templates", "generator/std"]) cpSync(join(REPO, part), join(pkg, part), { recursive: true });
    for (const name of readdirSync(join(REPO, "node_modules"))) {
      if (name !== "@types") symlinkSync(join(REPO, "node_modules", name), join(pkg, "node_modules", name));
    }
    const app = join(dir, "app");
    mkdirSync(app);
    writeFileSync(
      join(app, "desk.capnp"),
      '@0xd169a92246dc78b1;\nusing Ipc = import "/ipcgen/ipc.capnp";\ninterface Desk $Ipc.session {\n  take @0 (name :Text) -> (ticket :UInt32);\n  changed @1 () -> () $Ipc.signal(toClient);\n}\n',
    );
    const run = spawnSync(process.execPath, [join(pkg, "dist/generator/cli/main.js"), "desk.capnp"], { cwd: app, encoding: "utf8" });
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split("\n");
    expect(lines[0]).toMatch(/^desk\.capnp\.ts:\d+:\d+: error TS2304: Cannot find name 'AbortSignal'\.$/);
    expect(lines.at(-1)).toBe(
      "ipcgen: the generated code does not type-check (1 error); the environment is the likely cause: Node's type declarations " +
        `(@types/node) were not found above the current directory or above ipcgen's package (${pkg}), which depends on them: ` +
        "the install is incomplete; npm install --save-dev @types/node fixes it; --no-verify skips this check",
    );
    expect(run.stderr).not.toContain("bug in ipcgen");
  });
});
