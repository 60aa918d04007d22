/**
 * The model (a `CodeGeneratorRequest` and its ipc model) to template data: plain objects holding every
 * name, type and expression the templates print, so that templates stay free of logic. Pure: same request,
 * same data. (index.ts shows where this stage sits in the generator.)
 *
 * This module assembles a file's data (`FileData`) from the data of each kind of node it declares:
 *   - context.ts       what every kind shares: the generated name of every node, imports between modules, doc comments
 *   - struct-data.ts   a struct's class face: a capnp-ts `Struct` subclass over a capnp-ts `Message`
 *   - plain-data.ts    a struct's plain view (`X.Plain` / `X.Init`, `X.encode` / `X.decode`), with readers and
 *                      writers specialized to constant offsets over ipcgen's wire layer (`ipcgen/codec`), for speed
 *   - generic-data.ts  what a struct's generic parameters add to its plain view
 *   - enum-data.ts, const-data.ts
 *   - service-data.ts  sessions and channel interfaces (client, remote, handler, definition) and error classes
 * Both faces of a struct are wire-identical to the C++ library.
 */
import type { CodeGeneratorRequest, Node } from "../model/schema.js";
import { ipcModel, type Problem } from "../model/ipc.js";
import { type ConstData, constData } from "./const-data.js";
import { type Ctx, fileContext, modulePath, namer, requestContext, type StructTypeNode, type TemplateDataOptions } from "./context.js";
import { type EnumData, enumData } from "./enum-data.js";
import { hexId } from "./names.js";
import { RUNTIME_API } from "./runtime.js";
import { type ErrorData, errorData, type ServiceData, serviceData } from "./service-data.js";
import { type StructData, structData } from "./struct-data.js";

// The data interfaces are declared beside the code that makes them; importers find them all here.
export type { TemplateDataOptions } from "./context.js";
export type { ConstData } from "./const-data.js";
export type { EnumData } from "./enum-data.js";
export type { GenericData } from "./generic-data.js";
export type { PlainData } from "./plain-data.js";
export type { ArmData, CallData, ChannelsEntryData, ErrorData, MethodEntryData, ServiceData, SignalData, StreamData } from "./service-data.js";
export type { FieldData, StructData, UnionData } from "./struct-data.js";

/** The schema misuses ipc.capnp's conventions: `problems` name where (see generator/model/ipc.ts). */
export class SchemaConventionError extends Error {
  override name = "SchemaConventionError";
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => p.message).join("\n"));
  }
}

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

/**
 * Template data for every file of the request: the requested ones and those they import, since a
 * generated module imports the modules of the schemas its schema imports.
 */
export function templateData(request: CodeGeneratorRequest, options: TemplateDataOptions = {}): FileData[] {
  const { model: ipc, problems } = ipcModel(request);
  if (problems.length > 0) throw new SchemaConventionError(problems);
  const ctx = requestContext(request, ipc, options);
  return request.nodes
    .filter((n) => n.which === "file" && "path" in ctx.locations.get(n.id)!)
    .map((f) => fileData(fileContext(ctx, f.id), f));
}

/**
 * One file's data. Its declarations are visited in the schema's order, each struct followed by its groups
 * and then by what is nested in it; the imports are what the names used on the way collected (`ref`).
 */
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
  const names = namer(ctx);
  out.errors = ctx.ipc.errors.filter((e) => ctx.fileOf.get(e.id) === file.id).map((e) => errorData(e, names));
  out.services = ctx.ipc.services.filter((sv) => ctx.fileOf.get(sv.id) === file.id).map((sv) => serviceData(sv, names));
  out.usesRuntime = out.errors.length > 0 || out.services.length > 0;
  out.imports = [...ctx.imports].map(([from, names]) => ({ from, names: [...names].sort() })).sort((a, b) => a.from.localeCompare(b.from));
  return out;
}
