/**
 * Schema-driven conversion between plain objects and Cap'n Proto messages, steered by model `Node`s.
 *
 * Plain objects follow the conventions of `schema.ts`: `which` plus a member-named property for unions
 * (anonymous unions spread into their struct, named unions and groups as nested objects), bigint for 64-bit
 * integers, string Text, Uint8Array Data, enumerant names for enums (ordinals are accepted on input),
 * `PointerValue | null` for AnyPointer, arrays for lists.
 *
 * Reading follows the C++ readers: a null pointer reads as the field's default (an empty Text, Data or
 * list, or a struct of defaults, when there is no explicit default); only AnyPointer and interface fields
 * read as `null`. Writing takes `null` or an absent property as "leave the pointer null" and an absent
 * primitive as its default.
 *
 * Generic structs: a field typed by a type parameter gets its concrete type from the brand of the struct
 * type being read or written; brands are resolved against the enclosing context on the way down, and an
 * unbound parameter is an AnyPointer.
 */

import type { Brand, BrandBinding, Field, Node, PointerValue, Type, Value } from "./schema.js";
import { NO_DISCRIMINANT } from "./schema.js";
import {
  EL_BIT,
  EL_BYTE,
  EL_EIGHT,
  EL_FOUR,
  EL_POINTER,
  EL_TWO,
  EL_VOID,
  EMPTY_STRUCT,
  MessageBuilder,
  MessageReader,
  canonicalize,
  type ListReader,
  type PointerReader,
  type StructReader,
} from "../../runtime/codec/wire.js";

/** Plain dynamic values the codec reads and writes. */
export type DynamicValue =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PointerValue
  | readonly DynamicValue[]
  | DynamicStruct;

export interface DynamicStruct {
  readonly [name: string]: DynamicValue;
}

/** Finds a node by id; throws (or returns undefined, which the codec reports) for unknown ids. */
export type NodeLookup = (id: bigint) => Node;

/** Options for encoding. */
export interface EncodeOptions {
  /**
   * Whether pointer field `field` of struct `node` holding `value` is left null instead of written;
   * `ancestors` are the objects being written, outermost first, ending with the one holding the field. Asked
   * only for values without a recorded nullness (see `markNullness`). Default: never. The request encoder
   * uses it to leave empty fields null where the C++ compiler does.
   */
  writeAsNull?: (node: Node, field: Field, value: DynamicValue, ancestors: readonly DynamicStruct[]) => boolean;
  /**
   * Writes every `PointerValue` from its canonical form, ignoring the layout recorded beside it (see
   * `markPointerBytes`): the bytes then depend on the values only, not on how their writer laid them out.
   */
  canonicalPointers?: boolean;
}

/**
 * Null and empty read the same, but a writer may distinguish them (the C++ compiler leaves some empty
 * lists null and initializes others), so decoding records, for each empty list / Data and each struct read
 * from a null pointer, whether its pointer was null; encoding honors the record, so decode-then-encode
 * reproduces the input exactly. Producers of new values may set the record with `markNullness`.
 */
const nullness = new WeakMap<object, boolean>();

/** Records whether `value` stands for a null pointer (true) or a present, possibly empty, object (false). */
export function markNullness<T extends object>(value: T, wasNull: boolean): T {
  nullness.set(value, wasNull);
  return value;
}

/** The recorded nullness of `value` (see `markNullness`), or undefined when none was recorded. */
export function recordedNullness(value: object): boolean | undefined {
  return nullness.get(value);
}

/**
 * A schema's Text literal may hold bytes that are not UTF-8; the plain model's Text is a string, so the
 * bytes ride beside it: `markTextBytes(obj, field, bytes)` makes the encoder write `bytes` for that Text
 * field of `obj` instead of the string's UTF-8.
 */
const textBytes = new WeakMap<object, Map<string, Uint8Array>>();

export function markTextBytes<T extends object>(obj: T, field: string, bytes: Uint8Array): T {
  let fields = textBytes.get(obj);
  if (fields === undefined) textBytes.set(obj, (fields = new Map()));
  fields.set(field, bytes);
  return obj;
}

/**
 * A struct written as capnp's compiler writes a struct literal: members are written in key order, and a
 * union member that is not the active one (`which`) is still written, as capnp's `DynamicStruct` builder
 * leaves an earlier member's bytes in place when a later assignment switches the union
 * (`(a = 1, b = "two")` keeps `a`'s 1 beside `b`'s pointer). Other plain structs must not do that.
 */
const literalStructs = new WeakSet<object>();

export function markStructLiteral<T extends object>(obj: T): T {
  literalStructs.add(obj);
  return obj;
}

/**
 * A `PointerValue` holds its object in canonical form, which truncates struct sections; a writer need not
 * (capnp's compiler stores a struct-valued default, constant or annotation value with its struct at the
 * full declared size, as a plain copy). So the bytes as they were laid out ride beside it:
 * `markPointerBytes(pv, flat)` records a flat single-segment message (root pointer first) holding the same
 * value in its layout as written; decoding records it for every AnyPointer read, `encodeValue` for what it
 * encodes, and the encoder copies it (not the canonical form) when present, so decode-then-encode and
 * compiled values keep capnp's layout byte for byte.
 */
