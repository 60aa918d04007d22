/**
 * `ipcgen/capnp`: capnp-ts, as generated code imports it. Through ipcgen, so that a project depending on
 * ipcgen alone resolves it: a dependency's own dependencies are not importable from the project itself.
 */
export * from "capnp-ts";
