/**
 * The front end's one entry point: schema files in, a `CodeGeneratorRequest` (the model) and diagnostics out.
 * It is a faithful port of capnp 0.9.2's compiler: same ids, same layout, same errors.
 */
export type { SourceLocations, SourceTarget } from "./locations.js";

export type { CompileOptions, CompileResult, SourceFile } from "./compiler.js";
export { compile } from "./compiler.js";
