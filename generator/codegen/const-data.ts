/**
 * A constant's template data: its name, its plain-view type and its value as code. Constants of interface
 * type, and null AnyPointer constants, have no plain value and are not generated.
 */
import { decodeValue } from "../model/codec.js";
import type { Node, Type, Value } from "../model/schema.js";
import { type Ctx, doc, ref } from "./context.js";
import { bytes as bytesLiteral, literal } from "./literals.js";
import { safeIdentifier } from "./names.js";
import { codecExpr, plainType } from "./plain-data.js";

export interface ConstData {
  name: string;
  doc: string | null;
  type: string;
  value: string;
}

export function constData(ctx: Ctx, node: Extract<Node, { which: "const" }>): ConstData | null {
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
