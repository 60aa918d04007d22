/**
 * Generates `generator/model/schema-capnp.nodes.ts`: the model nodes of Cap'n Proto's own `schema.capnp`,
 * which drive the codec that reads and writes `CodeGeneratorRequest`s (a bootstrap: the request decoder
 * cannot read its own schema before it has it).
 *
 * Source: the official compiler's output for schema.capnp, printed by `capnp convert` and turned into
 * model nodes by `nodesFromJson`. `capnp convert binary:json` refuses this message (its JSON encoder has no
 * rule for AnyPointer), so the text format is printed and parsed into the same JSON shape (`parseCapnpText`).
 * To bootstrap from ipcgen's own compiler instead, pass its request to `renderNodesModule` directly.
 *
 * Run: npx tsx scripts/gen-schema-nodes.ts   (env CAPNP_SRC_ROOT overrides the capnproto source tree)
 */

import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type {
  Annotation,
  Brand,
  BrandBinding,
  Enumerant,
  Field,
  Method,
  Node,
  NodeKind,
  PointerValue,
  Type,
  Value,
} from "../generator/model/schema.js";
import { ELEMENT_SIZES } from "../generator/model/schema.js";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

// ---------------------------------------------------------------------------------------------------------
// capnp text format -> JSON shape (UInt64 as strings, Void as null, enums as names, union members by name)

