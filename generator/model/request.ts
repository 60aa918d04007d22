/**
 * `CodeGeneratorRequest` to and from its binary form (what `capnp compile -o-` writes), through the
 * schema-driven codec steered by the nodes of schema.capnp itself.
 */

import { decodeStruct, encodeRootStruct, nodeLookup, type DynamicStruct, type DynamicValue, type EncodeOptions } from "./codec.js";
import type { CodeGeneratorRequest, Field, Node } from "./schema.js";
import { SCHEMA_CAPNP_NODES } from "./schema-capnp.nodes.js";
import { MessageBuilder, MessageReader, type ReaderOptions } from "../../runtime/codec/wire.js";

/** `CodeGeneratorRequest`'s node id in schema.capnp. */
export const CODE_GENERATOR_REQUEST_ID = 0xbfc546f6210ad7cen;

export const schemaLookup = nodeLookup(SCHEMA_CAPNP_NODES);

export function decodeRequest(bytes: Uint8Array, options?: ReaderOptions): CodeGeneratorRequest {
  const root = MessageReader.fromFramed(bytes, options).root().struct();
  return decodeStruct(root, CODE_GENERATOR_REQUEST_ID, undefined, schemaLookup) as unknown as CodeGeneratorRequest;
}

/**
 * `canonicalPointers` writes pointer values (struct and list defaults, constants, annotation values) in
 * canonical form instead of capnp's layout (see `EncodeOptions`), for bytes that depend on values only.
 */
export function encodeRequest(req: CodeGeneratorRequest, options: { canonicalPointers?: boolean } = {}): Uint8Array {
  const b = new MessageBuilder(1 << 14);
  const opts = options.canonicalPointers === true ? { ...REQUEST_OPTIONS, canonicalPointers: true } : REQUEST_OPTIONS;
  encodeRootStruct(b, CODE_GENERATOR_REQUEST_ID, undefined, req as unknown as DynamicValue, schemaLookup, opts);
  return b.toFramed();
}

/**
 * Where capnp 0.9.2's compiler leaves an empty field null. Reading cannot tell null from empty, so for values
 * that were not decoded (whose nullness is not recorded, see `markNullness`) the encoder follows the
 * compiler: every empty Text and Data is null, and so are these lists and brands when empty. Lists not named
 * here (e.g. `Node.nestedNodes`, `Node.enum.enumerants`, `Node.interface.methods`,
 * `Method.implicitParameters`) are written even when empty. Where the compiler is inconsistent within one
 * field (`nestedNodes` is null for groups and method parameter structs; `SourceInfo.members` is empty, not
 * null, for enums without enumerants and interfaces without methods), a producer must mark values with
 * `markNullness` to match it exactly.
 */
const NULL_WHEN_EMPTY_LISTS = [
  "Node.annotations",
  "Node.parameters",
  "Node.struct.fields",
  "Node.SourceInfo.members",
  "Field.annotations",
  "Enumerant.annotations",
  "Method.annotations",
  "Brand.scopes",
];
const NULL_WHEN_EMPTY_BRANDS = [
  "Type.struct.brand",
  "Type.enum.brand",
  "Type.interface.brand",
  "Method.paramBrand",
  "Method.resultBrand",
  "Superclass.brand",
];

function fieldsNamed(keys: readonly string[]): Set<Field> {
  const out = new Set<Field>();
  for (const node of SCHEMA_CAPNP_NODES) {
    if (node.which !== "struct") continue;
    const scope = node.displayName.slice(node.displayName.indexOf(":") + 1);
    for (const f of node.struct.fields) if (keys.includes(`${scope}.${f.name}`)) out.add(f);
  }
  return out;
}

const nullLists = fieldsNamed(NULL_WHEN_EMPTY_LISTS);
const nullBrands = fieldsNamed(NULL_WHEN_EMPTY_BRANDS);

const valueTextFields = fieldsNamed(["Value.text", "Value.data"]);

function writeAsNull(_node: Node, field: Field, v: DynamicValue, ancestors: readonly DynamicStruct[]): boolean {
  if (typeof v === "string" || v instanceof Uint8Array) {
    if (v.length !== 0) return false;
    // An empty Text/Data value is written when it was spelled out: a constant, an annotation argument or
    // an explicit field default; only an implicit field default (the slot holding this Value) is null.
    if (!valueTextFields.has(field)) return true;
    const holder = ancestors[ancestors.length - 2];
    return holder !== undefined && "hadExplicitDefault" in holder && holder.hadExplicitDefault === false;
  }
  if (Array.isArray(v)) return v.length === 0 && nullLists.has(field);
  if (nullBrands.has(field)) {
    const scopes = (v as { scopes?: unknown[] } | undefined)?.scopes;
    return scopes === undefined || scopes === null || scopes.length === 0;
  }
  return false;
}

const REQUEST_OPTIONS: EncodeOptions = { writeAsNull };
