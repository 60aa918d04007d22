/**
 * A struct's template data (`StructData`): its class face, a capnp-ts `Struct` subclass whose accessors
 * (`FieldData`) read and write a capnp-ts `Message`, with its union's enum, default masks and pointers, list
 * constructors and nested type aliases; plus its plain view (plain-data.ts) and the signature pieces its
 * generic parameters add (generic-data.ts). Groups and method parameters and results are structs too.
 */
import { MessageBuilder } from "../../runtime/codec/wire.js";
import type { Field, Type, Value } from "../model/schema.js";
import { NO_DISCRIMINANT } from "../model/schema.js";
import { type Ctx, doc, ref, type StructTypeNode } from "./context.js";
import { type GenericData, genericData, structScope } from "./generic-data.js";
import { bytes as bytesLiteral, numberLiteral } from "./literals.js";
import { capitalize, memberName, staticName, upperSnake } from "./names.js";
import { type PlainData, plainData, PRIMITIVE_TS } from "./plain-data.js";

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

/** capnp-ts's accessor of each data field type (`getInt8`, ...) and the type's size in bytes. */
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

/** The data of struct (or group) `node`: its class face, its plain view and its generic pieces. */
export function structData(outer: Ctx, node: StructTypeNode): StructData {
  const { ctx, params } = structScope(outer, node);
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

/** A field's accessors on the class; defaults and list constructors it needs are added to the struct's. */
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

/** The accessors of a pointer field (`index`: its pointer slot; `def`: its explicit default, if any). */
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
