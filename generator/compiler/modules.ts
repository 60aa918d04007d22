/**
 * Finding and reading schema files the way capnp 0.9.2 does (its module-loader.c++, and capnp.c++ for what
 * command-line files, `--src-prefix` and `-I` do to names).
 *
 * Every file lives in a *directory*: the current directory, the filesystem root, or a directory named by
 * `-I`, `--src-prefix` or the standard import. A module is (directory, path inside it), and its names come
 * from that pair:
 * - `displayName` (what nodes' `displayName` and `requestedFiles[].filename` start with) is the path inside
 *   the directory: `foo.capnp` for `./foo.capnp`, `a/b.capnp` for `/a/b.capnp` found through `-I inc`,
 *   `tmp/x/f.capnp` (root directory, no leading slash) for a requested file outside the cwd and outside
 *   every `--src-prefix`;
 * - `errorName` (the file part of error messages) is the directory as the user spelled it plus that path:
 *   `inc/a/b.capnp`, `sub/f.capnp` (even with `--src-prefix=sub`), `/tmp/x/f.capnp`, or plain `foo.capnp` in
 *   the cwd.
 * Directories are told apart by their absolute path after lexical normalization (`a/../b` is `b`; symlinks
 * are not resolved), the first spelling of a directory names it.
 *
 * A requested file (named on the command line) goes to the deepest `--src-prefix` directory holding it,
 * else to the cwd if it is below it, else to the root. `import "/x/y.capnp"` (and `embed`) searches the
 * `-I` directories in order, then the standard directory; any other name is relative to the importing
 * file, in the importing file's directory, and may not climb out of it with `..`.
 *
 * The same file reached twice is one module (the first name it was reached by wins): the same path in the
 * same directory, or the same inode under the same base name through another directory or a symlink.
 * A symlink with another base name is a different module, as in capnp.
 *
 * Differences from capnp, where capnp crashes: a requested path naming a directory (or the cwd itself) is
 * "no such file"; an import climbing out of its directory with `..`, or `import "//x"`, fails like a
 * missing file.
 */
import { readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LineMap, type Diagnostic, type ErrorReporter } from "./diagnostics.js";

export interface Module {
  /** Path inside the module's directory, `/`-separated, never empty: nodes' and `requestedFiles`' name. */
  readonly displayName: string;
  /** How error messages name the file: the directory as given by the user, then `displayName`. */
  readonly errorName: string;
  /** Absolute path of the file as reached (symlinks not resolved); for tools, not for output. */
  readonly fsPath: string;
  readonly source: Uint8Array;
  readonly lines: LineMap;
  /**
   * Errors in this file go to the loader's shared diagnostics under `errorName`. As in capnp,
   * `hadErrors()` is true once *any* file had an error (the parser uses it to stay quiet about a missing
   * file id after other errors).
   */
  readonly errors: ErrorReporter;
  /** Found in ipcgen's bundled standard directory: ipcgen's package ships this file's generated module. */
  readonly standard: boolean;
  /** `import "name"`: the module, or null when there is no such file (the caller reports "Import failed"). */
  importRelative(name: string): Module | null;
  /** The paths `import "name"` looks at, in order: what to tell a user whose import failed. */
  importCandidates(name: string): string[];
  /** `embed "name"`: the file's bytes, or null when it can't be read. */
  embedRelative(name: string): Uint8Array | null;
}

export interface ModuleLoaderOptions {
  /** `-I` directories, searched in order for `/`-rooted imports. Relative ones are relative to `cwd`. */
  importPath: string[];
  /** Search ipcgen's bundled standard directory (holding `capnp/*.capnp`) after `importPath`. */
  standardImport: boolean;
  /** `--src-prefix` directories. */
  srcPrefixes: string[];
  /** Where every error goes, in the order found. */
  diagnostics: Diagnostic[];
  /** Defaults to the process's current directory (as `$PWD` spells it, when that is the same directory). */
  cwd?: string;
}

interface Directory {
  /** Absolute, lexically normalized. */
  readonly abs: string;
  /** Prepended to a module's path to make its error name. */
  readonly errorPrefix: string;
  isSourcePrefix: boolean;
}

export class ModuleLoader {
  /** Every module loaded so far, in load order. */
  readonly modules: Module[] = [];

