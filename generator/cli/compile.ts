/**
 * `ipcgen compile`: what `capnp compile` (0.9.2) does, with ipcgen's built-in compiler.
 *
 * Order of work: check every argument (directories, files, outputs, plugins) so that a mistake costs one
 * line and nothing is written; compile; print the compiler's errors exactly as it formats them; then hand
 * the encoded `CodeGeneratorRequest` to each output in the order given.
 */
import { accessSync, constants, statSync } from "node:fs";
import { resolve } from "node:path";
import type { SourceFile, SourceLocations } from "../compiler/index.js";
import type { CodeGeneratorRequest } from "../model/schema.js";
import { CliError, shownPath } from "./errors.js";
import { findPlugin, parseOutputSpec, runPlugin, type OutputDirective } from "./plugins.js";

export interface CompileCommandOptions extends SchemaOptions {
  outputs: string[];
  verbose: boolean;
}

function requireDirectory(option: string, dir: string, cwd: string): void {
  const stats = statSync(resolve(cwd, dir), { throwIfNoEntry: false });
  if (stats === undefined || !stats.isDirectory()) throw new CliError(`${option}: no such directory`);
}

function requireReadableFile(file: string, cwd: string): void {
  const full = resolve(cwd, file);
  const stats = statSync(full, { throwIfNoEntry: false });
  if (stats === undefined) throw new CliError(`${file}: no such file`);
  if (!stats.isFile()) throw new CliError(`${file}: not a regular file`);
  try {
    accessSync(full, constants.R_OK);
  } catch {
    throw new CliError(`${file}: cannot be read (permission denied)`);
  }
}

/** Writes all of `bytes` to stdout, which main() keeps from throwing its errors as events. */
function writeStdout(bytes: Uint8Array): Promise<void> {
  return new Promise((done, fail) => {
    process.stdout.write(bytes, (err) => {
      if (!err) done();
      // A pipe's reader that went away gives EPIPE; a socket's (Node's own child stdio) ECONNRESET when
      // it left data unread: both mean the same to the user.
      else if (["EPIPE", "ECONNRESET"].includes((err as NodeJS.ErrnoException).code ?? "")) fail(new CliError("stdout was closed before the request was all written"));
      else fail(new CliError(`cannot write to stdout: ${err.message}`));
    });
  });
}

/** What both commands pass to the compiler. */
export interface SchemaOptions {
  files: string[];
  importPath: string[];
  standardImport: boolean;
  srcPrefixes: string[];
}

/** Checks the compiler's directory options and the schema files, before anything is compiled. */
export function checkSchemaOptions(options: SchemaOptions, cwd: string): void {
  for (const dir of options.importPath) requireDirectory(`-I ${dir}`, dir, cwd);
  for (const dir of options.srcPrefixes) requireDirectory(`--src-prefix=${dir}`, dir, cwd);
  for (const file of options.files) requireReadableFile(file, cwd);
}

/** What `compileSchemas` gives: the request, or null when there were errors; and every schema file read. */
export interface CompiledSchemas {
  request: CodeGeneratorRequest | null;
  /** Positions of what the request names, for errors found after compilation. */
  locations: SourceLocations;
  /** Absolute paths of every schema file read, requested and imported (also after errors): what `--watch` watches. */
  files: string[];
  /** Every schema file compiled, with where it was found. */
  sources: SourceFile[];
}

/**
 * Compiles the schemas and prints the compiler's errors as capnp prints them. The request is null when
 * there were errors (the command then exits with status 1).
 */
export async function compileSchemas(
  options: SchemaOptions,
  log: (line: string) => void,
  { explainImports = false }: { explainImports?: boolean } = {},
): Promise<CompiledSchemas> {
  // Loaded only now, so that `--help`, `id` and argument mistakes do not pay for loading the compiler.
  const { compile } = await import("../compiler/index.js");
  const started = performance.now();
  log(`compiling ${options.files.join(" ")}`);
  const result = compile(options.files, {
    importPath: options.importPath,
    standardImport: options.standardImport,
    srcPrefixes: options.srcPrefixes,
  });
  result.messages.forEach((message, i) => {
    process.stderr.write(message.endsWith("\n") ? message : `${message}\n`);
    // capnp's message names only the import; `ipcgen compile` keeps it exact, generation says where it looked.
    const failed = /^Import failed: (.*)$/.exec(result.diagnostics[i]?.message ?? "");
    if (explainImports && failed !== null) process.stderr.write(`${importNote(failed[1], result.importCandidates(result.diagnostics[i].file, failed[1]))}\n`);
  });
  const { files, sources } = result;
  if (!result.ok) {
    if (result.messages.length === 0) throw new CliError("compilation failed");
    return { request: null, files, sources, locations: result.locations };
  }
  const { request } = result;
  log(
    `compiled ${request.requestedFiles.length} file(s), ${request.nodes.length} node(s) ` +
      `in ${Math.round(performance.now() - started)} ms`,
  );
  return { request, files, sources, locations: result.locations };
}

/** Where an import that failed was looked for, as a note for the line above it. */
function importNote(name: string, candidates: string[]): string {
  const shown = candidates.map((path) => shownPath(path));
  const where = shown.length === 0 ? "nowhere: the name climbs out of its directory or starts with //" : shown.join(", ");
  const hint = name.startsWith("/") ? "; -I DIR adds a directory to search for imports that start with /" : "";
  return `ipcgen: note: import "${name}" was looked for at ${where}${hint}`;
}

/** Runs the command; resolves to the exit status. One-line failures are thrown as `CliError`. */
export async function runCompile(options: CompileCommandOptions): Promise<number> {
  const cwd = process.cwd();
  const log = options.verbose ? (line: string) => process.stderr.write(`ipcgen compile: ${line}\n`) : () => {};

  const outputs: OutputDirective[] = options.outputs.map((spec) => parseOutputSpec(spec, cwd));
  checkSchemaOptions(options, cwd);
  const plugins = new Map<OutputDirective, string>();
  for (const output of outputs) {
    if (output.plugin !== "-") plugins.set(output, findPlugin(output, cwd));
  }

  const { request } = await compileSchemas(options, log);
  if (request === null) return 1;

  if (outputs.length === 0) {
    // capnp compiles, reports errors, and without an output fails with exactly this complaint.
    throw new CliError("no outputs specified (the schemas compiled without errors; add -o- or -o PLUGIN)");
  }

  const { encodeRequest } = await import("../model/request.js");
  const bytes = encodeRequest(request);
  log(`request is ${bytes.length} bytes`);

  let status = 0;
  for (const output of outputs) {
    const executable = plugins.get(output);
    if (executable === undefined) {
      await writeStdout(bytes);
      continue;
    }
    const failure = await runPlugin(output, executable, bytes, log);
    if (failure !== null) {
      process.stderr.write(`ipcgen compile: -o ${output.spec}: ${failure}\n`);
      status = 1;
    }
  }
  return status;
}
