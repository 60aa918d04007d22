/**
 * RPC benchmark: one call carrying 64 bytes between two Node processes on this machine, through
 *   - raw: a Node `net` Unix-socket ping-pong with length-prefixed frames (4-byte length + 64-byte payload);
 *     the client reads with `onread` into one reused buffer, the server with 'data' events (servers cannot
 *     use `onread`); both write the frames of one turn of the event loop in one write. This is the floor.
 *   - raw, one write per frame: the same, except that the client writes each call's frame with its own
 *     `socket.write` and the server answers each frame with its own `socket.write` (no batching, no cork): a
 *     plain ping-pong, the weaker floor that the project's issue quotes. Its calls/s is a second yardstick for
 *     ipcgen's (the table's last column and the calls/s target); all other ratios are against batched raw.
 *   - child_process IPC: `child_process.fork` with JSON serialization, `process.send` / 'message' of the
 *     payload as a base64 string (88 characters), which the server sends back as it got it;
 *   - ipcgen: ipcgen's RPC (`runtime/index.ts`: `listen`/`serve` and `connect`/`Client`) serving
 *     bench/rpc/echo.capnp's `Echo.echo`, through the two functions in bench/rpc/ipcgen.mjs (the only code
 *     that follows the runtime's API); the row says "not available: <why>" when they cannot run.
 * For each: round-trip latency (p50 and p99 of many sequential calls, after warm-up) and calls per second
 * with 64 calls in flight (replies matched to calls by the number in the payload's first 4 bytes), with both
 * processes on one core (`taskset -c N`) and unpinned. Every reply is checked (its call's number and all 64
 * bytes) before anything is timed.
 *
 * The hot code runs in plain `node`, not under tsx (which rewrites classes into slower code, see
 * bench/codec.ts): this file starts bench/rpc/client.mjs once per placement, which starts the servers
 * (bench/rpc/*-server.mjs) so that they inherit its CPU affinity, measures, and reports back as JSON. Sockets
 * live in a private temporary directory (mode 0700). Prints a table with ratios against raw from the same run
 * (and calls/s also against raw with one write per frame), the two target lines, and the same as a Markdown
 * section for docs/benchmarks.md (not written).
 *
 * Run: `npm run bench:rpc` (node --import tsx bench/rpc.ts). Options through the environment: BENCH_ROUNDS
 * (default 5), BENCH_CALLS (sequential round trips per row and placement, default 20000), BENCH_THROUGHPUT_MS
 * (length of one throughput run, default 250).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { machine, machineLines, markdownTable, textTable } from "./support.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLIENT = join(REPO, "bench/rpc/client.mjs");
const SCHEMA = "bench/rpc/echo.capnp";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const LATENCY_CALLS = Number(process.env.BENCH_CALLS ?? 20000);
const THROUGHPUT_MS = Number(process.env.BENCH_THROUGHPUT_MS ?? 250);
const LATENCY_ROUND_MS = 1500;
const CHECK_SEQUENTIAL = 200;
const CHECK_PIPELINED = 5000;
const IN_FLIGHT = 64;
const CLIENT_TIMEOUT_MS = 40_000;
const LATENCY_TARGET = 1.25;
const THROUGHPUT_TARGET = 0.75;

type Loaded<T> = { ok: true; value: T } | { ok: false; reason: string };

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0].slice(0, 200);

// ---------------------------------------------------------------------------------------------------------
// What bench/rpc/client.mjs takes and reports

interface IpcgenFiles {
  /** runtime/index.ts compiled to JavaScript */
  runtime: string;
  /** the code generated for bench/rpc/echo.capnp, compiled to JavaScript */
  generated: string;
  /** the Echo interface's id (decimal), from the compiler */
  echoId: string;
}

interface ClientConfig {
  placement: string;
  placementKey: string;
  socketDir: string;
  latencyCalls: number;
  /** a round's sequential calls stop early after this long (a slow row then has fewer round trips) */
  latencyRoundMs: number;
  rounds: number;
  checkSequential: number;
  checkPipelined: number;
  warmupCalls: number;
  warmupMs: number;
  inFlight: number;
  throughputMs: number;
  ipcgen: IpcgenFiles | null;
}