  private readonly cwd: string;
  private readonly cwdDir: Directory;
  private readonly rootDir: Directory = { abs: "/", errorPrefix: "/", isSourcePrefix: false };
  /** Directories opened for `-I`, `--src-prefix` and the standard import, by absolute path. */
  private readonly directories = new Map<string, Directory>();
  private readonly searchPath: Directory[] = [];
  /** `dir \0 path` and `dev:ino:basename` → module. */
  private readonly byKey = new Map<string, Module>();
  private readonly diagnostics: Diagnostic[];
  private readonly standardDir: Directory | null = null;

  /**
   * Opens the `-I`, `--src-prefix` and standard directories. A `-I` or `--src-prefix` that is not a
   * directory adds a diagnostic `{ file: "-I DIR" | "--src-prefix=DIR", start: 0, end: 0,
   * message: "no such directory" }` (capnp's wording; format it with a null LineMap) and is skipped.
   */
  constructor(opts: ModuleLoaderOptions) {
    this.diagnostics = opts.diagnostics;
    this.cwd = resolve(opts.cwd ?? currentDirectory());
    this.cwdDir = { abs: this.cwd, errorPrefix: "", isSourcePrefix: false };
    for (const dir of opts.importPath) {
      const found = this.openDirectory(dir, false);
      if (found) this.searchPath.push(found);
      else this.addGlobalError(`-I ${dir}`, "no such directory");
    }
    for (const prefix of opts.srcPrefixes) {
      if (!this.openDirectory(prefix, true)) this.addGlobalError(`--src-prefix=${prefix}`, "no such directory");
    }
    if (opts.standardImport) {
      const std = standardImportDir();
      const found = std === null ? null : this.openDirectory(std, false);
      if (found) this.searchPath.push(found); // a missing standard directory is ignored, as in capnp
      this.standardDir = found;
    }
  }

  /**
   * A file named on the command line, relative to the cwd. Null, with the diagnostic
   * `{ file: pathAsGiven, start: 0, end: 0, message: "no such file" }`, when it can't be read.
   * Naming the same file twice returns the same module.
   */
  loadRequested(pathAsGiven: string): Module | null {
    const found = this.placeRequested(pathAsGiven);
    const module = found && this.load(found.dir, found.path);
    if (!module) this.addGlobalError(pathAsGiven, "no such file");
    return module;
  }

  /** `import`: `/`-rooted names search the import path, others are relative to the importing file. */
  private importFrom(dir: Directory, from: string, name: string): Module | null {
    if (name.startsWith("/")) {
      const path = name.startsWith("//") ? null : normalizeParts([], name.slice(1));
      if (path === null) return null;
      for (const candidate of this.searchPath) {
        const module = this.load(candidate, path);
        if (module) return module;
      }
      return null;
    }
    const path = normalizeParts(from.split("/").slice(0, -1), name);
    return path === null ? null : this.load(dir, path);
  }

  private importCandidatesFrom(dir: Directory, from: string, name: string): string[] {
    if (name.startsWith("/")) {
      const path = name.startsWith("//") ? null : normalizeParts([], name.slice(1));
      return path === null ? [] : this.searchPath.map((candidate) => join(candidate.abs, path));
    }
    const path = normalizeParts(from.split("/").slice(0, -1), name);
    return path === null ? [] : [join(dir.abs, path)];
  }

  /** `embed`: found like an import, but read afresh each time. */
  private embedFrom(dir: Directory, from: string, name: string): Uint8Array | null {
    if (name.startsWith("/")) {
      const path = name.startsWith("//") ? null : normalizeParts([], name.slice(1));
      if (path === null) return null;
      for (const candidate of this.searchPath) {
        const bytes = readRegularFile(join(candidate.abs, path));
        if (bytes) return bytes;
      }
      return null;
    }
    const path = normalizeParts(from.split("/").slice(0, -1), name);
    return path === null ? null : readRegularFile(join(dir.abs, path));
  }

  private addError(file: string, start: number, end: number, message: string): void {
    this.diagnostics.push({ file, start, end, message });
  }

  private addGlobalError(file: string, message: string): void {
    this.addError(file, 0, 0, message);
  }

  /** The directory for `-I`/`--src-prefix`/standard path `given`; null if it is not a directory. */
  private openDirectory(given: string, isSourcePrefix: boolean): Directory | null {
    const abs = resolve(this.cwd, given);
    if (abs === "/") return this.rootDir; // never a source prefix, as in capnp
    const known = this.directories.get(abs);
    if (known) {
      known.isSourcePrefix ||= isSourcePrefix;
      return known;
    }
    if (abs === this.cwd) {
      // The cwd keeps its own object, so its files stay named relative to it.
      if (isSourcePrefix) {
        this.cwdDir.isSourcePrefix = true;
        this.directories.set(abs, this.cwdDir);
      }
      return this.cwdDir;
    }
    if (!isDirectory(abs)) return null;
    const dir = { abs, errorPrefix: given.endsWith("/") ? given : `${given}/`, isSourcePrefix };
    this.directories.set(abs, dir);
    return dir;
  }

