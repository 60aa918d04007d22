/**
 * The negative corpus: schemas that must fail, with the same messages at the same positions as capnp 0.9.2.
 *
 * 1. capnp's own `testdata/errors.capnp.nobuild` / `errors2.capnp.nobuild` with `errors.txt` / `errors2.txt`,
 *    run as capnp's `capnp-test.sh` does (the path up to the file name becomes `file`). ipcgen must report
 *    every expected line and nothing else (order-insensitive); capnp's live output is checked against the
 *    same files, so the expectations are known to be the oracle's.
 * 2. Small broken schemas of our own, each compiled by capnp live: ipcgen (in-process, and the built CLI
 *    when `dist/` exists) must fail too (exit status 1) with the same formatted messages (but for the few
 *    that CLEARER lists: same position, a clearer message on purpose).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_MAIN, CORPUS, cliBuilt, ipcgenCompile, runCli } from "../support/ipcgen.js";
import { ALL_BROKEN as BROKEN, MESSAGE_CASES } from "./messages.js";
import { ID } from "./support/broken-schemas.js";
import { type CapnpRun, type CompileArgs, capnpCompile, compileArgv, errorLines, mapLimit, noteIfOracleMissing, oracle } from "../support/oracle.js";

noteIfOracleMissing("negative-corpus tests");
if (oracle !== null && !cliBuilt()) {
  console.warn(`[skipped] CLI error-output tests: ${CLI_MAIN} does not exist (run \`npm run build\` first)`);
}

/** Lines in `actual` but not `expected` and the reverse, as multisets. */
function multisetDiff(expected: string[], actual: string[]): { missing: string[]; extra: string[] } {
  const left = [...expected];
  const extra: string[] = [];
  for (const line of actual) {
    const i = left.indexOf(line);
    if (i >= 0) left.splice(i, 1);
    else extra.push(line);
  }
  return { missing: left, extra };
}

function expectSameLines(expected: string[], actual: string[], what: string): void {
  const { missing, extra } = multisetDiff(expected, actual);
  if (missing.length > 0 || extra.length > 0) {
    const show = (title: string, lines: string[]) => (lines.length > 0 ? `\n${title} (${lines.length}):\n  ${lines.join("\n  ")}` : "");
    throw new Error(`${what}: messages differ from capnp's${show("expected but not reported", missing)}${show("reported but not expected", extra)}`);
  }
}

const TESTDATA = "src/capnp/testdata";
const CORPUS_ERR_ARGS: CompileArgs = { cwd: CORPUS, standardImport: false };

describe.skipIf(oracle === null)("capnp's negative corpus (testdata/errors*.capnp.nobuild)", () => {
  const cases = [
    { file: `${TESTDATA}/errors.capnp.nobuild`, expected: `${TESTDATA}/errors.txt`, pattern: /^.*errors[.]capnp[.]nobuild:/ },
    { file: `${TESTDATA}/errors2.capnp.nobuild`, expected: `${TESTDATA}/errors2.txt`, pattern: /^.*errors2[.]capnp[.]nobuild:/ },
  ];
  const expectedLines = (path: string) => readFileSync(join(CORPUS, path), "utf8").replace(/\r/g, "").split("\n").filter((l) => l !== "");

  it.each(cases)("$file: capnp's live output is $expected", async ({ file, expected, pattern }) => {
    const run = await capnpCompile([file], CORPUS_ERR_ARGS);
    expect(run.status).toBe(1);
    expect(run.messages.map((m) => m.replace(pattern, "file:"))).toEqual(expectedLines(expected));
  });

  it.each(cases)("$file: ipcgen reports exactly the lines of $expected", async ({ file, expected, pattern }) => {
    const result = await ipcgenCompile([file], CORPUS_ERR_ARGS);
    expect(result.ok, `ipcgen accepted ${file}`).toBe(false);
    expectSameLines(expectedLines(expected), result.messages.map((m) => m.replace(pattern, "file:")), file);
  });
});

/** capnp's refusal of some unions in unions (capnproto issue 344): an uncaught exception, not a message. */
const BAD_NEWS_SCHEMA = `${ID}
struct S {
  u :union {
    a @0 :UInt8;
    b :group {
      v :union {
        c @1 :UInt8;
        d @2 :UInt16;
      }
    }
  }
}
# Values of S, whose schema fails to load: ipcgen once crashed compiling them (random seed 2932).
struct T {
  l @0 :List(S) = [(a = 1), (b = (v = (d = 2)))];
  s @1 :S = (a = 3);
}
const c :List(S) = [(a = 4)];
const d :T = (s = (a = 5), l = [(a = 6)]);
`;

/**
 * Where ipcgen reports an error on purpose with a clearer message than capnp's, at the same position: per
 * case, the position (`LINE:COL-COL`), capnp's message and ipcgen's. The comparison puts ipcgen's message in
 * place of capnp's in capnp's line, so position, count and every other line are still capnp's; each entry
 * must match one of capnp's lines (so a stale entry fails).
 */
const CLEARER: Record<string, { at: string; capnp: string; ipcgen: string }[]> = {
  // capnp: its schema loader's exception ("duplicate name") as an internal compiler bug.
  "duplicate-param-name": [
    { at: "2:11-12", capnp: "Internal compiler bug: Bootstrap schema failed validation:", ipcgen: "Method 'm' has two parameters named 'a'." },
  ],
  "duplicate-result-name": [
    { at: "3:13-14", capnp: "Internal compiler bug: Bootstrap schema failed validation:", ipcgen: "Method 'm' has two results named 'a'." },
  ],
  "duplicate-param-name-first-only": [
    { at: "6:11-12", capnp: "Internal compiler bug: Bootstrap schema failed validation:", ipcgen: "Method 'n' has two parameters named 'b'." },
  ],
};

