/**
 * The model (a `CodeGeneratorRequest`) to template data: plain objects holding every name, type and
 * expression the templates print, so that templates stay free of logic. Pure: same request, same data.
 *
 * Generated code has two faces per struct, both wire-identical to the C++ library:
 *   - a capnp-ts `Struct` subclass (builders and readers over a capnp-ts `Message`), and
 *   - a plain-object view (`X.Plain` / `X.Init` types, `X.encode` / `X.decode`), whose readers and writers
 *     are specialized to constant offsets over ipcgen's wire layer (`ipcgen/codec`), for speed.
 */
import { MessageBuilder } from "../../runtime/codec/wire.js";
import { decodeValue, nodeLookup, type NodeLookup } from "../model/codec.js";
import type { Brand, CodeGeneratorRequest, Field, Node, SourceInfo, Type, Value } from "../model/schema.js";
import { NO_DISCRIMINANT } from "../model/schema.js";
import { capitalize, hexId, importSpecifier, type ModuleLocation, outputPath, memberName, propertyKey, safeIdentifier, staticName, upperSnake } from "./names.js";
import { bytes as bytesLiteral, literal, numberLiteral } from "./literals.js";
import { ipcModel, type IpcModel, type Problem } from "../model/ipc.js";
import { RUNTIME_API } from "./runtime.js";
import { type ErrorData, errorData, type Namer, type ServiceData, serviceData } from "./service-data.js";

/** The schema misuses ipc.capnp's conventions: `problems` name where (see generator/model/ipc.ts). */
export class SchemaConventionError extends Error {
  override name = "SchemaConventionError";
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => p.message).join("\n"));
  }
}

/** A node that declares a struct (or a group). */
type StructTypeNode = Extract<Node, { which: "struct" }>;

/**
 * The version of the data templates receive (docs/templates.md). It changes when a field is removed or
 * changes meaning; added fields do not change it.
 */
export const TEMPLATE_DATA_VERSION = 2;

/** What every file's data says about the generator. */
export interface GeneratorData {
  name: "ipcgen";
  /** ipcgen's package version. */
  version: string;
  /** `TEMPLATE_DATA_VERSION`. */
  dataVersion: number;
  /** The runtime API the generated code is written against (`RUNTIME_API`); it checks it when imported. */
  runtimeApi: number;
}

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

export interface FileData {
  generator: GeneratorData;
  /** The schema file, as the request names it. */
  source: string;
  /** Where the module is written: `source` plus `.ts`, under the output directory, unless placed elsewhere. */
  path: string;
  fileId: string;
  /** Other generated modules this one uses, by specifier, with the names it imports. */
  imports: { from: string; names: string[] }[];
  enums: EnumData[];
  structs: StructData[];
  consts: ConstData[];
  /** Error classes of the structs marked `$error`. */
  errors: ErrorData[];
  /** Sessions, and interfaces that channels speak: client, remote, handler and definition each. */
  services: ServiceData[];
  /** The module imports ipcgen's runtime (it has errors or services). */
  usesRuntime: boolean;
}

export interface EnumData {
  name: string;
  doc: string | null;
  enumerants: { name: string; value: number; doc: string | null }[];
}

export interface ConstData {
  name: string;
  doc: string | null;
  type: string;
  value: string;
}

export interface StructData {
  name: string;
  displayName: string;
  doc: string | null;
  id: string;
  dataBytes: number;
  dataWords: number;
  pointerCount: number;
  isGroup: boolean;
  /** `_capnp` entries besides displayName/id/size: default masks and default pointers. */
  defaults: { key: string; expr: string }[];
  /** List constructors cached as statics, assigned once every class exists. */
  listCtors: { key: string; elementType: string; expr: string }[];
  fields: FieldData[];
  union: UnionData | null;
  /** Nested types, as `Outer.Inner` aliases. */
  nested: { name: string; target: string; isType: boolean; isValue: boolean }[];
  plain: PlainData;
  generic: GenericData;
}

/**
 * The pieces of the plain view's signatures that generic parameters add; all empty for a struct outside
 * any generic scope, so the templates print them unconditionally.
 */
export interface GenericData {
  /** `<Foo = codec.AnyPointerValue, ...>` on the Plain and Init types. */
  typeDecl: string;
  /** `<Foo, ...>` on methods, and as arguments of Plain/Init. */
  typeParams: string;
  /** `, Foo$: codec.PointerCodec<Foo, unknown>, ...` */
  readParams: string;
  /** `, Foo$: codec.PointerCodec<unknown, Foo>, ...` */
  writeParams: string;
  /** `<Foo, Foo$W, ...>`: the codec factory's type parameters (what reading gives, what writing takes). */
  codecTypeParams: string;
  /** `Foo$: codec.PointerCodec<Foo, Foo$W>, ...` (the codec factory's parameters). */
  codecParams: string;
  /** `<Foo$W, ...>`: the Init type's arguments in the codec factory. */
  codecInitArgs: string;
  /** `, Foo$, ...`: passing the codecs on. */
  pass: string;
  /** `, codec.anyPointerCodec, ...`: what encode/decode use (parameters read as AnyPointer). */
  anyCodecs: string;
}

export interface UnionData {
  whichEnum: string;
  discriminantByte: number;
  members: { tag: string; value: number; name: string }[];
}

export interface FieldData {
  /** Accessor name on the class. */
  name: string;
  /** Capitalized, for getX/initX/hasX. */
  cap: string;
  doc: string | null;
  /** Which accessor template prints the field. */
  kind: "primitive" | "void" | "text" | "data" | "struct" | "list" | "pointer" | "group";
  type: string;
  /** Setter parameter type (wider than `type` for 64-bit integers). */
  setType: string;
  get: string;
  set: string;
  /** For pointers: the field's pointer slot (has/adopt/disown take it); -1 for other fields. */
  pointerIndex: number;
  /** For pointers that can be initialized: the init accessor's expression; null otherwise. */
  init: string | null;
  /** Union membership: the test before a get, the discriminant write before a set. */
  member: { value: number; discriminantByte: number; tag: string } | null;
}

