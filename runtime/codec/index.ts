/**
 * `ipcgen/codec`: what generated Cap'n Proto code imports besides capnp-ts. The wire layer and the small
 * readers and writers that plain-object views are made of.
 */
export * from "./plain.js";
export { canonicalize, DEFAULT_NESTING_LIMIT, DEFAULT_TRAVERSAL_LIMIT_WORDS, PointerReader } from "./wire.js";
export { capnpPointer } from "./capnp-ts.js";
