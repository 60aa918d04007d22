/**
 * What every part of the template data shares while one file's data is made: the request's nodes, the
 * generated name of every struct and enum, the file each node is in, where each file's module is, and the
 * imports the current module collects whenever it names another module's type (`ref`).
 *
 * Names are given once, for the whole request, before any file's data is made: a module refers to the types
 * of the modules it imports by the names those modules give them.
 */
import type { NodeLookup } from "../model/codec.js";
import { nodeLookup } from "../model/codec.js";
import type { IpcModel } from "../model/ipc.js";
import type { CodeGeneratorRequest, Node, SourceInfo } from "../model/schema.js";
import { capitalize, hexId, importSpecifier, type ModuleLocation, outputPath, safeIdentifier } from "./names.js";
import type { Namer } from "./service-data.js";

/** A node that declares a struct (or a group). */
export type StructTypeNode = Extract<Node, { which: "struct" }>;

/** How `templateData` spells what is not in the request. */
export interface TemplateDataOptions {
  /** ipcgen's version, for the header. */
  version?: string;
  /** The suffix of imports between generated modules. Default ".js" (ESM as Node resolves it). */
  importExtension?: string;
  /**
   * Where each file's module is, by file id. A file not listed is written at its output path (its name in
   * the request plus `.ts`); one with a `specifier` is not generated, only imported.
   */
  locations?: ReadonlyMap<bigint, ModuleLocation>;
}

export interface Ctx {
  request: CodeGeneratorRequest;
  nodes: Map<bigint, Node>;
  lookup: NodeLookup;
  docs: Map<bigint, SourceInfo>;
  /** Module-level identifier of every struct/enum node of every file. */
  names: Map<bigint, string>;
  /** File id of every node. */
  fileOf: Map<bigint, bigint>;
  locations: Map<bigint, ModuleLocation>;
  options: Required<Omit<TemplateDataOptions, "locations">>;
  /** The file being generated and the names it imports from each other file. */
  file: bigint;
  imports: Map<string, Set<string>>;
  /** The generic parameters in scope of the struct being generated, by `scopeId:index`. */
  params: Map<string, TypeParam>;
  /**
   * Code that only reads (or only writes) a generic struct holds codecs typed `PointerCodec<T, unknown>`
   * (or `<unknown, T>`): the face it does not use is `unknown` there, and so are that face's types.
   */
  erase?: "plain" | "init";
  ipc: IpcModel;
}

/** A generic parameter of a struct's plain view: a TypeScript type parameter and the codec argument that reads and writes it. */
export interface TypeParam {
  scopeId: bigint;
  index: number;
  name: string;
  codec: string;
}

/** The context of a request, with every node named and every file placed; no file is current yet. */
export function requestContext(request: CodeGeneratorRequest, ipc: IpcModel, options: TemplateDataOptions): Ctx {
  const nodes = new Map(request.nodes.map((n) => [n.id, n]));
  const ctx: Ctx = {
    request,
    nodes,
    lookup: nodeLookup(request.nodes),
    docs: new Map(request.sourceInfo.map((s) => [s.id, s])),
    names: new Map(),
    options: { version: options.version ?? "0.0.0", importExtension: options.importExtension ?? ".js" },
    fileOf: new Map(),
    locations: new Map(),
    file: 0n,
    imports: new Map(),
    params: new Map(),
    ipc,
  };
  for (const n of request.nodes) if (n.which === "file") nameScope(ctx, n, n.id, []);
  // Method parameters and results are nobody's nested node: they are named after their method, as in C++.
  for (const m of ipc.methodStructs) {
    ctx.names.set(m.id, `${ctx.names.get(m.interface)}_${capitalize(m.method)}${m.side === "params" ? "Params" : "Results"}`);
    ctx.fileOf.set(m.id, ctx.fileOf.get(m.interface)!);
  }
  for (const n of request.nodes) {
    if (n.which === "file") ctx.locations.set(n.id, options.locations?.get(n.id) ?? { path: outputPath(n.displayName) });
  }
  return ctx;
}

/** The context for making the data of file `file`, which starts with no imports. */
export function fileContext(ctx: Ctx, file: bigint): Ctx {
  return { ...ctx, file, imports: new Map() };
}

/** Assigns module-level names, from the file scope down (groups named after their field). */
function nameScope(ctx: Ctx, node: Node, file: bigint, path: string[]): void {
  ctx.fileOf.set(node.id, file);
  if (path.length > 0) ctx.names.set(node.id, safeIdentifier(path.join("_")));
  for (const nested of node.nestedNodes) {
    const child = ctx.nodes.get(nested.id);
    if (child !== undefined) nameScope(ctx, child, file, [...path, nested.name]);
  }
  if (node.which === "struct") {
    for (const f of node.struct.fields) {
      if (f.which !== "group") continue;
      const group = ctx.nodes.get(f.group.typeId);
      if (group !== undefined) nameScope(ctx, group, file, [...path, capitalize(f.name)]);
    }
  }
}

/**
 * A reference to a generated type from the current file, importing it when it lives in another; with a
 * `suffix`, to a name derived from the type's (`ChatClient` from `Chat`).
 */
export function ref(ctx: Ctx, id: bigint, suffix = ""): string {
  const base = ctx.names.get(id);
  if (base === undefined) throw new Error(`internal: no generated name for node ${hexId(id)}`);
  const name = base + suffix;
  const file = ctx.fileOf.get(id)!;
  if (file !== ctx.file) {
    const from = importSpecifier(modulePath(ctx, ctx.file), ctx.locations.get(file)!, ctx.options.importExtension);
    let names = ctx.imports.get(from);
    if (names === undefined) ctx.imports.set(from, (names = new Set()));
    names.add(name);
  }
  return name;
}

/** The output path of a file that is generated. */
export function modulePath(ctx: Ctx, file: bigint): string {
  const location = ctx.locations.get(file)!;
  if (!("path" in location)) throw new Error(`internal: the module of file ${hexId(file)} is not generated`);
  return location.path;
}

/** The doc comment of node `id` (or of its `member`-th member), without trailing whitespace; null when there is none. */
export function doc(ctx: Ctx, id: bigint, member?: number): string | null {
  const info = ctx.docs.get(id);
  const text = member === undefined ? info?.docComment : info?.members[member]?.docComment;
  return text === undefined || text.trim() === "" ? null : text.replace(/\s+$/, "");
}

/** What service-data.ts asks of the context: names (importing them), doc comments and nodes. */
export function namer(ctx: Ctx): Namer {
  return {
    ref: (id) => ref(ctx, id),
    derived: (id, suffix) => ref(ctx, id, suffix),
    doc: (id, member) => doc(ctx, id, member),
    node: (id) => ctx.nodes.get(id)!,
  };
}
