/**
 * Values: default values, constants and annotation arguments, from expressions to schema `Value`s, with
 * capnp's checks and messages ("Integer value out of range.", "Type mismatch; expected Text.").
 *
 * An expression first becomes a `Compiled` value, which remembers what kind of literal it was (capnp's
 * DynamicValue): a positive integer can still become a Float64, a struct literal knows its struct type. It is
 * then checked against the expected type and turned into the model's `Value`; struct and list values are
 * encoded as Cap'n Proto through the model codec, laid out with the bootstrap nodes of their types.
 */
import type { Expression, ExpressionParam, Span } from "./ast.js";
import type { ErrorReporter } from "./diagnostics.js";
import { expressionString } from "./expression-string.js";
import { isUtf8 } from "./lexer.js";
import type { BrandedDecl } from "./generics.js";
import { NO_IMPLICIT_PARAMS, type ImplicitParams, type Resolver } from "./resolver.js";
import { decodePointer, encodeValue, markStructLiteral, markTextBytes, recordedTextBytes, type DynamicValue } from "../model/codec.js";
import { MessageReader } from "../../runtime/codec/wire.js";
import type { Brand, Field, Node, PointerValue, Type, Value } from "../model/schema.js";

/** What the value compiler needs from the declaration it works for. */
export interface ValueContext {
  readonly resolver: Resolver;
  readonly errors: ErrorReporter;
  compileDeclExpression(source: Expression, implicit: ImplicitParams): BrandedDecl | null;
}

type Compiled =
  | { k: "void" }
  | { k: "bool"; v: boolean }
  /** A negative integer. */
  | { k: "int"; v: bigint }
  /** A non-negative integer. */
  | { k: "uint"; v: bigint }
  | { k: "float"; v: number }
  /** Bytes when the literal is not valid UTF-8, so they reach the message unchanged. */
  | { k: "text"; v: string | Uint8Array }
  | { k: "data"; v: Uint8Array }
  | { k: "enum"; typeId: bigint; v: number }
  /** A literal as a plain value, or a constant's value as its encoded bytes, copied as they are. */
  | { k: "struct"; type: Type; v: PlainStruct | PointerValue }
  | { k: "list"; type: Type; v: DynamicValue[] | PointerValue }
  | { k: "anyPointer"; v: PointerValue | null };

type PlainStruct = { [field: string]: DynamicValue };

const INT_RANGES: Partial<Record<Type["which"], [bigint, bigint]>> = {
  int8: [-(1n << 7n), (1n << 7n) - 1n],
  int16: [-(1n << 15n), (1n << 15n) - 1n],
  int32: [-(1n << 31n), (1n << 31n) - 1n],
  int64: [-(1n << 63n), (1n << 63n) - 1n],
  uint8: [0n, (1n << 8n) - 1n],
  uint16: [0n, (1n << 16n) - 1n],
  uint32: [0n, (1n << 32n) - 1n],
  uint64: [0n, (1n << 64n) - 1n],
  // Integers given for floats are only limited to what 64 bits hold.
  float32: [-(1n << 63n), (1n << 64n) - 1n],
  float64: [-(1n << 63n), (1n << 64n) - 1n],
};

function errorOn(errors: ErrorReporter, span: Span, message: string): void {
  errors.addError(span.start, span.end, message);
}

/** The value a field has when the schema gives none (capnp's "default default"). */
export function defaultValueOf(type: Type): Value {
  switch (type.which) {
    case "void": return { which: "void" };
    case "bool": return { which: "bool", bool: false };
    case "int8": return { which: "int8", int8: 0 };
    case "int16": return { which: "int16", int16: 0 };
    case "int32": return { which: "int32", int32: 0 };
    case "int64": return { which: "int64", int64: 0n };
    case "uint8": return { which: "uint8", uint8: 0 };
    case "uint16": return { which: "uint16", uint16: 0 };
    case "uint32": return { which: "uint32", uint32: 0 };
    case "uint64": return { which: "uint64", uint64: 0n };
    case "float32": return { which: "float32", float32: 0 };
    case "float64": return { which: "float64", float64: 0 };
    case "enum": return { which: "enum", enum: 0 };
    case "interface": return { which: "interface" };
    case "text": return { which: "text", text: "" };
    case "data": return { which: "data", data: new Uint8Array(0) };
    case "struct": return { which: "struct", struct: null };
    case "list": return { which: "list", list: null };
    case "anyPointer": return { which: "anyPointer", anyPointer: null };
  }
}

