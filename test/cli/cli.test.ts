/**
 * The `ipcgen` command as a user meets it: help, `id`, generating TypeScript (the default command), and every
 * failure as one clear line with exit status 1 and no stack trace.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { normalizeArgs } from "../../generator/cli/args.js";
import { DEFAULT_RUNTIME } from "../../generator/codegen/runtime.js";
import { RUNTIME_API } from "../../runtime/codec/api.js";
import { parseOutputSpec } from "../../generator/cli/plugins.js";
import { itAsOtherUser } from "../support/other-user.js";
import { BIN, CAPNP, NO_CAPNP, ROOT, capnp, ensureBuilt, ipcgen, lines } from "./helpers.js";

let work: string;

beforeAll(async () => {
  await ensureBuilt();
  work = mkdtempSync(join(tmpdir(), "ipcgen-cli-"));
  chmodSync(work, 0o755); // as root, a second user runs the CLI in it ("a file that cannot be read")
  writeFileSync(join(work, "good.capnp"), "@0xd169a92246dc7893;\nstruct Foo {\n  a @0 :UInt32;\n}\n");
  writeFileSync(join(work, "bad.capnp"), "@0xd169a92246dc7894;\nstruct Foo {\n  a @0 :Bogus;\n  b @0 :Text;\n}\n");
  writeFileSync(join(work, "fail.sh"), "#!/bin/sh\ncat >/dev/null\necho 'fail.sh was here' >&2\nexit 3\n");
  chmodSync(join(work, "fail.sh"), 0o755);
  writeFileSync(join(work, "unreadable.capnp"), "@0xd169a92246dc7895;\n");
  chmodSync(join(work, "unreadable.capnp"), 0o000);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A failure as the brief wants it: exit status 1 (unless said), exactly one line, no stack trace. */
function expectOneLineFailure(run: { status: number | null; stderr: string }, pattern: RegExp, status = 1) {
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(lines(run.stderr)).toHaveLength(1);
  expect(run.stderr).toMatch(pattern);
  expect(run.status).toBe(status);
}

