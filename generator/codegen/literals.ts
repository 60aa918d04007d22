/**
 * Prints a constant's plain value as a TypeScript literal of its plain-view type. Only for values that hold
 * no struct (numbers, Text, Data, enums and lists of them): constants that hold structs are read at load
 * time by the generated readers instead (see `constantValue` in const-data.ts).
 */
import type { Node, Type } from "../model/schema.js";
import { upperSnake } from "./names.js";

export interface LiteralEnv {
  /** The generated name of a node (importing it if needed). */
  ref(id: bigint): string;
  node(id: bigint): Node | undefined;
}

export function literal(value: unknown, type: Type, env: LiteralEnv): string {
  switch (type.which) {
    case "void":
    case "interface":
      return "null";
    case "bool":
      return String(value === true);
    case "int64":
    case "uint64":
      return `${BigInt(value as bigint)}n`;
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
      return `[${items.map((v) => literal(v, type.list.elementType, env)).join(", ")}]`;
    }
    case "struct":
    case "anyPointer":
      throw new Error(`internal: ${type.which} constants are not printed as literals`);
    default:
      return numberLiteral(value as number);
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