type RowKey = "raw" | "rawPerFrame" | "ipc" | "ipcgen";

type RowReport =
  | {
      key: RowKey;
      ok: true;
      p50: number;
      p99: number;
      roundTrips: number;
      callsPerSecond: number;
      serverCpus: string;
      /** the share of samples (every 20 ms while measuring) that found client and server on the same CPU */
      sameCpuShare: number | null;
    }
  | { key: RowKey; ok: false; reason: string };

interface ClientReport {
  placement: string;
  clientCpus: string;
  rows: RowReport[];
  serverPids: number[];
}

// ---------------------------------------------------------------------------------------------------------
// Cleaning up: child processes and temporary directories go on every exit

const children = new Set<ChildProcess>();
const temporary: string[] = [];

function cleanUp(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  children.clear();
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
}
process.on("exit", cleanUp);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    cleanUp();
    process.exit(130);
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A new temporary directory `PREFIX<pid>-XXXXXX` under `parent` (mode 0700, as mkdtemp makes it), after
 * removing those an earlier run left there when it was killed outright (its pid no longer running).
 */
function freshDir(parent: string, prefix: string): string {
  for (const name of readdirSync(parent)) {
    const pid = name.startsWith(prefix) ? Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]) : NaN;
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    try {
      if (statSync(join(parent, name)).uid === process.getuid?.()) rmSync(join(parent, name), { recursive: true, force: true });
    } catch {
      // someone else's, or gone already
    }
  }
  const dir = mkdtempSync(join(parent, `${prefix}${process.pid}-`));
  temporary.push(dir);
  return dir;
}

/** Servers of a client that are still running a moment after it ended: killed, and named in the report. */
async function leftovers(pids: number[]): Promise<number[]> {
  let left = pids.filter(alive);
  for (let i = 0; i < 10 && left.length > 0; i++) {
    await sleep(50);
    left = left.filter(alive);
  }
  for (const pid of left) process.kill(pid, "SIGKILL");
  return left;
}

// ---------------------------------------------------------------------------------------------------------
// Placement

/** The CPUs this process may run on, as the kernel lists them ("0-1"). */
function allowedCpus(): string {
  const line = readFileSync("/proc/self/status", "utf8")
    .split("\n")
    .find((l) => l.startsWith("Cpus_allowed_list:"));
  return line?.slice("Cpus_allowed_list:".length).trim() ?? "unknown";
}

/** The CPU to pin both processes to (the first this process may use, normally 0), or why not. */
function pinCpu(): Loaded<string> {
  const first = /^\d+/.exec(allowedCpus())?.[0] ?? "0";
  const r = spawnSync("taskset", ["-c", first, process.execPath, "-e", ""], { encoding: "utf8" });
  if (r.error) return { ok: false, reason: (r.error as NodeJS.ErrnoException).code === "ENOENT" ? "taskset not found" : r.error.message };
  if (r.status !== 0) return { ok: false, reason: `taskset -c ${first} failed: ${r.stderr.trim().split("\n")[0]}` };
  return { ok: true, value: first };
}

/** The environment for the plain-node processes: without NODE_OPTIONS, which could load tsx into them. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

/** Runs bench/rpc/client.mjs (under `taskset -c CPU` when `cpu` is given) and reads its report. */
async function runClient(config: ClientConfig, cpu: string | null): Promise<Loaded<ClientReport & { leftovers: number[] }>> {
  const argv = [CLIENT, JSON.stringify(config)];
  const child =
    cpu === null
      ? spawn(process.execPath, argv, { stdio: ["pipe", "pipe", "inherit"], env: childEnv() })
      : spawn("taskset", ["-c", cpu, process.execPath, ...argv], { stdio: ["pipe", "pipe", "inherit"], env: childEnv() });
  children.add(child);
  let out = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (s: string) => (out += s));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, CLIENT_TIMEOUT_MS);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) => {
    child.on("exit", (c, s) => done([c, s]));
    child.on("error", () => done([null, null]));
  });
  clearTimeout(timer);
  children.delete(child);
  child.stdin?.destroy();
  const last = out.trim().split("\n").pop() ?? "";
  let report: ClientReport | null = null;
  try {
    report = JSON.parse(last) as ClientReport;
  } catch {
    report = null;
  }
  const left = await leftovers(report?.serverPids ?? []);
  if (timedOut) return { ok: false, reason: `the measuring process took over ${CLIENT_TIMEOUT_MS / 1000} s and was killed` };
  if (report === null || code !== 0) return { ok: false, reason: `the measuring process failed (${signal ?? `exit status ${code}`})` };
  return { ok: true, value: { ...report, leftovers: left } };
}

