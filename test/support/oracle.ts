/**
 * The oracle: the official Cap'n Proto compiler (capnp 0.9.2), run as `capnp compile -o- ...`, whose
 * binary `CodeGeneratorRequest` on stdout (or error messages on stderr) ipcgen's compiler must reproduce.
 *
 * `capnp compile` takes several files in one run (one request listing each in `requestedFiles`, in
 * command-line order, duplicates kept), but writes nothing at all when any file has an error: so the batch
 * helpers compile chunks of files per process and recompile a failed chunk one file at a time, so that every
 * file ends up either in a successful run or in a run of its own.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";

export const ORACLE_VERSION = "0.9.2";

export interface Oracle {
  /** Absolute path of the `capnp` executable. */
  path: string;
  /** What `capnp --version` printed, e.g. `Cap'n Proto version 0.9.2`. */
  version: string;
}

function locate(): { oracle: Oracle | null; reason: string } {
  const candidates: string[] = [];
  if (process.env.CAPNP) candidates.push(process.env.CAPNP);
  candidates.push("/usr/bin/capnp");
  for (const dir of (process.env.PATH ?? "").split(delimiter)) if (dir) candidates.push(join(dir, "capnp"));
  const path = candidates.find((p) => existsSync(p));
  if (path === undefined) {
    return {
      oracle: null,
      reason:
        "the official compiler `capnp` (capnproto 0.9.2) was not found at $CAPNP, /usr/bin/capnp or on PATH " +
        "(install it with `apt-get install -y capnproto`)",
    };
  }
  let version: string;
  try {
    version = execFileSync(path, ["--version"], { encoding: "utf8" }).trim();
  } catch (e) {
    return { oracle: null, reason: `\`${path} --version\` failed: ${(e as Error).message}` };
  }
  if (!version.endsWith(` ${ORACLE_VERSION}`)) {
    return {
      oracle: null,
      reason: `${path} is "${version}", but the differential tests need Cap'n Proto ${ORACLE_VERSION}`,
    };
  }
  return { oracle: { path, version }, reason: "" };
}

const located = locate();
/** The official compiler, or null when it is missing (then `oracleMissingReason` says why). */
export const oracle: Oracle | null = located.oracle;
export const oracleMissingReason: string = located.reason;

/** Call at the top of a test file that needs the oracle: prints why its tests are skipped. */
export function noteIfOracleMissing(what: string): void {
  if (oracle === null) console.warn(`[skipped] ${what}: ${oracleMissingReason}`);
}

export function requireOracle(): Oracle {
  if (oracle === null) throw new Error(oracleMissingReason);
  return oracle;
}

export interface CompileArgs {
  /** Working directory of the run; file names are relative to it and become the display names. */
  cwd: string;
  /** `-I` directories. */
  importPath?: string[];
  /** False adds `--no-standard-import`. Default true, as in capnp. */
  standardImport?: boolean;
  /** `--src-prefix` values. */
  srcPrefixes?: string[];
}

export interface CapnpRun {
  /** The files compiled, as given on the command line. */
  files: string[];
  /** The exit status (1 on a schema error; `null` if killed by a signal). */
  status: number | null;
  /** The binary `CodeGeneratorRequest`, empty when the run failed. */
  stdout: Uint8Array;
  stderr: string;
  /** The error lines of stderr (`file:LINE:COL-COL: error: MSG`), in the order printed. */
  messages: string[];
  ok: boolean;
}

/** The arguments for `capnp compile -o- ...` (and for `ipcgen compile`, its drop-in). */
export function compileArgv(files: string[], args: CompileArgs): string[] {
  const argv = ["compile", "-o-"];
  for (const dir of args.importPath ?? []) argv.push("-I", dir);
  if (args.standardImport === false) argv.push("--no-standard-import");
  for (const prefix of args.srcPrefixes ?? []) argv.push(`--src-prefix=${prefix}`);
  argv.push(...files);
  return argv;
}

/** The error lines of capnp's stderr; warnings (`...c++:96: warning: ...`) and exception dumps are left out. */
export function errorLines(stderr: string): string[] {
  return stderr
    .replace(/\r/g, "")
    .split("\n")
    .filter((line) => / error: /.test(line) && !line.startsWith("capnp/"));
}

function makeRun(files: string[], status: number | null, stdout: Uint8Array, stderr: string): CapnpRun {
  return { files, status, stdout, stderr, messages: errorLines(stderr), ok: status === 0 };
}

/** The environment for a run in `cwd`: capnp warns when `PWD` does not match its working directory. */
function envFor(cwd: string): NodeJS.ProcessEnv {
  return { ...process.env, PWD: resolve(cwd) };
}

/** Runs `capnp compile -o- FILES` synchronously. */
export function capnpCompileSync(files: string[], args: CompileArgs): CapnpRun {
  const { path } = requireOracle();
  const r = spawnSync(path, compileArgv(files, args), { cwd: args.cwd, env: envFor(args.cwd), maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  return makeRun(files, r.status, new Uint8Array(r.stdout), r.stderr.toString("utf8"));
}

/** Runs `capnp compile -o- FILES`. */
export function capnpCompile(files: string[], args: CompileArgs): Promise<CapnpRun> {
  const { path } = requireOracle();
  return new Promise((resolve, reject) => {
    const child = spawn(path, compileArgv(files, args), { cwd: args.cwd, env: envFor(args.cwd), stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (status) => {
      resolve(makeRun(files, status, new Uint8Array(Buffer.concat(out)), Buffer.concat(err).toString("utf8")));
    });
  });
}

/** Maps `fn` over `items` with at most `concurrency` calls in flight; results keep the order of `items`. */
export async function mapLimit<T, R>(items: T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

export interface BatchOptions {
  /** Files per capnp process. Default 50. */
  chunkSize?: number;
  /** Processes at a time. Default 2 (the CI machines have 2 cores). */
  concurrency?: number;
}

/**
 * Compiles many files with few processes. Every returned run is either a successful run of a chunk (its
 * request lists the chunk's files in order) or a run of a single file (successful or not): a chunk that
 * fails is recompiled file by file, since capnp writes no request at all when any file has an error.
 * `files` should not import each other under different names (capnp warns and the nodes then carry the
 * first name it saw).
 */
export async function capnpCompileBatch(files: string[], args: CompileArgs, opts: BatchOptions = {}): Promise<CapnpRun[]> {
  const chunkSize = opts.chunkSize ?? 50;
  const chunks: string[][] = [];
  for (let i = 0; i < files.length; i += chunkSize) chunks.push(files.slice(i, i + chunkSize));
  const concurrency = opts.concurrency ?? 2;
  const firstPass = await mapLimit(chunks, concurrency, (chunk) => capnpCompile(chunk, args));
  const runs: CapnpRun[] = [];
  const retry: string[] = [];
  for (const run of firstPass) {
    if (run.ok || run.files.length === 1) runs.push(run);
    else retry.push(...run.files);
  }
  runs.push(...(await mapLimit(retry, concurrency, (file) => capnpCompile([file], args))));
  return runs;
}
