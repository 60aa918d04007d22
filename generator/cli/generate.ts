/**
 * `ipcgen SCHEMA... -o DIR`: compile the schemas and write one TypeScript module per schema file, the
 * requested ones and every file they import, at DIR/<schema path>.ts (docs/codegen.md).
 *
 * One generation: compile, render (bundled templates, `--templates` overrides, `--helpers`), then either
 * compare with DIR (`--check`) or write the files whose content changed, then type-check the modules
 * together (unless `--no-verify`). `--watch` repeats that whenever an input changes.
 */
import { readFileSync, statSync, watch as watchPath, writeFileSync, mkdirSync, type FSWatcher } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import type { GeneratedFile } from "../codegen/index.js";
import { moduleLocations } from "../codegen/layout.js";
import type { SourceLocations } from "../compiler/index.js";
import type { CodeGeneratorRequest, Node } from "../model/schema.js";
import type { SchemaConventionError } from "../codegen/index.js";
import { checkSchemaOptions, type CompiledSchemas, compileSchemas, type SchemaOptions } from "./compile.js";
import { CliError, oneLine, shownPath } from "./errors.js";
import { checkHelpersFile, loadHelpers } from "./helpers.js";
import { packageVersion } from "./version.js";
import type { Verifier } from "./verify.js";

export interface GenerateCommandOptions extends SchemaOptions {
  /** `-o DIR`; null writes each module beside its schema file. */
  out: string | null;
  templates: string[];
  /** `--helpers FILE`, or null. */
  helpers: string | null;
  /** The suffix of imports between generated modules: ".js", ".ts" or "" (from `parseImportExtension`). */
  importExtension: string;
  /** Compare with DIR instead of writing. */
  check: boolean;
  /** Generate again whenever an input changes, until SIGINT or SIGTERM. */
  watch: boolean;
  /** Type-check the generated modules. */
  verify: boolean;
  verbose: boolean;
}

/** `--import-extension`'s value: `.js` (the default), `.ts`, or `none` for no suffix. */
export function parseImportExtension(value: string | undefined): string {
  switch (value) {
    case undefined:
    case ".js":
    case "js":
      return ".js";
    case ".ts":
    case "ts":
      return ".ts";
    case "none":
    case "":
      return "";
    default:
      throw new CliError(`--import-extension ${value}: must be .js, .ts or none`);
  }
}

/** What one generation did. */
interface Outcome {
  status: number;
  /** The compiler reported errors (so any schema file may be the fix, e.g. a missing import created). */
  compileFailed: boolean;
  /** Absolute paths of the schema files read. */
  schemaFiles: string[];
  total: number;
  written: number;
}

/** Type errors printed at most; a broken template can make thousands. */
const MAX_ERRORS = 50;

const print = (line: string) => process.stderr.write(`${line}\n`);

/** The problems of a schema convention error as `file:LINE:COL-COL: error: MESSAGE` lines, in file and position order. */
function conventionErrors(err: SchemaConventionError, locations: SourceLocations): string[] {
  return err.problems
    .map((p) => ({ where: locations.locate(p.target), line: locations.error(p.target, p.message) }))
    .sort((a, b) => (a.where?.file ?? "").localeCompare(b.where?.file ?? "") || (a.where?.start ?? 0) - (b.where?.start ?? 0))
    .map((p) => p.line);
}