// ---------------------------------------------------------------------------------------------------------
// ipcgen's runtime and the code generated for bench/rpc/echo.capnp, compiled to JavaScript

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => join(dir, f));
}

/**
 * Copies runtime/ into `dir`, generates bench/rpc/echo.capnp's code there with ipcgen's compiler and code
 * generator (importing the copy's codec), and compiles every .ts file with TypeScript's transpileModule, as
 * an application would run them (not through tsx). `dir` is under node_modules so that their imports of
 * capnp-ts resolve and tsx leaves the .js files alone. The copy keeps runtime/native/build (the addon).
 */
async function prepareIpcgen(dir: string): Promise<Loaded<IpcgenFiles>> {
  if (!existsSync(join(REPO, "runtime/index.ts"))) return { ok: false, reason: "runtime/index.ts does not exist yet" };
  const runtime = join(dir, "runtime");
  cpSync(join(REPO, "runtime"), runtime, { recursive: true, filter: (f) => !/\.(test|spec)\.ts$/.test(f) });

  const generated = join(dir, "generated", "echo.capnp.ts");
  let echoId: bigint;
  const previous = process.cwd();
  try {
    const { compile } = await import("../generator/compiler/index.js");
    const { generateTypeScript } = await import("../generator/codegen/index.js");
    process.chdir(REPO);
    const result = compile([SCHEMA], { importPath: ["generator/std"], standardImport: false });
    if (!result.ok) return { ok: false, reason: `compiling ${SCHEMA} failed: ${result.messages[0] ?? "no message"}` };
    const echo = result.request.nodes.find((n) => n.displayName === `${SCHEMA}:Echo`);
    if (echo === undefined) return { ok: false, reason: `the compiler found no Echo in ${SCHEMA}` };
    echoId = echo.id;
    const codec = relative(dirname(generated), join(runtime, "codec/index.js"));
    const [file] = generateTypeScript(result.request, { runtime: { capnp: "capnp-ts", codec: codec.startsWith(".") ? codec : `./${codec}` } });
    mkdirSync(dirname(generated), { recursive: true });
    writeFileSync(generated, file.content);
  } catch (e) {
    return { ok: false, reason: `generating the code for ${SCHEMA} failed: ${firstLine(e)}` };
  } finally {
    process.chdir(previous);
  }

  const { default: ts } = await import("typescript");
  const options = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, rewriteRelativeImportExtensions: true };
  for (const file of tsFiles(dir)) {
    const out = ts.transpileModule(readFileSync(file, "utf8"), { compilerOptions: options, fileName: file });
    writeFileSync(file.replace(/\.ts$/, ".js"), out.outputText);
    rmSync(file);
  }
  const files = { runtime: join(runtime, "index.js"), generated: generated.replace(/\.ts$/, ".js"), echoId: echoId.toString() };
  // Imported here only to report a broken build early; what bench/rpc/ipcgen.mjs takes from them it checks itself.
  for (const [what, file] of [
    ["runtime/index.ts", files.runtime],
    [`the code generated for ${SCHEMA}`, files.generated],
  ]) {
    try {
      await import(pathToFileURL(file).href);
    } catch (e) {
      return { ok: false, reason: `importing ${what} failed: ${firstLine(e)}` };
    }
  }
  return { ok: true, value: files };
}

// ---------------------------------------------------------------------------------------------------------
// The run

const ROW_NAMES: Record<RowKey, string> = {
  raw: "raw Unix socket (net, length-prefixed)",
  rawPerFrame: "raw Unix socket, one write per frame",
  ipc: "child_process IPC (fork, JSON, base64 string)",
  ipcgen: "ipcgen RPC (Client.call)",
};

