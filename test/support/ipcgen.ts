/**
 * The other side of the differential tests: ipcgen's compiler, called in-process the way the oracle is run
 * (same working directory, `-I` directories and flags), and the built CLI run as a process.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { compile, type CompileResult } from "../../generator/compiler/index.js";
import type { CompileArgs } from "./oracle.js";

/** The repository root. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/**
 * capnp 0.9.2's schemas: the differential corpus, in the `shared` folder beside the checkout, as CI has it;
 * `IPCGEN_CORPUS` names it for a checkout elsewhere (a git worktree). Every test reads it from here.
 */
export const CORPUS = process.env.IPCGEN_CORPUS ?? resolve(REPO, "../shared/corpus/capnproto-0.9.2");
/** The corpus's compile arguments, as the reference document gives them. */
export const CORPUS_ARGS: CompileArgs = { cwd: CORPUS, importPath: ["src"], standardImport: false };
/** This project's schemas are compiled from the repository root against its bundled standard directory. */
export const PROJECT_ARGS: CompileArgs = { cwd: REPO, importPath: ["generator/std"], standardImport: false };

/** `.capnp` files under `dir`, relative to `base`, sorted. */
export function capnpFiles(base: string, dir: string): string[] {
  const root = join(base, dir);
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === "node_modules") continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".capnp")) out.push(relative(base, p));
    }
  };
  walk(root);
  return out.sort();
}

/** Every schema of the corpus (its src/ and samples/), relative to CORPUS. */
export const corpusSchemas = (): string[] => [...capnpFiles(CORPUS, "src"), ...capnpFiles(CORPUS, "samples")];
/** Every schema of this project, relative to REPO. */
export const projectSchemas = (): string[] => ["generator/std", "runtime", "examples", "test/fixtures"].flatMap((d) => capnpFiles(REPO, d));

/** The built CLI; the CLI test and the benchmark need `npm run build` first. */
export const CLI_MAIN = join(REPO, "dist/generator/cli/main.js");
export const cliBuilt = (): boolean => existsSync(CLI_MAIN);

/**
 * Compiles `files` (names relative to `args.cwd`, used as given for display names, as capnp does) with
 * ipcgen's compiler in this process. The working directory is switched for the call, as `capnp` runs there.
 */
export async function ipcgenCompile(files: string[], args: CompileArgs): Promise<CompileResult> {
  const previous = process.cwd();
  process.chdir(args.cwd);
  try {
    return await compile(files, {
      importPath: args.importPath ?? [],
      standardImport: args.standardImport ?? true,
      srcPrefixes: args.srcPrefixes ?? [],
    });
  } finally {
    process.chdir(previous);
  }
}

export interface ProcessRun {
  status: number | null;
  stdout: Uint8Array;
  stderr: string;
}

/** Runs `node dist/generator/cli/main.js ARGV` in `cwd`. */
export function runCli(argv: string[], cwd: string): Promise<ProcessRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...argv], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (status) =>
      resolvePromise({ status, stdout: new Uint8Array(Buffer.concat(out)), stderr: Buffer.concat(err).toString("utf8") }),
    );
  });
}
