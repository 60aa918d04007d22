/**
 * `ipcgen SCHEMA... -o DIR`: compile the schemas and write one TypeScript module per schema file, the
 * requested ones and every file they import, at DIR/<schema path>.ts (docs/codegen.md).
 */
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { checkSchemaOptions, compileSchemas, type SchemaOptions } from "./compile.js";
import { CliError, oneLine } from "./errors.js";

export interface GenerateCommandOptions extends SchemaOptions {
  out: string;
  templates: string[];
  verbose: boolean;
}

/** Runs the command; resolves to the exit status. One-line failures are thrown as `CliError`. */
export async function runGenerate(options: GenerateCommandOptions): Promise<number> {
  const cwd = process.cwd();
  const log = options.verbose ? (line: string) => process.stderr.write(`ipcgen: ${line}\n`) : () => {};
  checkSchemaOptions(options, cwd);
  for (const dir of options.templates) {
    if (!statSync(resolve(cwd, dir), { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`--templates ${dir}: no such directory`);
  }
  const request = await compileSchemas(options, log);
  if (request === null) return 1;

  const { generateTypeScript } = await import("../codegen/index.js");
  let files;
  try {
    files = generateTypeScript(request, { templateDirs: options.templates.map((d) => resolve(cwd, d)) });
  } catch (err) {
    // With user templates, a template's mistake (a Handlebars syntax error, a missing partial) lands here.
    if (options.templates.length === 0) throw err;
    throw new CliError(`generating TypeScript with --templates ${options.templates.join(", ")} failed: ${oneLine(err)}`);
  }
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