const SHORT_NAMES: Record<RowKey, string> = { raw: "raw", rawPerFrame: "raw per frame", ipc: "IPC", ipcgen: "ipcgen" };

interface Placement {
  key: string;
  name: string;
  result: Loaded<ClientReport & { leftovers: number[] }>;
}

async function main(): Promise<void> {
  const started = performance.now();
  const m = machine();

  const socketDir = freshDir(tmpdir(), "ipcgen-bench-rpc-");
  chmodSync(socketDir, 0o700);
  const st = statSync(socketDir);
  if ((st.mode & 0o777) !== 0o700 || st.uid !== process.getuid?.()) {
    throw new Error(`${socketDir} is not private (mode ${(st.mode & 0o777).toString(8)}, owner ${st.uid})`);
  }

  mkdirSync(join(REPO, "node_modules/.cache"), { recursive: true });
  const cache = freshDir(join(REPO, "node_modules/.cache"), "bench-rpc-");
  writeFileSync(join(cache, "package.json"), '{ "type": "module" }\n');
  let ipcgen: Loaded<IpcgenFiles>;
  try {
    ipcgen = await prepareIpcgen(cache);
  } catch (e) {
    ipcgen = { ok: false, reason: firstLine(e) };
  }
  console.log(`ipcgen: ${ipcgen.ok ? "runtime and generated code compiled" : `not available: ${ipcgen.reason}`}`);

  const pin = pinCpu();
  const config = (key: string, name: string): ClientConfig => ({
    placement: name,
    placementKey: key,
    socketDir,
    latencyCalls: LATENCY_CALLS,
    latencyRoundMs: LATENCY_ROUND_MS,
    rounds: ROUNDS,
    checkSequential: CHECK_SEQUENTIAL,
    checkPipelined: CHECK_PIPELINED,
    warmupCalls: 2000,
    warmupMs: 200,
    inFlight: IN_FLIGHT,
    throughputMs: THROUGHPUT_MS,
    ipcgen: ipcgen.ok ? ipcgen.value : null,
  });
  const placements: Placement[] = [];
  const sameCore = `same core (taskset -c ${pin.ok ? pin.value : 0})`;
  console.log(`measuring: ${sameCore}`);
  placements.push({
    key: "pinned",
    name: sameCore,
    result: pin.ok ? await runClient(config("pinned", sameCore), pin.value) : { ok: false, reason: `not measured: ${pin.reason}` },
  });
  console.log("measuring: unpinned");
  placements.push({ key: "unpinned", name: "unpinned", result: await runClient(config("unpinned", "unpinned"), null) });

  // The table: one line per row and placement.
  const header = [
    "mechanism",
    "placement",
    "p50 µs",
    "p50 vs raw",
    "p99 µs",
    "p99 vs raw",
    `calls/s (${IN_FLIGHT} in flight)`,
    "calls/s vs raw",
    "calls/s vs per-frame raw",
  ];
  const cells: string[][] = [];
  const keys: RowKey[] = ["raw", "rawPerFrame", "ipc", "ipcgen"];
  for (const p of placements) {
    for (const key of keys) {
      const name = ROW_NAMES[key];
      if (!p.result.ok) {
        cells.push([name, p.name, p.result.reason]);
        continue;
      }
      const row = p.result.value.rows.find((r) => r.key === key);
      const raw = p.result.value.rows.find((r) => r.key === "raw");
      const perFrame = p.result.value.rows.find((r) => r.key === "rawPerFrame");
      if (row === undefined) {
        cells.push([name, p.name, `not available: ${key === "ipcgen" && !ipcgen.ok ? ipcgen.reason : "not run"}`]);
      } else if (!row.ok) {
        cells.push([name, p.name, `not available: ${row.reason}`]);
      } else {
        const base = raw?.ok ? raw : null;
        const frameBase = perFrame?.ok ? perFrame : null;
        const x = (v: number, of: number | undefined, what = "raw") => (of === undefined ? "n/a" : `${(v / of).toFixed(2)}× ${what}`);
        cells.push([
          name,
          p.name,
          row.p50.toFixed(1),
          x(row.p50, base?.p50),
          row.p99.toFixed(1),
          x(row.p99, base?.p99),
          Math.round(row.callsPerSecond).toLocaleString("en-US"),
          x(row.callsPerSecond, base?.callsPerSecond),
          x(row.callsPerSecond, frameBase?.callsPerSecond, "per-frame raw"),
        ]);
      }
    }
  }
  const targets = targetLines(placements, ipcgen);
  const notes = placementNotes(placements);
  const roundTrips = Math.ceil(LATENCY_CALLS / ROUNDS) * ROUNDS;
  const method =
    `latency: p50 and p99 of ${roundTrips.toLocaleString("en-US")} sequential round trips per row and placement ` +
    `(${ROUNDS} rounds interleaved between the rows, after warm-up); throughput: median of ${ROUNDS} runs of ` +
    `${THROUGHPUT_MS} ms with ${IN_FLIGHT} calls in flight, replies matched to calls by number`;
  const checked =
    `replies checked before timing: ${CHECK_SEQUENTIAL} sequential and ${CHECK_PIPELINED.toLocaleString("en-US")} ` +
    "pipelined calls per row, each reply carrying its own call's number and 64 bytes";
  const elapsed = (performance.now() - started) / 1000;

  console.log("");
  console.log(`${m.cpu}, ${m.cores} cores; Node ${m.node}; ${m.os}`);
  for (const n of notes) console.log(n);
  console.log(method);
  console.log(checked);
  console.log("");
  for (const line of textTable(header, cells)) console.log(line);
  console.log("");
  for (const t of targets) console.log(t);
  console.log(`(${elapsed.toFixed(1)} s)`);

  const section = [
    "## rpc",
    "",
    `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:rpc\` (bench/rpc.ts): one call carrying ` +
      "64 bytes between two Node processes, a client and the server it starts. raw is a `net` Unix-socket " +
      "ping-pong with length-prefixed frames (4-byte length + 64-byte payload; client reads with `onread` into a " +
      "reused buffer, server with 'data' events; each side writes the frames of one event-loop turn in one " +
      "write), the floor. raw, one write per frame, is the same except that every call and every reply goes " +
      "out with its own `socket.write` (no batching, no cork): a plain ping-pong, the weaker floor. child_process IPC is `fork` with JSON serialization, the payload sent as a base64 " +
      "string and sent back as is. ipcgen RPC calls bench/rpc/echo.capnp's `Echo.echo` (the payload as " +
      "`Data`) through ipcgen's runtime (`listen`/`serve`, `connect`/`Client.call`), compiled with TypeScript. " +
      "Ratios are against (batched) raw in the same placement and run; the last column, and the second half " +
      "of the calls/s target, against raw with one write per frame.",
    "",
    ...machineLines(m),
    ...notes.map((n) => `- ${n}`),
    `- ${method}`,
    `- ${checked}`,
    "",
    ...markdownTable(header, cells),
    "",
    ...targets.flatMap((t) => [t, ""]),
  ];
  console.log("");
  console.log("Markdown for docs/benchmarks.md:");
  console.log("");
  console.log(section.join("\n"));
}

