/**
 * Debian's capnpc-c++ and capnpc-capnp over every schema: for each `.capnp` file of the capnp 0.9.2 corpus
 * (src/ and samples/, with CORPUS_ARGS) and of this project (PROJECT_ARGS), `ipcgen compile -oc++:B -ocapnp:B`
 * (the built CLI) must end as `capnp compile -oc++:A -ocapnp:A` does: the same exit status, the same
 * stdout (capnpc-capnp prints there) and the same output files, byte for byte. A schema that capnp or a
 * plugin refuses must be refused alike. Files are compiled one at a time, as the corpus test compiles them:
 * the corpus's files import each other through `-I src` under other names than the command line gives
 * them (capnp warns of "the same source file mapped at two different paths" and keeps the first name it
 * saw), so a batch would change the display names and with them the outputs.
 *
 * Equal bytes make compiling ipcgen's C++ the same as compiling capnp's; one real g++ run over two of
 * ipcgen's generated files checks that the toolchain takes them.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORPUS_ARGS, PROJECT_ARGS, corpusSchemas, projectSchemas, runCli } from "../support/ipcgen.js";
import { type CompileArgs, compileArgv, mapLimit } from "../support/oracle.js";
import { CAPNP, NO_CAPNP, NO_CORPUS, ensureBuilt, listFiles } from "./helpers.js";

const PLUGINS = ["/usr/bin/capnpc-c++", "/usr/bin/capnpc-capnp"];
const missingPlugin = PLUGINS.find((p) => !existsSync(p));
const NO_PLUGINS = missingPlugin === undefined ? "" : ` [skipped: ${missingPlugin} is not installed (apt-get install capnproto)]`;

interface Outcome {
  status: number | null;
  stdout: Buffer;
  stderr: string;
  /** The output directory given to both plugins. */
  dir: string;
}

/** `compile -oc++:DIR -ocapnp:DIR ...` with the flags and file of `args`. */
function pluginArgv(file: string, args: CompileArgs, dir: string): string[] {
  const [command, , ...rest] = compileArgv([file], args); // drops compileArgv's "-o-"
  return [command, `-oc++:${dir}`, `-ocapnp:${dir}`, ...rest];
}

