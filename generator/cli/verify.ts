/**
 * Verification: the generated modules type-check (strict) together, with the real TypeScript program over
 * their paths in the output directory, as a user's compiler would see them.
 *
 * The modules' contents are given in memory (so `--check` can verify without writing), at their real paths,
 * so relative imports between them resolve among themselves and bare imports resolve from the
 * `node_modules` above the output directory, as for the user. Two exceptions keep this robust anywhere:
 *   - imports of this package (`ipcgen`, `ipcgen/codec`, any future export) always resolve to the
 *     package's own typings: `dist/…/*.d.ts` when running built, the `.ts` sources when running from
 *     them. Generator and runtime ship in one package, so they always match; this also works where the
 *     package's self-reference would need a built `dist/`.
 *   - another bare import (`capnp-ts`) that does not resolve from the output directory resolves as it
 *     does from this package (a dependency of it), as when it is installed nested.
 *
 * One ts-morph `Project` serves every check of a run (`--watch` checks again and again): the library and
 * runtime typings are parsed once.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { Project, ts } from "ts-morph";
import { defaultTemplateDir } from "../codegen/render.js";

export interface VerifyFile {
  /** Absolute path of the module in the output directory. */
  path: string;
  content: string;
}

export interface VerifyOptions {
  /** The output directory: where `@types/node` is looked for first. */
  outDir: string;
  /** The suffix of imports between generated modules: ".js", ".ts" or "" (none). */
  importExtension: string;
  /** Paths in messages are relative to this directory. */
  cwd: string;
}

/** ipcgen's package: its root directory, name and `exports`. */
interface PackageInfo {
  root: string;
  name: string;
  exports: Record<string, unknown>;
}

function packageInfo(): PackageInfo {
  const root = dirname(dirname(defaultTemplateDir()));
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name?: string; exports?: Record<string, unknown> };
  return { root, name: pkg.name ?? "ipcgen", exports: pkg.exports ?? {} };
}

/**
 * The package's own typings for each of its exports, as `paths` entries: `ipcgen` -> `…/runtime/index.ts`.
 * Built (this module under `dist/`), the `dist` typings the exports name; from the sources, the `.ts` file
 * the typings are built from (when it exists), so a stale or missing `dist/` does not matter.
 */
