/**
 * What the examples' demos use to run their programs as child processes: each runs under the same loader as
 * the demo (tsx, or none when compiled to JavaScript), its output is shown with a label, and the lines it prints can be awaited.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

export class Program {
  readonly child: ChildProcess;
  /** Resolves with the exit code (null if a signal ended it), once its output has been read. */
  readonly exited: Promise<number | null>;
  private readonly lines: string[] = [];
  private readonly waiters = new Set<(line: string) => void>();

  /** Starts `script` (a URL or path) with `args`; its output lines are printed as `label | line`. */
  constructor(
    readonly label: string,
    script: URL | string,
    args: string[] = [],
  ) {
    let file = script instanceof URL ? fileURLToPath(script) : script;
    // Compiled to JavaScript (tsc), the demo's `client.ts` is `client.js`.
    if (file.endsWith(".ts") && !existsSync(file) && existsSync(`${file.slice(0, -3)}.js`)) file = `${file.slice(0, -3)}.js`;
    this.child = spawn(process.execPath, [...process.execArgv, file, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => {
        console.log(`${label.padEnd(6)} | ${line}`);
        this.lines.push(line);
        for (const waiter of this.waiters) waiter(line);
      });
    }
    this.exited = once(this.child, "close").then(([code]) => code as number | null);
  }

  /** The first line printed so far or from now on that matches `pattern`; rejects if the program exits or takes too long. */
  waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const seen = this.lines.find((line) => pattern.test(line));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(`printed nothing matching ${pattern} within ${timeoutMs} ms`), timeoutMs);
      const waiter = (line: string): void => {
        if (!pattern.test(line)) return;
        done();
        resolve(line);
      };
      const fail = (why: string): void => {
        done();
        reject(new Error(`${this.label} ${why}`));
      };
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
      void this.exited.then((code) => fail(`exited (${code}) before printing ${pattern}`));
    });
  }

  /** Writes `line` to the program's standard input. */
  write(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Closes the program's standard input and resolves with its exit code. */
  end(): Promise<number | null> {
    this.child.stdin!.end();
    return this.exited;
  }

  /** Sends `signal` and resolves with the exit code. */
  stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }
}

/**
 * Runs a demo: starts the example's `server.ts` (beside `demo`, the demo's own URL) on a socket in a new
 * temporary directory, waits until it listens, runs `body` with the socket's path (and the server, whose
 * output a body may wait for), then stops the server and removes the directory, whatever happened.
 */
export async function withServer(name: string, demo: string | URL, body: (path: string, server: Program) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `ipcgen-${name}-`));
  const path = join(dir, `${name}.sock`);
  const server = new Program("server", new URL("server.ts", demo), [path]);
  try {
    await server.waitFor(/listening/);
    await body(path, server);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