/**
 * Compiles `source` as a value of `type` (whose generic parameters `scopeBrand` may bind). Returns null,
 * having reported why, when it cannot.
 */
export function compileValue(ctx: ValueContext, source: Expression, type: Type, scopeBrand: Brand | null, isBootstrap: boolean): Value | null {
  const t = scopeBrand === null ? type : bindType(type, scopeBrand);
  if (!typeLoads(ctx, t)) {
    // As capnp's resolveBootstrapType: a type whose schema failed to load (its error already reported,
    // e.g. "Bad news") leaves the value uncompiled.
    if (!ctx.errors.hadErrors()) errorOn(ctx.errors, source, "Internal compiler bug: Bootstrap schema failed to load.");
    return null;
  }
  const compiler = new ValueCompiler(ctx, isBootstrap);
  const compiled = compiler.compile(source, t);
  return compiled === null ? null : toValue(compiler, compiled, t);
}

/** Whether the schemas `type` names (through list element types) have bootstrap nodes. */
function typeLoads(ctx: ValueContext, type: Type): boolean {
  switch (type.which) {
    case "struct": return ctx.resolver.resolveBootstrapNode(type.struct.typeId) !== null;
    case "enum": return ctx.resolver.resolveBootstrapNode(type.enum.typeId) !== null;
    case "interface": return ctx.resolver.resolveBootstrapNode(type.interface.typeId) !== null;
    case "list": return typeLoads(ctx, type.list.elementType);
    default: return true;
  }
}

class ValueCompiler {
  constructor(
    private readonly ctx: ValueContext,
    private readonly isBootstrap: boolean,
  ) {}

  private get errors(): ErrorReporter {
    return this.ctx.errors;
  }

  readonly lookup = (id: bigint): Node => {
    const node = this.ctx.resolver.resolveBootstrapNode(id);
    if (node === null) throw new Error(`internal: no schema for type 0x${id.toString(16)}`);
    return node;
  };

  /** Compiles and checks against the type, as capnp's ValueTranslator::compileValue. */
  compile(src: Expression, type: Type): Compiled | null {
    if (type.which === "anyPointer" && type.anyPointer.which !== "unconstrained") {
      errorOn(
        this.errors,
        src,
        "Cannot interpret value because the type is a generic type parameter which is not yet bound. We don't know what type to expect here.",
      );
      return null;
    }
    const result = this.compileInner(src, type);
    if (result === null) return null;
    const anyKind = type.which === "anyPointer" && type.anyPointer.which === "unconstrained" ? type.anyPointer.unconstrained.which : null;
    switch (result.k) {
      case "void":
        if (type.which === "void") return result;
        break;
      case "bool":
        if (type.which === "bool") return result;
        break;
      case "int":
      case "uint": {
        const range = INT_RANGES[type.which];
        if (range === undefined) break;
        if (result.v < range[0]) {
          errorOn(this.errors, src, "Integer value out of range.");
          return { k: "int", v: range[0] };
        }
        if (result.v > range[1]) {
          errorOn(this.errors, src, "Integer value out of range.");
          return { k: "uint", v: range[1] };
        }
        return result;
      }
      case "float":
        if (type.which === "float32" || type.which === "float64") return result;
        break;
      case "text":
        if (type.which === "text") return result;
        break;
      case "data":
        if (type.which === "data") return result;
        break;
      case "list":
        if (type.which === "list" ? sameType(result.type, type) : anyKind === "anyKind" || anyKind === "list") return result;
        break;
      case "enum":
        if (type.which === "enum" && type.enum.typeId === result.typeId) return result;
        break;
      case "struct":
        if (type.which === "struct" ? sameType(result.type, type) : anyKind === "anyKind" || anyKind === "struct") return result;
        break;
      case "anyPointer":
        if (type.which === "anyPointer") return result;
        break;
    }
    errorOn(this.errors, src, `Type mismatch; expected ${this.typeName(type)}.`);
    return null;
  }