export function ownPackagePaths(info: PackageInfo = packageInfo()): Record<string, string[]> {
  const here = fileURLToPath(import.meta.url);
  const built = here.startsWith(join(info.root, "dist") + sep);
  const paths: Record<string, string[]> = {};
  for (const [key, target] of Object.entries(info.exports)) {
    const types = typeof target === "string" ? target : (target as { types?: unknown } | null)?.types;
    if (typeof types !== "string" || !/\.d\.ts$/.test(types)) continue;
    const specifier = key === "." ? info.name : `${info.name}/${key.replace(/^\.\//, "")}`;
    const dist = join(info.root, types);
    const source = join(info.root, types.replace(/^\.?\/?dist\//, "").replace(/\.d\.ts$/, ".ts"));
    const candidates = built ? [dist, source] : [source, dist];
    // A pattern (`./std/*`) exists when the directory before its `*` does.
    const exists = (file: string) => existsSync(file.includes("*") ? dirname(file.slice(0, file.indexOf("*") + 1)) : file);
    const found = candidates.find(exists);
    paths[specifier] = [found ?? dist];
  }
  return paths;
}

/** One diagnostic as `FILE:LINE:COL: error TSxxxx: message`, on one line. */
function formatDiagnostic(d: ts.Diagnostic, cwd: string): string {
  const category = d.category === ts.DiagnosticCategory.Warning ? "warning" : "error";
  const message = ts
    .flattenDiagnosticMessageText(d.messageText, "\n")
    .split("\n")
    .map((l) => l.trim())
    .join(" ");
  if (d.file === undefined) return `${category} TS${d.code}: ${message}`;
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
  const name = relative(cwd, d.file.fileName) || d.file.fileName;
  return `${name}:${line + 1}:${character + 1}: ${category} TS${d.code}: ${message}`;
}

/**
 * The `node_modules/@types` that holds `@types/node`, looked for above `dir`, then above ipcgen's package;
 * null when there is none. Node's globals (`AbortSignal`, `Buffer`) and modules (`node:net`, which the
 * runtime's typings import) come from there, as in a user's project.
 */
function nodeTypesRoot(...dirs: string[]): string | null {
  for (const start of dirs) {
    for (let dir = start; ; dir = dirname(dir)) {
      const root = join(dir, "node_modules", "@types");
      if (existsSync(join(root, "node", "package.json"))) return root;
      if (dirname(dir) === dir) break;
    }
  }
  return null;
}

const isBare = (specifier: string) => !specifier.startsWith(".") && !specifier.startsWith("/");

export class Verifier {
  private readonly info = packageInfo();
  private readonly ownPaths = ownPackagePaths(this.info);
  /** Bare specifiers already looked at, and where the ones that did not resolve from the output went. */
  private readonly seen = new Set<string>();
  private readonly fallbackPaths: Record<string, string[]> = {};
  private readonly project: Project;
  private readonly typesRoot: string | null;
  /** The modules of the previous check, removed before the next. */
  private previous: string[] = [];

  constructor(private readonly options: VerifyOptions) {
    this.typesRoot = nodeTypesRoot(options.outDir, this.info.root);
    this.project = new Project({
      compilerOptions: this.compilerOptions(),
      skipAddingFilesFromTsConfig: true,
      skipFileDependencyResolution: true,
      skipLoadingLibFiles: false,
    });
  }

  private compilerOptions(): ts.CompilerOptions {
    const extensionless = this.options.importExtension === "";
    return {
      strict: true,
      noImplicitOverride: true,
      noFallthroughCasesInSwitch: true,
      // What Node's type stripping (node file.ts) and other TypeScript-erasing tools run: no enums or
      // namespaces with values, and type-only imports marked as such.
      erasableSyntaxOnly: true,
      verbatimModuleSyntax: !extensionless,
      target: ts.ScriptTarget.ES2022,
      lib: ["lib.es2023.d.ts"],
      // Extensionless relative imports are for bundlers; `.js` and `.ts` ones are checked as Node reads them.
      module: extensionless ? ts.ModuleKind.ESNext : ts.ModuleKind.NodeNext,
      moduleResolution: extensionless ? ts.ModuleResolutionKind.Bundler : ts.ModuleResolutionKind.NodeNext,
      allowImportingTsExtensions: this.options.importExtension === ".ts",
      noEmit: true,
      skipLibCheck: true,
      // Node's own types, as a Node project has them; no other global `@types/*` of whatever lies around.
      ...(this.typesRoot !== null ? { typeRoots: [this.typesRoot], types: ["node"] } : { types: [] }),
      paths: { ...this.fallbackPaths, ...this.ownPaths },
    };
  }

  /** Bare imports that do not resolve from the output directory, resolved from this package instead. */
  private addFallbacks(files: readonly VerifyFile[]): boolean {
    const options = this.compilerOptions();
    let changed = false;
    for (const file of files) {
      for (const { fileName: specifier } of ts.preProcessFile(file.content, true, false).importedFiles) {
        if (!isBare(specifier) || this.seen.has(specifier) || this.ownPaths[specifier] !== undefined) continue;
        this.seen.add(specifier);
        if (ts.resolveModuleName(specifier, file.path, options, ts.sys).resolvedModule !== undefined) continue;
        const fromPackage = ts.resolveModuleName(specifier, join(this.info.root, "index.ts"), options, ts.sys).resolvedModule;
        if (fromPackage === undefined) continue; // reported as the user would see it
        this.fallbackPaths[specifier] = [fromPackage.resolvedFileName];
        changed = true;
      }
    }
    return changed;
  }

  /**
   * Why the user's environment, not the generated code, may be what fails the check; null when nothing
   * is known to be missing. Generated code needs Node's types (`AbortSignal`, `Buffer`), which ipcgen's
   * package depends on, so their absence means an incomplete install.
   */
  environmentProblem(): string | null {
    if (this.typesRoot !== null) return null;
    const out = relative(this.options.cwd, this.options.outDir) || "the current directory";
    return (
      `Node's type declarations (@types/node) were not found above ${out} or above ipcgen's package ` +
      `(${this.info.root}), which depends on them: the install is incomplete; npm install --save-dev @types/node fixes it`
    );
  }

  /** Type-checks the modules together; resolves to their errors, formatted, none when they compile. */
  check(files: readonly VerifyFile[]): string[] {
    if (this.addFallbacks(files)) this.project.compilerOptions.set({ paths: this.compilerOptions().paths });
    const current = new Set(files.map((f) => f.path));
    for (const path of this.previous) {
      if (!current.has(path)) {
        const sf = this.project.getSourceFile(path);
        if (sf !== undefined) this.project.removeSourceFile(sf);
      }
    }
    this.previous = [...current];
    const sourceFiles = files.map((f) => this.project.createSourceFile(f.path, f.content, { overwrite: true }));

    const program = this.project.getProgram().compilerObject;
    const diagnostics: ts.Diagnostic[] = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
    for (const sf of sourceFiles) {
      const node = program.getSourceFile(sf.getFilePath());
      if (node === undefined) continue;
      diagnostics.push(...program.getSyntacticDiagnostics(node), ...program.getSemanticDiagnostics(node));
    }
    return diagnostics
      .filter((d) => d.category === ts.DiagnosticCategory.Error)
      .map((d) => formatDiagnostic(d, this.options.cwd));
  }
}
