/**
 * Shared by the tests of generating TypeScript (generate.test.ts, templates.test.ts): two schemas, one
 * importing the other, and small helpers to run the built `ipcgen` in a scratch directory.
 */
import { mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { ROOT, ipcgen, lines } from "./helpers.js";

/** The bundled templates. */
export const TEMPLATES = join(ROOT, "templates", "typescript");
/** ipcgen's version, as the header prints it. */
export const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

export const TYPES = `@0xd169a92246dc78a1;
struct Message {
  # A chat message.
  text @0 :Text;
  from @1 :UInt32;
}
enum Mood {
  happy @0;
  sad @1;
}
`;

/** Imports types.capnp, so that one generated module imports another. */
export const CHAT = `@0xd169a92246dc78a2;
using Types = import "types.capnp";
struct Room {
  name @0 :Text;
  last @1 :Types.Message;
  mood @2 :Types.Mood;
}
`;

/** A new scratch directory holding chat.capnp and types.capnp. */
export function scratch(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, "types.capnp"), TYPES);
  writeFileSync(join(dir, "chat.capnp"), CHAT);
  return dir;
}

/** A failure as one line on stderr, exit status 1, no stack. */
export function expectOneLineFailure(run: { status: number | null; stderr: string }, pattern: RegExp): void {
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(lines(run.stderr), run.stderr).toHaveLength(1);
  expect(lines(run.stderr)[0]).toMatch(pattern);
  expect(run.status).toBe(1);
}

/** Helpers bound to the scratch directory `dir()` (known only once `beforeAll` has made it). */
export function inScratch(dir: () => string) {
  return {
    /** Runs ipcgen there. */
    run: (args: string[]) => ipcgen(args, { cwd: dir() }),
    /** Runs ipcgen there and expects success with nothing on stderr (unless `--verbose`). */
    generate(args: string[]) {
      const run = ipcgen(args, { cwd: dir() });
      expect(run.status, run.stderr).toBe(0);
      if (!args.includes("--verbose")) expect(run.stderr).toBe("");
      return run;
    },
    read: (path: string) => readFileSync(join(dir(), path), "utf8"),
    mtime: (path: string) => statSync(join(dir(), path)).mtimeMs,
    /** Sets a file's times well into the past, so that any rewrite shows. */
    age: (path: string) => utimesSync(join(dir(), path), new Date(2001, 0, 1), new Date(2001, 0, 1)),
  };
}
