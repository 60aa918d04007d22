/// <reference types="node" preserve="true" />
// Node's types come with ipcgen (a dependency), so that an app without @types/node of its own compiles.
/**
 * `ipcgen/codec`: what generated Cap'n Proto code imports besides capnp-ts. The wire layer and the small
 * readers and writers that plain-object views are made of.
 */
export * from "./plain.js";
export { canonicalize, DEFAULT_NESTING_LIMIT, DEFAULT_TRAVERSAL_LIMIT_WORDS, PointerReader } from "./wire.js";
export { capnpPointer } from "./capnp-ts.js";
export { OLDEST_RUNTIME_API, RUNTIME_API, RuntimeApiError, requireRuntimeApi } from "./api.js";
// The base of the errors above (`MessageDecodeError`, `RuntimeApiError`), as `ipcgen` exports it too.
export { IpcgenError, type IpcgenErrorCode } from "../errors.js";
