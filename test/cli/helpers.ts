/**
 * Shared by the CLI tests: they run the built `ipcgen` (dist/generator/cli/main.js) as a real process, and
 * compare it with the installed `capnp` where there is one.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CORPUS as CORPUS_DIR } from "../support/ipcgen.js";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const BIN = join(ROOT, "dist", "generator", "cli", "main.js");
/** The differential corpus, found as the compiler tests find it (also from a git worktree). */
export const CORPUS = CORPUS_DIR;
export const LOCAL_BINS = join(ROOT, "node_modules", ".bin");

/** The oracle: Debian's capnp 0.9.2, which the built-in compiler ports. */
const CAPNP_PATH = "/usr/bin/capnp";
function capnpVersion(): string | null {
  if (!existsSync(CAPNP_PATH)) return null;
  try {
    return execFileSync(CAPNP_PATH, ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return null;
  }
}
const CAPNP_VERSION = capnpVersion();
export const CAPNP: string | null = CAPNP_VERSION?.endsWith(" 0.9.2") ? CAPNP_PATH : null;
/** Why the tests that need capnp are skipped, for their titles; empty when they run. */
export const NO_CAPNP =
  CAPNP !== null
    ? ""
    : CAPNP_VERSION === null
      ? " [skipped: /usr/bin/capnp is not installed (apt-get install capnproto)]"
      : ` [skipped: /usr/bin/capnp is ${CAPNP_VERSION}, not 0.9.2]`;
export const NO_CORPUS = existsSync(CORPUS) ? "" : ` [skipped: no corpus at ${CORPUS}]`;

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function isStale(): boolean {
  if (!existsSync(BIN)) return true;
  const built = statSync(BIN).mtimeMs;
  const inputs = [join(ROOT, "tsconfig.json"), join(ROOT, "tsconfig.build.json")].map((f) => statSync(f).mtimeMs);
  for (const dir of ["generator", "runtime"]) {
    if (existsSync(join(ROOT, dir))) inputs.push(newestSource(join(ROOT, dir)));
  }
  return Math.max(...inputs) > built;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Builds dist/ with `tsc -p tsconfig.build.json` when any source is newer than the built CLI (in CI, `npm ci`
 * has built it already and this does nothing). Test files run in parallel workers, so one builds while the
 * others wait on a lock directory.
 */
export async function ensureBuilt(): Promise<void> {
  if (!isStale()) return;
  const lock = join(ROOT, "node_modules", ".cache", "ipcgen-cli-build.lock");
  mkdirSync(join(lock, ".."), { recursive: true });
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`timed out waiting for the build lock ${lock}`);
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 5 * 60_000) rmSync(lock, { recursive: true, force: true }); // left by a killed run
      await sleep(250);
    }
  }
  try {
    if (!isStale()) return;
    const tsc = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    if (tsc.status !== 0) {
      // tsc still emits JavaScript for files with type errors. Type errors fail the build itself (`npm ci`
      // runs it as `prepare`) and `npm run typecheck`; here they must not hide what the CLI does, so only
      // a build that produced no CLI at all is fatal.
      const report = `tsc -p tsconfig.build.json reported errors:\n${tsc.stdout}${tsc.stderr}`;
      if (!existsSync(BIN)) throw new Error(report);
      console.warn(report);
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface Run {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this user (needs root). */
  uid?: number;
  gid?: number;
}

function run(command: string, args: string[], options: RunOptions): Run {
  const cwd = options.cwd ?? ROOT;
  const result = spawnSync(command, args, {
    cwd,
    // As a shell would set it: capnp warns on stderr when PWD is not the working directory.
    env: { ...(options.env ?? process.env), PWD: cwd },
    maxBuffer: 512 * 1024 * 1024,
    timeout: 120_000,
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString("utf8") };
}

/** Runs the built CLI: `ipcgen ARGS...`. */
export function ipcgen(args: string[], options: RunOptions = {}): Run {
  return run(process.execPath, [BIN, ...args], options);
}

/** Runs the oracle: `capnp ARGS...`. Only where `CAPNP` is not null. */
export function capnp(args: string[], options: RunOptions = {}): Run {
  if (CAPNP === null) throw new Error("capnp is not available");
  return run(CAPNP, args, options);
}

/** The environment with the project's node_modules/.bin first on PATH, as `npm test` and `npx` have it. */
export function envWithLocalBins(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${LOCAL_BINS}:${process.env.PATH ?? ""}` };
}

/** Every file under `dir`, as relative paths, sorted. */
export function listFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix + entry.name;
    if (entry.isDirectory()) out.push(...listFiles(join(dir, entry.name), `${rel}/`));
    else out.push(rel);
  }
  return out.sort();
}

/** stderr as lines, without the trailing empty one. */
export function lines(text: string): string[] {
  return text.split("\n").filter((line, i, all) => !(line === "" && i === all.length - 1));
}
