/** Child processes for the runtime's tests: Echo servers and clients, killed when the test file ends. */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "./echo.js";

export const ECHO_SERVER = join(REPO, "test/runtime/support/echo-server.ts");
export const ECHO_CLIENT = join(REPO, "test/runtime/support/echo-client.ts");
export const FLOOD = join(REPO, "test/runtime/support/flood.ts");

/** A uid no file of the tests' belongs to (Debian's nobody), for ownership checks. */
export const NOBODY = 65534;

/** Started processes; `killAll` ends them. */
const children: ChildProcess[] = [];

/**
 * Runs `script` under tsx (as another user when `uid`/`gid` are given, which needs root); `fds` are passed
 * to it as its descriptors 3, 4, ...; `env` is added to this process's environment.
 */
export function run(script: string, args: string[], options: { uid?: number; gid?: number; fds?: number[]; env?: Record<string, string> } = {}): ChildProcess {
  const { fds = [], env, ...ids } = options;
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd: REPO, stdio: ["ignore", "pipe", "pipe", ...fds], ...ids, ...(env === undefined ? {} : { env: { ...process.env, ...env } }) });
  children.push(child);
  return child;
}

export function killAll(): void {
  for (const c of children) c.kill("SIGKILL");
}

/** The first stdout line of `child` matching `pattern`; rejects, with its stderr, if it exits first. */
export function line(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const found = out.split("\n").find((l) => pattern.test(l));
      if (found !== undefined) resolve(found);
    });
    child.once("exit", (code) => reject(new Error(`process exited (${code}) before printing ${pattern}: ${err.slice(0, 2000)}`)));
  });
}

/**
 * Starts an Echo server process on `path` with `options` (see echo-server.ts), as another user when `as`
 * says so; resolves once it listens.
 */
export async function startEchoServer(path: string, options: Record<string, unknown> = {}, as: { uid?: number; gid?: number } = {}): Promise<ChildProcess> {
  const child = run(ECHO_SERVER, [path, JSON.stringify(options)], as);
  await line(child, /listening/);
  return child;
}

/** Collects what `child` prints on stdout from now on. */
export function collect(child: ChildProcess): { text: string } {
  const out = { text: "" };
  child.stdout!.on("data", (d: Buffer) => (out.text += d.toString()));
  return out;
}

/** A process's resident memory in bytes, as the kernel counts it (VmRSS). */
export function residentBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (match === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** Resolves when `child` has exited. */
export const exited = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));
