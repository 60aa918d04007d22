/**
 * Test-only: lays out a small struct description with `layout.ts` the way capnp's node translator walks
 * members, and prints the same description as schema text, so the two can be compared field by field.
 */
import {
  LayoutBadNewsError,
  placeField,
  StructLayout,
  UnionLayout,
  type LayoutScope,
} from "../../../generator/compiler/layout.js";
import type { Type } from "../../../generator/model/schema.js";

export const FIELD_TYPES = {
  Void: "void",
  Bool: "bool",
  Int8: "int8",
  UInt8: "uint8",
  Int16: "int16",
  UInt16: "uint16",
  Int32: "int32",
  UInt32: "uint32",
  Float32: "float32",
  Int64: "int64",
  UInt64: "uint64",
  Float64: "float64",
  Text: "text",
  Data: "data",
  "List(Int32)": "list",
} as const satisfies Record<string, Type["which"]>;
export type FieldType = keyof typeof FIELD_TYPES;

export type Member =
  | { kind: "field"; name: string; type: FieldType; ordinal: number }
  | { kind: "group"; name: string; members: Member[] }
  /** `name === ""` is the scope's unnamed union (never a union member, never has an ordinal). */
  | { kind: "union"; name: string; ordinal: number | null; members: Member[] };

export interface LayoutResult {
  dataWordCount: number;
  pointerCount: number;
  /** `Struct.group.union/field` (node path inside the file, `/`, field name) → slot offset. */
  offsets: Map<string, number>;
  /** Node path of the struct or group holding the union → discriminant offset. */
  discriminants: Map<string, number>;
  /** The error capnp is expected to report instead of a layout. */
  error: "badNews" | "unionOrdinal" | "fieldOrder" | null;
}

/**
 * A struct, group or named union: a node of its own in capnp's output. `children` records the explicit
 * ordinals of its members in the order capnp adds them to the node's field list (a member is added when it,
 * or something inside it, is first placed), so the driver can predict capnp's own validation failure.
 */
interface NodeEntry {
  path: string;
  union: UnionLayout | null;
  parent: NodeEntry | null;
  explicitOrdinal: number | null;
  added: boolean;
  children: (number | null)[];
}

export function layOut(structName: string, members: Member[]): LayoutResult {
  const top = new StructLayout();
  const steps: { ordinal: number; run: () => void }[] = [];
  // Pre-order, as capnp's member list: unions are finished in this order.
  const nodes: NodeEntry[] = [];
  const offsets = new Map<string, number>();
  let error: LayoutResult["error"] = null;

  const newNode = (path: string, parent: NodeEntry | null, explicitOrdinal: number | null): NodeEntry => {
    const node = { path, union: null, parent, explicitOrdinal, added: false, children: [] };
    nodes.push(node);
    return node;
  };
  const addToParent = (node: NodeEntry) => {
    if (node.added || node.parent === null) return;
    node.added = true;
    addToParent(node.parent);
    node.parent.children.push(node.explicitOrdinal);
  };
  const field = (m: Extract<Member, { kind: "field" }>, node: NodeEntry, scope: LayoutScope) =>
    steps.push({
      ordinal: m.ordinal,
      run: () => {
        addToParent(node);
        node.children.push(m.ordinal);
        offsets.set(`${node.path}/${m.name}`, placeField(scope, FIELD_TYPES[m.type]));
      },
    });
  const namedUnion = (m: Extract<Member, { kind: "union" }>, parent: NodeEntry, scope: LayoutScope) => {
    const node = newNode(`${parent.path}.${m.name}`, parent, m.ordinal);
    const u = (node.union = new UnionLayout(scope));
    walkUnion(m.members, node, u);
    if (m.ordinal === null) return;
    steps.push({
      ordinal: m.ordinal,
      run: () => {
        addToParent(node);
        if (!u.addDiscriminant()) error ??= "unionOrdinal";
      },
    });
  };

  const walkScope = (list: Member[], node: NodeEntry, scope: LayoutScope) => {
    for (const m of list) {
      if (m.kind === "field") field(m, node, scope);
      else if (m.kind === "group") walkScope(m.members, newNode(`${node.path}.${m.name}`, node, null), scope);
      else if (m.name === "") {
        node.union = new UnionLayout(scope);
        walkUnion(m.members, node, node.union);
      } else namedUnion(m, node, scope);
    }
  };

  const walkUnion = (list: Member[], node: NodeEntry, u: UnionLayout) => {
    for (const m of list) {
      const member = u.newMember();
      if (m.kind === "field") field(m, node, member);
      else if (m.kind === "group") walkScope(m.members, newNode(`${node.path}.${m.name}`, node, null), member);
      else namedUnion(m, node, member);
    }
  };

  walkScope(members, newNode(structName, null, null), top);

  steps.sort((a, b) => a.ordinal - b.ordinal);
  try {
    for (const step of steps) step.run();
  } catch (e) {
    if (!(e instanceof LayoutBadNewsError)) throw e;
    error = "badNews";
  }
  const discriminants = new Map<string, number>();
  if (error === "badNews") return { dataWordCount: 0, pointerCount: 0, offsets, discriminants, error };
  for (const n of nodes) if (n.union) discriminants.set(n.path, n.union.finish());
  // capnp validates its own output: explicit ordinals must increase along each node's field list.
  // A union whose ordinal is reached after siblings placed since its first member breaks that.
  for (const n of nodes) {
    let last = -1;
    for (const o of n.children) {
      if (o === null) continue;
      if (o <= last) error ??= "fieldOrder";
      last = o;
    }
  }
  return { dataWordCount: top.dataWordCount, pointerCount: top.pointerCount, offsets, discriminants, error };
}

