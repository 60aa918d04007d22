/// <reference types="node" preserve="true" />
// Node's types come with ipcgen (a dependency), so that an app without @types/node of its own compiles.
/**
 * `ipcgen/capnp`: capnp-ts, as generated code imports it. Through ipcgen, so that a project depending on
 * ipcgen alone resolves it: a dependency's own dependencies are not importable from the project itself.
 */
export * from "capnp-ts";
