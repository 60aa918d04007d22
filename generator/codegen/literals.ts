/**
 * Prints a plain value (as the model codec decodes constants) as a TypeScript literal of its plain-view
 * type, so that a schema constant reads as data in the generated module.
 */
import { recordedNullness } from "../model/codec.js";
import type { Brand, Node, Type } from "../model/schema.js";
import { NO_DISCRIMINANT } from "../model/schema.js";
import { upperSnake } from "./names.js";

export interface LiteralEnv {
  /** The generated name of a node (importing it if needed). */
  ref(id: bigint): string;
  node(id: bigint): Node | undefined;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Bound types of generic parameters, by `scopeId:index`, while printing a branded struct's fields. */
type Bindings = ReadonlyMap<string, Type>;
const NO_BINDINGS: Bindings = new Map();

export function literal(value: unknown, type: Type, env: LiteralEnv, bindings: Bindings = NO_BINDINGS): string {
  switch (type.which) {
    case "void":
    case "interface":
      return "null";
    case "bool":
      return String(value === true);
    case "int64":
    case "uint64":
      return `${BigInt(value as bigint)}n`;
    case "float32":
    case "float64":
    case "int8":
    case "int16":
    case "int32":
    case "uint8":
    case "uint16":
    case "uint32":
      return numberLiteral(value as number);
    case "text":
      return JSON.stringify(value ?? "");
    case "data":
      return bytes(value as Uint8Array);
    case "enum": {
      const node = env.node(type.enum.typeId);
      const enumerants = node?.which === "enum" ? node.enum.enumerants : [];
      // The model codec names known enumerants and leaves unknown ordinals as numbers.
      const n = typeof value === "string" ? enumerants.findIndex((e) => e.name === value) : (value as number);
      const e = enumerants[n];
      return e === undefined ? `${n} as ${env.ref(type.enum.typeId)}` : `${env.ref(type.enum.typeId)}.${upperSnake(e.name)}`;
    }
    case "list": {
      const items = (value as unknown[] | null) ?? [];
      return `[${items.map((v) => literal(v, type.list.elementType, env, bindings)).join(", ")}]`;
    }
    case "struct":
      return structLiteral((value ?? {}) as Record<string, unknown>, type.struct.typeId, env, bind(type.struct.brand, bindings));
    case "anyPointer": {
      if (type.anyPointer.which === "parameter") {
        // The model codec decoded the value as its bound type: print it as that type.
        const bound = bindings.get(`${type.anyPointer.parameter.scopeId}:${type.anyPointer.parameter.parameterIndex}`);
        if (bound !== undefined) return literal(value, bound, env, bindings);
      }
      if (value === null || value === undefined) return "null";
      if (value instanceof Uint8Array) return bytes(value);
      const canonical = (value as { canonical?: unknown }).canonical;
      if (canonical instanceof Uint8Array) return bytes(canonical);
      // A generic parameter's bound value: plain views show parameters as AnyPointerValue, which this
      // printer cannot make from an already decoded value yet.
      return "null";
    }
  }
}

/** The bindings inside a struct referenced with `brand`, from the bindings outside it. */
function bind(brand: Brand, outer: Bindings): Bindings {
  if (brand.scopes.length === 0) return outer;
  const out = new Map(outer);
  for (const scope of brand.scopes) {
    if (scope.which !== "bind") continue;
    scope.bind.forEach((b, i) => {
      const key = `${scope.scopeId}:${i}`;
      if (b.which === "type") {
        // A binding to one of the outer parameters resolves through the outer bindings.
        const t = b.type;
        const inner = t.which === "anyPointer" && t.anyPointer.which === "parameter" ? outer.get(`${t.anyPointer.parameter.scopeId}:${t.anyPointer.parameter.parameterIndex}`) : undefined;
        out.set(key, inner ?? t);
      } else out.delete(key);
    });
  }
  return out;
}

function structLiteral(value: Record<string, unknown>, typeId: bigint, env: LiteralEnv, bindings: Bindings): string {
  const node = env.node(typeId);
  if (node === undefined || node.which !== "struct") return "{}";
  const parts: string[] = [];
  const fields = [...node.struct.fields].sort((a, b) => a.codeOrder - b.codeOrder);
  for (const f of fields) {
    const inUnion = f.discriminantValue !== NO_DISCRIMINANT;
    if (inUnion && value.which !== f.name) continue;
    if (inUnion) parts.push(`which: ${JSON.stringify(f.name)}`);
    if (f.which === "slot" && f.slot.type.which === "void") continue;
    const key = IDENT.test(f.name) ? f.name : JSON.stringify(f.name);
    const v = value[f.name];
    // A struct field whose pointer is null is null in the plain view (an eager default could recurse forever).
    const isNullStruct =
      f.which === "slot" &&
      f.slot.type.which === "struct" &&
      !f.slot.hadExplicitDefault &&
      (v === null || v === undefined || (typeof v === "object" && recordedNullness(v) === true));
    const printed =
      f.which === "group"
        ? structLiteral((v ?? {}) as Record<string, unknown>, f.group.typeId, env, bindings)
        : isNullStruct
          ? "null"
          : literal(v ?? zero(f.slot.type), f.slot.type, env, bindings);
    parts.push(`${key}: ${printed}`);
  }
  return parts.length === 0 ? "{}" : `{ ${parts.join(", ")} }`;
}

function zero(type: Type): unknown {
  switch (type.which) {
    case "bool":
      return false;
    case "int64":
    case "uint64":
      return 0n;
    case "text":
      return "";
    case "data":
      return new Uint8Array(0);
    case "list":
      return [];
    case "struct":
      return {};
    case "anyPointer":
    case "void":
    case "interface":
      return null;
    default:
      return 0;
  }
}

export function numberLiteral(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "Infinity";
  if (n === -Infinity) return "-Infinity";
  if (Object.is(n, -0)) return "-0";
  return String(n);
}

export function bytes(b: Uint8Array): string {
  return `new Uint8Array([${[...b].join(", ")}])`;
}
