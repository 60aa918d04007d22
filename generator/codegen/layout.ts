/**
 * Where the module of each schema file goes (pure): under an output directory (`-o DIR`), or beside its
 * schema file. Either way ipcgen's bundled standard schemas are not generated: the package ships their
 * modules, and generated code imports them from it (`STD_MODULES`).
 */
import type { SourceFile } from "../compiler/index.js";
import { type ModuleLocation, outputPath } from "./names.js";
import { STD_MODULES } from "./runtime.js";

/** `out`: at the schema's name plus `.ts`, relative to the output directory; `beside`: at its absolute path plus `.ts`. */
export type Layout = "out" | "beside";

export function moduleLocations(sources: readonly SourceFile[], layout: Layout, separator = "/"): Map<bigint, ModuleLocation> {
  return new Map(
    sources.map((s): [bigint, ModuleLocation] => [
      s.id,
      s.standard
        ? { specifier: `${STD_MODULES}/${s.displayName}` }
        : { path: layout === "out" ? outputPath(s.displayName) : `${s.fsPath.split(separator).join("/")}.ts` },
    ]),
  );
}
