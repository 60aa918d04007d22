/**
 * `ipcgen SCHEMA... -o DIR`: compile the schemas and write one TypeScript module per schema file, the
 * requested ones and every file they import, at DIR/<schema path>.ts (docs/codegen.md).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { requireDirectory, requireReadableFile } from "./compile.js";
import { CliError } from "./errors.js";

export interface GenerateCommandOptions {
  files: string[];
  out: string;
  importPath: string[];
  standardImport: boolean;
  srcPrefixes: string[];
  templates: string[];
  verbose: boolean;
}

/** Runs the command; resolves to the exit status. One-line failures are thrown as `CliError`. */
export async function runGenerate(options: GenerateCommandOptions): Promise<number> {
  const cwd = process.cwd();
  const log = options.verbose ? (line: string) => process.stderr.write(`ipcgen: ${line}\n`) : () => {};
  for (const dir of options.importPath) requireDirectory(`-I ${dir}`, dir, cwd);
  for (const dir of options.srcPrefixes) requireDirectory(`--src-prefix=${dir}`, dir, cwd);
  for (const dir of options.templates) requireDirectory(`--templates ${dir}`, dir, cwd);
  for (const file of options.files) requireReadableFile(file, cwd);

  const { compile } = await import("../compiler/index.js");
  const result = compile(options.files, {
    importPath: options.importPath,
    standardImport: options.standardImport,
    srcPrefixes: options.srcPrefixes,
  });
  for (const message of result.messages) process.stderr.write(message.endsWith("\n") ? message : `${message}\n`);
  if (!result.ok) {
    if (result.messages.length === 0) throw new CliError("compilation failed");
    return 1;
  }

  const { generateTypeScript } = await import("../codegen/index.js");
  const files = generateTypeScript(result.request, { templateDirs: options.templates.map((d) => resolve(cwd, d)) });
  const out = resolve(cwd, options.out);
  for (const file of files) {
    const path = join(out, file.path);
    try {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.content);
    } catch (err) {
      throw new CliError(`cannot write ${path}: ${(err as Error).message}`);
    }
    log(`wrote ${path}`);
  }
  return 0;
}