/** capnp's lines for case `name`, with CLEARER's messages in place of capnp's. */
function withClearerMessages(name: string, lines: string[]): string[] {
  const entries = CLEARER[name] ?? [];
  const used = new Set<number>();
  const out = lines.map((line) => {
    const i = entries.findIndex((e) => line === `${name}.capnp:${e.at}: error: ${e.capnp}`);
    if (i < 0) return line;
    used.add(i);
    return `${name}.capnp:${entries[i].at}: error: ${entries[i].ipcgen}`;
  });
  const stale = entries.filter((_, i) => !used.has(i));
  if (stale.length > 0) throw new Error(`CLEARER entries of ${name} match none of capnp's lines: ${JSON.stringify(stale)}\ncapnp:\n  ${lines.join("\n  ")}`);
  return out;
}

/** The id capnp makes up for a file without one is random: compare the message without it. */
const normalize = (lines: string[]) => lines.map((l) => l.replace(/Add this line to your file: @0x[0-9a-f]{16};/, "Add this line to your file: @0x…;"));

describe.skipIf(oracle === null)("broken schemas: ipcgen fails as capnp does", () => {
  let dir: string;
  let args: CompileArgs;
  const live = new Map<string, CapnpRun>();
  const names = Object.keys(BROKEN);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ipcgen-errors-"));
    args = { cwd: dir, standardImport: false };
    for (const [name, text] of Object.entries(BROKEN)) writeFileSync(join(dir, `${name}.capnp`), text);
    writeFileSync(join(dir, "bad-news.capnp"), BAD_NEWS_SCHEMA);
    const runs = await mapLimit([...names, "bad-news"], 2, (name) => capnpCompile([`${name}.capnp`], args));
    for (const run of runs) live.set(run.files[0], run);
  });
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it.each(names)("%s: capnp fails with status 1 and messages", (name) => {
    const run = live.get(`${name}.capnp`)!;
    expect(run.status).toBe(1);
    expect(run.messages.length).toBeGreaterThan(0);
  });

  it.each(names)("%s: ipcgen reports capnp's messages", async (name) => {
    const file = `${name}.capnp`;
    const result = await ipcgenCompile([file], args);
    const theirs = live.get(file)!.messages;
    expect(result.ok, `ipcgen accepted ${file}; capnp reported:\n  ${theirs.join("\n  ")}`).toBe(false);
    expectSameLines(normalize(withClearerMessages(name, theirs)), normalize(result.messages), file);
  });

  it('bad-news: a union layout capnp 0.9.2 refuses ("Bad news", issue 344) is refused by ipcgen too, values of it included', async () => {
    const run = live.get("bad-news.capnp")!;
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("Bad news: Cap'n Proto 0.5.x and previous contained a bug");
    const result = await ipcgenCompile(["bad-news.capnp"], args);
    expect(result.ok).toBe(false);
    expect(result.messages.some((m) => m.includes("Bad news"))).toBe(true);
  });

  describe.skipIf(!cliBuilt())("the built CLI", () => {
    // A process per case costs about a third of a second: the cases of messages.ts are compiled in one run
    // instead (below), but those CLEARER rewords (capnp reports them only in a run without earlier errors).
    const single = names.filter((name) => !(name in MESSAGE_CASES) || name in CLEARER);
    const batched = names.filter((name) => !single.includes(name));

    it.each(single)("%s: `ipcgen compile -o-` exits 1 with capnp's messages", async (name) => {
      const file = `${name}.capnp`;
      const ours = await runCli(compileArgv([file], args), dir);
      expect(ours.status, `ipcgen compile ${file} exited ${ours.status}; stderr:\n${ours.stderr}`).toBe(1);
      expect(ours.stdout.length).toBe(0);
      expectSameLines(normalize(withClearerMessages(name, live.get(file)!.messages)), normalize(errorLines(ours.stderr)), `ipcgen compile ${file}`);
    });

    it(`the ${batched.length} cases of messages.ts in one run: \`ipcgen compile -o-\` exits 1 with capnp's messages of the same run`, async () => {
      // Each file gets an id of its own, so that the files do not clash with one another.
      const batchDir = join(dir, "batch");
      mkdirSync(batchDir);
      batched.forEach((name, i) => {
        const id = `@0x${(0xc0ffee0000000000n + BigInt(i)).toString(16)};`;
        writeFileSync(join(batchDir, `${name}.capnp`), BROKEN[name].replace(ID, id));
      });
      const files = batched.map((name) => `${name}.capnp`);
      const batchArgs = { cwd: batchDir, standardImport: false };
      const theirs = await capnpCompile(files, batchArgs);
      expect(theirs.status).toBe(1);
      expect(new Set(theirs.messages.map((line) => line.slice(0, line.indexOf(":")))), "every file has its errors in the run").toEqual(new Set(files));
      const ours = await runCli(compileArgv(files, batchArgs), batchDir);
      expect(ours.status, `ipcgen compile exited ${ours.status}; stderr:\n${ours.stderr}`).toBe(1);
      expect(ours.stdout.length).toBe(0);
      expectSameLines(normalize(theirs.messages), normalize(errorLines(ours.stderr)), "ipcgen compile (batch)");
    });
  });
});
