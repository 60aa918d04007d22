/**
 * The front end's one entry point: schema files in, a `CodeGeneratorRequest` (the model) and diagnostics out.
 * It is a faithful port of capnp 0.9.2's compiler: same ids, same layout, same errors.
 */
import type { CodeGeneratorRequest } from "../model/schema.js";
import type { Diagnostic } from "./diagnostics.js";
import type { SourceLocations } from "./locations.js";

export type { SourceLocations, SourceTarget } from "./locations.js";

export interface CompileOptions {
  /** `-I` directories, searched in order for absolute imports (`import "/foo/bar.capnp"`). */
  importPath?: string[];
  /** Search ipcgen's bundled standard directory (which holds `/capnp/*.capnp`) after `importPath`. Default true. */
  standardImport?: boolean;
  /** `--src-prefix`: a prefix stripped from the names of requested files to make their display names. */
  srcPrefixes?: string[];
}

export interface CompileResult {
  /** Nodes of every file loaded (requested and imported); `requestedFiles` lists only the requested ones. */
  request: CodeGeneratorRequest;
  /** Every error found, in the order found. */
  diagnostics: Diagnostic[];
  /** The same errors formatted as capnp prints them (`file:LINE:COL-COL: error: MESSAGE`). */
  messages: string[];
  /** True when there were no errors; the request is only meaningful then. */
  ok: boolean;
  /** Every schema file read (requested and imported), by absolute path: what a watcher watches. */
  files: string[];
  /** Every schema file compiled, with where it was found. */
  sources: SourceFile[];
  /** The paths `import "name"` in file `errorName` (as diagnostics name it) looked at, in order. */
  importCandidates(errorName: string, name: string): string[];
  /** Positions of what the request names, for errors found after compilation. */
  locations: SourceLocations;
}

export interface SourceFile {
  /** The file node's id. */
  id: bigint;
  /** Its name in the request (the path inside the directory it was found in). */
  displayName: string;
  /** How error messages name it. */
  errorName: string;
  /** Absolute path as reached. */
  fsPath: string;
  /** Found in ipcgen's bundled standard directory (`/capnp/*.capnp`, `/ipcgen/ipc.capnp`). */
  standard: boolean;
}

export { compile } from "./compiler.js";