  private compileInner(src: Expression, type: Type): Compiled | null {
    switch (src.which) {
      case "relativeName": {
        const id = src.name.value;
        if (type.which === "enum") {
          const node = this.lookup(type.enum.typeId);
          if (node.which === "enum") {
            const index = node.enum.enumerants.findIndex((e) => e.name === id);
            if (index >= 0) return { k: "enum", typeId: type.enum.typeId, v: index };
          }
        } else {
          switch (id) {
            case "void": return { k: "void" };
            case "true": return { k: "bool", v: true };
            case "false": return { k: "bool", v: false };
            case "nan": return { k: "float", v: NaN };
            case "inf": return { k: "float", v: Infinity };
          }
        }
        return this.readConstant(src);
      }
      case "absoluteName":
      case "import":
      case "application":
      case "member":
        return this.readConstant(src);
      case "embed":
        return this.embed(src, type);
      case "positiveInt":
        return { k: "uint", v: src.value };
      case "negativeInt":
        if (src.value > 1n << 63n) {
          errorOn(this.errors, src, "Integer is too big to be negative.");
          return null;
        }
        return { k: "int", v: -src.value };
      case "float":
        return { k: "float", v: src.value };
      case "string":
        if (type.which === "data") return { k: "data", v: src.bytes };
        return { k: "text", v: isUtf8(src.bytes) ? src.value : src.bytes };
      case "binary":
        if (type.which !== "data") {
          errorOn(this.errors, src, `Type mismatch; expected ${this.typeName(type)}.`);
          return null;
        }
        return { k: "data", v: src.value };
      case "list": {
        if (type.which !== "list") {
          errorOn(this.errors, src, `Type mismatch; expected ${this.typeName(type)}.`);
          return null;
        }
        const elementType = type.list.elementType;
        // As a struct literal's below: elements of a type whose schema failed to load leave the list uncompiled.
        if (!typeLoads(this.ctx, elementType) && this.errors.hadErrors()) return null;
        const elements = src.elements.map((e) => {
          const c = this.compile(e, elementType);
          if (c === null) return zeroPlain(elementType);
          // A constant's encoded struct stays encoded: the codec copies it into the element as it is.
          return this.toPlain(c, elementType);
        });
        return { k: "list", type, v: elements };
      }
      case "tuple": {
        if (type.which !== "struct") {
          errorOn(this.errors, src, `Type mismatch; expected ${this.typeName(type)}.`);
          return null;
        }
        // A struct type nested in the value (a field's, a list element's) whose schema failed to load, its
        // error already reported ("Bad news" in it): the value is left uncompiled (capnp aborts there).
        const node = this.ctx.resolver.resolveBootstrapNode(type.struct.typeId);
        if (node === null && this.errors.hadErrors()) return null;
        if (node === null) return this.lookup(type.struct.typeId) as never;
        const value: PlainStruct = {};
        this.fillStruct(value, node, type.struct.brand, src.params);
        return { k: "struct", type, v: value };
      }
      case "unknown":
        return null;
    }
  }

  /** Assigns `(name = value, ...)` into a struct or group value. */
  private fillStruct(target: PlainStruct, node: Node, brand: Brand, assignments: ExpressionParam[]): void {
    if (node.which !== "struct") return;
    markStructLiteral(target);
    for (const assignment of assignments) {
      if (assignment.name === null) {
        errorOn(this.errors, assignment.value, "Missing field name.");
        continue;
      }
      const name = assignment.name.value;
      const field = node.struct.fields.find((f) => f.name === name);
      if (field === undefined) {
        errorOn(this.errors, assignment.name, `Struct has no field named '${name}'.`);
        continue;
      }
      const value = assignment.value;
      if (field.which === "slot") {
        const fieldType = bindType(field.slot.type, brand);
        const c = this.compile(value, fieldType);
        if (c !== null) setMember(target, field, this.toPlain(c, fieldType));
      } else if (value.which === "tuple") {
        this.fillStruct(this.initGroup(target, field), this.lookup(field.group.typeId), brand, value.params);
      } else {
        errorOn(this.errors, value, "Type mismatch; expected group.");
      }
    }
  }

  /**
   * capnp's `DynamicStruct::Builder::init` of a group: the group's non-union members and its union's first
   * member go back to their defaults and the union selects that member; its other union members keep their
   * bytes. The group's plain object is the one assigned before, if any, so those bytes stay written.
   */
  private initGroup(target: PlainStruct, field: Field & { which: "group" }): PlainStruct {
    const previous = target[field.name];
    const group: PlainStruct = isPlainStruct(previous) ? previous : markStructLiteral({});
    this.clearGroup(group, this.lookup(field.group.typeId));
    setMember(target, field, group);
    return group;
  }

