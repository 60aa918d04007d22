/**
 * `ipcgen SCHEMA... -o DIR --watch`, as a real process: it generates, then generates again when a schema
 * (requested or imported), a template or the helpers module changes, prints compile errors and goes on
 * watching, and ends with status 0 on SIGTERM or SIGINT.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BIN, ensureBuilt } from "./helpers.js";

let work: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  await ensureBuilt();
  work = mkdtempSync(join(tmpdir(), "ipcgen-watch-"));
});

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Watching {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWatch(args: string[], cwd: string): Watching {
  const child = spawn(process.execPath, [BIN, ...args, "--watch"], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on("close", (code, signal) => done({ code, signal })),
  );
  return { child, stderr: () => stderr, exited };
}

/** Polls `condition` until it holds; fails naming `what` and showing the watcher's stderr after `ms`. */
async function waitFor(condition: () => boolean, what: string, watching: Watching, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr so far:\n${watching.stderr()}`);
    if (watching.child.exitCode !== null) throw new Error(`ipcgen --watch exited (${watching.child.exitCode}) while waiting for ${what}:\n${watching.stderr()}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

const count = (text: string, pattern: RegExp) => (text.match(new RegExp(pattern, "g")) ?? []).length;

describe("--watch", () => {
  it("generates again when a schema, an imported schema, a template or the helpers change; errors do not stop it", async () => {
    const dir = join(work, "main");
    mkdirSync(join(dir, "tpl"), { recursive: true });
    writeFileSync(join(dir, "types.capnp"), "@0xd169a92246dc78b1;\nstruct Message {\n  text @0 :Text;\n}\n");
    const chat = (fields: string) => `@0xd169a92246dc78b2;\nusing Types = import "types.capnp";\nstruct Room {\n  last @0 :Types.Message;\n${fields}}\n`;
    writeFileSync(join(dir, "chat.capnp"), chat(""));
    writeFileSync(join(dir, "tpl/header.hbs"), "// {{stamp source}}\n");
    writeFileSync(join(dir, "helpers.mjs"), 'export function stamp(s) { return "v1 " + s; }\n');
    const read = (path: string) => (existsSync(join(dir, path)) ? readFileSync(join(dir, path), "utf8") : "");

    const w = startWatch(["chat.capnp", "-o", "gen", "-t", "tpl", "--helpers", "helpers.mjs"], dir);
    await waitFor(() => w.stderr().includes("watching for changes"), "the first generation", w);
    expect(w.stderr()).toContain("ipcgen: generated 2 file(s), 2 written, 0 unchanged; watching for changes (Ctrl-C stops)");
    expect(read("gen/chat.capnp.ts").split("\n")[0]).toBe("// v1 chat.capnp");

    // An imported schema.
    writeFileSync(join(dir, "types.capnp"), "@0xd169a92246dc78b1;\nstruct Message {\n  text @0 :Text;\n  extra @1 :Bool;\n}\n");
    await waitFor(() => read("gen/types.capnp.ts").includes("extra"), "types.capnp.ts to gain 'extra'", w);
    expect(w.stderr()).toContain("ipcgen: types.capnp changed; generating again");

    // A compile error is printed; watching goes on.
    writeFileSync(join(dir, "chat.capnp"), chat("  bad @1 :Nope;\n"));
    await waitFor(() => /^chat\.capnp:5:\d+-\d+: error: Not defined: Nope$/m.test(w.stderr()), "the compile error", w);
    // The fix, saved as editors do: a new file renamed over the old one.
    writeFileSync(join(dir, "chat.capnp.tmp"), chat("  topic @1 :Text;\n"));
    renameSync(join(dir, "chat.capnp.tmp"), join(dir, "chat.capnp"));
    await waitFor(() => read("gen/chat.capnp.ts").includes("topic"), "chat.capnp.ts to gain 'topic'", w);

    // A template.
    writeFileSync(join(dir, "tpl/header.hbs"), "// {{stamp source}} (edited)\n");
    await waitFor(() => read("gen/chat.capnp.ts").startsWith("// v1 chat.capnp (edited)\n"), "the edited header", w);

    // The helpers module.
    writeFileSync(join(dir, "helpers.mjs"), 'export function stamp(s) { return "v2 " + s; }\n');
    await waitFor(() => read("gen/types.capnp.ts").startsWith("// v2 types.capnp (edited)\n"), "the new helper's output", w);

    // Files that are not inputs are ignored.
    const runs = count(w.stderr(), /generating again/);
    writeFileSync(join(dir, "notes.txt"), "not a schema\n");
    await new Promise((done) => setTimeout(done, 400));
    expect(count(w.stderr(), /generating again/)).toBe(runs);

    w.child.kill("SIGTERM");
    expect(await w.exited).toEqual({ code: 0, signal: null });
    expect(w.stderr()).not.toMatch(/internal error|^\s+at /m);
  });

  it("starts despite a missing import, generates once it is created, and ends on SIGINT", async () => {
    const dir = join(work, "missing");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "app.capnp"), '@0xd169a92246dc78c1;\nusing Later = import "later.capnp";\nstruct App {\n  x @0 :Later.Thing;\n}\n');
    const w = startWatch(["app.capnp", "-o", "out", "--no-verify"], dir);
    await waitFor(() => w.stderr().includes("watching for changes"), "the first (failed) generation", w);
    expect(w.stderr()).toMatch(/^app\.capnp:2:\d+-\d+: error: /m);
    expect(existsSync(join(dir, "out"))).toBe(false);

    writeFileSync(join(dir, "later.capnp"), "@0xd169a92246dc78c2;\nstruct Thing {\n  y @0 :UInt8;\n}\n");
    await waitFor(() => existsSync(join(dir, "out/app.capnp.ts")) && existsSync(join(dir, "out/later.capnp.ts")), "the generated modules", w);

    w.child.kill("SIGINT");
    expect(await w.exited).toEqual({ code: 0, signal: null });
  });
});
