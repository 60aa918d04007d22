/**
 * The contract between generated code and ipcgen's runtime, from the generator's side: which modules
 * generated code imports, and which runtime API it is written against (runtime/codec/api.ts is the other
 * side). A light module: the CLI reads it without loading the templates.
 */
export { RUNTIME_API } from "../../runtime/codec/api.js";

/** The runtime modules generated code imports. */
export interface RuntimeImports {
  /** capnp-ts: `ipcgen/capnp` re-exports it, so that projects need no dependency of their own on it. */
  capnp: string;
  /** ipcgen's codec (`ipcgen/codec`). */
  codec: string;
  /** ipcgen's runtime (`ipcgen`): imported by files that declare services or errors. */
  runtime?: string;
}

export const DEFAULT_RUNTIME: RuntimeImports = { capnp: "ipcgen/capnp", codec: "ipcgen/codec", runtime: "ipcgen" };

/**
 * Where ipcgen's package provides the modules of its bundled standard schemas: the module of
 * `/ipcgen/ipc.capnp` is `ipcgen/std/ipcgen/ipc.capnp`. Generated code imports them from there instead of
 * generating copies.
 */
export const STD_MODULES = "ipcgen/std";