export interface PlainData {
  /** Lines of the `Plain` type body (non-union fields). */
  fields: { name: string; type: string; initType: string; doc: string | null }[];
  /** Union variants: `which` tag plus the member's field, if it has a value. */
  variants: { which: string; field: { name: string; type: string; initType: string } | null }[];
  /** Statements of `_read(s)`: `const base = {...}` then the union switch. */
  reads: { name: string; expr: string }[];
  variantReads: { value: number; which: string; name: string | null; expr: string | null }[];
  discriminantByte: number;
  /** Statements of `_write(b, at, v)`. */
  writes: string[];
  variantWrites: { which: string; value: number; stmt: string | null }[];
}

interface Ctx {
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
interface TypeParam {
  scopeId: bigint;
  index: number;
  name: string;
  codec: string;
}

/**
 * Template data for every file of the request: the requested ones and those they import, since a
 * generated module imports the modules of the schemas its schema imports.
 */
export function templateData(request: CodeGeneratorRequest, options: TemplateDataOptions = {}): FileData[] {
  const { model: ipc, problems } = ipcModel(request);
  if (problems.length > 0) throw new SchemaConventionError(problems);
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
  return request.nodes
    .filter((n) => n.which === "file" && "path" in ctx.locations.get(n.id)!)
    .map((f) => fileData({ ...ctx, file: f.id, imports: new Map() }, f));
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
function ref(ctx: Ctx, id: bigint, suffix = ""): string {
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
function modulePath(ctx: Ctx, file: bigint): string {
  const location = ctx.locations.get(file)!;
  if (!("path" in location)) throw new Error(`internal: the module of file ${hexId(file)} is not generated`);
  return location.path;
}

/** The generic parameters in scope of node `id`: those of every generic scope from the file down to it. */
function typeParamsOf(ctx: Ctx, id: bigint): TypeParam[] {
  const chain: Node[] = [];
  for (let n = ctx.nodes.get(id); n !== undefined && n.which !== "file"; n = ctx.nodes.get(n.scopeId)) chain.unshift(n);
  const taken = new Set(ctx.names.values());
  const out: TypeParam[] = [];
  for (const n of chain) {
    n.parameters.forEach((p, index) => {
      let name = p.name;
      while (taken.has(name)) name = `${name}_`;
      taken.add(name);
      out.push({ scopeId: n.id, index, name, codec: `${name}$` });
    });
  }
  return out;
}

const paramKey = (scopeId: bigint, index: number): string => `${scopeId}:${index}`;

/**
 * How a reference to struct `targetId` with `brand` binds each of the target's parameters, seen from the
 * struct being generated: a bound type, an inherited parameter of ours, or nothing (AnyPointer).
 */
function brandBindings(ctx: Ctx, targetId: bigint, brand: Brand | undefined): ({ type: Type } | { param: TypeParam } | null)[] {
  return typeParamsOf(ctx, targetId).map((tp) => {
    const scope = brand?.scopes.find((sc) => sc.scopeId === tp.scopeId);
    if (scope === undefined || scope.which === "inherit") {
      // Inherit (or an enclosing scope left implicit): our own parameter of that scope, if we have it.
      const mine = ctx.params.get(paramKey(tp.scopeId, tp.index));
      return mine === undefined ? null : { param: mine };
    }
    const binding = scope.bind[tp.index];
    return binding === undefined || binding.which === "unbound" ? null : { type: binding.type };
  });
}

/** `<A, B>` type arguments of a branded struct reference, or "" for a struct with no parameters. */
function typeArgs(ctx: Ctx, targetId: bigint, brand: Brand | undefined, mode: "plain" | "init"): string {
  const bindings = brandBindings(ctx, targetId, brand);
  if (bindings.length === 0) return "";
  const args = bindings.map((b) => (b === null ? "codec.AnyPointerValue" : "param" in b ? paramType(ctx, b.param, mode) : plainType(ctx, b.type, mode)));
  return `<${args.join(", ")}>`;
}

/** `, codecA, codecB`: the codec arguments a branded struct reference passes to the target's reader/writer. */
function codecArgs(ctx: Ctx, targetId: bigint, brand: Brand | undefined): string {
  return brandBindings(ctx, targetId, brand)
    .map((b) => `, ${b === null ? "codec.anyPointerCodec" : "param" in b ? b.param.codec : codecExpr(ctx, b.type)}`)
    .join("");
}

/** A `codec.PointerCodec` expression for a pointer type (the bound value of a generic parameter). */
function codecExpr(ctx: Ctx, type: Type): string {
  switch (type.which) {
    case "text":
      return "codec.textCodec";
    case "data":
      return "codec.dataCodec";
    case "struct":
      return `${ref(ctx, type.struct.typeId)}._codec(${codecArgs(ctx, type.struct.typeId, type.struct.brand).slice(2)})`;
    case "list":
      return (
        `codec.listCodec<${plainType(ctx, type, "plain")}, ${plainType(ctx, type, "init")}>(` +
        `(l) => ${listRead(ctx, type.list.elementType, "l")}, (b, p, x) => ${listWrite(ctx, type.list.elementType, "p", "x")})`
      );
    case "anyPointer":
      return paramOf(ctx, type)?.codec ?? "codec.anyPointerCodec";
    default:
      return "codec.capabilityCodec";
  }
}

/** How a face of the plain view spells type parameter `p` (see `Ctx.erase`). */
function paramType(ctx: Ctx, p: TypeParam, mode: "plain" | "init"): string {
  return ctx.erase === mode ? "unknown" : p.name;
}

/** Our type parameter that an AnyPointer type names, if it names one. */
function paramOf(ctx: Ctx, type: Type): TypeParam | undefined {
  if (type.which !== "anyPointer" || type.anyPointer.which !== "parameter") return undefined;
  return ctx.params.get(paramKey(type.anyPointer.parameter.scopeId, type.anyPointer.parameter.parameterIndex));
}

function genericData(params: readonly TypeParam[]): GenericData {
  if (params.length === 0) {
    return { typeDecl: "", typeParams: "", readParams: "", writeParams: "", codecTypeParams: "", codecParams: "", codecInitArgs: "", pass: "", anyCodecs: "" };
  }
  return {
    typeDecl: `<${params.map((p) => `${p.name} = codec.AnyPointerValue`).join(", ")}>`,
    typeParams: `<${params.map((p) => p.name).join(", ")}>`,
    readParams: params.map((p) => `, ${p.codec}: codec.PointerCodec<${p.name}, unknown>`).join(""),
    writeParams: params.map((p) => `, ${p.codec}: codec.PointerCodec<unknown, ${p.name}>`).join(""),
    codecTypeParams: `<${params.map((p) => `${p.name}, ${p.name}$W`).join(", ")}>`,
    codecParams: params.map((p) => `${p.codec}: codec.PointerCodec<${p.name}, ${p.name}$W>`).join(", "),
    codecInitArgs: `<${params.map((p) => `${p.name}$W`).join(", ")}>`,
    pass: params.map((p) => `, ${p.codec}`).join(""),
    anyCodecs: params.map(() => ", codec.anyPointerCodec").join(""),
  };
}

function doc(ctx: Ctx, id: bigint, member?: number): string | null {
  const info = ctx.docs.get(id);
  const text = member === undefined ? info?.docComment : info?.members[member]?.docComment;
  return text === undefined || text.trim() === "" ? null : text.replace(/\s+$/, "");
}

function fileData(ctx: Ctx, file: Node): FileData {
  const source = file.displayName;
  const generator: GeneratorData = { name: "ipcgen", version: ctx.options.version, dataVersion: TEMPLATE_DATA_VERSION, runtimeApi: RUNTIME_API };
  const out: FileData = { generator, source, path: modulePath(ctx, file.id), fileId: hexId(file.id), imports: [], enums: [], structs: [], consts: [], errors: [], services: [], usesRuntime: false };
  const visit = (node: Node): void => {
    switch (node.which) {
      case "struct":
        out.structs.push(structData(ctx, node));
        for (const f of node.struct.fields) if (f.which === "group") visit(ctx.nodes.get(f.group.typeId)!);
        break;
      case "enum":
        out.enums.push(enumData(ctx, node));
        break;
      case "const": {
        const c = constData(ctx, node);
        if (c !== null) out.consts.push(c);
        break;
      }
      case "interface":
        for (const m of ctx.ipc.methodStructs) if (m.interface === node.id) out.structs.push(structData(ctx, ctx.nodes.get(m.id) as StructTypeNode));
        break;
      default:
        break;
    }
    for (const nested of node.nestedNodes) {
      const child = ctx.nodes.get(nested.id);
      if (child !== undefined) visit(child);
    }
  };
  for (const nested of file.nestedNodes) {
    const child = ctx.nodes.get(nested.id);
    if (child !== undefined) visit(child);
  }
  const namer: Namer = {
    ref: (id) => ref(ctx, id),
    derived: (id, suffix) => ref(ctx, id, suffix),
    doc: (id, member) => doc(ctx, id, member),
    node: (id) => ctx.nodes.get(id)!,
  };
  out.errors = ctx.ipc.errors.filter((e) => ctx.fileOf.get(e.id) === file.id).map((e) => errorData(e, namer));
  out.services = ctx.ipc.services.filter((sv) => ctx.fileOf.get(sv.id) === file.id).map((sv) => serviceData(sv, namer));
  out.usesRuntime = out.errors.length > 0 || out.services.length > 0;
  out.imports = [...ctx.imports].map(([from, names]) => ({ from, names: [...names].sort() })).sort((a, b) => a.from.localeCompare(b.from));
  return out;
}

function enumData(ctx: Ctx, node: Extract<Node, { which: "enum" }>): EnumData {
  return {
    name: ctx.names.get(node.id)!,
    doc: doc(ctx, node.id),
    enumerants: node.enum.enumerants.map((e, i) => ({ name: upperSnake(e.name), value: i, doc: doc(ctx, node.id, i) })),
  };
}

function constData(ctx: Ctx, node: Extract<Node, { which: "const" }>): ConstData | null {
  const { type, value } = node.const;
  if (type.which === "interface" || (type.which === "anyPointer" && value.which === "anyPointer" && value.anyPointer === null)) return null;
  const name = safeIdentifier(node.displayName.slice(node.displayNamePrefixLength));
  const scope = ctx.names.get(node.scopeId);
  return {
    name: scope === undefined ? name : `${scope}_${name}`,
    doc: doc(ctx, node.id),
    type: plainType(ctx, type, "plain"),
    value: constantValue(ctx, type, value),
  };
}

/** Whether a value of `type` can hold a struct (then its plain form follows the generated readers' rules). */
function holdsStruct(type: Type): boolean {
  return type.which === "struct" || type.which === "anyPointer" || (type.which === "list" && holdsStruct(type.list.elementType));
}

/**
 * A constant as code: a literal where the value is plain data, and otherwise its encoded form read at load
 * time by the same generated reader that `decode` uses, so that a constant and a decoded message of the same
 * bytes are equal (defaults, nulls and all).
 */
function constantValue(ctx: Ctx, type: Type, value: Value): string {
  if (!holdsStruct(type)) return literal(plainValue(ctx, type, value), type, { ref: (id) => ref(ctx, id), node: (id) => ctx.nodes.get(id) });
  const pv = value.which === "struct" ? value.struct : value.which === "list" ? value.list : value.which === "anyPointer" ? value.anyPointer : null;
  if (pv === null && type.which === "list") return "[]";
  if (pv === null && type.which === "anyPointer") return "null";
  // A null struct constant reads as a struct of defaults, as a null root does: a message holding one null word.
  const canonical = pv?.canonical ?? new Uint8Array(8);
  if (type.which === "anyPointer") return bytesLiteral(canonical);
  return `codec.constant(${bytesLiteral(canonical)}, ${codecExpr(ctx, type)})`;
}

/** A model value of a type that holds no struct, as the literal printer takes it. */
function plainValue(ctx: Ctx, type: Type, value: Value): unknown {
  switch (value.which) {
    case "list":
      return decodeValue(type, value.list, ctx.lookup) ?? [];
    case "void":
    case "interface":
      return null;
    default:
      return (value as Record<string, unknown>)[value.which];
  }
}

// ---------------------------------------------------------------------------------------------------------
// Types

const PRIMITIVE_TS: Record<string, string> = {
  bool: "boolean",
  int8: "number",
  int16: "number",
  int32: "number",
  uint8: "number",
  uint16: "number",
  uint32: "number",
  float32: "number",
  float64: "number",
  int64: "bigint",
  uint64: "bigint",
};

/** The plain-view type of a value of `type` (`mode` "init" for what `encode` accepts). */
function plainType(ctx: Ctx, type: Type, mode: "plain" | "init"): string {
  switch (type.which) {
    case "void":
      return "null";
    case "text":
      return "string";
    case "data":
      return "Uint8Array";
    case "enum":
      return ref(ctx, type.enum.typeId);
    case "struct":
      return `${ref(ctx, type.struct.typeId)}.${mode === "plain" ? "Plain" : "Init"}${typeArgs(ctx, type.struct.typeId, type.struct.brand, mode)}`;
    case "list": {
      const e = plainType(ctx, type.list.elementType, mode);
      const wrapped = /[|&]|^readonly /.test(e) ? `(${e})` : e;
      return mode === "plain" ? `${wrapped}[]` : `readonly ${wrapped}[]`;
    }
    case "interface":
      return "null";
    case "anyPointer": {
      const param = paramOf(ctx, type);
      return param === undefined ? "codec.AnyPointerValue" : paramType(ctx, param, mode);
    }
    default:
      return PRIMITIVE_TS[type.which];
  }
}

/** The capnp-ts list constructor for a list of `element`. */
function listCtor(ctx: Ctx, element: Type): string {
  switch (element.which) {
    case "void": return "capnp.VoidList";
    case "bool": return "capnp.BoolList";
    case "int8": return "capnp.Int8List";
    case "int16": return "capnp.Int16List";
    case "int32": return "capnp.Int32List";
    case "int64": return "capnp.Int64List";
    case "uint8": return "capnp.Uint8List";
    case "uint16": return "capnp.Uint16List";
    case "uint32": return "capnp.Uint32List";
    case "uint64": return "capnp.Uint64List";
    case "float32": return "capnp.Float32List";
    case "float64": return "capnp.Float64List";
    case "text": return "capnp.TextList";
    case "data": return "capnp.DataList";
    case "enum": return "capnp.Uint16List";
    case "struct": return `capnp.CompositeList(${ref(ctx, element.struct.typeId)})`;
    case "list": return `capnp.PointerList(${listCtor(ctx, element.list.elementType)})`;
    case "interface": return "capnp.InterfaceList";
    case "anyPointer": return "capnp.AnyPointerList";
  }
}

/** The element type of a capnp-ts list of `element`, as the class API shows it. */
function listElementType(ctx: Ctx, element: Type): string {
  switch (element.which) {
    case "void": return "capnp.Void";
    case "bool": return "boolean";
    case "int64":
    case "uint64": return "bigint";
    case "text": return "string";
    case "data": return "capnp.Data";
    case "enum": return "number";
    case "struct": return ref(ctx, element.struct.typeId);
    case "list": return `capnp.List<${listElementType(ctx, element.list.elementType)}>`;
    case "interface": return "capnp.Interface";
    case "anyPointer": return "capnp.Pointer";
    default: return "number";
  }
}

// ---------------------------------------------------------------------------------------------------------
// Structs

const ACCESSOR: Record<string, { fn: string; bytes: number }> = {
  int8: { fn: "Int8", bytes: 1 },
  int16: { fn: "Int16", bytes: 2 },
  int32: { fn: "Int32", bytes: 4 },
  int64: { fn: "Int64", bytes: 8 },
  uint8: { fn: "Uint8", bytes: 1 },
  uint16: { fn: "Uint16", bytes: 2 },
  uint32: { fn: "Uint32", bytes: 4 },
  uint64: { fn: "Uint64", bytes: 8 },
  float32: { fn: "Float32", bytes: 4 },
  float64: { fn: "Float64", bytes: 8 },
  enum: { fn: "Uint16", bytes: 2 },
};

function structData(outer: Ctx, node: StructTypeNode): StructData {
  const params = typeParamsOf(outer, node.id);
  const ctx: Ctx = { ...outer, params: new Map(params.map((p) => [paramKey(p.scopeId, p.index), p])) };
  const name = ctx.names.get(node.id)!;
  const s = node.struct;
  const fields = [...s.fields].sort((a, b) => a.codeOrder - b.codeOrder);
  const discriminantByte = s.discriminantOffset * 2;
  const defaults: StructData["defaults"] = [];
  const listCtors: StructData["listCtors"] = [];
  const members = fields.filter((f) => f.discriminantValue !== NO_DISCRIMINANT);
  const data: StructData = {
    name,
    displayName: node.displayName.slice(node.displayNamePrefixLength),
    doc: doc(ctx, node.id),
    id: node.id.toString(16).padStart(16, "0"),
    dataBytes: s.dataWordCount * 8,
    dataWords: s.dataWordCount,
    pointerCount: s.pointerCount,
    isGroup: s.isGroup,
    defaults,
    listCtors,
    fields: [],
    union:
      s.discriminantCount > 0
        ? {
            whichEnum: `${name}_Which`,
            discriminantByte,
            members: members.map((f) => ({ tag: upperSnake(f.name), value: f.discriminantValue, name: f.name })),
          }
        : null,
    nested: [],
    plain: { fields: [], variants: [], reads: [], variantReads: [], discriminantByte, writes: [], variantWrites: [] },
    generic: genericData(params),
  };
  for (const nested of node.nestedNodes) {
    const child = ctx.nodes.get(nested.id);
    if (child === undefined || !ctx.names.has(child.id)) continue;
    const isType = child.which === "struct" || child.which === "enum";
    if (!isType) continue;
    data.nested.push({ name: staticName(nested.name), target: ctx.names.get(child.id) ?? "", isType, isValue: true });
  }
  for (const f of fields) {
    const member = f.discriminantValue === NO_DISCRIMINANT ? null : { value: f.discriminantValue, discriminantByte, tag: upperSnake(f.name) };
    data.fields.push(fieldData(ctx, name, f, member, defaults, listCtors, doc(ctx, node.id, s.fields.indexOf(f))));
  }
  plainData(ctx, node, fields, data.plain);
  return data;
}

function fieldData(
  ctx: Ctx,
  owner: string,
  f: Field,
  member: FieldData["member"],
  defaults: StructData["defaults"],
  listCtors: StructData["listCtors"],
  fieldDoc: string | null,
): FieldData {
  const name = memberName(f.name);
  const cap = capitalize(f.name);
  const base = { name, cap, doc: fieldDoc, member, pointerIndex: -1, init: null as string | null };
  if (f.which === "group") {
    const g = ref(ctx, f.group.typeId);
    return { ...base, kind: "group", type: g, setType: g, get: `capnp.Struct.getAs(${g}, this)`, set: "", init: `capnp.Struct.getAs(${g}, this)` };
  }
  const { type, offset, defaultValue, hadExplicitDefault } = f.slot;
  const defKey = `default${cap}`;
  const defRef = `${owner}._capnp.${defKey}`;
  switch (type.which) {
    case "void":
      return { ...base, kind: "void", type: "void", setType: "void", get: "", set: "" };
    case "bool": {
      const hasDefault = defaultValue.which === "bool" && defaultValue.bool;
      if (hasDefault) defaults.push({ key: defKey, expr: `capnp.getBitMask(true, ${offset % 8})` });
      const mask = hasDefault ? `, ${defRef}` : "";
      const byteBit = Math.floor(offset / 8) * 8 + (offset % 8);
      return {
        ...base,
        kind: "primitive",
        type: "boolean",
        setType: "boolean",
        get: `capnp.Struct.getBit(${byteBit}, this${mask})`,
        set: `capnp.Struct.setBit(${byteBit}, value, this${mask})`,
      };
    }
    case "text":
    case "data":
    case "struct":
    case "list":
    case "anyPointer":
    case "interface":
      return pointerField(ctx, base, type, offset, hadExplicitDefault ? defaultValue : null, defKey, defRef, defaults, listCtors, owner);
    default: {
      const acc = ACCESSOR[type.which];
      const bits = (defaultValue as Record<string, unknown>)[defaultValue.which];
      const nonZero = typeof bits === "bigint" ? bits !== 0n : typeof bits === "number" && (bits !== 0 || Object.is(bits, -0));
      if (nonZero) {
        const maskFn = type.which === "enum" ? "getUint16Mask" : `get${acc.fn}Mask`;
        defaults.push({ key: defKey, expr: `capnp.${maskFn}(${typeof bits === "bigint" ? `${bits}n` : numberLiteral(bits as number)})` });
      }
      const mask = nonZero ? `, ${defRef}` : "";
      const byte = offset * acc.bytes;
      const tsType = type.which === "enum" ? ref(ctx, type.enum.typeId) : PRIMITIVE_TS[type.which];
      const is64 = type.which === "int64" || type.which === "uint64";
      return {
        ...base,
        kind: "primitive",
        type: tsType,
        setType: is64 ? "bigint | number" : tsType,
        get:
          type.which === "enum"
            ? `capnp.Struct.getUint16(${byte}, this${mask}) as ${tsType}`
            : type.which === "uint32" && nonZero
              ? // capnp-ts XORs the mask with JavaScript's signed "^": values of 2^31 and up come out negative.
                `capnp.Struct.getUint32(${byte}, this${mask}) >>> 0`
              : `capnp.Struct.get${acc.fn}(${byte}, this${mask})`,
        set: `capnp.Struct.set${acc.fn}(${byte}, ${is64 ? "BigInt(value)" : "value"}, this${mask})`,
      };
    }
  }
}

function pointerField(
  ctx: Ctx,
  base: Pick<FieldData, "name" | "cap" | "doc" | "member">,
  type: Type,
  index: number,
  def: Value | null,
  defKey: string,
  defRef: string,
  defaults: StructData["defaults"],
  listCtors: StructData["listCtors"],
  owner: string,
): FieldData {
  const common = { ...base, pointerIndex: index, init: null as string | null };
  const pointerDefault = (): string => {
    if (def === null) return "";
    let canonical: Uint8Array;
    if (def.which === "data") {
      if (def.data.length === 0) return "";
      // capnp-ts takes a Data default as a pointer, so it is stored as a message like the others.
      const b = new MessageBuilder(4);
      b.setData(0, def.data);
      canonical = b.toFlat();
    } else {
      const v = (def as Record<string, unknown>)[def.which] as { canonical: Uint8Array } | null;
      if (v === null || v === undefined) return "";
      canonical = v.canonical;
    }
    defaults.push({ key: defKey, expr: `codec.capnpPointer(${bytesLiteral(canonical)})` });
    return `, ${defRef}`;
  };
  switch (type.which) {
    case "text": {
      // capnp-ts's getText writes a default into the message when the pointer is null; a getter must not.
      const get =
        def !== null && def.which === "text" && def.text !== ""
          ? `capnp.Struct.isNull(capnp.Struct.getPointer(${index}, this)) ? ${JSON.stringify(def.text)} : capnp.Struct.getText(${index}, this)`
          : `capnp.Struct.getText(${index}, this)`;
      return { ...common, kind: "text", type: "string", setType: "string", get, set: `capnp.Struct.setText(${index}, value, this)` };
    }
    case "data":
      return {
        ...common,
        kind: "data",
        type: "capnp.Data",
        setType: "capnp.Data",
        get: `capnp.Struct.getData(${index}, this${pointerDefault()})`,
        set: `capnp.Struct.copyFrom(value, capnp.Struct.getPointer(${index}, this))`,
        init: `capnp.Struct.initData(${index}, length, this)`,
      };
    case "struct": {
      const c = ref(ctx, type.struct.typeId);
      return {
        ...common,
        kind: "struct",
        type: c,
        setType: c,
        get: `capnp.Struct.getStruct(${index}, ${c}, this${pointerDefault()})`,
        set: `capnp.Struct.copyFrom(value, capnp.Struct.getPointer(${index}, this))`,
        init: `capnp.Struct.initStructAt(${index}, ${c}, this)`,
      };
    }
    case "list": {
      const key = `_${base.cap}`;
      listCtors.push({ key, elementType: listElementType(ctx, type.list.elementType), expr: listCtor(ctx, type.list.elementType) });
      const t = `capnp.List<${listElementType(ctx, type.list.elementType)}>`;
      return {
        ...common,
        kind: "list",
        type: t,
        setType: t,
        get: `capnp.Struct.getList(${index}, ${owner}.${key}, this${pointerDefault()})`,
        set: `capnp.Struct.copyFrom(value, capnp.Struct.getPointer(${index}, this))`,
        init: `capnp.Struct.initList(${index}, ${owner}.${key}, length, this)`,
      };
    }
    default:
      return {
        ...common,
        kind: "pointer",
        type: "capnp.Pointer",
        setType: "capnp.Pointer",
        get: `capnp.Struct.getPointer(${index}, this)`,
        set: `capnp.Struct.copyFrom(value, capnp.Struct.getPointer(${index}, this))`,
      };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Plain views

/** Default bit patterns of data fields (what a writer XORs with), as literals. */
function defaultBits(type: Type, v: Value): string | null {
  const raw = (v as Record<string, unknown>)[v.which];
  switch (type.which) {
    case "float32": {
      const dv = new DataView(new ArrayBuffer(4));
      dv.setFloat32(0, raw as number, true);
      const bits = dv.getUint32(0, true);
      return bits === 0 ? null : `0x${bits.toString(16)}`;
    }
    case "float64": {
      const dv = new DataView(new ArrayBuffer(8));
      dv.setFloat64(0, raw as number, true);
      const bits = dv.getBigUint64(0, true);
      return bits === 0n ? null : `0x${bits.toString(16)}n`;
    }
    case "int64":
      return raw === 0n ? null : `0x${BigInt.asUintN(64, raw as bigint).toString(16)}n`;
    case "uint64":
      return raw === 0n ? null : `0x${(raw as bigint).toString(16)}n`;
    case "int8":
      return raw === 0 ? null : `0x${((raw as number) & 0xff).toString(16)}`;
    case "int16":
      return raw === 0 ? null : `0x${((raw as number) & 0xffff).toString(16)}`;
    case "int32":
      return raw === 0 ? null : `0x${((raw as number) >>> 0).toString(16)}`;
    default:
      return typeof raw === "number" && raw !== 0 ? `0x${raw.toString(16)}` : null;
  }
}

interface PlainField {
  /** Expression reading the field from struct reader `s`. */
  read: string;
  /** Statement writing `x` (the field's value) into the struct at word `at` of builder `b`. */
  write: (x: string) => string;
  /**
   * When the value is worth writing. An empty Text, Data or List of a field without a default reads the
   * same as a null pointer, so it is left null, as C++ leaves unset fields: smaller messages, and C++ sees
   * exactly the fields that carry information.
   */
  present?: (x: string) => string;
}

function plainData(ctx: Ctx, node: StructTypeNode, fields: Field[], out: PlainData): void {
  for (const f of fields) {
    const inUnion = f.discriminantValue !== NO_DISCRIMINANT;
    const isVoid = f.which === "slot" && f.slot.type.which === "void";
    const fieldDoc = doc(ctx, node.id, node.struct.fields.indexOf(f));
    // Read and written by separate code, each with its face of the codecs (see `Ctx.erase`).
    const pr = isVoid ? null : plainField({ ...ctx, erase: "init" }, node, f);
    const pw = isVoid ? null : plainField({ ...ctx, erase: "plain" }, node, f);
    // A struct field reads as null when its pointer is null and it has no default: eager defaults of
    // recursive structs would never end, and null tells "absent" from "all defaults". (A field with a
    // default is null only where its default would contain itself: see codec.structOrDefault.)
    const nullable = f.which === "slot" && f.slot.type.which === "struct" ? " | null" : "";
    // A group has its struct's parameters, so it takes ours as they are.
    const groupArgs = genericData([...ctx.params.values()]).typeParams;
    const type = f.which === "group" ? `${ref(ctx, f.group.typeId)}.Plain${groupArgs}` : `${plainType(ctx, f.slot.type, "plain")}${nullable}`;
    const initType = f.which === "group" ? `${ref(ctx, f.group.typeId)}.Init${groupArgs}` : `${plainType(ctx, f.slot.type, "init")}${nullable}`;
    const key = propertyKey(f.name);
    if (!inUnion) {
      if (isVoid) continue;
      out.fields.push({ name: key, type, initType, doc: fieldDoc });
      out.reads.push({ name: key, expr: pr!.read });
      const write = pw!.write(`v.${access(f.name)}`);
      // Capabilities have no plain form: nothing to write.
      if (write !== "") out.writes.push(`if (${presence(pw!, `v.${access(f.name)}`)}) ${write}`);
      continue;
    }
    out.variants.push({ which: JSON.stringify(f.name), field: isVoid ? null : { name: key, type, initType } });
    out.variantReads.push({ value: f.discriminantValue, which: JSON.stringify(f.name), name: isVoid ? null : key, expr: isVoid ? null : pr!.read });
    out.variantWrites.push({
      which: JSON.stringify(f.name),
      value: f.discriminantValue,
      stmt: isVoid || pw!.write("x") === "" ? null : `if (${presence(pw!, `v.${access(f.name)}`)}) ${pw!.write(`v.${access(f.name)}`)}`,
    });
  }
}

function presence(pf: PlainField, x: string): string {
  return pf.present === undefined ? `${x} !== undefined` : `${x} !== undefined && ${pf.present(x)}`;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
function access(name: string): string {
  return IDENT.test(name) ? name : `[${JSON.stringify(name)}]`;
}

const LIST_FNS: Record<string, string> = {
  bool: "Bool",
  int8: "Int8",
  int16: "Int16",
  int32: "Int32",
  int64: "Int64",
  uint8: "Uint8",
  uint16: "Uint16",
  uint32: "Uint32",
  uint64: "Uint64",
  float32: "Float32",
  float64: "Float64",
  enum: "Uint16",
  void: "Void",
};

function plainField(ctx: Ctx, owner: StructTypeNode, f: Field): PlainField {
  if (f.which === "group") {
    const g = ref(ctx, f.group.typeId);
    const pass = genericData([...ctx.params.values()]).pass;
    return { read: `${g}._read(s${pass})`, write: (x) => `${g}._write(b, at, ${x}${pass});` };
  }
  const { type, offset, defaultValue, hadExplicitDefault } = f.slot;
  const bits = defaultBits(type, defaultValue);
  const xor = bits === null ? "" : ` ^ ${bits}`;
  switch (type.which) {
    case "bool": {
      const def = defaultValue.which === "bool" && defaultValue.bool;
      return {
        read: def ? `!s.bool(${offset})` : `s.bool(${offset})`,
        write: (x) => `codec.setBool(b, at * 64 + ${offset}, ${x}${def ? ", true" : ""});`,
      };
    }
    case "int8":
      return { read: `codec.i8(s, ${offset})${bits ? ` ^ ((${bits} << 24) >> 24)` : ""}`, write: (x) => `b.view.setInt8(at * 8 + ${offset}, ${x}${xor});` };
    case "uint8":
      return { read: `s.u8(${offset})${xor}`, write: (x) => `b.view.setUint8(at * 8 + ${offset}, ${x}${xor});` };
    case "int16":
      return { read: `codec.i16(s, ${offset * 2})${bits ? ` ^ ((${bits} << 16) >> 16)` : ""}`, write: (x) => `b.view.setInt16(at * 8 + ${offset * 2}, ${x}${xor}, true);` };
    case "uint16":
    case "enum":
      return {
        read: type.which === "enum" ? `(s.u16(${offset * 2})${xor}) as ${ref(ctx, type.enum.typeId)}` : `s.u16(${offset * 2})${xor}`,
        write: (x) => `b.view.setUint16(at * 8 + ${offset * 2}, ${x}${xor}, true);`,
      };
    case "int32":
      return { read: `codec.i32(s, ${offset * 4})${bits ? ` ^ ${bits}` : ""}`, write: (x) => `b.view.setInt32(at * 8 + ${offset * 4}, ${x}${xor}, true);` };
    case "uint32":
      return { read: bits ? `(s.u32(${offset * 4}) ^ ${bits}) >>> 0` : `s.u32(${offset * 4})`, write: (x) => `b.view.setUint32(at * 8 + ${offset * 4}, (${x}${xor}) >>> 0, true);` };
    case "int64":
      return {
        read: bits ? `BigInt.asIntN(64, s.u64(${offset * 8}) ^ ${bits})` : `codec.i64(s, ${offset * 8})`,
        // setBigUint64 keeps the value's low 64 bits, so negative and oversized values wrap as C++ would.
        write: (x) => `b.view.setBigUint64(at * 8 + ${offset * 8}, BigInt(${x})${xor}, true);`,
      };
    case "uint64":
      return {
        read: `s.u64(${offset * 8})${xor}`,
        // setBigUint64 keeps the value's low 64 bits, so negative and oversized values wrap as C++ would.
        write: (x) => `b.view.setBigUint64(at * 8 + ${offset * 8}, BigInt(${x})${xor}, true);`,
      };
    case "float32":
      return {
        read: bits ? `codec.f32Bits(s.u32(${offset * 4}) ^ ${bits})` : `codec.f32(s, ${offset * 4})`,
        write: (x) => `codec.setF32(b, at * 8 + ${offset * 4}, ${x}${bits ? `, ${bits}` : ""});`,
      };
    case "float64":
      return {
        read: bits ? `codec.f64Bits(s.u64(${offset * 8}) ^ ${bits})` : `codec.f64(s, ${offset * 8})`,
        write: (x) => `codec.setF64(b, at * 8 + ${offset * 8}, ${x}${bits ? `, ${bits}` : ""});`,
      };
    case "void":
      return { read: "null", write: () => "" };
    default:
      return plainPointer(ctx, owner, type, offset, hadExplicitDefault ? defaultValue : null);
  }
}

/** Reading and writing a pointer field; `def` is its explicit default, if any. */
function plainPointer(ctx: Ctx, owner: StructTypeNode, type: Type, index: number, def: Value | null): PlainField {
  const ptr = `at + ${owner.struct.dataWordCount + index}`;
  /** Names the field's default for the cut of self-containing defaults (codec.structOrDefault). */
  const defaultKey = JSON.stringify(`${ctx.names.get(owner.id)}.${index}`);
  const defaultBytes = def === null ? null : (((def as Record<string, unknown>)[def.which] as { canonical: Uint8Array } | null)?.canonical ?? null);
  switch (type.which) {
    case "text": {
      const text = def !== null && def.which === "text" && def.text !== "" ? `, ${JSON.stringify(def.text)}` : "";
      return { read: `codec.text(s, ${index}${text})`, write: (x) => `codec.setText(b, ${ptr}, ${x});`, present: def === null ? (x) => `${x} !== ""` : undefined };
    }
    case "data": {
      const d = def !== null && def.which === "data" && def.data.length > 0 ? `, ${bytesLiteral(def.data)}` : "";
      // Without a default, an empty value leaves the pointer null; setDataField decides (see its comment).
      if (def === null) return { read: `codec.data(s, ${index})`, write: (x) => `codec.setDataField(b, ${ptr}, ${x});` };
      return { read: `codec.data(s, ${index}${d})`, write: (x) => `codec.setData(b, ${ptr}, ${x});` };
    }
    case "struct": {
      const c = ref(ctx, type.struct.typeId);
      const st = structSize(ctx, type.struct.typeId);
      const args = codecArgs(ctx, type.struct.typeId, type.struct.brand);
      const write = (x: string): string => `${c}._write(b, b.initStruct(${ptr}, ${st.dataWords}, ${st.pointers}), ${x}${args});`;
      const reader = args === "" ? `${c}._read` : `(r) => ${c}._read(r${args})`;
      // Null when the pointer is null (see `plainType`), unless the schema gives a default to read instead.
      if (defaultBytes === null) return { read: `codec.structField(s, ${index}, ${reader})`, write, present: (x) => `${x} !== null` };
      return { read: `codec.structOrDefault(s, ${index}, ${reader}, ${defaultKey}, ${bytesLiteral(defaultBytes)})`, write, present: (x) => `${x} !== null` };
    }
    case "list": {
      const read =
        defaultBytes === null
          ? listRead(ctx, type.list.elementType, `codec.list(s, ${index})`)
          : `codec.listOrDefault(s, ${index}, (l) => ${listRead(ctx, type.list.elementType, "l")}, ${defaultKey}, ${bytesLiteral(defaultBytes)})`;
      return {
        read,
        write: (x) => `${listWrite(ctx, type.list.elementType, ptr, x)};`,
        present: def === null ? (x) => `${x}.length !== 0` : undefined,
      };
    }
    case "interface":
      return { read: "null", write: () => "" };
    default: {
      const param = paramOf(ctx, type);
      if (param !== undefined) {
        return { read: `${param.codec}.read(s, ${index})`, write: (x) => `${param.codec}.write(b, ${ptr}, ${x});`, present: (x) => `${x} !== null` };
      }
      return { read: `codec.anyPointer(s, ${index})`, write: (x) => `codec.setAnyPointer(b, ${ptr}, ${x});`, present: (x) => `${x} !== null` };
    }
  }
}

/** A struct type's sections, in words and pointers. */
function structSize(ctx: Ctx, id: bigint): { dataWords: number; pointers: number } {
  const node = ctx.nodes.get(id);
  if (node?.which !== "struct") throw new Error(`internal: ${hexId(id)} is not a struct`);
  return { dataWords: node.struct.dataWordCount, pointers: node.struct.pointerCount };
}

/**
 * What a struct's plain object costs in JS memory, in words (V8, 64-bit): its header (3 words) and a slot
 * per field, plus what a slot points to where that is an object of its own: a BigInt (3 words) for 64-bit
 * integers, a boxed number (2) for floats and UInt32 (which may not fit a small integer), a group's own
 * object. Text, Data and lists are charged when they are read.
 */
function objectWords(ctx: Ctx, id: bigint): number {
  const node = ctx.nodes.get(id);
  if (node?.which !== "struct") return 0;
  let words = 3;
  for (const f of node.struct.fields) {
    words += 1;
    if (f.which === "group") words += objectWords(ctx, f.group.typeId);
    else if (f.slot.type.which === "int64" || f.slot.type.which === "uint64") words += 3;
    else if (f.slot.type.which === "float32" || f.slot.type.which === "float64" || f.slot.type.which === "uint32") words += 2;
  }
  return words;
}

/** An expression reading a list (`src`, a `ListReader | null` expression) of `element` into an array. */
function listRead(ctx: Ctx, element: Type, src: string): string {
  switch (element.which) {
    case "text":
      return `codec.pointerList(${src}, codec.textElement)`;
    case "data":
      return `codec.pointerList(${src}, codec.dataElement)`;
    case "struct": {
      const args = codecArgs(ctx, element.struct.typeId, element.struct.brand);
      const c = ref(ctx, element.struct.typeId);
      const st = structSize(ctx, element.struct.typeId);
      // Charged per element (see `structList`): its size on the wire in the schema, or its object's in JS.
      const words = Math.max(1, st.dataWords + st.pointers, objectWords(ctx, element.struct.typeId));
      return `codec.structList(${src}, ${args === "" ? `${c}._read` : `(r) => ${c}._read(r${args})`}, ${words})`;
    }
    case "list":
      return `codec.pointerList(${src}, (l, i) => ${listRead(ctx, element.list.elementType, "codec.listElement(l, i)")})`;
    case "anyPointer": {
      const param = paramOf(ctx, element);
      return `codec.pointerList(${src}, ${param === undefined ? "codec.anyPointerElement" : `${param.codec}.readElement`})`;
    }
    case "interface":
      return `codec.pointerList(${src}, () => null)`;
    case "enum":
      return `codec.uint16List(${src}) as ${ref(ctx, element.enum.typeId)}[]`;
    default: {
      const fn = LIST_FNS[element.which];
      return `codec.${fn[0].toLowerCase()}${fn.slice(1)}List(${src})`;
    }
  }
}

/** A statement writing array `x` as a list of `element` to pointer word `ptr`. */
function listWrite(ctx: Ctx, element: Type, ptr: string, x: string): string {
  switch (element.which) {
    case "text":
      return `codec.writePointerList(b, ${ptr}, ${x}, codec.setText)`;
    case "data":
      return `codec.writePointerList(b, ${ptr}, ${x}, codec.setData)`;
    case "struct": {
      const c = ref(ctx, element.struct.typeId);
      const st = structSize(ctx, element.struct.typeId);
      const args = codecArgs(ctx, element.struct.typeId, element.struct.brand);
      const writer = args === "" ? `${c}._write` : `(b, at, e) => ${c}._write(b, at, e${args})`;
      return `codec.writeStructList(b, ${ptr}, ${x}, ${st.dataWords}, ${st.pointers}, ${writer})`;
    }
    case "list":
      return `codec.writePointerList(b, ${ptr}, ${x}, (b, p, e) => ${listWrite(ctx, element.list.elementType, "p", "e")})`;
    case "anyPointer": {
      const param = paramOf(ctx, element);
      return `codec.writePointerList(b, ${ptr}, ${x}, ${param === undefined ? "codec.setAnyPointer" : `${param.codec}.write`})`;
    }
    case "interface":
      return `codec.writePointerList(b, ${ptr}, ${x}, () => {})`;
    default:
      return `codec.write${LIST_FNS[element.which]}List(b, ${ptr}, ${x})`;
  }
}
