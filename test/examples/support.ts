/**
 * The examples' programs as child processes for their tests: each runs under tsx from the repository root,
 * its output is collected line by line, its lines can be awaited, and `killAll` ends what is left.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const REPO = join(dirname(fileURLToPath(import.meta.url)), "../..");

const started: Program[] = [];

export class Program {
  readonly child: ChildProcess;
  /** Lines printed on stdout so far. */
  readonly out: string[] = [];
  /** What was printed on stderr so far. */
  err = "";
  /** Resolves with the exit code (null after a signal) once the output has been read. */
  readonly exited: Promise<number | null>;
  private readonly waiters = new Set<() => void>();

  /** Runs `script` (from the repository root) with `args`. */
  constructor(
    script: string,
    args: string[] = [],
  ) {
    this.child = spawn(process.execPath, ["--import", "tsx", join(REPO, script), ...args], { cwd: REPO, stdio: ["pipe", "pipe", "pipe"] });
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      this.out.push(line);
      for (const wake of this.waiters) wake();
    });
    this.child.stderr!.on("data", (d: Buffer) => (this.err += d.toString()));
    this.exited = once(this.child, "close").then(([code]) => code as number | null);
    started.push(this);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The first stdout line, printed so far or from now on, that matches `pattern`. */
  waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.out.find((line) => pattern.test(line));
        if (found === undefined) return;
        finish();
        resolve(found);
      };
      const fail = (why: string): void => {
        finish();
        reject(new Error(`${why}\nstdout:\n${this.out.join("\n")}\nstderr:\n${this.err}`));
      };
      const timer = setTimeout(() => fail(`nothing matching ${pattern} within ${timeoutMs} ms`), timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      void this.exited.then((code) => {
        check();
        fail(`exited (${code}) before printing ${pattern}`);
      });
      check();
    });
  }

  /** Writes `line` to the program's stdin. */
  write(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Closes the program's stdin; resolves with its exit code. */
  end(): Promise<number | null> {
    this.child.stdin!.end();
    return this.exited;
  }
}

/** Kills every program still running. */
export function killAll(): void {
  for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
}

/**
 * Objects of ipcgen's in /dev/shm: none, ever, since a session's memory is unnamed (sealed memfds passed
 * over its socket); a crash must not leave any either.
 */
export function shmLeftovers(): string[] {
  return readdirSync("/dev/shm").filter((n) => n.startsWith("ipcgen"));
}
