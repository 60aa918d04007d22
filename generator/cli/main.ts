#!/usr/bin/env node
/**
 * The `ipcgen` command. Every failure ends as one line on stderr and a non-zero exit status: 1 for bad
 * input (usage, files, schemas, plugins), 2 for what is not implemented yet; only `--verbose` shows the
 * stack of an internal error.
 */
import yargs, { type Argv } from "yargs";
import { hideBin } from "yargs/helpers";
import { normalizeArgs, subcommand } from "./args.js";
import { CliError, oneLine } from "./errors.js";
import { packageVersion } from "./version.js";

const COMPILE_EPILOGUE = `\
Without -o, the files are compiled and errors reported, and the command then fails with "no outputs
specified", as capnp does. Compile errors are printed to stderr as capnp prints them
(FILE:LINE:COL-COL: error: MESSAGE) and the exit status is 1.

Examples:
  ipcgen compile -o- schema.capnp > request.bin      the binary CodeGeneratorRequest
  ipcgen compile -I src --no-standard-import -o- src/foo.capnp
  ipcgen compile -o capnp schema.capnp               runs capnpc-capnp from PATH
  ipcgen compile -o ts:gen schema.capnp              runs capnpc-ts (e.g. from capnp-es) in ./gen`;

const TOP_EPILOGUE = `\
Modules are written only when their content changed, then type-checked together (strict) as
a user's compiler sees them; type errors are printed as FILE:LINE:COL: error TSxxxx: MESSAGE
and make the exit status 1.

Examples:
  ipcgen schema.capnp                      writes schema.capnp.ts beside it
  ipcgen schema.capnp -o src/gen           writes src/gen/schema.capnp.ts
  ipcgen schema.capnp -o src/gen --check   exit status 1 if src/gen is out of date (for CI)
  ipcgen schema.capnp -o src/gen --watch   generates again when a schema or template changes
  ipcgen templates eject tpl               copies the bundled templates to tpl/, for -t tpl

'ipcgen compile --help' explains the compiler's options; docs/cli.md and docs/codegen.md are
the full reference, shipped in ipcgen's package (node_modules/ipcgen/docs/ in a project).`;

const EJECT_EPILOGUE = `\
Then 'ipcgen SCHEMA... -o OUT --templates DIR' generates the same code as without --templates,
until the copies are edited. Templates left unedited may be deleted: the bundled ones fill in.`;

/** yargs messages reworded. (A plural message is a {one, other} pair, which @types/yargs does not know.) */
const MISSING_FILE = "missing FILE: got %s schema files, need at least %s";
const MESSAGES = {
  "Not enough non-option arguments: got %s, need at least %s": { one: MISSING_FILE, other: MISSING_FILE },
} as unknown as Record<string, string>;