export function schemaText(structName: string, members: Member[]): string {
  const out: string[] = [];
  const emit = (list: Member[], indent: string) => {
    for (const m of list) {
      if (m.kind === "field") out.push(`${indent}${m.name} @${m.ordinal} :${m.type};`);
      else {
        const head =
          m.kind === "group"
            ? `${m.name} :group`
            : m.name === ""
              ? "union"
              : `${m.name} ${m.ordinal === null ? "" : `@${m.ordinal}! `}:union`;
        out.push(`${indent}${head} {`);
        emit(m.members, indent + "  ");
        out.push(`${indent}}`);
      }
    }
  };
  out.push(`struct ${structName} {`);
  emit(members, "  ");
  out.push("}");
  return out.join("\n") + "\n";
}

/** What capnp produced for one struct, in `LayoutResult`'s terms (without `error`). */
export function capnpLayout(nodes: any[], file: string, structName: string): Omit<LayoutResult, "error"> {
  const offsets = new Map<string, number>();
  const discriminants = new Map<string, number>();
  let top: any = null;
  for (const node of nodes) {
    const path: string = node.displayName.slice(file.length + 1);
    if (path !== structName && !path.startsWith(`${structName}.`)) continue;
    if (path === structName) top = node.struct;
    if (Number(node.struct.discriminantCount) > 0) discriminants.set(path, Number(node.struct.discriminantOffset));
    for (const f of node.struct.fields ?? []) {
      if (f.slot) offsets.set(`${path}/${f.name}`, Number(f.slot.offset));
    }
  }
  if (!top) throw new Error(`capnp output lacks ${structName}`);
  return {
    dataWordCount: Number(top.dataWordCount),
    pointerCount: Number(top.pointerCount),
    offsets,
    discriminants,
  };
}

// ---- random structs -------------------------------------------------------------------------------

/** mulberry32: small, seedable, good enough for test generation. */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES = Object.keys(FIELD_TYPES) as FieldType[];

/** A random valid-looking struct: fields of all sizes, groups, unions nested up to depth 3, shuffled ordinals. */
export function randomStruct(random: () => number): Member[] {
  let names = 0;
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  const ordinalHolders: { ordinal: number | null }[] = [];
  const unionsWithOrdinal: { union: { ordinal: number | null }; fields: { ordinal: number }[] }[] = [];
  const fieldsUnder: { ordinal: number }[][] = [];

  const newField = (): Member => {
    const f = { kind: "field" as const, name: `f${names++}`, type: pick(TYPES), ordinal: 0 };
    ordinalHolders.push(f);
    for (const list of fieldsUnder) list.push(f);
    return f;
  };
  const newUnion = (named: boolean, depth: number): Member => {
    const u = { kind: "union" as const, name: named ? `u${names++}` : "", ordinal: null as number | null, members: [] as Member[] };
    const fields: { ordinal: number }[] = [];
    fieldsUnder.push(fields);
    const count = 2 + Math.floor(random() * 3);
    for (let i = 0; i < count; i++) {
      const r = random();
      if (depth < 3 && r < 0.2) u.members.push(newGroup(depth + 1));
      else if (depth < 3 && r < 0.35) u.members.push(newUnion(true, depth + 1));
      else u.members.push(newField());
    }
    fieldsUnder.pop();
    if (named && random() < 0.25) {
      u.ordinal = 0;
      ordinalHolders.push(u);
      unionsWithOrdinal.push({ union: u, fields });
    }
    return u;
  };
  const newScope = (depth: number, max: number): Member[] => {
    const members: Member[] = [];
    let hasUnnamedUnion = false;
    const count = 1 + Math.floor(random() * max);
    for (let i = 0; i < count; i++) {
      const r = random();
      if (depth < 3 && r < 0.12) members.push(newGroup(depth + 1));
      else if (depth < 3 && r < 0.25 && !hasUnnamedUnion) {
        hasUnnamedUnion = true;
        members.push(newUnion(false, depth + 1));
      } else if (depth < 3 && r < 0.35) members.push(newUnion(true, depth + 1));
      else members.push(newField());
    }
    return members;
  };
  const newGroup = (depth: number): Member => ({ kind: "group", name: `g${names++}`, members: newScope(depth, 3) });

  const members = newScope(0, 10);
  // Ordinals 0..n-1 in random order (capnp wants them gapless), so placement order differs from declaration order.
  const order = ordinalHolders.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  ordinalHolders.forEach((h, i) => (h.ordinal = order[i]));
  // Usually make an explicit union ordinal legal (below all of its fields but the first), else leave it random.
  for (const { union, fields } of unionsWithOrdinal) {
    if (random() < 0.3 || fields.length === 0) continue;
    const sorted = [...fields].sort((a, b) => a.ordinal - b.ordinal);
    const target = random() < 0.5 || sorted.length < 2 ? sorted[0] : sorted[1];
    if (target.ordinal < union.ordinal!) [target.ordinal, union.ordinal] = [union.ordinal!, target.ordinal];
  }
  return members;
}