/** Parses one struct literal as printed by `capnp convert binary:text` into capnp's JSON shape. */
export function parseCapnpText(text: string): Json {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const expect = (c: string) => {
    ws();
    if (text[i] !== c) throw new SyntaxError(`expected '${c}' at ${i}: ${text.slice(i, i + 40)}`);
    i++;
  };
  const value = (): Json => {
    ws();
    const c = text[i];
    if (c === "(") {
      i++;
      const obj: Obj = {};
      ws();
      if (text[i] === ")") {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 200));
        if (m === null) throw new SyntaxError(`expected a field name at ${i}`);
        i += m[0].length;
        expect("=");
        obj[m[0]] = value();
        ws();
        if (text[i] === ",") i++;
        else {
          expect(")");
          return obj;
        }
      }
    }
    if (c === "[") {
      i++;
      const arr: Json[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i] === ",") i++;
        else {
          expect("]");
          return arr;
        }
      }
    }
    if (c === '"') return stringLiteral();
    if (text.startsWith("<opaque pointer>", i)) {
      i += "<opaque pointer>".length;
      return { "<opaque pointer>": true };
    }
    const m = /^[-+A-Za-z0-9_.]+/.exec(text.slice(i, i + 100));
    if (m === null) throw new SyntaxError(`unexpected input at ${i}: ${text.slice(i, i + 40)}`);
    i += m[0].length;
    const tok = m[0];
    if (tok === "void") return null;
    if (tok === "true") return true;
    if (tok === "false") return false;
    if (/^-?\d+$/.test(tok)) return Number.isSafeInteger(Number(tok)) ? Number(tok) : tok;
    if (/^-?(\d|inf|nan)/.test(tok)) return Number(tok.replace("inf", "Infinity").replace("nan", "NaN"));
    return tok; // an enumerant
  };
  const stringLiteral = (): string => {
    i++;
    const bytes: number[] = [];
    while (text[i] !== '"') {
      if (i >= text.length) throw new SyntaxError("unterminated string");
      if (text[i] !== "\\") {
        bytes.push(...Buffer.from(text[i], "utf8"));
        i++;
        continue;
      }
      const e = text[i + 1];
      i += 2;
      const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, "'": 39, '"': 34, "\\": 92, "?": 63 };
      if (e in simple) bytes.push(simple[e]);
      else if (e === "x") {
        bytes.push(parseInt(text.slice(i, i + 2), 16));
        i += 2;
      } else if (/[0-7]/.test(e)) {
        let j = i;
        while (j < i + 2 && /[0-7]/.test(text[j])) j++;
        bytes.push(parseInt(e + text.slice(i, j), 8));
        i = j;
      } else throw new SyntaxError(`unknown escape \\${e}`);
    }
    i++;
    return Buffer.from(bytes).toString("utf8");
  };
  const out = value();
  ws();
  if (i !== text.length) throw new SyntaxError(`trailing input at ${i}`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// JSON shape -> model

const big = (v: Json | undefined): bigint => (v === undefined || v === null ? 0n : BigInt(v as string | number));
const num = (v: Json | undefined, def = 0): number => (v === undefined || v === null ? def : Number(v));
const str = (v: Json | undefined): string => (typeof v === "string" ? v : "");
const arr = (v: Json | undefined): Json[] => (Array.isArray(v) ? v : []);
const obj = (v: Json | undefined): Obj => (v !== null && typeof v === "object" && !Array.isArray(v) ? v : {});

/** The union member set in `o` among `members` (Void members appear with a null value). */
function which(o: Obj, members: readonly string[], where: string): string {
  const m = members.find((k) => k in o);
  if (m === undefined) throw new Error(`${where}: no union member among ${members.join(", ")} in ${JSON.stringify(o)}`);
  return m;
}

const TYPE_MEMBERS = [
  "void", "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
  "float32", "float64", "text", "data", "list", "enum", "struct", "interface", "anyPointer",
] as const;

function brandFromJson(j: Json | undefined): Brand {
  return {
    scopes: arr(obj(j).scopes).map((s0) => {
      const s = obj(s0);
      const scopeId = big(s.scopeId);
      if ("inherit" in s) return { scopeId, which: "inherit" as const };
      return {
        scopeId,
        which: "bind" as const,
        bind: arr(s.bind).map((b0): BrandBinding => {
          const b = obj(b0);
          return "type" in b ? { which: "type", type: typeFromJson(b.type) } : { which: "unbound" };
        }),
      };
    }),
  };
}

export function typeFromJson(j: Json | undefined): Type {
  const t = obj(j);
  const w = which(t, TYPE_MEMBERS, "Type");
  const inner = obj(t[w]);
  switch (w) {
    case "list":
      return { which: "list", list: { elementType: typeFromJson(inner.elementType) } };
    case "enum":
    case "struct":
    case "interface":
      return { which: w, [w]: { typeId: big(inner.typeId), brand: brandFromJson(inner.brand) } } as Type;
    case "anyPointer": {
      const aw = which(inner, ["unconstrained", "parameter", "implicitMethodParameter"], "Type.anyPointer");
      const a = obj(inner[aw]);
      if (aw === "unconstrained") {
        const uw = which(a, ["anyKind", "struct", "list", "capability"], "Type.anyPointer.unconstrained");
        return { which: "anyPointer", anyPointer: { which: "unconstrained", unconstrained: { which: uw } as never } };
      }
      if (aw === "parameter") {
        return { which: "anyPointer", anyPointer: { which: "parameter", parameter: { scopeId: big(a.scopeId), parameterIndex: num(a.parameterIndex) } } };
      }
      return { which: "anyPointer", anyPointer: { which: "implicitMethodParameter", implicitMethodParameter: { parameterIndex: num(a.parameterIndex) } } };
    }
    default:
      return { which: w } as Type;
  }
}

/** A pointer value as printed by capnp text: only null is representable (contents print as opaque). */
function pointerFromJson(v: Json | undefined, where: string): PointerValue | null {
  if (v === undefined || v === null) return null;
  if (typeof v === "object" && !Array.isArray(v) && "canonical" in v) {
    return { canonical: Uint8Array.from(arr(v.canonical) as number[]) };
  }
  if (typeof v === "object" && !Array.isArray(v) && "<opaque pointer>" in v) return null;
  throw new Error(`${where}: cannot represent pointer value ${JSON.stringify(v)}`);
}

export function valueFromJson(j: Json | undefined): Value {
  const v = obj(j);
  const w = which(v, [...TYPE_MEMBERS], "Value");
  const x = v[w];
  switch (w) {
    case "void":
    case "interface":
      return { which: w };
    case "bool":
      return { which: "bool", bool: x === true };
    case "int64":
    case "uint64":
      return { which: w, [w]: big(x) } as Value;
    case "text":
      return { which: "text", text: str(x) };
    case "data":
      return { which: "data", data: typeof x === "string" ? new TextEncoder().encode(x) : Uint8Array.from(arr(x) as number[]) };
    case "list":
    case "struct":
    case "anyPointer":
      return { which: w, [w]: pointerFromJson(x, `Value.${w}`) } as Value;
    default:
      return { which: w, [w]: num(x) } as Value;
  }
}

function annotationsFromJson(j: Json | undefined): Annotation[] {
  return arr(j).map((a0) => {
    const a = obj(a0);
    return { id: big(a.id), brand: brandFromJson(a.brand), value: valueFromJson(a.value) };
  });
}

function fieldFromJson(j: Json): Field {
  const f = obj(j);
  const ord = obj(f.ordinal);
  const common = {
    name: str(f.name),
    codeOrder: num(f.codeOrder),
    annotations: annotationsFromJson(f.annotations),
    discriminantValue: num(f.discriminantValue, 0xffff),
    ordinal: "explicit" in ord ? { which: "explicit" as const, explicit: num(ord.explicit) } : { which: "implicit" as const },
  };
  if ("group" in f) return { ...common, which: "group", group: { typeId: big(obj(f.group).typeId) } };
  const s = obj(f.slot);
  return {
    ...common,
    which: "slot",
    slot: {
      offset: num(s.offset),
      type: typeFromJson(s.type),
      defaultValue: valueFromJson(s.defaultValue),
      hadExplicitDefault: s.hadExplicitDefault === true,
    },
  };
}

function kindFromJson(n: Obj): NodeKind {
  const w = which(n, ["file", "struct", "enum", "interface", "const", "annotation"], "Node");
  const k = obj(n[w]);
  switch (w) {
    case "file":
      return { which: "file" };
    case "struct":
      return {
        which: "struct",
        struct: {
          dataWordCount: num(k.dataWordCount),
          pointerCount: num(k.pointerCount),
          preferredListEncoding: ELEMENT_SIZES[typeof k.preferredListEncoding === "number" ? k.preferredListEncoding : ELEMENT_SIZES.indexOf(str(k.preferredListEncoding) as never)],
          isGroup: k.isGroup === true,
          discriminantCount: num(k.discriminantCount),
          discriminantOffset: num(k.discriminantOffset),
          fields: arr(k.fields).map(fieldFromJson),
        },
      };
    case "enum":
      return {
        which: "enum",
        enum: {
          enumerants: arr(k.enumerants).map((e0): Enumerant => {
            const e = obj(e0);
            return { name: str(e.name), codeOrder: num(e.codeOrder), annotations: annotationsFromJson(e.annotations) };
          }),
        },
      };
    case "interface":
      return {
        which: "interface",
        interface: {
          methods: arr(k.methods).map((m0): Method => {
            const m = obj(m0);
            return {
              name: str(m.name),
              codeOrder: num(m.codeOrder),
              implicitParameters: arr(m.implicitParameters).map((p) => ({ name: str(obj(p).name) })),
              paramStructType: big(m.paramStructType),
              paramBrand: brandFromJson(m.paramBrand),
              resultStructType: big(m.resultStructType),
              resultBrand: brandFromJson(m.resultBrand),
              annotations: annotationsFromJson(m.annotations),
            };
          }),
          superclasses: arr(k.superclasses).map((s) => ({ id: big(obj(s).id), brand: brandFromJson(obj(s).brand) })),
        },
      };
    case "const":
      return { which: "const", const: { type: typeFromJson(k.type), value: valueFromJson(k.value) } };
    default: {
      const targets = [
        "targetsFile", "targetsConst", "targetsEnum", "targetsEnumerant", "targetsStruct", "targetsField",
        "targetsUnion", "targetsGroup", "targetsInterface", "targetsMethod", "targetsParam", "targetsAnnotation",
      ] as const;
      const a = Object.fromEntries(targets.map((t) => [t, k[t] === true])) as Record<(typeof targets)[number], boolean>;
      return { which: "annotation", annotation: { type: typeFromJson(k.type), ...a } };
    }
  }
}

/** Model nodes from capnp's JSON shape of a `Node` list (or of a whole `CodeGeneratorRequest`). */
export function nodesFromJson(json: Json): Node[] {
  const list = Array.isArray(json) ? json : arr(obj(json).nodes);
  return list.map((n0) => {
    const n = obj(n0);
    return {
      id: big(n.id),
      displayName: str(n.displayName),
      displayNamePrefixLength: num(n.displayNamePrefixLength),
      scopeId: big(n.scopeId),
      parameters: arr(n.parameters).map((p) => ({ name: str(obj(p).name) })),
      isGeneric: n.isGeneric === true,
      nestedNodes: arr(n.nestedNodes).map((x) => ({ name: str(obj(x).name), id: big(obj(x).id) })),
      annotations: annotationsFromJson(n.annotations),
      ...kindFromJson(n),
    } as Node;
  });
}

/** The nodes of file `fileId` and everything scoped under it, in input order. */
export function nodesOfFile(nodes: readonly Node[], fileId: bigint): Node[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const inFile = (n: Node): boolean => {
    for (let cur: Node | undefined = n, guard = 0; cur !== undefined && guard < 100; guard++) {
      if (cur.id === fileId) return true;
      cur = byId.get(cur.scopeId);
    }
    return false;
  };
  return nodes.filter(inFile);
}

// ---------------------------------------------------------------------------------------------------------
// Rendering

/** A TS expression for plain model data (bigint as `123n`, bytes as `new Uint8Array([...])`). */
export function toTsLiteral(v: unknown, indent = ""): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  if (v instanceof Uint8Array) return `new Uint8Array([${Array.from(v).join(", ")}])`;
  const inner = indent + "  ";
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return `[\n${v.map((x) => inner + toTsLiteral(x, inner)).join(",\n")},\n${indent}]`;
  }
  const entries = Object.entries(v as object).filter(([, x]) => x !== undefined);
  if (entries.length === 0) return "{}";
  const key = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k));
  return `{\n${entries.map(([k, x]) => `${inner}${key(k)}: ${toTsLiteral(x, inner)}`).join(",\n")},\n${indent}}`;
}

