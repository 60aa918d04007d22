/** An enum's template data: its generated name and its enumerants, spelled as capnp-ts spells them. */
import type { Node } from "../model/schema.js";
import { type Ctx, doc } from "./context.js";
import { upperSnake } from "./names.js";

export interface EnumData {
  name: string;
  doc: string | null;
  enumerants: { name: string; value: number; doc: string | null }[];
}

export function enumData(ctx: Ctx, node: Extract<Node, { which: "enum" }>): EnumData {
  return {
    name: ctx.names.get(node.id)!,
    doc: doc(ctx, node.id),
    enumerants: node.enum.enumerants.map((e, i) => ({ name: upperSnake(e.name), value: i, doc: doc(ctx, node.id, i) })),
  };
}
