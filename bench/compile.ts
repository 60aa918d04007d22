/**
 * Compile benchmark: ipcgen's built-in compiler against the official `capnp compile` (0.9.2), on the
 * corpus's `test.capnp` and `rpc.capnp`, all measured in the same run:
 *   (a) ipcgen as a whole process: `node dist/generator/cli/main.js compile -o- -I src --no-standard-import F`
 *   (b) ipcgen in-process, after warm-up: `compile([F], ...)`
 *   (c) capnp as a whole process: `capnp compile -o- -I src --no-standard-import F`
 * Prints a table (medians) with the machine's details and ratios against capnp, and writes it into
 * docs/benchmarks.md under `## compile` (that section replaced, the others kept).
 *
 * Run: `npm run build && npm run bench:compile`. Options through the environment: BENCH_RUNS (process runs,
 * default 15), BENCH_ITERATIONS (in-process iterations, default 30).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { compile } from "../generator/compiler/index.js";
import { machineLines, markdownTable, median } from "./support.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CORPUS = resolve(REPO, "../shared/corpus/capnproto-0.9.2");
const CLI = join(REPO, "dist/generator/cli/main.js");
const DOC = join(REPO, "docs/benchmarks.md");
const FILES = ["src/capnp/test.capnp", "src/capnp/rpc.capnp"];
const ARGS = ["-I", "src", "--no-standard-import"];
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 30);
const WARMUP = 5;
const TARGET_MS = 50;

function findCapnp(): { path: string; version: string } | null {
  for (const path of [process.env.CAPNP, "/usr/bin/capnp", "capnp"]) {
    if (path === undefined) continue;
    const r = spawnSync(path, ["--version"], { encoding: "utf8" });
    if (r.status === 0) return { path, version: r.stdout.trim().replace(/^Cap'n Proto version /, "") };
  }
  return null;
}

type Timing = { ms: number } | { error: string };

/** Median wall time of running `argv` as a process in the corpus folder; an error if it ever fails. */
function timeProcess(command: string, argv: string[]): Timing {
  const times: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const start = performance.now();
    const r = spawnSync(command, argv, { cwd: CORPUS, env: { ...process.env, PWD: CORPUS }, maxBuffer: 1 << 28 });
    const ms = performance.now() - start;
    if (r.error) return { error: r.error.message };
    if (r.status !== 0) return { error: `exit status ${r.status}: ${r.stderr.toString().split("\n")[0].slice(0, 120)}` };
    if (i > 0) times.push(ms); // the first run warms the file cache
  }
  return { ms: median(times) };
}

/** Median time of `compile([file])` in this process, after warm-up. */
function timeInProcess(file: string): Timing {
  const previous = process.cwd();
  process.chdir(CORPUS);
  try {
    const once = () => compile([file], { importPath: ["src"], standardImport: false });
    for (let i = 0; i < WARMUP; i++) {
      const r = once();
      if (!r.ok) return { error: `compile failed: ${r.messages[0] ?? "no message"}` };
    }
    const times: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const start = performance.now();
      once();
      times.push(performance.now() - start);
    }
    return { ms: median(times) };
  } catch (e) {
    return { error: `compile threw: ${(e as Error).message.split("\n")[0].slice(0, 120)}` };
  } finally {
    process.chdir(previous);
  }
}

const fmt = (t: Timing | null): string => (t === null ? "n/a" : "ms" in t ? `${t.ms.toFixed(1)} ms` : `failed (${t.error})`);
const ratio = (t: Timing | null, base: Timing | null): string =>
  t !== null && base !== null && "ms" in t && "ms" in base ? `${(t.ms / base.ms).toFixed(1)}x` : "n/a";

function main(): void {
  const capnp = findCapnp();
  const cliBuilt = existsSync(CLI);
  const machine = [
    ...machineLines(),
    `- capnp ${capnp?.version ?? "not found"}`,
    `- ${RUNS} process runs and ${ITERATIONS} in-process iterations (after ${WARMUP} warm-up) per figure; medians`,
  ];
  if (capnp === null) console.warn("capnp not found: its column is n/a (install it with `apt-get install -y capnproto`)");
  if (!cliBuilt) console.warn(`${CLI} does not exist: the whole-process ipcgen column is n/a (run \`npm run build\` first)`);

  const rows: string[][] = [];
  let target = "";
  for (const file of FILES) {
    const theirs = capnp === null ? null : timeProcess(capnp.path, ["compile", "-o-", ...ARGS, file]);
    const whole = cliBuilt ? timeProcess(process.execPath, [CLI, "compile", "-o-", ...ARGS, file]) : null;
    const inProcess = timeInProcess(file);
    rows.push([file, fmt(theirs), fmt(whole), ratio(whole, theirs), fmt(inProcess), ratio(inProcess, theirs)]);
    if (file.endsWith("/test.capnp")) {
      target =
        "ms" in inProcess
          ? `Target (in-process compile of test.capnp under ${TARGET_MS} ms): ${inProcess.ms < TARGET_MS ? "reached" : "NOT reached"} (${inProcess.ms.toFixed(1)} ms).`
          : `Target (in-process compile of test.capnp under ${TARGET_MS} ms): NOT reached (the compile failed).`;
    }
  }

  const table = markdownTable(
    ["schema", "capnp compile -o- (process)", "ipcgen compile -o- (process)", "ratio", "ipcgen compile() in-process", "ratio"],
    rows,
  );
  const section = [
    "## compile",
    "",
    `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run build && npm run bench:compile\` (bench/compile.ts), ` +
      "in `../shared/corpus/capnproto-0.9.2` with `-I src --no-standard-import`. Ratios are against capnp's whole process.",
    "",
    ...machine,
    "",
    ...table,
    "",
    target,
    "",
  ].join("\n");

  console.log(section);

  const old = existsSync(DOC) ? readFileSync(DOC, "utf8") : "# Benchmarks\n";
  writeFileSync(DOC, replaceSection(old, section));
  console.log(`written to ${DOC}`);
}

/** `doc` with its `## compile` section (up to the next `## ` heading) replaced, or appended. */
function replaceSection(doc: string, section: string): string {
  const lines = doc.split("\n");
  const start = lines.findIndex((l) => l.trim() === "## compile");
  if (start < 0) return `${doc.replace(/\n*$/, "\n\n")}${section}`;
  let end = start + 1;
  while (end < lines.length && !/^##? /.test(lines[end])) end++;
  const after = lines.slice(end).join("\n");
  return `${lines.slice(0, start).join("\n")}${start > 0 ? "\n" : ""}${section}${after === "" ? "" : `\n${after}`}`;
}

main();