/** Where each placement's processes were allowed to run, as the kernel reported it, and any leftovers. */
function placementNotes(placements: Placement[]): string[] {
  return placements.map((p) => {
    if (!p.result.ok) return `${p.name}: ${p.result.reason}`;
    const r = p.result.value;
    const servers = [...new Set(r.rows.flatMap((row) => (row.ok ? [row.serverCpus] : [])))].join(", ");
    const left = r.leftovers.length === 0 ? "" : `; server processes left running and killed: ${r.leftovers.join(", ")}`;
    const full = Math.ceil(LATENCY_CALLS / ROUNDS) * ROUNDS;
    const short = r.rows.flatMap((row) =>
      row.ok && row.roundTrips < full ? [`${ROW_NAMES[row.key]} made only ${row.roundTrips} round trips (${LATENCY_ROUND_MS} ms per round)`] : [],
    );
    const shares = r.rows.flatMap((row) =>
      row.ok && row.sameCpuShare !== null ? [`${SHORT_NAMES[row.key]} ${Math.round(row.sameCpuShare * 100)}%`] : [],
    );
    const together = shares.length === 0 ? "" : `; seen on the same CPU while measured: ${shares.join(", ")}`;
    const extra = `${together}${left}${short.map((x) => `; ${x}`).join("")}`;
    return `${p.name}: client allowed on CPUs ${r.clientCpus}, servers on ${servers || "n/a"}${extra}`;
  });
}