/** The file's bytes, or null when it does not exist. */
function readIfExists(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR") return null;
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Whether a module's file is missing, holds exactly its content, or holds something else. */
function fileState(module: PlacedModule): "missing" | "current" | "outdated" {
  const existing = readIfExists(module.path);
  if (existing === null) return "missing";
  return existing.equals(Buffer.from(module.content, "utf8")) ? "current" : "outdated";
}

/**
 * The interfaces declared in the requested files for which nothing callable is generated: neither a
 * session nor an interface a channel opens.
 */
function plainInterfaces(request: CodeGeneratorRequest, served: ReadonlySet<bigint>): Node[] {
  const nodes = new Map(request.nodes.map((n) => [n.id, n]));
  const found: Node[] = [];
  const visit = (node: Node | undefined): void => {
    if (node === undefined) return;
    if (node.which === "interface" && !served.has(node.id)) found.push(node);
    for (const nested of node.nestedNodes) visit(nodes.get(nested.id));
  };
  for (const file of request.requestedFiles) visit(nodes.get(file.id));
  return found;
}

/** Warns of each interface of the requested files that nothing is generated for (see `plainInterfaces`). */
async function warnPlainInterfaces(request: CodeGeneratorRequest, locations: SourceLocations): Promise<void> {
  const { ipcModel, nameInFile } = await import("../model/ipc.js");
  for (const node of plainInterfaces(request, new Set(ipcModel(request).model.services.map((s) => s.id)))) {
    print(
      locations.warning(
        { node: node.id },
        `interface ${nameInFile(node)} is not a session and no channel opens it: nothing is generated for it ` +
          "(annotate it with $Ipc.session to serve it; standard Cap'n Proto RPC stubs for plain interfaces are not generated yet)",
      ),
    );
  }
}

/** A generated module and where it goes. */
interface PlacedModule {
  /** Its file. */
  path: string;
  /** Its file as messages show it. */
  shown: string;
  content: string;
}

/** Runs generations for one set of options; keeps what is worth keeping between them (the type-checker). */
class Generator {
  /** `-o DIR`, absolute; null for modules beside their schemas. */
  private readonly out: string | null;
  private verifier: Verifier | null = null;

  constructor(
    private readonly options: GenerateCommandOptions,
    private readonly cwd: string,
    private readonly log: (line: string) => void,
  ) {
    this.out = options.out === null ? null : resolve(cwd, options.out);
  }

  /** A module's file, and how messages show it (relative to the working directory). */
  private placed(path: string): { path: string; shown: string } {
    if (this.out !== null) return { path: join(this.out, path), shown: join(this.options.out!, path) };
    const file = resolve(path);
    return { path: file, shown: shownPath(file, this.cwd) };
  }

  /** What the user supplied that can break generated code, for messages. */
  private userInputs(): string {
    return [...this.options.templates.map((d) => `--templates ${d}`), ...(this.options.helpers !== null ? [`--helpers ${this.options.helpers}`] : [])].join(", ");
  }

  /**
   * One generation: compile, render, warn of interfaces left out, write (or check) the modules, verify
   * them. `fresh`: import the helpers module anew (it may have changed).
   */
  async run(fresh = false): Promise<Outcome> {
    const { options, cwd, log } = this;
    const requested = options.files.map((f) => resolve(cwd, f));
    const compiled = await compileSchemas(options, log, { explainImports: true });
    const schemaFiles = [...new Set([...requested, ...compiled.files])];
    const outcome: Outcome = { status: 0, compileFailed: false, schemaFiles, total: 0, written: 0 };
    if (compiled.request === null) return { ...outcome, status: 1, compileFailed: true };

    const files = await this.render(compiled.request, compiled, fresh);
    if (files === null) return { ...outcome, status: 1, compileFailed: true };
    outcome.total = files.length;
    await warnPlainInterfaces(compiled.request, compiled.locations);

    const modules = files.map((f) => ({ ...this.placed(f.path), content: f.content }));
    if (options.check) this.check(modules, outcome);
    else this.write(modules, outcome);
    if (options.verify) await this.verify(modules, outcome);
    return outcome;
  }

  /**
   * The modules of `request`; null when the schema misuses ipc.capnp's conventions, which are printed like
   * compile errors, at their positions.
   */
  private async render(request: CodeGeneratorRequest, compiled: CompiledSchemas, fresh: boolean): Promise<GeneratedFile[] | null> {
    const { options, cwd } = this;
    const helpers = options.helpers !== null ? await loadHelpers(options.helpers, cwd, fresh) : undefined;
    const { generateTypeScript, SchemaConventionError } = await import("../codegen/index.js");
    try {
      return generateTypeScript(request, {
        templateDirs: options.templates.map((d) => resolve(cwd, d)),
        helpers,
        version: packageVersion(),
        importExtension: options.importExtension,
        locations: moduleLocations(compiled.sources, this.out === null ? "beside" : "out", sep),
      });
    } catch (err) {
      if (err instanceof SchemaConventionError) {
        for (const line of conventionErrors(err, compiled.locations)) process.stderr.write(`${line}\n`);
        return null;
      }
      // With user templates or helpers, their mistake (a Handlebars syntax error, a missing partial, a
      // helper that throws) lands here.
      const inputs = this.userInputs();
      if (inputs === "") throw err;
      throw new CliError(`generating TypeScript with ${inputs} failed: ${oneLine(err)}`);
    }
  }

  /** `--check`: a line for each module whose file is missing or differs, and status 1 if there is any. */
  private check(modules: readonly PlacedModule[], outcome: Outcome): void {
    for (const module of modules) {
      const state = fileState(module);
      if (state === "missing") print(`ipcgen: ${module.shown} is missing`);
      else if (state === "outdated") print(`ipcgen: ${module.shown} is out of date`);
      else this.log(`${module.shown} is up to date`);
      if (state !== "current") outcome.status = 1;
    }
  }

  /** Writes the modules whose content changed; files already current are left alone (and their times). */
  private write(modules: readonly PlacedModule[], outcome: Outcome): void {
    for (const module of modules) {
      if (fileState(module) === "current") {
        this.log(`unchanged ${module.shown}`);
        continue;
      }
      try {
        mkdirSync(dirname(module.path), { recursive: true });
        writeFileSync(module.path, module.content);
      } catch (err) {
        throw new CliError(`cannot write ${module.shown}: ${(err as Error).message}`);
      }
      outcome.written++;
      process.stdout.write(`wrote ${module.shown}\n`);
    }
  }

  /** Type-checks the modules together; errors are printed with their likely cause and make the status 1. */
  private async verify(modules: readonly PlacedModule[], outcome: Outcome): Promise<void> {
    const { options, cwd, log } = this;
    const started = performance.now();
    if (this.verifier === null) {
      const { Verifier } = await import("./verify.js");
      const outDir = this.out ?? dirname(resolve(cwd, options.files[0]));
      this.verifier = new Verifier({ outDir, importExtension: options.importExtension, cwd });
    }
    const errors = this.verifier.check(modules);
    log(`type-checked ${modules.length} module(s) in ${Math.round(performance.now() - started)} ms`);
    if (errors.length === 0) return;
    for (const error of errors.slice(0, MAX_ERRORS)) print(error);
    if (errors.length > MAX_ERRORS) print(`ipcgen: ... and ${errors.length - MAX_ERRORS} more errors`);
    const inputs = this.userInputs();
    const environment = this.verifier.environmentProblem();
    const cause =
      environment !== null
        ? `; the environment is the likely cause: ${environment}`
        : inputs !== ""
          ? `; the templates or helpers (${inputs}) are the likely cause`
          : "; this is a bug in ipcgen, please report it";
    print(`ipcgen: the generated code does not type-check (${errors.length} error${errors.length === 1 ? "" : "s"})${cause}; --no-verify skips this check`);
    outcome.status = 1;
  }
}

/** Runs the command; resolves to the exit status. One-line failures are thrown as `CliError`. */
export async function runGenerate(options: GenerateCommandOptions): Promise<number> {
  const cwd = process.cwd();
  const log = options.verbose ? (line: string) => print(`ipcgen: ${line}`) : () => {};
  checkOptions(options, cwd);
  const generator = new Generator(options, cwd, log);
  if (!options.watch) return (await generator.run()).status;
  return new Watch(generator, options, cwd).run();
}

/** Checks, before anything is compiled, that the options go together and name what exists. */
function checkOptions(options: GenerateCommandOptions, cwd: string): void {
  if (options.check && options.watch) throw new CliError("--check and --watch cannot be used together");
  checkSchemaOptions(options, cwd);
  for (const dir of options.templates) {
    if (!statSync(resolve(cwd, dir), { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`--templates ${dir}: no such directory`);
  }
  if (options.helpers !== null) checkHelpersFile(options.helpers, cwd);
  if (options.out !== null) {
    const outStats = statSync(resolve(cwd, options.out), { throwIfNoEntry: false });
    if (outStats !== undefined && !outStats.isDirectory()) throw new CliError(`-o ${options.out}: not a directory`);
  }
}

/**
 * `--watch`: generates, then again whenever a schema file read, a template (`*.hbs` in a `--templates`
 * directory) or the `--helpers` file changes. Directories are watched, not files: editors save by writing
 * a new file and renaming it over the old one. Changes within 100 ms make one generation. Errors are
 * printed and watching goes on; SIGINT or SIGTERM ends it with status 0.
 */
class Watch {
  private readonly templateDirs: Set<string>;
  private readonly helpersFile: string | null;
  private readonly watchers = new Map<string, FSWatcher>();
  /** Per watched directory, the names in it that matter. */
  private wanted = new Map<string, Set<string>>();
  /** The last generation ended in compile errors. */
  private compileFailed = false;
  /** Pending generation, started once changes have stopped for 100 ms. */
  private timer: NodeJS.Timeout | undefined;
  /** A generation is running; `again`: a change came meanwhile, so another one follows it. */
  private running = false;
  private again = false;
  private stopped = false;
  /** What changed since the last generation, for its first line. */
  private readonly changed = new Set<string>();

  constructor(
    private readonly generator: Generator,
    private readonly options: GenerateCommandOptions,
    private readonly cwd: string,
  ) {
    this.templateDirs = new Set(options.templates.map((d) => resolve(cwd, d)));
    this.helpersFile = options.helpers !== null ? resolve(cwd, options.helpers) : null;
  }

  /** Generates and watches until SIGINT or SIGTERM; resolves to the exit status. */
  run(): Promise<number> {
    return new Promise<number>((done) => {
      const stop = () => {
        this.stop();
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        done(0);
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      void this.generate(false);
    });
  }

  /** Ends watching: no generation starts after this. */
  private stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  /** Whether a change of `name` in watched directory `dir` is an input's. */
  private relevant(dir: string, name: string | null): boolean {
    if (name === null) return true; // the platform did not say which: assume it matters
    if (this.wanted.get(dir)?.has(name)) return true;
    if (this.templateDirs.has(dir) && name.endsWith(".hbs")) return true;
    // After compile errors, a schema that did not exist (a missing import) may have been created.
    return this.compileFailed && name.endsWith(".capnp");
  }

  private onEvent(dir: string, name: string | null): void {
    if (this.stopped || !this.relevant(dir, name)) return;
    this.changed.add(name === null ? dir : join(dir, name));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.generate(true), 100);
  }

  /** Watches the directories of the inputs (`schemaFiles`, the helpers file, the template directories), and no others. */
  private watchDirectories(schemaFiles: readonly string[]): void {
    this.wanted = this.inputsByDirectory(schemaFiles);
    for (const dir of this.wanted.keys()) {
      if (!this.watchers.has(dir)) this.watchDirectory(dir);
    }
    for (const [dir, watcher] of this.watchers) {
      if (!this.wanted.has(dir)) {
        watcher.close();
        this.watchers.delete(dir);
      }
    }
  }

  /** Per directory, the names of the inputs in it; a template directory's inputs are its `*.hbs` (see `relevant`). */
  private inputsByDirectory(schemaFiles: readonly string[]): Map<string, Set<string>> {
    const inputs = new Map<string, Set<string>>();
    const add = (file: string) => {
      const dir = dirname(file);
      if (!inputs.has(dir)) inputs.set(dir, new Set());
      inputs.get(dir)!.add(basename(file));
    };
    for (const file of schemaFiles) add(file);
    if (this.helpersFile !== null) add(this.helpersFile);
    for (const dir of this.templateDirs) if (!inputs.has(dir)) inputs.set(dir, new Set());
    return inputs;
  }

  /** Starts watching `dir`; a watcher that fails is dropped, and a directory that cannot be watched is reported. */
  private watchDirectory(dir: string): void {
    try {
      const watcher = watchPath(dir, (_event, name) => this.onEvent(dir, name === null ? null : String(name)));
      watcher.on("error", () => {
        watcher.close();
        this.watchers.delete(dir);
      });
      this.watchers.set(dir, watcher);
    } catch (err) {
      print(`ipcgen: cannot watch ${dir}: ${oneLine(err)}`);
    }
  }

  /** One generation and its summary; changes while it runs make one more after it. */
  private async generate(fresh: boolean): Promise<void> {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    if (this.changed.size > 0) {
      const names = [...this.changed].map((p) => relative(this.cwd, p) || p);
      this.changed.clear();
      print(`ipcgen: ${names.join(", ")} changed; generating again`);
    }
    try {
      const outcome = await this.generator.run(fresh);
      this.compileFailed = outcome.compileFailed;
      this.watchDirectories(outcome.schemaFiles);
      const done =
        outcome.status === 0 ? `generated ${outcome.total} file(s), ${outcome.written} written, ${outcome.total - outcome.written} unchanged; ` : "";
      print(`ipcgen: ${done}watching for changes (Ctrl-C stops)`);
    } catch (err) {
      print(err instanceof CliError ? `ipcgen: ${err.message}` : `ipcgen: internal error: ${oneLine(err)}`);
      // Keep watching what was watched; before the first success, at least the schemas named and the templates.
      if (this.watchers.size === 0) this.watchDirectories(this.options.files.map((f) => resolve(this.cwd, f)));
      print("ipcgen: watching for changes (Ctrl-C stops)");
    } finally {
      this.running = false;
    }
    if (this.again && !this.stopped) {
      this.again = false;
      void this.generate(true);
    }
  }
}