  private clearGroup(group: PlainStruct, node: Node): void {
    if (node.which !== "struct") return;
    for (const member of node.struct.fields) {
      if (member.discriminantValue !== 0xffff && member.discriminantValue !== 0) continue;
      if (member.which === "group") this.initGroup(group, member);
      else setMember(group, member, clearedValue(member.slot.type, member.slot.defaultValue));
    }
  }

  private embed(src: Extract<Expression, { which: "embed" }>, type: Type): Compiled | null {
    const data = this.ctx.resolver.readEmbed(src.path.value);
    if (data === null) {
      errorOn(this.errors, src.path, `Couldn't read file for embed: ${src.path.value}`);
      return null;
    }
    switch (type.which) {
      case "text":
        // The file's bytes as they are: a leading BOM stays, and bytes that are not UTF-8 are kept as bytes.
        return { k: "text", v: isUtf8(data) ? readUtf8(data) : data };
      case "data":
        return { k: "data", v: data };
      case "struct": {
        if (data.length % 8 !== 0) {
          errorOn(this.errors, src, "Embedded file is not a valid Cap'n Proto message.");
          return null;
        }
        // capnp reads embedded messages with no traversal or nesting limit: the file is the schema author's.
        const reader = MessageReader.fromFramed(data, { traversalLimitInWords: Infinity, nestingLimit: Infinity });
        const v = decodePointer(reader.root(), type, this.lookup) as PlainStruct;
        return { k: "struct", type, v: v ?? {} };
      }
      default:
        errorOn(this.errors, src, "Embeds can only be used when Text, Data, or a struct is expected.");
        return null;
    }
  }

  private readConstant(source: Expression): Compiled | null {
    const decl = this.ctx.compileDeclExpression(source, NO_IMPLICIT_PARAMS);
    if (decl === null) return null;
    if ((decl.kind ?? "file") !== "const") {
      errorOn(this.errors, source, `'${expressionString(source)}' does not refer to a constant.`);
      return null;
    }
    const { id, brand } = decl.idAndBrand();
    const bootstrap = this.ctx.resolver.resolveBootstrapNode(id);
    if (bootstrap === null || bootstrap.which !== "const") return null;
    let proto: Node = bootstrap;
    if (!this.isBootstrap) {
      const final = this.ctx.resolver.resolveFinalNode(id);
      if (final === null) return null;
      proto = final;
    }
    if (proto.which !== "const") return null;
    const constType = brand === null ? bootstrap.const.type : bindType(bootstrap.const.type, brand);
    const value = this.fromValue(proto.const.value, constType);

    if (source.which === "relativeName") {
      const scope = this.ctx.resolver.resolveBootstrapNode(proto.scopeId);
      if (scope !== null) {
        const parent = scope.which === "file" ? "" : scope.displayName.slice(scope.displayNamePrefixLength);
        const name = source.name.value;
        errorOn(
          this.errors,
          source,
          `Constant names must be qualified to avoid confusion.  Please replace '${expressionString(source)}' with '${parent}.${name}', if that's what you intended.`,
        );
      }
    }
    return value;
  }

  /** A constant's stored value as a compiled value of the constant's type. */
  private fromValue(value: Value, type: Type): Compiled {
    switch (value.which) {
      case "void": return { k: "void" };
      case "bool": return { k: "bool", v: value.bool };
      case "int8": case "int16": case "int32": case "uint8": case "uint16": case "uint32": {
        const n = BigInt((value as Record<string, unknown>)[value.which] as number);
        return n < 0n ? { k: "int", v: n } : { k: "uint", v: n };
      }
      case "int64": return value.int64 < 0n ? { k: "int", v: value.int64 } : { k: "uint", v: value.int64 };
      case "uint64": return { k: "uint", v: value.uint64 };
      case "float32": return { k: "float", v: value.float32 };
      case "float64": return { k: "float", v: value.float64 };
      case "text": return { k: "text", v: recordedTextBytes(value, "text") ?? value.text };
      case "data": return { k: "data", v: value.data };
      // Stored as a plain UInt16, an enum constant is a number to capnp, not an enumerant.
      case "enum": return { k: "uint", v: BigInt(value.enum) };
      case "interface": return { k: "void" };
      case "struct":
        return { k: "struct", type, v: value.struct ?? {} };
      case "list":
        return { k: "list", type, v: value.list ?? [] };
      case "anyPointer":
        return { k: "anyPointer", v: value.anyPointer };
    }
  }