/** ipcgen's figure over a raw row's, in every placement measured: the ratios, or why one is missing. */
function ratios(placements: Placement[], base: RowKey, of: (r: { p50: number; callsPerSecond: number }) => number) {
  const measured: { placement: string; x: number }[] = [];
  const missing: string[] = [];
  for (const p of placements) {
    const rows = p.result.ok ? p.result.value.rows : [];
    const raw = rows.find((r) => r.key === base);
    const own = rows.find((r) => r.key === "ipcgen");
    if (!p.result.ok) missing.push(`${p.name}: ${p.result.reason}`);
    else if (own === undefined || !own.ok) missing.push(`${p.name}: ipcgen ${own?.ok === false ? own.reason : "not run"}`);
    else if (raw === undefined || !raw.ok) missing.push(`${p.name}: ${SHORT_NAMES[base]} ${raw?.ok === false ? raw.reason : "not run"}`);
    else measured.push({ placement: p.name, x: of(own) / of(raw) });
  }
  return { measured, missing };
}

/** Ratios as text ("same core (taskset -c 0) 1.51×, unpinned 1.35×"), with what could not be measured. */
function ratioText({ measured, missing }: ReturnType<typeof ratios>, unit: string): string {
  if (measured.length === 0) {
    const reasons = new Set(missing.map((x) => x.slice(x.indexOf(": ") + 2)));
    return `not measured (${reasons.size === 1 ? [...reasons][0] : missing.join("; ")})`;
  }
  const also = missing.length > 0 ? `; not measured: ${missing.join("; ")}` : "";
  return `${measured.map((m) => `${m.placement} ${m.x.toFixed(2)}×${unit}`).join(", ")}${also}`;
}

/**
 * The two target lines, in every placement measured: the p50 round trip against batched raw (with the ratio
 * against per-frame raw for information), and calls/s against both raw rows, judged against each.
 */
function targetLines(placements: Placement[], ipcgen: Loaded<IpcgenFiles>): string[] {
  const latencyText = `Target (ipcgen round trip within ${LATENCY_TARGET}× raw, p50):`;
  const throughputText = `Target (ipcgen calls/s at least ${THROUGHPUT_TARGET}× raw, ${IN_FLIGHT} in flight):`;
  if (!ipcgen.ok) return [latencyText, throughputText].map((t) => `${t} not measured (ipcgen not available: ${ipcgen.reason}).`);
  const verdict = (r: ReturnType<typeof ratios>, ok: (x: number) => boolean) => {
    if (r.measured.length === 0) return "";
    return r.measured.every((m) => ok(m.x)) ? "reached " : "NOT reached ";
  };

  const p50 = (r: { p50: number }) => r.p50;
  const latency = ratios(placements, "raw", p50);
  const latencyFrame = ratios(placements, "rawPerFrame", p50);
  const latencyOk = (x: number) => x <= LATENCY_TARGET;
  const latencyLine =
    `${latencyText} ${verdict(latency, latencyOk)}(${ratioText(latency, " raw")}); ` +
    `against per-frame raw, for information: ${ratioText(latencyFrame, "")}.`;

  const calls = (r: { callsPerSecond: number }) => r.callsPerSecond;
  const throughputOk = (x: number) => x >= THROUGHPUT_TARGET;
  const floors = [
    ["batched floor", ratios(placements, "raw", calls)],
    ["per-frame floor", ratios(placements, "rawPerFrame", calls)],
  ] as const;
  const throughputLine = `${throughputText} ${floors
    .map(([name, r]) => `${name} ${verdict(r, throughputOk)}(${ratioText(r, "")})`)
    .join("; ")}.`;
  return [latencyLine, throughputLine];
}

try {
  await main();
} finally {
  cleanUp();
}