function runCapnp(argv: string[], cwd: string): Promise<Omit<Outcome, "dir">> {
  return new Promise((done, fail) => {
    // PWD as a shell sets it: capnp warns when it does not name the working directory.
    const child = spawn(CAPNP!, argv, { cwd, env: { ...process.env, PWD: resolve(cwd) }, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", fail);
    child.on("close", (status) => done({ status, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") }));
  });
}

/** Where two byte strings first differ, as `LINE: expected | actual`, or null when they are equal. */
function firstDifference(expected: Buffer, actual: Buffer): string | null {
  if (expected.equals(actual)) return null;
  const a = expected.toString("latin1").split("\n");
  const b = actual.toString("latin1").split("\n");
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const show = (line: string | undefined) => (line === undefined ? "<end of file>" : JSON.stringify(line.slice(0, 200)));
  return `line ${i + 1}: capnp's ${show(a[i])}, ipcgen's ${show(b[i])}`;
}

/** The first difference between capnp's outcome and ipcgen's, or null when they end alike. */
function compareOutcomes(theirs: Outcome, ours: Outcome): string | null {
  if (theirs.status !== ours.status) {
    return `exit status: capnp ${theirs.status}, ipcgen ${ours.status}\ncapnp: ${theirs.stderr}\nipcgen: ${ours.stderr}`;
  }
  const stdout = firstDifference(theirs.stdout, ours.stdout);
  if (stdout !== null) return `stdout (capnpc-capnp), ${stdout}`;
  const files = listFiles(theirs.dir);
  const ourFiles = listFiles(ours.dir);
  if (files.join("\n") !== ourFiles.join("\n")) return `files: capnp wrote [${files.join(", ")}], ipcgen [${ourFiles.join(", ")}]`;
  for (const file of files) {
    const diff = firstDifference(readFileSync(join(theirs.dir, file)), readFileSync(join(ours.dir, file)));
    if (diff !== null) return `${file}, ${diff}`;
  }
  return null;
}

const SETS: { title: string; files: string[]; args: CompileArgs }[] = [
  { title: "corpus", files: NO_CORPUS === "" ? corpusSchemas() : [], args: CORPUS_ARGS },
  { title: "project", files: projectSchemas(), args: PROJECT_ARGS },
];

let work: string;
/** Per set and file: capnp's outcome and ipcgen's. */
const outcomes = new Map<string, { theirs: Outcome; ours: Outcome }>();
const key = (set: string, file: string) => `${set}:${file}`;

describe.skipIf(CAPNP === null || NO_CORPUS !== "" || NO_PLUGINS !== "")(
  `capnpc-c++ and capnpc-capnp write the same through ipcgen as through capnp, for every schema${NO_CAPNP}${NO_CORPUS}${NO_PLUGINS}`,
  () => {
    beforeAll(async () => {
      await ensureBuilt();
      work = mkdtempSync(join(tmpdir(), "ipcgen-plugin-outputs-"));
      const jobs = SETS.flatMap((set) => set.files.map((file, i) => ({ set, file, i })));
      // Two processes at a time (the CI machines have 2 cores): capnp's run and ipcgen's for each file.
      const runs = await mapLimit(
        jobs.flatMap((job) => [{ ...job, side: "capnp" as const }, { ...job, side: "ipcgen" as const }]),
        2,
        async ({ set, file, i, side }) => {
          const dir = join(work, set.title, String(i), side);
          mkdirSync(dir, { recursive: true }); // capnp wants it to exist
          const argv = pluginArgv(file, set.args, dir);
          const run = side === "capnp" ? await runCapnp(argv, set.args.cwd) : await runCli(argv, set.args.cwd);
          return { set, file, side, outcome: { ...run, stdout: Buffer.from(run.stdout), dir } };
        },
      );
      for (let j = 0; j < runs.length; j += 2) {
        outcomes.set(key(runs[j].set.title, runs[j].file), { theirs: runs[j].outcome, ours: runs[j + 1].outcome });
      }
    });
    afterAll(() => {
      if (work) rmSync(work, { recursive: true, force: true });
    });

    for (const set of SETS) {
      describe(`${set.title} schemas`, () => {
        it("has schemas, most of which capnpc-c++ turns into C++", () => {
          expect(set.files.length).toBeGreaterThan(5);
          const written = set.files.filter((f) => listFiles(outcomes.get(key(set.title, f))!.theirs.dir).length > 0);
          expect(written.length).toBeGreaterThan(set.files.length / 2);
        });

        it.each(set.files)("%s: same status, stdout and files", (file) => {
          const { theirs, ours } = outcomes.get(key(set.title, file))!;
          expect(compareOutcomes(theirs, ours) ?? "the same", file).toBe("the same");
        });
      });
    }

    const gxx = spawnSync("sh", ["-c", "command -v g++ && pkg-config --exists capnp"]).status === 0;
    it.skipIf(!gxx)(`g++ compiles ipcgen's samples/addressbook.capnp.c++ and calculator.capnp.c++${gxx ? "" : " [skipped: no g++ or capnp.pc]"}`, async () => {
      const cflags = spawnSync("pkg-config", ["--cflags", "capnp"], { encoding: "utf8" }).stdout.trim().split(/\s+/).filter(Boolean);
      const samples = SETS[0].files.flatMap((f, i) => (/samples\/(addressbook|calculator)\.capnp$/.test(f) ? [{ f, i }] : []));
      expect(samples).toHaveLength(2);
      const results = await mapLimit(samples, 2, ({ f, i }) => {
        const dir = join(work, "corpus", String(i), "ipcgen");
        const source = `${f}.c++`;
        expect(existsSync(join(dir, source)), source).toBe(true);
        return new Promise<{ source: string; status: number | null; stderr: string }>((done, fail) => {
          const child = spawn("g++", ["-c", "-std=c++17", ...cflags, source, "-o", join(work, `${i}.o`)], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
          let stderr = "";
          child.stderr.on("data", (b: Buffer) => (stderr += b.toString("utf8")));
          child.on("error", fail);
          child.on("close", (status) => done({ source, status, stderr }));
        });
      });
      for (const r of results) expect(r.status, `g++ ${r.source}: ${r.stderr}`).toBe(0);
    });
  },
);