  /** A checked compiled value as the codec's plain value for `type`. */
  toPlain(c: Compiled, type: Type): DynamicValue {
    switch (c.k) {
      case "void": return null;
      case "bool": return c.v;
      case "int":
      case "uint":
        if (type.which === "int64" || type.which === "uint64") return c.v;
        if (type.which === "float32") return Math.fround(Number(c.v));
        return Number(c.v);
      case "float": return type.which === "float32" ? Math.fround(c.v) : c.v;
      case "text": return c.v;
      case "data": return c.v;
      case "enum": return c.v;
      case "struct":
      case "list":
        // Into an AnyPointer a struct or list goes as an encoded pointer, laid out by its own type.
        return type.which === "anyPointer" ? encodeValue(c.type, c.v, this.lookup) : c.v;
      case "anyPointer": return c.v;
    }
  }

  typeName(type: Type): string {
    switch (type.which) {
      case "void": return "Void";
      case "bool": return "Bool";
      case "int8": return "Int8";
      case "int16": return "Int16";
      case "int32": return "Int32";
      case "int64": return "Int64";
      case "uint8": return "UInt8";
      case "uint16": return "UInt16";
      case "uint32": return "UInt32";
      case "uint64": return "UInt64";
      case "float32": return "Float32";
      case "float64": return "Float64";
      case "text": return "Text";
      case "data": return "Data";
      case "list": return `List(${this.typeName(type.list.elementType)})`;
      case "enum": return this.nodeName(type.enum.typeId);
      case "struct": return this.nodeName(type.struct.typeId);
      case "interface": return this.nodeName(type.interface.typeId);
      case "anyPointer": return "AnyPointer";
    }
  }

  private nodeName(id: bigint): string {
    const node = this.ctx.resolver.resolveBootstrapNode(id);
    return node === null ? "?" : node.displayName.slice(node.displayNamePrefixLength);
  }
}


/**
 * Puts a member's value into a plain struct literal, selecting the union member when it is one. As in capnp,
 * a later assignment wins: the key moves to the end, so the encoder writes members in the order of their
 * last assignments (which gives capnp's bytes when union members overlap), and an earlier union member
 * stays written (see `markStructLiteral`).
 */
function setMember(target: PlainStruct, field: Field, value: DynamicValue): void {
  if (field.discriminantValue !== 0xffff) target.which = field.name;
  delete target[field.name];
  target[field.name] = value;
}

function isPlainStruct(v: DynamicValue | undefined): v is PlainStruct {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !("canonical" in v);
}

/** The plain value that a cleared slot holds: its default for data (raw zero bits), null for pointers. */
function clearedValue(type: Type, defaultValue: Value | undefined): DynamicValue {
  switch (type.which) {
    case "void": return null;
    case "bool": case "int8": case "int16": case "int32": case "int64": case "uint8": case "uint16": case "uint32": case "uint64":
    case "float32": case "float64": case "enum":
      return defaultValue !== undefined && defaultValue.which === type.which ? (defaultValue as Record<string, DynamicValue>)[type.which] : zeroPlain(type);
    default: return null;
  }
}

/** The plain value of an element that failed to compile: what an untouched list element holds. */
function zeroPlain(type: Type): DynamicValue {
  switch (type.which) {
    case "void": return null;
    case "bool": return false;
    case "int64": case "uint64": return 0n;
    case "int8": case "int16": case "int32": case "uint8": case "uint16": case "uint32":
    case "float32": case "float64": case "enum":
      return 0;
    default:
      return null;
  }
}