const pointerBytes = new WeakMap<object, Uint8Array>();

export function markPointerBytes<T extends PointerValue>(value: T, flat: Uint8Array): T {
  pointerBytes.set(value, flat);
  return value;
}

/** The layout recorded by `markPointerBytes` for `value`, if any. */
export function recordedPointerBytes(value: PointerValue): Uint8Array | undefined {
  return pointerBytes.get(value);
}

/** What to copy when writing `value`: its recorded layout (unless `canonical`), else its canonical form. */
function pointerSource(value: PointerValue, canonical = false): Uint8Array {
  return (canonical ? undefined : pointerBytes.get(value)) ?? value.canonical;
}

/** A plain (non-canonical) copy of a pointer's target into a flat message of its own. */
function copyFlat(src: PointerReader): Uint8Array {
  const b = new MessageBuilder(16);
  b.copyPointer(0, src, false);
  return b.toFlat();
}

/** The bytes recorded by `markTextBytes` for `field` of `obj`, if any. */
export function recordedTextBytes(obj: object, field: string): Uint8Array | undefined {
  return textBytes.get(obj)?.get(field);
}

const utf8Encoder = new TextEncoder();

/**
 * The bytes of the Text at `p` when its decoded `text` does not give them back (they are not UTF-8, so the
 * string has U+FFFD in their place); undefined otherwise. Decoding records them, so that a decoded value
 * is written back as it was read (capnp copies a Text's bytes as they are).
 */
function lossyTextBytes(text: string, p: PointerReader | null): Uint8Array | undefined {
  if (!text.includes("\uFFFD") || p === null || p.isNull()) return undefined;
  const raw = p.data()!;
  const bytes = new Uint8Array(raw.subarray(0, raw.length - 1)); // without the NUL terminator
  const back = utf8Encoder.encode(text);
  return back.length === bytes.length && back.every((b, i) => b === bytes[i]) ? undefined : bytes;
}

// ---------------------------------------------------------------------------------------------------------
// Brand contexts

/** Resolved bindings of the generic scopes in effect: scope id to bound types (undefined = unbound). */
type Ctx = ReadonlyMap<bigint, readonly (Type | undefined)[]> | null;

const ANY_POINTER: Type = { which: "anyPointer", anyPointer: { which: "unconstrained", unconstrained: { which: "anyKind" } } };

function bindParameter(ctx: Ctx, scopeId: bigint, index: number): Type {
  return ctx?.get(scopeId)?.[index] ?? ANY_POINTER;
}

/** The brand of a struct type as seen from `ctx`: parameter references and `inherit` made concrete. */
function enterBrand(brand: Brand | undefined, ctx: Ctx): Ctx {
  if (brand === undefined || brand.scopes.length === 0) return null;
  const out = new Map<bigint, readonly (Type | undefined)[]>();
  for (const scope of brand.scopes) {
    if (scope.which === "bind") {
      out.set(
        scope.scopeId,
        scope.bind.map((b: BrandBinding) => (b.which === "type" ? substitute(b.type, ctx) : undefined)),
      );
    } else {
      const inherited = ctx?.get(scope.scopeId);
      if (inherited !== undefined) out.set(scope.scopeId, inherited);
    }
  }
  return out;
}

/** Replaces type parameters in `type` by their bindings in `ctx` (deeply, through lists and brands). */
function substitute(type: Type, ctx: Ctx): Type {
  switch (type.which) {
    case "anyPointer": {
      const ap = type.anyPointer;
      return ap.which === "parameter" ? bindParameter(ctx, ap.parameter.scopeId, ap.parameter.parameterIndex) : type;
    }
    case "list": {
      const e = substitute(type.list.elementType, ctx);
      return e === type.list.elementType ? type : { which: "list", list: { elementType: e } };
    }
    case "struct":
      return type.struct.brand.scopes.length === 0 || ctx === null
        ? type
        : { which: "struct", struct: { typeId: type.struct.typeId, brand: concreteBrand(type.struct.brand, ctx) } };
    case "interface":
      return type.interface.brand.scopes.length === 0 || ctx === null
        ? type
        : { which: "interface", interface: { typeId: type.interface.typeId, brand: concreteBrand(type.interface.brand, ctx) } };
    default:
      return type;
  }
}

