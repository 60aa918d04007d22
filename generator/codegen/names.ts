/**
 * Naming rules of generated TypeScript, as pure functions. One rule for each kind of name, so the
 * generator, the templates and the docs (docs/codegen.md) agree.
 */
/**
 * Members a struct class inherits from capnp-ts's `Pointer`/`Struct`, or that ipcgen adds: a schema field
 * of the same name gets a trailing underscore instead of shadowing them.
 */
const RESERVED_MEMBERS = new Set([
  "_capnp",
  "byteOffset",
  "segment",
  "constructor",
  "toString",
  "which",
  "prototype",
]);

/** Statics of a struct class: nested type names are UpperCamel in practice, but a schema may say otherwise. */
const RESERVED_STATICS = new Set(["_capnp", "encode", "decode", "_read", "_write", "_codec", "name", "length", "prototype", "caller", "arguments"]);

/** TypeScript reserved words that cannot be a class, enum or const name. */
const RESERVED_WORDS = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally for " +
    "function if import in instanceof new null return super switch this throw true try typeof var void while with " +
    "implements interface let package private protected public static yield await any boolean number string symbol " +
    "bigint object unknown never undefined capnp codec ipcgen"
  ).split(" "),
);

/** The name of a field's accessor on a struct class. */
export function memberName(fieldName: string): string {
  return RESERVED_MEMBERS.has(fieldName) ? `${fieldName}_` : fieldName;
}

/** The name of a nested type as a static of its parent class. */
export function staticName(name: string): string {
  return RESERVED_STATICS.has(name) ? `${name}_` : name;
}

/** A top-level identifier (class, enum, const) that is safe in a module. */
export function safeIdentifier(name: string): string {
  return RESERVED_WORDS.has(name) ? `${name}_` : name;
}

/** `fooBar` -> `FooBar`. */
export function capitalize(name: string): string {
  return name.length === 0 ? name : name[0].toUpperCase() + name.slice(1);
}

/** `fooBar`, `FooBar`, `foo_bar` -> `FOO_BAR` (capnp-ts's spelling of enumerants and union tags). */
export function upperSnake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1_$2")
    .toUpperCase();
}

/** The generated module for a schema file: `foo/bar.capnp` -> `foo/bar.capnp.ts`. */
export function outputPath(schemaFile: string): string {
  return `${schemaFile.replace(/^\/+/, "")}.ts`;
}

/**
 * Where a schema file's module is: written at `path` (an output path, `/`-separated, relative to the
 * output directory or absolute), or provided by a package under a bare `specifier` (ipcgen ships the
 * modules of its bundled standard schemas: `ipcgen/std/capnp/c++.capnp`).
 */
export type ModuleLocation = { readonly path: string } | { readonly specifier: string };

/** The ESM specifier one generated module (at output path `fromPath`) uses to import the module at `to`. */
export function importSpecifier(fromPath: string, to: ModuleLocation, extension = ".js"): string {
  if ("specifier" in to) return to.specifier;
  const from = fromPath.split("/").slice(0, -1);
  const target = to.path.replace(/\.ts$/, extension).split("/");
  let common = 0;
  while (common < from.length && common < target.length - 1 && from[common] === target[common]) common++;
  const up = from.length - common;
  const rest = target.slice(common).join("/");
  return up === 0 ? `./${rest}` : `${"../".repeat(up)}${rest}`;
}

/** `0x` followed by 16 hex digits. */
export function hexId(id: bigint): string {
  return `0x${id.toString(16).padStart(16, "0")}`;
}

/**
 * Members of generated clients, remotes and handlers that a schema method must not take: what their
 * runtime bases (`ServiceClient` is an EventEmitter) and the handler's `channels` already mean.
 */
const RESERVED_SERVICE_MEMBERS = new Set(
  (
    "constructor channel session service closed close credentials on once off emit addListener removeListener " +
    "removeAllListeners listeners rawListeners listenerCount prependListener prependOnceListener eventNames " +
    "setMaxListeners getMaxListeners buffer allocate zeroCopy _call _send _submit _open _watch _buffer _stream"
  ).split(" "),
);

/** The member a method gets on a service's client, remote and handler (`extra`: more names taken there). */
export function serviceMemberName(method: string, extra: readonly string[] = []): string {
  return RESERVED_SERVICE_MEMBERS.has(method) || extra.includes(method) ? `${method}_` : method;
}

/** An object literal's key for `name`: bare when it is an identifier, quoted otherwise. */
export function propertyKey(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}