function toValue(compiler: ValueCompiler, c: Compiled, type: Type): Value {
  const lookup = compiler.lookup;
  const plain = (t: Type) => compiler.toPlain(c, t);
  switch (type.which) {
    case "void": return { which: "void" };
    case "bool": return { which: "bool", bool: plain(type) as boolean };
    case "int8": return { which: "int8", int8: plain(type) as number };
    case "int16": return { which: "int16", int16: plain(type) as number };
    case "int32": return { which: "int32", int32: plain(type) as number };
    case "int64": return { which: "int64", int64: plain(type) as bigint };
    case "uint8": return { which: "uint8", uint8: plain(type) as number };
    case "uint16": return { which: "uint16", uint16: plain(type) as number };
    case "uint32": return { which: "uint32", uint32: plain(type) as number };
    case "uint64": return { which: "uint64", uint64: plain(type) as bigint };
    case "float32": return { which: "float32", float32: plain(type) as number };
    case "float64": return { which: "float64", float64: plain(type) as number };
    case "text": {
      const text = plain(type);
      if (typeof text === "string") return { which: "text", text };
      // Bytes that are not UTF-8: the string is for reading, the bytes are what gets encoded and reused.
      return markTextBytes({ which: "text", text: readUtf8(text as Uint8Array) }, "text", text as Uint8Array);
    }
    case "data": return { which: "data", data: plain(type) as Uint8Array };
    case "enum": return { which: "enum", enum: plain(type) as number };
    case "interface": return { which: "interface" };
    case "struct": return { which: "struct", struct: encodeValue(type, plain(type), lookup) };
    case "list": return { which: "list", list: encodeValue(type, plain(type), lookup) };
    case "anyPointer": {
      if (c.k === "anyPointer") return { which: "anyPointer", anyPointer: c.v };
      if (c.k === "struct" || c.k === "list") return { which: "anyPointer", anyPointer: encodeValue(c.type, c.v, lookup) };
      return { which: "anyPointer", anyPointer: null };
    }
  }
}

/** Structural type equality, brands included (capnp compares branded schemas by identity). */
export function sameType(a: Type, b: Type): boolean {
  return JSON.stringify(a, bigintReplacer) === JSON.stringify(b, bigintReplacer);
}

function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

const ANY_POINTER: Type = { which: "anyPointer", anyPointer: { which: "unconstrained", unconstrained: { which: "anyKind" } } };

/** Replaces generic parameters in `type` by what `brand` binds them to (see the parameter case). */
export function bindType(type: Type, brand: Brand): Type {
  switch (type.which) {
    case "anyPointer": {
      const ap = type.anyPointer;
      if (ap.which !== "parameter") return type;
      const scope = brand.scopes.find((s) => s.scopeId === ap.parameter.scopeId);
      // As capnp's Schema::getBrandArgumentsAtScope on a branded (not unbound) schema: a scope the brand
      // does not list, or a binding past its end, is AnyPointer; an inherited scope that no client bound
      // (the value's own, unbound, scope) keeps the parameter.
      if (scope === undefined) return ANY_POINTER;
      if (scope.which !== "bind") return type;
      const binding = scope.bind[ap.parameter.parameterIndex];
      return binding !== undefined && binding.which === "type" ? binding.type : ANY_POINTER;
    }
    case "list":
      return { which: "list", list: { elementType: bindType(type.list.elementType, brand) } };
    case "struct":
      return { which: "struct", struct: { typeId: type.struct.typeId, brand: bindBrand(type.struct.brand, brand) } };
    case "interface":
      return { which: "interface", interface: { typeId: type.interface.typeId, brand: bindBrand(type.interface.brand, brand) } };
    case "enum":
      return type;
    default:
      return type;
  }
}

/** A brand seen from inside a value of brand `outer`: `inherit` takes the outer bindings of that scope. */
export function bindBrand(inner: Brand, outer: Brand): Brand {
  return {
    scopes: inner.scopes.map((s) => {
      // capnp's makeBranded: an inherited scope the client does not have is an empty one (AnyPointers).
      if (s.which === "inherit") return outer.scopes.find((o) => o.scopeId === s.scopeId) ?? { scopeId: s.scopeId, which: "bind" as const, bind: [] };
      return { scopeId: s.scopeId, which: "bind" as const, bind: s.bind.map((b) => (b.which === "type" ? { which: "type" as const, type: bindType(b.type, outer) } : b)) };
    }),
  };
}

/** Reads any bytes, keeping a leading U+FEFF; each sequence that is not UTF-8 reads as U+FFFD. */
const lenientUtf8 = new TextDecoder("utf-8", { ignoreBOM: true });

function readUtf8(bytes: Uint8Array): string {
  return lenientUtf8.decode(bytes);
}