  private placeRequested(given: string): { dir: Directory; path: string } | null {
    const parts = resolve(this.cwd, given).split("/").filter((p) => p !== "");
    if (parts.length === 0) return null;
    // The deepest source prefix holding the file wins.
    for (let i = parts.length - 1; i > 0; i--) {
      const dir = this.directories.get(`/${parts.slice(0, i).join("/")}`);
      if (dir?.isSourcePrefix) return { dir, path: parts.slice(i).join("/") };
    }
    const cwdParts = this.cwd.split("/").filter((p) => p !== "");
    if (cwdParts.every((p, i) => parts[i] === p)) {
      if (parts.length === cwdParts.length) return null; // the cwd itself
      return { dir: this.cwdDir, path: parts.slice(cwdParts.length).join("/") };
    }
    return { dir: this.rootDir, path: parts.join("/") };
  }

  private load(dir: Directory, path: string): Module | null {
    const pathKey = `${dir.abs}\0${path}`;
    const known = this.byKey.get(pathKey);
    if (known) return known;

    const fsPath = join(dir.abs, path);
    let stat;
    try {
      stat = statSync(fsPath, { bigint: true });
    } catch {
      return null;
    }
    if (!stat.isFile()) return null;
    // The same file through another directory (overlapping -I dirs) or a same-named symlink.
    const fileKey = `${stat.dev}:${stat.ino}:${basename(path)}`;
    const same = this.byKey.get(fileKey);
    if (same) {
      this.byKey.set(pathKey, same);
      return same;
    }
    const source = readRegularFile(fsPath);
    if (!source) return null;
    const errorName = dir.errorPrefix + path;
    const module: Module = {
      displayName: path,
      errorName,
      fsPath,
      standard: dir === this.standardDir,
      source,
      lines: new LineMap(source),
      errors: {
        addError: (start, end, message) => this.addError(errorName, start, end, message),
        // Global, as in capnp.
        hadErrors: () => this.diagnostics.length > 0,
      },
      importRelative: (name) => this.importFrom(dir, path, name),
      importCandidates: (name) => this.importCandidatesFrom(dir, path, name),
      embedRelative: (name) => this.embedFrom(dir, path, name),
    };
    this.byKey.set(pathKey, module);
    this.byKey.set(fileKey, module);
    this.modules.push(module);
    return module;
  }
}

/**
 * ipcgen's bundled standard directory: `generator/std` beside ipcgen's package.json, found by walking up
 * from `from` (this module's URL: works from the sources and from `dist/`). Null if the installation lacks it.
 */
export function standardImportDir(from: string = import.meta.url): string | null {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown };
      if (pkg.name === "ipcgen") {
        const std = join(dir, "generator", "std");
        return isDirectory(std) ? std : null;
      }
    } catch {
      // no package.json here (or not readable): keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/**
 * `base` (path parts) joined with a relative `name`, `.`/`..`/empty parts resolved; null if `..` climbs out
 * of the directory (capnp refuses that) or nothing is left.
 */
function normalizeParts(base: string[], name: string): string | null {
  const parts = [...base];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) return null;
      parts.pop();
    } else parts.push(part);
  }
  return parts.length === 0 ? null : parts.join("/");
}

function readRegularFile(fsPath: string): Uint8Array | null {
  try {
    if (!statSync(fsPath).isFile()) return null;
    return new Uint8Array(readFileSync(fsPath));
  } catch {
    return null;
  }
}

function isDirectory(fsPath: string): boolean {
  try {
    return statSync(fsPath).isDirectory();
  } catch {
    return false;
  }
}

/** `$PWD` when it names the current directory (it keeps the user's symlinked spelling, as kj does). */
function currentDirectory(): string {
  const real = process.cwd();
  const pwd = process.env.PWD;
  if (pwd && pwd.startsWith("/")) {
    try {
      const a = statSync(pwd, { bigint: true });
      const b = statSync(real, { bigint: true });
      if (a.dev === b.dev && a.ino === b.ino) return resolve(pwd);
    } catch {
      // fall back to the real path
    }
  }
  return real;
}