/** A repeatable string option's value as a list. */
function list(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** The compiler's options as both commands take them. */
function schemaOptions(files: string[], argv: Record<string, unknown>) {
  return {
    files,
    importPath: list(argv["import-path"]),
    standardImport: !argv["no-standard-import"],
    srcPrefixes: list(argv["src-prefix"]),
  };
}

/** Reports a failure of `command` as one line and sets the exit status. */
function report(command: string, err: unknown, verbose: boolean): void {
  if (err instanceof CliError) {
    process.stderr.write(`${command}: ${err.message}\n`);
    process.exitCode = err.exitCode;
    return;
  }
  if (verbose && err instanceof Error && err.stack) {
    process.stderr.write(`${command}: internal error: ${err.stack}\n`);
  } else {
    const hint = command === "ipcgen compile" ? " (--verbose shows where)" : "";
    process.stderr.write(`${command}: internal error: ${oneLine(err)}${hint}\n`);
  }
  process.exitCode = 1;
}

const USAGE = "Usage: ipcgen SCHEMA... [-o DIR]\n       ipcgen <command> [options]\n\nReads Cap'n Proto schemas and generates typed TypeScript for Node.js.";

/**
 * Parses the arguments and runs the command they name. The commands are declared in the order the help
 * lists them; a command's module is imported only when it runs, so that `--help` and `id` start fast.
 */
async function main(rawArgs: readonly string[]): Promise<void> {
  const args = normalizeArgs(rawArgs);
  const command = subcommand(args) === "compile" ? "ipcgen compile" : "ipcgen";
  const verbose = args.includes("--verbose");

  const cli = yargs(args).scriptName("ipcgen").parserConfiguration({ "boolean-negation": false }).usage(USAGE);
  compileCommand(cli);
  idCommand(cli);
  templatesCommand(cli);
  generateCommand(cli);
  cli
    .strict()
    .updateStrings(MESSAGES)
    .help()
    .alias("help", "h")
    .version(packageVersion())
    .epilogue(TOP_EPILOGUE)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((message, err) => {
      if (err) throw err;
      throw new CliError(`${message}\nTry '${command} --help' for more information.`);
    });

  try {
    await cli.parseAsync();
  } catch (err) {
    report(command, err, verbose);
  }
}

/** `ipcgen compile FILE...`: capnp's compiler, handing the request to plugins or stdout. */
function compileCommand(cli: Argv): void {
  cli.command(
    "compile <files..>",
    "Compile schema files like `capnp compile` and pass the CodeGeneratorRequest to plugins or stdout",
    (y) =>
      y
        .usage(
          "Usage: ipcgen compile [options] FILE...\n\n" +
            "Compiles Cap'n Proto schema files with ipcgen's built-in compiler (a port of capnp 0.9.2) and hands " +
            "the resulting CodeGeneratorRequest to each output named by -o. A drop-in for `capnp compile`: " +
            "same options, same request, same error messages.",
        )
        .positional("files", {
          describe: "Schema files to compile; each becomes a requested file of the request",
          defaultDescription: "none",
          type: "string",
        })
        .option("output", {
          alias: "o",
          type: "string",
          requiresArg: true,
          describe:
            "Output, repeatable: -o PLUGIN[:DIR]. '-' writes the binary (framed) CodeGeneratorRequest to stdout. " +
            "A PLUGIN without a slash runs the executable 'capnpc-PLUGIN' found on PATH (-o capnp runs capnpc-capnp); " +
            "one with a slash is the path of the executable. The plugin reads the request on stdin and runs in DIR " +
            "(default: the current directory; created if missing). Several -o run in the order given; a failed " +
            "plugin is reported with its name and exit status",
        })
        .option("import-path", {
          alias: "I",
          type: "string",
          requiresArg: true,
          describe:
            "Directory searched, in the order given, for absolute imports (import \"/foo/bar.capnp\"). Repeatable",
        })
        .option("no-standard-import", {
          type: "boolean",
          default: false,
          describe:
            "Do not search the standard import directory after the -I directories. ipcgen's standard directory is " +
            "its bundled copy of Cap'n Proto's schemas (import \"/capnp/c++.capnp\" and the like), where capnp " +
            "searches /usr/local/include and /usr/include",
        })
        .option("src-prefix", {
          type: "string",
          requiresArg: true,
          describe:
            "A directory prefix removed from the names of the FILEs given, for their names in the request (and so " +
            "in the plugins' output paths and in error messages): --src-prefix=src src/foo.capnp is named " +
            "foo.capnp. Repeatable; must be an existing directory",
        })
        .option("verbose", {
          type: "boolean",
          default: false,
          describe: "Log what ipcgen does (files compiled, request size, plugins run) to stderr; show internal errors' stacks",
        })
        .epilogue(COMPILE_EPILOGUE),
    async (argv) => {
      const { runCompile } = await import("./compile.js");
      process.exitCode = await runCompile({
        ...schemaOptions(list(argv.files), argv),
        outputs: list(argv.output),
        verbose: argv.verbose,
      });
    },
  );
}

/** `ipcgen id`: a new random file id, as `capnp id` prints it. */
function idCommand(cli: Argv): void {
  cli.command(
    "id",
    "Print a new random 64-bit file id, like `capnp id` (@0x...); every schema file starts with one",
    (y) => y.usage("Usage: ipcgen id\n\nPrints a new random file id, e.g. @0xd169a92246dc7893, for the first line of a new schema file."),
    async () => {
      const { randomFileId, formatId } = await import("../compiler/ids.js");
      process.stdout.write(`@${formatId(randomFileId())}\n`);
    },
  );
}

/** `ipcgen templates eject DIR`: copies of the bundled templates, to edit. */
function templatesCommand(cli: Argv): void {
  cli.command(
    "templates",
    "Work with the bundled templates: 'ipcgen templates eject DIR' copies them into DIR, to edit",
    (y) =>
      y
        .usage("Usage: ipcgen templates eject DIR [--force]")
        .command(
          "eject [dir]",
          "Copy the bundled templates (*.hbs) into DIR (created if missing), to edit and pass with --templates DIR",
          (e) =>
            e
              .usage(
                "Usage: ipcgen templates eject DIR [--force]\n\nCopies the bundled Handlebars templates (*.hbs) into DIR, " +
                  "created if missing, and prints each file written. Existing files are left alone (and nothing is " +
                  "written) unless --force is given.",
              )
              .positional("dir", { describe: "Where the templates go", type: "string" })
              .option("force", { type: "boolean", default: false, describe: "Overwrite templates already in DIR" })
              .epilogue(EJECT_EPILOGUE),
          async (argv) => {
            if (argv.dir === undefined || argv.dir === "") {
              throw new CliError("templates eject: DIR is required: the directory to copy the templates into");
            }
            const { runEject } = await import("./templates.js");
            process.exitCode = await runEject({ dir: String(argv.dir), force: argv.force });
          },
        )
        .demandCommand(1, "templates: name what to do: 'ipcgen templates eject DIR'"),
    () => {},
  );
}

/** `ipcgen SCHEMA...`, the default command: TypeScript from schemas. Without a schema, it prints the help. */
function generateCommand(cli: Argv): void {
  cli.command(
    "$0 [schemas..]",
    "Generate TypeScript from SCHEMA files (and the files they import), beside them or into DIR",
    (y) =>
      y
        .positional("schemas", { describe: "Schema files to generate TypeScript from", type: "string" })
        .option("out", {
          alias: "o",
          type: "string",
          requiresArg: true,
          describe:
            "Directory for the generated modules: DIR/<schema path>.ts for each schema file (created if missing). " +
            "Without it, each module is written beside its schema file (hello.capnp -> hello.capnp.ts)",
        })
        .option("import-path", { alias: "I", type: "string", requiresArg: true, describe: "As for 'ipcgen compile': a directory for absolute imports. Repeatable" })
        .option("no-standard-import", { type: "boolean", default: false, describe: "As for 'ipcgen compile'" })
        .option("src-prefix", { type: "string", requiresArg: true, describe: "As for 'ipcgen compile': removed from schema paths, so also from output paths. Repeatable" })
        .option("templates", {
          alias: "t",
          type: "string",
          requiresArg: true,
          describe: "A directory of Handlebars templates (*.hbs) replacing the bundled ones of the same name. Repeatable; later ones win",
        })
        .option("helpers", {
          type: "string",
          requiresArg: true,
          describe:
            "A JavaScript module (ESM or CommonJS, .js or .mjs; .ts where Node can import it) whose exported functions " +
            "are registered as Handlebars helpers for the templates, next to the bundled doc, json and concat (a helper " +
            "of the same name replaces one)",
        })
        .option("import-extension", {
          type: "string",
          requiresArg: true,
          describe:
            "The suffix of imports between generated modules: .js (the default, for Node's ESM and tsc's NodeNext), " +
            ".ts (for allowImportingTsExtensions, Deno, Bun), or none (for bundlers)",
        })
        .option("check", {
          type: "boolean",
          default: false,
          describe:
            "Write nothing; print a line for each module in DIR that is missing or out of date and exit with status 1 " +
            "if there is any, 0 if all are current (for CI)",
        })
        .option("watch", {
          alias: "w",
          type: "boolean",
          default: false,
          describe:
            "Generate, then generate again whenever a schema file (or one it imports), a template or the helpers " +
            "change, until interrupted (Ctrl-C). Errors are printed and watching goes on",
        })
        .option("no-verify", {
          type: "boolean",
          default: false,
          describe:
            "Do not type-check the generated modules. By default they are type-checked together (strict, as a user " +
            "compiles them) and errors make the exit status 1",
        })
        .option("verbose", { type: "boolean", default: false, describe: "Log each module written or unchanged, and timings" }),
    async (argv) => {
      if (list(argv.schemas).length === 0) {
        cli.showHelp((text) => process.stderr.write(`${text}\n`));
        process.exitCode = 1;
        return;
      }
      const { parseImportExtension, runGenerate } = await import("./generate.js");
      const helpers = list(argv.helpers);
      if (helpers.length > 1) throw new CliError("--helpers FILE: give one file (its module may import others)");
      const extensions = list(argv["import-extension"]);
      if (extensions.length > 1) throw new CliError("--import-extension: give it once");
      process.exitCode = await runGenerate({
        ...schemaOptions(list(argv.schemas), argv),
        out: argv.out === undefined ? null : String(argv.out),
        templates: list(argv.templates),
        helpers: helpers[0] ?? null,
        importExtension: parseImportExtension(extensions[0]),
        check: argv.check,
        watch: argv.watch,
        verify: !argv["no-verify"],
        verbose: argv.verbose,
      });
    },
  );
}

// A write error on stdout (a reader that went away) reaches the write's callback; without a listener it would
// also be thrown as an unhandled 'error' event.
process.stdout.on("error", () => {});

main(hideBin(process.argv)).catch((err: unknown) => {
  process.stderr.write(`ipcgen: internal error: ${oneLine(err)}\n`);
  process.exitCode = 1;
});