/** `brand` with its parameter references and inherited scopes replaced by their bindings in `ctx`. */
function concreteBrand(brand: Brand, ctx: Ctx): Brand {
  const resolved = enterBrand(brand, ctx) ?? new Map<bigint, readonly (Type | undefined)[]>();
  return {
    scopes: [...resolved].map(([scopeId, types]) => ({
      scopeId,
      which: "bind" as const,
      bind: types.map((t): BrandBinding => (t === undefined ? { which: "unbound" } : { which: "type", type: t })),
    })),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Per-node plans: field layout precomputed once per node object.

interface FieldPlan {
  readonly name: string;
  readonly field: Field;
  /** Group type id, or undefined for a slot. */
  readonly groupId: bigint | undefined;
  readonly type: Type;
  readonly offset: number;
  /** The default as raw bits for primitives (number for <= 32 bits, bigint for 64, boolean for Bool). */
  readonly defBits: number | bigint | boolean;
  readonly defaultValue: Value | undefined;
  readonly isVoid: boolean;
}

interface StructPlan {
  readonly node: Node;
  readonly name: string;
  readonly dataWords: number;
  readonly ptrCount: number;
  readonly plain: readonly FieldPlan[];
  readonly members: readonly FieldPlan[];
  readonly memberByDisc: ReadonlyMap<number, FieldPlan>;
  readonly byName: ReadonlyMap<string, FieldPlan>;
  /** Byte offset of the union discriminant. */
  readonly discByte: number;
}

const plans = new WeakMap<Node, StructPlan>();
const scratch = new DataView(new ArrayBuffer(8));

function nodeName(node: Node): string {
  return node.displayName.slice(node.displayNamePrefixLength) || node.displayName;
}

/**
 * Drops the cached plans of `nodes`. The compiler reads values through a node (its constants and defaults)
 * before it has filled in that node's own field defaults, so plans made then would be stale.
 */
export function forgetPlans(nodes: Iterable<Node>): void {
  for (const node of nodes) plans.delete(node);
}

function planFor(node: Node): StructPlan {
  let plan = plans.get(node);
  if (plan !== undefined) return plan;
  if (node.which !== "struct") throw new TypeError(`node ${nodeName(node)} (@0x${node.id.toString(16)}) is not a struct`);
  const s = node.struct;
  const plain: FieldPlan[] = [];
  const members: FieldPlan[] = [];
  const memberByDisc = new Map<number, FieldPlan>();
  const byName = new Map<string, FieldPlan>();
  for (const field of s.fields) {
    const fp = fieldPlan(field);
    byName.set(fp.name, fp);
    if (field.discriminantValue === NO_DISCRIMINANT) plain.push(fp);
    else {
      members.push(fp);
      memberByDisc.set(field.discriminantValue, fp);
    }
  }
  plan = {
    node,
    name: nodeName(node),
    dataWords: s.dataWordCount,
    ptrCount: s.pointerCount,
    plain,
    members,
    memberByDisc,
    byName,
    discByte: s.discriminantOffset * 2,
  };
  plans.set(node, plan);
  return plan;
}

function fieldPlan(field: Field): FieldPlan {
  if (field.which === "group") {
    return { name: field.name, field, groupId: field.group.typeId, type: ANY_POINTER, offset: 0, defBits: 0, defaultValue: undefined, isVoid: false };
  }
  const { type, offset, defaultValue } = field.slot;
  return {
    name: field.name,
    field,
    groupId: undefined,
    type,
    offset,
    defBits: defaultBits(type, defaultValue),
    defaultValue,
    isVoid: type.which === "void",
  };
}

/** A primitive default as the bit pattern that values are XORed with on the wire. */
function defaultBits(type: Type, v: Value | undefined): number | bigint | boolean {
  if (v === undefined) return type.which === "bool" ? false : type.which === "int64" || type.which === "uint64" || type.which === "float64" ? 0n : 0;
  switch (type.which) {
    case "bool":
      return v.which === "bool" ? v.bool : false;
    case "int8":
    case "uint8":
      return Number(valueNumber(v)) & 0xff;
    case "int16":
    case "uint16":
    case "enum":
      return Number(valueNumber(v)) & 0xffff;
    case "int32":
    case "uint32":
      return Number(valueNumber(v)) >>> 0;
    case "int64":
    case "uint64":
      return BigInt.asUintN(64, BigInt(valueNumber(v)));
    case "float32":
      scratch.setFloat32(0, Number(valueNumber(v)), true);
      return scratch.getUint32(0, true);
    case "float64":
      scratch.setFloat64(0, Number(valueNumber(v)), true);
      return scratch.getBigUint64(0, true);
    default:
      return 0;
  }
}

function valueNumber(v: Value): number | bigint {
  const x = (v as unknown as Record<string, unknown>)[v.which];
  return typeof x === "number" || typeof x === "bigint" ? x : 0;
}

function structNode(lookup: NodeLookup, id: bigint, where: string): Node {
  const node = lookup(id);
  if (node === undefined) throw new TypeError(`${where}: unknown node @0x${id.toString(16)}`);
  return node;
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

class Decoder {
  /** Struct type ids and default values being expanded in place of null pointers (see `nullValue`). */
  private readonly expanding = new Set<unknown>();
  constructor(readonly lookup: NodeLookup) {}

  struct(s: StructReader, node: Node, ctx: Ctx): Record<string, unknown> {
    const plan = planFor(node);
    const out: Record<string, unknown> = {};
    for (const fp of plan.plain) {
      if (!fp.isVoid) this.setField(out, s, fp, ctx);
    }
    if (plan.members.length > 0) {
      const disc = s.u16(plan.discByte);
      const fp = plan.memberByDisc.get(disc);
      if (fp === undefined) out.which = disc;
      else {
        out.which = fp.name;
        if (!fp.isVoid) this.setField(out, s, fp, ctx);
      }
    }
    return out;
  }

  /** Reads a field into `out`; a Text whose bytes are not UTF-8 keeps them beside its string (see `markTextBytes`). */
  private setField(out: Record<string, unknown>, s: StructReader, fp: FieldPlan, ctx: Ctx): void {
    const v = this.field(s, fp, ctx);
    out[fp.name] = v;
    if (typeof v === "string" && fp.groupId === undefined && (fp.type.which === "text" || fp.type.which === "anyPointer")) {
      const bytes = lossyTextBytes(v, s.pointer(fp.offset));
      if (bytes !== undefined) markTextBytes(out, fp.name, bytes);
    }
  }

  private field(s: StructReader, fp: FieldPlan, ctx: Ctx): unknown {
    if (fp.groupId !== undefined) return this.struct(s, structNode(this.lookup, fp.groupId, fp.name), ctx);
    const t = fp.type;
    const off = fp.offset;
    switch (t.which) {
      case "bool":
        return s.bool(off) !== fp.defBits;
      case "int8":
        return ((s.u8(off) ^ (fp.defBits as number)) << 24) >> 24;
      case "uint8":
        return s.u8(off) ^ (fp.defBits as number);
      case "int16":
        return ((s.u16(off * 2) ^ (fp.defBits as number)) << 16) >> 16;
      case "uint16":
        return s.u16(off * 2) ^ (fp.defBits as number);
      case "int32":
        return s.u32(off * 4) ^ (fp.defBits as number);
      case "uint32":
        return (s.u32(off * 4) ^ (fp.defBits as number)) >>> 0;
      case "int64":
        return BigInt.asIntN(64, s.u64(off * 8) ^ (fp.defBits as bigint));
      case "uint64":
        return s.u64(off * 8) ^ (fp.defBits as bigint);
      case "float32":
        scratch.setUint32(0, (s.u32(off * 4) ^ (fp.defBits as number)) >>> 0, true);
        return scratch.getFloat32(0, true);
      case "float64":
        scratch.setBigUint64(0, s.u64(off * 8) ^ (fp.defBits as bigint), true);
        return scratch.getFloat64(0, true);
      case "enum":
        return this.enumName(t.enum.typeId, s.u16(off * 2) ^ (fp.defBits as number));
      case "void":
        return undefined;
      default:
        return this.pointerOrDefault(s.pointer(off), substitute(t, ctx), ctx, fp.defaultValue);
    }
  }

  private enumName(typeId: bigint, ordinal: number): string | number {
    const node = this.lookup(typeId);
    if (node !== undefined && node.which === "enum") return node.enum.enumerants[ordinal]?.name ?? ordinal;
    return ordinal;
  }

  /** A pointer field: its value, or its default when null. `t` is already substituted. */
  private pointerOrDefault(p: PointerReader | null, t: Type, ctx: Ctx, def: Value | undefined): unknown {
    if (p !== null && !p.isNull()) return this.pointer(p, t, ctx);
    if (def !== undefined) {
      switch (def.which) {
        case "text":
          if (t.which === "text") return def.text;
          break;
        case "data":
          if (t.which === "data") return markNullness(def.data.slice(), true);
          break;
        case "list":
        case "struct":
        case "anyPointer": {
          const pv = def.which === "list" ? def.list : def.which === "struct" ? def.struct : def.anyPointer;
          if (pv !== null && !this.expanding.has(def)) {
            if (t.which === "anyPointer") return pv;
            const root = MessageReader.fromFlat(pv.canonical).root();
            if (root.isNull()) break;
            // A default may hold its own field, null, with the same default: expand each default once.
            this.expanding.add(def);
            try {
              const v = this.pointer(root, t, ctx);
              return typeof v === "object" && v !== null ? markNullness(v, true) : v;
            } finally {
              this.expanding.delete(def);
            }
          }
          break;
        }
      }
    }
    return this.nullValue(t, ctx);
  }

  /** What a null pointer of type `t` reads as without an explicit default. */
  private nullValue(t: Type, ctx: Ctx): unknown {
    switch (t.which) {
      case "text":
        return "";
      case "data":
        return markNullness(new Uint8Array(0), true);
      case "list":
        return markNullness([], true);
      case "struct": {
        // A struct of defaults. Its own null fields of the same type read as null: a plain object cannot be
        // infinite, and a struct holding its own type would expand forever (the C++ readers are lazy).
        const id = t.struct.typeId;
        if (this.expanding.has(id)) return null;
        this.expanding.add(id);
        try {
          const node = structNode(this.lookup, id, "struct");
          return markNullness(this.struct(EMPTY_STRUCT, node, enterBrand(t.struct.brand, ctx)), true);
        } finally {
          this.expanding.delete(id);
        }
      }
      default:
        return null;
    }
  }

  /** A non-null pointer of (substituted) type `t`. */
  pointer(p: PointerReader, t: Type, ctx: Ctx): unknown {
    switch (t.which) {
      case "text":
        return p.text();
      case "data": {
        const d = p.data()!;
        return d.length === 0 ? markNullness(d, false) : d;
      }
      case "list":
        return this.list(p.list()!, t.list.elementType, ctx);
      case "struct": {
        const node = structNode(this.lookup, t.struct.typeId, "struct");
        return this.struct(p.struct()!, node, enterBrand(t.struct.brand, ctx));
      }
      case "anyPointer":
        return markPointerBytes({ canonical: canonicalize(p) } satisfies PointerValue, copyFlat(p));
      case "interface":
        return null;
      default:
        throw new TypeError(`type ${t.which} is not a pointer type`);
    }
  }

  private list(l: ListReader, et: Type, ctx: Ctx): unknown[] {
    const n = l.length;
    const out = new Array<unknown>(n);
    if (n === 0) return markNullness(out, false);
    const view = l.segment.view;
    switch (et.which) {
      case "void":
        for (let i = 0; i < n; i++) out[i] = null;
        return out;
      case "bool":
        for (let i = 0; i < n; i++) out[i] = l.bool(i);
        return out;
      case "struct": {
        const node = structNode(this.lookup, et.struct.typeId, "list element");
        const inner = enterBrand(et.struct.brand, ctx);
        if (l.elementSize === EL_BIT) l.struct(0); // throws the mismatch error
        for (let i = 0; i < n; i++) out[i] = this.struct(l.struct(i), node, inner);
        return out;
      }
      case "text":
      case "data":
      case "list":
      case "anyPointer":
      case "interface": {
        const t = substitute(et, ctx);
        for (let i = 0; i < n; i++) {
          const p = l.pointer(i);
          out[i] = p.isNull() ? this.nullValue(t, ctx) : this.pointer(p, t, ctx);
          if (t.which === "text") {
            const bytes = lossyTextBytes(out[i] as string, p);
            if (bytes !== undefined) markTextBytes(out, String(i), bytes);
          }
        }
        return out;
      }
      default:
        break;
    }
    // Primitive lists: each element is read from its data slot; a too-small slot (an upgraded list of
    // structs without that field) reads as zero.
    const size = primitiveBytes(et.which);
    const read = primitiveReader(et.which);
    for (let i = 0; i < n; i++) {
      const at = l.dataAt(i, size);
      out[i] = at < 0 ? read(scratchZero, 0) : read(view, at);
    }
    if (et.which === "enum") {
      for (let i = 0; i < n; i++) out[i] = this.enumName(et.enum.typeId, out[i] as number);
    }
    return out;
  }
}

const scratchZero = new DataView(new ArrayBuffer(8));

function primitiveBytes(which: string): number {
  switch (which) {
    case "int8":
    case "uint8":
      return 1;
    case "int16":
    case "uint16":
    case "enum":
      return 2;
    case "int32":
    case "uint32":
    case "float32":
      return 4;
    default:
      return 8;
  }
}

function primitiveReader(which: string): (v: DataView, at: number) => unknown {
  switch (which) {
    case "int8":
      return (v, at) => v.getInt8(at);
    case "uint8":
      return (v, at) => v.getUint8(at);
    case "int16":
      return (v, at) => v.getInt16(at, true);
    case "uint16":
    case "enum":
      return (v, at) => v.getUint16(at, true);
    case "int32":
      return (v, at) => v.getInt32(at, true);
    case "uint32":
      return (v, at) => v.getUint32(at, true);
    case "int64":
      return (v, at) => v.getBigInt64(at, true);
    case "uint64":
      return (v, at) => v.getBigUint64(at, true);
    case "float32":
      return (v, at) => v.getFloat32(at, true);
    case "float64":
      return (v, at) => v.getFloat64(at, true);
    default:
      throw new TypeError(`${which} is not a primitive type`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Uint8Array) return "a Uint8Array";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

function isPointerValue(v: unknown): v is PointerValue {
  return typeof v === "object" && v !== null && (v as PointerValue).canonical instanceof Uint8Array && !Array.isArray(v);
}

const INT_RANGES: Record<string, readonly [number, number]> = {
  int8: [-0x80, 0x7f],
  uint8: [0, 0xff],
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
};

class Encoder {
  constructor(
    readonly b: MessageBuilder,
    readonly lookup: NodeLookup,
    readonly options: EncodeOptions,
  ) {}

  /** Objects being written, outermost first (for `writeAsNull`). */
  private readonly ancestors: DynamicStruct[] = [];

  /** Writes the fields of `value` into the struct whose data starts at word `at`. */
  struct(at: number, plan: StructPlan, value: DynamicValue, ctx: Ctx, where: string): void {
    if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
      throw new TypeError(`${where}: expected an object for struct ${plan.name}, got ${describe(value)}`);
    }
    const obj = value as DynamicStruct;
    const which = obj.which;
    let member: FieldPlan | undefined;
    if (which !== undefined) {
      if (plan.members.length === 0) throw new TypeError(`${where}: struct ${plan.name} has no union, but 'which' is set`);
      member = typeof which === "number" ? plan.memberByDisc.get(which) : typeof which === "string" ? plan.byName.get(which) : undefined;
      if (member === undefined || member.field.discriminantValue === NO_DISCRIMINANT) {
        throw new TypeError(`${where}: ${describe(which)} is not a union member of ${plan.name} (members: ${plan.members.map((m) => m.name).join(", ")})`);
      }
      this.b.view.setUint16(at * 8 + plan.discByte, member.field.discriminantValue, true);
    }
    this.ancestors.push(obj);
    for (const key in obj) {
      if (key === "which") continue;
      const fp = plan.byName.get(key);
      let v = obj[key];
      if (fp === undefined) throw new TypeError(`${where}: struct ${plan.name} has no field '${key}'`);
      if (typeof v === "string") v = recordedTextBytes(obj, key) ?? v;
      if (v === undefined) continue;
      if (fp.field.discriminantValue !== NO_DISCRIMINANT && fp !== member && !literalStructs.has(obj)) {
        throw new TypeError(`${where}.${key}: union member set but 'which' is ${describe(which)}`);
      }
      this.field(at, plan, fp, v, ctx, where);
    }
    this.ancestors.pop();
  }

  private field(at: number, plan: StructPlan, fp: FieldPlan, v: DynamicValue, ctx: Ctx, where: string): void {
    const path = `${where}.${fp.name}`;
    if (fp.groupId !== undefined) {
      this.struct(at, planFor(structNode(this.lookup, fp.groupId, path)), v, ctx, path);
      return;
    }
    const t = fp.type;
    const view = this.b.view;
    const data = at * 8;
    const off = fp.offset;
    switch (t.which) {
      case "void":
        if (v !== null) throw new TypeError(`${path}: a Void field takes null or nothing, got ${describe(v)}`);
        return;
      case "bool": {
        if (typeof v !== "boolean") throw new TypeError(`${path}: expected a boolean, got ${describe(v)}`);
        // Cleared too, not only set: a struct literal's later union member overwrites an earlier one's bits.
        if (v !== fp.defBits) this.b.bytes[data + (off >>> 3)] |= 1 << (off & 7);
        else this.b.bytes[data + (off >>> 3)] &= ~(1 << (off & 7));
        return;
      }
      case "int8":
      case "uint8":
        view.setUint8(data + off, checkInt(v, t.which, path) ^ (fp.defBits as number));
        return;
      case "int16":
      case "uint16":
        view.setUint16(data + off * 2, checkInt(v, t.which, path) ^ (fp.defBits as number), true);
        return;
      case "int32":
      case "uint32":
        view.setUint32(data + off * 4, (checkInt(v, t.which, path) ^ (fp.defBits as number)) >>> 0, true);
        return;
      case "int64":
      case "uint64":
        view.setBigUint64(data + off * 8, checkInt64(v, t.which, path) ^ (fp.defBits as bigint), true);
        return;
      case "float32":
        scratch.setFloat32(0, checkFloat(v, path), true);
        view.setUint32(data + off * 4, (scratch.getUint32(0, true) ^ (fp.defBits as number)) >>> 0, true);
        return;
      case "float64":
        scratch.setFloat64(0, checkFloat(v, path), true);
        view.setBigUint64(data + off * 8, scratch.getBigUint64(0, true) ^ (fp.defBits as bigint), true);
        return;
      case "enum":
        view.setUint16(data + off * 2, this.enumOrdinal(t.enum.typeId, v, path) ^ (fp.defBits as number), true);
        return;
      default: {
        if (v === null) {
          // A struct literal's null clears what an earlier member left in the slot (see `markStructLiteral`).
          if (off < plan.ptrCount && literalStructs.has(this.ancestors[this.ancestors.length - 1])) view.setBigUint64((at + plan.dataWords + off) * 8, 0n, true);
          return;
        }
        if (off >= plan.ptrCount) throw new TypeError(`${path}: pointer offset ${off} is outside struct ${plan.name}`);
        const recorded = typeof v === "object" ? nullness.get(v) : undefined;
        if (recorded === true) return;
        const writeAsNull = this.options.writeAsNull;
        if (recorded === undefined && writeAsNull !== undefined && writeAsNull(plan.node, fp.field, v, this.ancestors)) return;
        this.pointer(at + plan.dataWords + off, substitute(t, ctx), v, ctx, path);
      }
    }
  }

  private enumOrdinal(typeId: bigint, v: DynamicValue, path: string): number {
    if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffff) return v;
    const node = this.lookup(typeId);
    if (typeof v === "string" && node !== undefined && node.which === "enum") {
      const i = node.enum.enumerants.findIndex((e) => e.name === v);
      if (i >= 0) return i;
      throw new TypeError(`${path}: '${v}' is not an enumerant of ${nodeName(node)} (${node.enum.enumerants.map((e) => e.name).join(", ")})`);
    }
    throw new TypeError(`${path}: expected an enumerant name or ordinal, got ${describe(v)}`);
  }

  /** Copies an already encoded value as it is (a constant's value reused inside another value). */
  private copy(ptr: number, v: PointerValue): void {
    this.b.copyPointer(ptr, MessageReader.fromFlat(pointerSource(v, this.options.canonicalPointers)).root(), false);
  }

  /** Copies an encoded struct (a PointerValue) into a struct-list element, as capnp sets an element from a reader. */
  private copyElement(at: number, plan: StructPlan, v: PointerValue, path: string): void {
    const root = MessageReader.fromFlat(pointerSource(v, this.options.canonicalPointers)).root();
    if (root.isNull()) return;
    const s = root.struct();
    if (s === null) throw new TypeError(`${path}: expected an encoded struct, got a list`);
    this.b.copyStructContent(at, plan.dataWords, plan.ptrCount, s, false);
  }

  /** Writes a non-null value of (substituted) pointer type `t` to pointer word `ptr`; a struct or list may come as a PointerValue. */
  pointer(ptr: number, t: Type, v: DynamicValue, ctx: Ctx, path: string): void {
    switch (t.which) {
      case "text":
        if (v instanceof Uint8Array) {
          this.b.setTextBytes(ptr, v);
          return;
        }
        if (typeof v !== "string") throw new TypeError(`${path}: expected a string for Text, got ${describe(v)}`);
        this.b.setText(ptr, v);
        return;
      case "data":
        if (!(v instanceof Uint8Array)) throw new TypeError(`${path}: expected a Uint8Array for Data, got ${describe(v)}`);
        this.b.setData(ptr, v);
        return;
      case "list":
        if (isPointerValue(v)) return this.copy(ptr, v);
        if (!Array.isArray(v)) throw new TypeError(`${path}: expected an array for a List, got ${describe(v)}`);
        this.list(ptr, t.list.elementType, v, ctx, path);
        return;
      case "struct": {
        if (isPointerValue(v)) return this.copy(ptr, v);
        const plan = planFor(structNode(this.lookup, t.struct.typeId, path));
        const at = this.b.initStruct(ptr, plan.dataWords, plan.ptrCount);
        this.struct(at, plan, v, enterBrand(t.struct.brand, ctx), path);
        return;
      }
      case "anyPointer":
        if (!isPointerValue(v)) throw new TypeError(`${path}: expected a PointerValue ({ canonical: Uint8Array }) or null for AnyPointer, got ${describe(v)}`);
        this.b.copyPointer(ptr, MessageReader.fromFlat(pointerSource(v, this.options.canonicalPointers)).root(), false);
        return;
      case "interface":
        throw new TypeError(`${path}: capabilities cannot be encoded here (only null is accepted)`);
      default:
        throw new TypeError(`${path}: ${t.which} is not a pointer type`);
    }
  }

  private list(ptr: number, et: Type, arr: readonly DynamicValue[], ctx: Ctx, path: string): void {
    const n = arr.length;
    const b = this.b;
    switch (et.which) {
      case "void":
        b.initList(ptr, EL_VOID, n);
        return;
      case "bool": {
        const at = b.initList(ptr, EL_BIT, n);
        for (let i = 0; i < n; i++) {
          const v = arr[i];
          if (typeof v !== "boolean") throw new TypeError(`${path}[${i}]: expected a boolean, got ${describe(v)}`);
          if (v) b.bytes[at + (i >>> 3)] |= 1 << (i & 7);
        }
        return;
      }
      case "struct": {
        const plan = planFor(structNode(this.lookup, et.struct.typeId, path));
        const inner = enterBrand(et.struct.brand, ctx);
        let at = b.initStructList(ptr, n, plan.dataWords, plan.ptrCount);
        for (let i = 0; i < n; i++) {
          const v = arr[i];
          if (v === null || v === undefined) throw new TypeError(`${path}[${i}]: a list of structs cannot hold null`);
          if (isPointerValue(v)) this.copyElement(at, plan, v, `${path}[${i}]`);
          else this.struct(at, plan, v, inner, `${path}[${i}]`);
          at += plan.dataWords + plan.ptrCount;
        }
        return;
      }
      case "text":
      case "data":
      case "list":
      case "anyPointer":
      case "interface": {
        const t = substitute(et, ctx);
        const at = b.initList(ptr, EL_POINTER, n) >>> 3;
        for (let i = 0; i < n; i++) {
          let v = arr[i];
          if (typeof v === "string") v = recordedTextBytes(arr, String(i)) ?? v;
          if (v !== null && v !== undefined) this.pointer(at + i, t, v, ctx, `${path}[${i}]`);
        }
        return;
      }
      default:
        break;
    }
    const size = primitiveBytes(et.which);
    const es = size === 1 ? EL_BYTE : size === 2 ? EL_TWO : size === 4 ? EL_FOUR : EL_EIGHT;
    const at = b.initList(ptr, es, n);
    const view = b.view;
    for (let i = 0; i < n; i++) {
      const v = arr[i];
      const p = at + i * size;
      const where = `${path}[${i}]`;
      switch (et.which) {
        case "int8":
        case "uint8":
          view.setUint8(p, checkInt(v, et.which, where));
          break;
        case "int16":
        case "uint16":
          view.setUint16(p, checkInt(v, et.which, where), true);
          break;
        case "enum":
          view.setUint16(p, this.enumOrdinal(et.enum.typeId, v, where), true);
          break;
        case "int32":
        case "uint32":
          view.setUint32(p, checkInt(v, et.which, where) >>> 0, true);
          break;
        case "int64":
        case "uint64":
          view.setBigUint64(p, checkInt64(v, et.which, where), true);
          break;
        case "float32":
          view.setFloat32(p, checkFloat(v, where), true);
          break;
        case "float64":
          view.setFloat64(p, checkFloat(v, where), true);
          break;
      }
    }
  }
}

/** Range-checks an integer and returns its bit pattern (two's complement, masked by the caller's write). */
function checkInt(v: DynamicValue, which: string, path: string): number {
  const [lo, hi] = INT_RANGES[which];
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
    throw new TypeError(`${path}: expected an integer in ${lo}..${hi} for ${which}, got ${describe(v)}`);
  }
  return v;
}

function checkInt64(v: DynamicValue, which: string, path: string): bigint {
  let x: bigint;
  if (typeof v === "bigint") x = v;
  else if (typeof v === "number" && Number.isSafeInteger(v)) x = BigInt(v);
  else throw new TypeError(`${path}: expected a bigint for ${which}, got ${describe(v)}`);
  const ok = which === "int64" ? BigInt.asIntN(64, x) === x : BigInt.asUintN(64, x) === x;
  if (!ok) throw new TypeError(`${path}: ${x} is out of range for ${which}`);
  return BigInt.asUintN(64, x);
}

function checkFloat(v: DynamicValue, path: string): number {
  if (typeof v !== "number") throw new TypeError(`${path}: expected a number, got ${describe(v)}`);
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// Public API

/** Reads the struct at `s` (a struct of node `typeId` with `brand`) as a plain object. */
export function decodeStruct(s: StructReader | null, typeId: bigint, brand: Brand | undefined, lookup: NodeLookup): Record<string, unknown> {
  return new Decoder(lookup).struct(s ?? EMPTY_STRUCT, structNode(lookup, typeId, "decodeStruct"), enterBrand(brand, null));
}

/** Writes `value` as the root struct of builder `b` (whose root pointer must be unset). */
export function encodeRootStruct(
  b: MessageBuilder,
  typeId: bigint,
  brand: Brand | undefined,
  value: DynamicValue,
  lookup: NodeLookup,
  options: EncodeOptions = {},
): void {
  const type: Type = { which: "struct", struct: { typeId, brand: brand ?? { scopes: [] } } };
  new Encoder(b, lookup, options).pointer(0, type, value, null, nodeName(structNode(lookup, typeId, "encode")));
}

/** Encodes a struct value as a canonical `PointerValue`. */
export function encodeStruct(typeId: bigint, brand: Brand | undefined, value: DynamicValue, lookup: NodeLookup): PointerValue {
  const type: Type = { which: "struct", struct: { typeId, brand: brand ?? { scopes: [] } } };
  if (value === null || value === undefined) throw new TypeError(`${nodeName(structNode(lookup, typeId, "encodeStruct"))}: expected an object, got ${describe(value)}`);
  return encodeValue(type, value, lookup, nodeName(structNode(lookup, typeId, "encodeStruct"))) as PointerValue;
}

/**
 * Encodes a value of pointer type `type` (Text, Data, List, Struct or AnyPointer) as a canonical
 * `PointerValue`, recording its layout as written (structs at full size, see `markPointerBytes`);
 * `null`/`undefined` give `null` (a null pointer). `where` names the value in errors.
 */
export function encodeValue(type: Type, value: DynamicValue, lookup: NodeLookup, where = "value"): PointerValue | null {
  if (value === null || value === undefined) return null;
  if (type.which === "anyPointer" && type.anyPointer.which !== "parameter") {
    if (!isPointerValue(value)) throw new TypeError(`AnyPointer value must be a PointerValue, got ${describe(value)}`);
    const pv = { canonical: canonicalize(MessageReader.fromFlat(value.canonical).root()) };
    const layout = pointerBytes.get(value);
    return layout === undefined ? pv : markPointerBytes(pv, layout);
  }
  const b = new MessageBuilder(64);
  new Encoder(b, lookup, {}).pointer(0, substitute(type, null), value, null, where);
  // Structs are written at their full declared size; the canonical form trims them, the layout keeps them.
  const flat = b.toFlat();
  return markPointerBytes({ canonical: canonicalize(MessageReader.fromFlat(flat).root()) }, flat);
}

/** Reads a `PointerValue` as a plain value of pointer type `type`; `null` (or a null root) gives `null`. */
export function decodeValue(type: Type, value: PointerValue | null, lookup: NodeLookup): unknown {
  if (value === null) return null;
  const root = MessageReader.fromFlat(value.canonical).root();
  if (root.isNull()) return null;
  return new Decoder(lookup).pointer(root, substitute(type, null), null);
}

/** Reads the root of a message as a value of pointer type `type` (null root reads as `null`). */
export function decodePointer(p: PointerReader, type: Type, lookup: NodeLookup): unknown {
  if (p.isNull()) return null;
  return new Decoder(lookup).pointer(p, substitute(type, null), null);
}

/** A lookup over a list of nodes. */
export function nodeLookup(nodes: Iterable<Node>): NodeLookup {
  const byId = new Map<bigint, Node>();
  for (const n of nodes) byId.set(n.id, n);
  return (id) => {
    const n = byId.get(id);
    if (n === undefined) throw new TypeError(`no schema node with id @0x${id.toString(16)}`);
    return n;
  };
}
