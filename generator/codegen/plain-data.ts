/**
 * The plain view of a struct (`X.Plain` / `X.Init` types, `X._read` / `X._write`, `X.encode` / `X.decode`):
 * its TypeScript types, and readers and writers specialized to the struct's constant offsets over ipcgen's
 * wire layer (`ipcgen/codec`), for speed. Constants use its types and codec expressions too.
 */
import type { Brand, Field, Type, Value } from "../model/schema.js";
import { NO_DISCRIMINANT } from "../model/schema.js";
import { type Ctx, doc, ref, type StructTypeNode } from "./context.js";
import { brandBindings, genericData, paramOf, paramType } from "./generic-data.js";
import { bytes as bytesLiteral } from "./literals.js";
import { hexId, propertyKey } from "./names.js";

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

/** The TypeScript type of a value of each number and Bool type (the class face spells them alike). */
export const PRIMITIVE_TS: Record<string, string> = {
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
export function plainType(ctx: Ctx, type: Type, mode: "plain" | "init"): string {
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
export function codecExpr(ctx: Ctx, type: Type): string {
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

/** Fills `out` (a struct's `plain`) from `fields`, the struct's fields in code order. */
export function plainData(ctx: Ctx, node: StructTypeNode, fields: Field[], out: PlainData): void {
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