export function renderNodesModule(nodes: readonly Node[], source: string): string {
  return [
    "// Generated by scripts/gen-schema-nodes.ts -- do not edit.",
    `// Source: ${source}`,
    "// The model nodes of Cap'n Proto's schema.capnp (0.9.2): they drive the CodeGeneratorRequest codec.",
    "",
    'import type { Node } from "./schema.js";',
    "",
    `export const SCHEMA_CAPNP_NODES: readonly Node[] = ${toTsLiteral(nodes)};`,
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------------------

export const CAPNP_SRC_ROOT = process.env.CAPNP_SRC_ROOT ?? "/work/shared/corpus/capnproto-0.9.2";

/** The official compiler's request for schema.capnp, as the JSON shape. */
export function officialSchemaRequestJson(root = CAPNP_SRC_ROOT): Json {
  const bin = execFileSync("capnp", ["compile", "-o-", "-I", "src", "--no-standard-import", "src/capnp/schema.capnp"], {
    cwd: root,
    stdio: ["ignore", "pipe", "ignore"],
    maxBuffer: 1 << 28,
  });
  const text = execFileSync("capnp", ["convert", "binary:text", "src/capnp/schema.capnp", "CodeGeneratorRequest"], {
    cwd: root,
    input: bin,
    stdio: ["pipe", "pipe", "ignore"],
    maxBuffer: 1 << 28,
  }).toString("utf8");
  return parseCapnpText(text);
}

/** Model nodes of schema.capnp, from the official compiler. */
export function officialSchemaNodes(root = CAPNP_SRC_ROOT): Node[] {
  const json = officialSchemaRequestJson(root);
  const requested = arr(obj(json).requestedFiles).map((f) => big(obj(f).id));
  return nodesOfFile(nodesFromJson(json), requested[0]);
}

function main(): void {
  const out = join(dirname(fileURLToPath(import.meta.url)), "..", "generator", "model", "schema-capnp.nodes.ts");
  const nodes = officialSchemaNodes();
  writeFileSync(out, renderNodesModule(nodes, "capnp 0.9.2: capnp compile -o- src/capnp/schema.capnp | capnp convert binary:text"));
  console.log(`wrote ${nodes.length} nodes to ${out}`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