describe("help", () => {
  it("the built file is an executable script for node", () => {
    expect(readFileSync(BIN, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
  });

  it("top-level --help names the commands and every option of generating TypeScript", () => {
    const run = ipcgen(["--help"]);
    expect(run.status).toBe(0);
    const text = run.stdout.toString();
    expect(text).toContain("ipcgen compile");
    expect(text).toContain("ipcgen id");
    for (const option of [
      "-o, --out",
      "-I, --import-path",
      "--no-standard-import",
      "--src-prefix",
      "-t, --templates",
      "--helpers",
      "--import-extension",
      "--check",
      "-w, --watch",
      "--no-verify",
      "--verbose",
    ]) {
      expect(text).toContain(option);
    }
    expect(text).toContain("ipcgen templates");
  });

  it("templates eject --help explains DIR and --force", () => {
    const run = ipcgen(["templates", "eject", "--help"]);
    expect(run.status).toBe(0);
    const text = run.stdout.toString();
    expect(text).toContain("Usage: ipcgen templates eject DIR [--force]");
    expect(text).toContain("--force");
    expect(text).toContain("--templates DIR");
  });

  it("compile --help explains every option", () => {
    const run = ipcgen(["compile", "--help"]);
    expect(run.status).toBe(0);
    const text = run.stdout.toString();
    for (const option of ["-o, --output", "-I, --import-path", "--no-standard-import", "--src-prefix", "--verbose"]) {
      expect(text).toContain(option);
    }
    expect(text).toContain("PLUGIN[:DIR]");
    expect(text).toContain("capnpc-PLUGIN");
    expect(text).toMatch(/'-' writes the binary/);
    expect(text).toContain("FILE...");
  });

  it.skipIf(CAPNP === null)(`compile --help covers every option of capnp compile --help${NO_CAPNP}`, () => {
    const theirs = capnp(["compile", "--help"]).stdout.toString();
    const options = new Set(theirs.match(/--[a-z][a-z-]+/g));
    expect(options.size).toBeGreaterThan(4);
    const ours = ipcgen(["compile", "--help"]).stdout.toString();
    for (const option of options) expect(ours, option).toContain(option);
  });

  it("--version prints the package's version", () => {
    const run = ipcgen(["--version"]);
    expect(run.status).toBe(0);
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(run.stdout.toString().trim()).toBe(pkg.version);
  });
});

describe("id", () => {
  it("prints @0x and 16 hex digits with the top bit set, as capnp id does", () => {
    const run = ipcgen(["id"]);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe("");
    const text = run.stdout.toString();
    expect(text).toMatch(/^@0x[0-9a-f]{16}\n$/);
    expect(BigInt(text.trim().slice(1)) >> 63n).toBe(1n);
  });

  it("prints a different id each time", () => {
    const ids = new Set(Array.from({ length: 5 }, () => ipcgen(["id"]).stdout.toString()));
    expect(ids.size).toBe(5);
    // Random bits, not a counter or a clock: the ids differ in many bits, not only the low ones.
    const values = [...ids].map((id) => BigInt(id.trim().slice(1)));
    const differing = (values[0] ^ values[1]).toString(2).replace(/0/g, "").length;
    expect(differing).toBeGreaterThan(10);
  });

  it.skipIf(CAPNP === null)(`has the same form as capnp id${NO_CAPNP}`, () => {
    const shape = (s: string) => s.replace(/[0-9a-f]/g, "h");
    expect(shape(ipcgen(["id"]).stdout.toString())).toBe(shape(capnp(["id"]).stdout.toString()));
  });
});

describe("generating TypeScript", () => {
  it("writes DIR/<schema path>.ts, which imports the capnp and codec runtime modules", () => {
    const run = ipcgen(["good.capnp", "-o", "gen"], { cwd: work });
    expect(run.stderr.toString()).toBe("");
    expect(run.status).toBe(0);
    const text = readFileSync(join(work, "gen/good.capnp.ts"), "utf8");
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(text.startsWith(`// Generated by ipcgen ${version} (runtime API ${RUNTIME_API}) from good.capnp. Do not edit`)).toBe(true);
    expect(text).toContain(`import * as capnp from "${DEFAULT_RUNTIME.capnp}";`);
    expect(text).toContain(`import * as codec from "${DEFAULT_RUNTIME.codec}";`);
    expect(text).toContain("export class Foo extends capnp.Struct {");
  });

  it("replaces a bundled template with one of the same name from --templates", () => {
    writeFileSync(join(work, "header.hbs"), "// custom header for {{source}}\n");
    const run = ipcgen(["good.capnp", "-o", "gen2", "--templates", "."], { cwd: work });
    expect(run.status).toBe(0);
    expect(readFileSync(join(work, "gen2/good.capnp.ts"), "utf8")).toMatch(/^\/\/ custom header for good\.capnp\n/);
  });

  it("a broken template is one clear line, exit status 1", () => {
    const dir = join(work, "broken-templates");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "enum.hbs"), "{{#each enumerants}}\n");
    writeFileSync(join(work, "enum.capnp"), "@0xd169a92246dc7896;\nenum E {\n  a @0;\n}\n");
    expectOneLineFailure(ipcgen(["enum.capnp", "-o", "gen4", "--templates", "broken-templates"], { cwd: work }), /--templates broken-templates failed: .*/);
  });

  it("reports schema errors as capnp does and writes nothing", () => {
    const run = ipcgen(["bad.capnp", "-o", "gen3"], { cwd: work });
    expect(run.status).toBe(1);
    expect(run.stderr.toString()).toMatch(/^bad\.capnp:3:\d+-\d+: error: /m);
    expect(() => readFileSync(join(work, "gen3/bad.capnp.ts"))).toThrow();
  });

  it("without -o writes the module beside the schema and says so", () => {
    const run = ipcgen(["good.capnp"], { cwd: work });
    expect(run.stderr.toString()).toBe("");
    expect(run.stdout.toString()).toBe("wrote good.capnp.ts\n");
    expect(run.status).toBe(0);
    expect(readFileSync(join(work, "good.capnp.ts"), "utf8")).toContain("export class Foo extends capnp.Struct {");
  });

  it("with no arguments at all shows the help on stderr and exits 1", () => {
    const run = ipcgen([]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("ipcgen compile");
  });
});

describe("compile: arguments are checked before anything is compiled", () => {
  it("a missing file", () => {
    expectOneLineFailure(ipcgen(["compile", "-o-", "nosuch.capnp"], { cwd: work }), /^ipcgen compile: nosuch\.capnp: no such file$/m);
  });

  // Root reads anything: as root (CI), the CLI runs as a second user, which must then exist.
  if (process.getuid?.() !== 0) {
    it("a file that cannot be read", () => {
      expectOneLineFailure(ipcgen(["compile", "-o-", "unreadable.capnp"], { cwd: work }), /unreadable\.capnp: cannot be read/);
    });
  } else {
    itAsOtherUser("a file that cannot be read (run as another user)", () => [BIN, work], async (other) => {
      const run = ipcgen(["compile", "-o-", "unreadable.capnp"], { cwd: work, uid: other.uid, gid: other.gid });
      expectOneLineFailure(run, /unreadable\.capnp: cannot be read/);
    });
  }

  it("a directory given as a file", () => {
    expectOneLineFailure(ipcgen(["compile", "-o-", "."], { cwd: work }), /^ipcgen compile: \.: not a regular file$/m);
  });

  it("an -I directory that does not exist", () => {
    expectOneLineFailure(ipcgen(["compile", "-Inodir", "-o-", "good.capnp"], { cwd: work }), /-I nodir: no such directory/);
  });

  it("a --src-prefix that does not exist", () => {
    expectOneLineFailure(ipcgen(["compile", "--src-prefix=nodir", "-o-", "good.capnp"], { cwd: work }), /--src-prefix=nodir: no such directory/);
  });

  it("a plugin that is not on PATH", () => {
    const run = ipcgen(["compile", "-o", "nosuchlang", "good.capnp"], { cwd: work });
    expectOneLineFailure(run, /^ipcgen compile: -o nosuchlang: no such plugin \(executable should be 'capnpc-nosuchlang' on PATH\)$/m);
  });

  it("a plugin path that does not exist", () => {
    const run = ipcgen(["compile", "-o./nosuch:out", "good.capnp"], { cwd: work });
    expectOneLineFailure(run, /-o \.\/nosuch:out: no such plugin \(executable should be '.*\/nosuch'\)/);
  });

  it("an output directory that is a file", () => {
    expectOneLineFailure(ipcgen(["compile", "-ocapnp:good.capnp", "good.capnp"], { cwd: work }), /output location is not a directory/);
  });

  it("an unknown option", () => {
    const run = ipcgen(["compile", "good.capnp", "--frobnicate"], { cwd: work });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^ipcgen compile: Unknown argument: frobnicate$/m);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it("no file at all", () => {
    const run = ipcgen(["compile", "-o-"], { cwd: work });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^ipcgen compile: missing FILE/m);
  });
});

describe("compile: compiling and running plugins", () => {
  it("a schema with errors: the compiler's messages on stderr, exit 1, nothing on stdout", () => {
    const run = ipcgen(["compile", "-o-", "bad.capnp"], { cwd: work });
    expect(run.status).toBe(1);
    expect(run.stdout.length).toBe(0);
    expect(run.stderr).toMatch(/^bad\.capnp:3:\d+-\d+: error: /m);
    expect(run.stderr).not.toMatch(/^\s+at /m);
    if (CAPNP !== null) expect(run.stderr).toBe(capnp(["compile", "-o-", "bad.capnp"], { cwd: work }).stderr);
  });

  it("no -o: compiles, then fails with 'no outputs specified' as capnp does", () => {
    expectOneLineFailure(ipcgen(["compile", "good.capnp"], { cwd: work }), /^ipcgen compile: no outputs specified/);
    if (CAPNP !== null) expect(capnp(["compile", "good.capnp"], { cwd: work }).status).toBe(1);
  });

  it("no -o and a schema with errors: only the compiler's messages", () => {
    const run = ipcgen(["compile", "bad.capnp"], { cwd: work });
    expect(run.status).toBe(1);
    expect(run.stderr).not.toContain("no outputs specified");
    expect(run.stderr).toMatch(/^bad\.capnp:3:/m);
  });

  it("a plugin that fails: its own output, then one line with its name and exit status", () => {
    const run = ipcgen(["compile", "-o./fail.sh", "good.capnp"], { cwd: work });
    expect(run.status).toBe(1);
    expect(lines(run.stderr)).toEqual(["fail.sh was here", "ipcgen compile: -o ./fail.sh: plugin failed: exit code 3"]);
  });

  it("a failed plugin does not stop the outputs after it", () => {
    const run = ipcgen(["compile", "-o./fail.sh", "-o-", "good.capnp"], { cwd: work });
    expect(run.status).toBe(1);
    expect(run.stdout.length).toBeGreaterThan(8);
  });

  it("-o-, -o -, --output=- and --output - all write the same request to stdout", () => {
    const outputs = [["-o-"], ["-o", "-"], ["--output=-"], ["--output", "-"]].map((spelling) => {
      const run = ipcgen(["compile", ...spelling, "good.capnp"], { cwd: work });
      expect(run.status, run.stderr).toBe(0);
      return run.stdout;
    });
    expect(outputs[0].length).toBeGreaterThan(8);
    for (const out of outputs) expect(out.equals(outputs[0])).toBe(true);
  });

  it("two -o- write the request twice", () => {
    const once = ipcgen(["compile", "-o-", "good.capnp"], { cwd: work }).stdout;
    const twice = ipcgen(["compile", "-o-", "-o-", "good.capnp"], { cwd: work }).stdout;
    expect(once.length).toBeGreaterThan(8);
    expect(twice.equals(Buffer.concat([once, once]))).toBe(true);
  });

  it("a reader that closes stdout early: one line, exit 1", async () => {
    const child = spawn(process.execPath, [BIN, "compile", ...Array<string>(400).fill("-o-"), "good.capnp"], { cwd: work });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.once("data", () => child.stdout.destroy());
    const status = await new Promise<number | null>((done) => child.on("close", (code) => done(code)));
    expectOneLineFailure({ status, stderr }, /^ipcgen compile: stdout was closed before the request was all written$/m);
  });

  it("--verbose logs to stderr and leaves stdout alone", () => {
    const quiet = ipcgen(["compile", "-o-", "good.capnp"], { cwd: work });
    const loud = ipcgen(["compile", "--verbose", "-o-", "good.capnp"], { cwd: work });
    expect(loud.status).toBe(0);
    expect(loud.stderr).toMatch(/^ipcgen compile: compiled 1 file/m);
    expect(loud.stdout.equals(quiet.stdout)).toBe(true);
  });
});

describe("argument spelling (unit)", () => {
  it("rewrites capnp's glued and separate short options to --long=value", () => {
    expect(normalizeArgs(["compile", "-Isrc", "-I", "lib", "-o-", "-o", "-", "-oc++:out", "--src-prefix", "src", "a.capnp"])).toEqual([
      "compile",
      "--import-path=src",
      "--import-path=lib",
      "--output=-",
      "--output=-",
      "--output=c++:out",
      "--src-prefix=src",
      "a.capnp",
    ]);
  });

  it("leaves other commands and everything after -- alone", () => {
    expect(normalizeArgs(["id"])).toEqual(["id"]);
    expect(normalizeArgs(["x.capnp", "-oout"])).toEqual(["x.capnp", "-oout"]);
    expect(normalizeArgs(["compile", "--", "-ofile.capnp"])).toEqual(["compile", "--", "-ofile.capnp"]);
  });

  it("splits PLUGIN:DIR at the first colon, except after a drive letter", () => {
    expect(parseOutputSpec("capnp", "/w")).toEqual({ spec: "capnp", plugin: "capnp", dir: null });
    expect(parseOutputSpec("c++:out/x", "/w")).toEqual({ spec: "c++:out/x", plugin: "c++", dir: "/w/out/x" });
    expect(parseOutputSpec("c:/out", "/w")).toMatchObject({ plugin: "c", dir: "/out" });
    expect(parseOutputSpec("c:/tools/p.exe:out", "/w")).toMatchObject({ plugin: "c:/tools/p.exe", dir: "/w/out" });
    expect(() => parseOutputSpec(":out", "/w")).toThrow(/no plugin/);
    expect(() => parseOutputSpec("capnp:", "/w")).toThrow(/no directory/);
  });
});
