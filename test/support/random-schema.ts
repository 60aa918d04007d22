/**
 * A seeded generator of random, valid Cap'n Proto schemas for the differential test against capnp 0.9.2.
 *
 * One seed gives a small project: 1-3 schema files (`r<seed>a.capnp`, `r<seed>b.capnp`, ...) where later
 * files import earlier ones, plus a binary file of printable bytes that `embed` reads and sometimes a second
 * one of arbitrary bytes (NUL, a UTF-8 BOM, invalid UTF-8), embedded as Text and as Data. They cover
 * shuffled ordinals, nested declarations, groups, named and unnamed unions (unions in groups and groups in
 * unions), every field type (primitives, Text, Data, lists of each incl. nested lists and lists of structs
 * and enums, enums incl. empty ones, structs, interfaces incl. ones without methods, AnyPointer and its
 * constrained forms), generic structs (fields of a parameter type, List of a parameter where capnp accepts
 * it, bare and bound uses), defaults of every kind (negative/hex/octal integers, floats incl. inf and nan,
 * strings with escapes, data, lists, struct literals incl. `()` and ones setting several members of one
 * union, enumerants, references to constants, embeds), constants (struct-typed ones a little more often),
 * annotations with targets and values, interfaces with methods and superclasses, and doc comments (rarely
 * with Latin-1 bytes, which are not UTF-8).
 *
 * Unions nested in unions can hit capnp 0.9.2's "Bad news" refusal (capnproto issue 344); the test expects
 * ipcgen to refuse those schemas too.
 *
 * Replay a seed: `node --import tsx test/support/random-schema.ts SEED [OUTDIR]` writes its files (default
 * OUTDIR: /tmp/ipcgen-random-SEED) and prints the capnp command that compiles them.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface GeneratedFile {
  name: string;
  contents: Uint8Array;
}

/**
 * Which corners a test wants. The compiler's differential test takes them all; a test of the generated
 * TypeScript leaves out what it cannot check yet (see its header).
 */
export interface SchemaCorners {
  /** Generic structs (default true). */
  generics?: boolean;
  /** The embedded file of arbitrary bytes, invalid UTF-8 included (default true). */
  rawBytes?: boolean;
  /** Enums without enumerants (default true). */
  emptyEnums?: boolean;
}

export interface GeneratedSchema {
  seed: number;
  /** Every file to write, schemas and embedded data alike. */
  files: GeneratedFile[];
  /** The schema files, in import order (each imports only earlier ones): the files to compile. */
  schemas: string[];
}

/** mulberry32: small, fast, good enough for test generation. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  bits(n: number): bigint {
    let v = 0n;
    for (let i = 0; i < n; i += 16) v = (v << 16n) | BigInt(this.int(65536));
    return BigInt.asUintN(n, v);
  }
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The declarations of one project, built first (names, nesting, types), printed second (values chosen then).

type IntName = "Int8" | "Int16" | "Int32" | "Int64" | "UInt8" | "UInt16" | "UInt32" | "UInt64";
type PrimName = "Void" | "Bool" | IntName | "Float32" | "Float64" | "Text" | "Data";
const INTS: readonly IntName[] = ["Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64"];
const PRIMS: readonly PrimName[] = ["Void", "Bool", ...INTS, "Float32", "Float64", "Text", "Data"];
type AnyName = "AnyPointer" | "AnyStruct" | "AnyList" | "Capability";

type Ty =
  | { k: "prim"; name: PrimName }
  | { k: "list"; elem: Ty }
  | { k: "enum"; decl: EnumDecl }
  /** `bound`: the generic structs among it and its ancestors that the name binds (`A(Text).B(Data)`). */
  | { k: "struct"; decl: StructDecl; bound?: Binding[] }
  /** The `index`th generic parameter of `owner`, in a field of `owner` or of a struct nested in it. */
  | { k: "param"; owner: StructDecl; index: number }
  | { k: "iface"; decl: IfaceDecl }
  | { k: "any"; name: AnyName };

interface Binding {
  owner: StructDecl;
  args: Ty[];
}

type Target =
  | "file"
  | "const"
  | "enum"
  | "enumerant"
  | "struct"
  | "field"
  | "union"
  | "group"
  | "interface"
  | "method"
  | "param"
  | "annotation";
const TARGETS: readonly Target[] = [
  "file",
  "const",
  "enum",
  "enumerant",
  "struct",
  "field",
  "union",
  "group",
  "interface",
  "method",
  "param",
  "annotation",
];

interface FileCtx {
  index: number;
  name: string;
  id: bigint;
  decls: Decl[];
  /** `using` names of the earlier files this one imports, by file index. */
  aliases: Map<number, string>;
}

interface DeclBase {
  name: string;
  /** Path from the file's top scope, e.g. ["Outer", "Inner"]. */
  path: string[];
  file: FileCtx;
  nested: Decl[];
}
interface StructDecl extends DeclBase {
  kind: "struct";
  /** Generic parameters (none: not generic). */
  params: string[];
  members: Member[];
}
interface EnumDecl extends DeclBase {
  kind: "enum";
  enumerants: { name: string; ordinal: number }[];
}
interface MethodDef {
  name: string;
  ordinal: number;
  params: ParamList;
  results: ParamList | null;
}
type ParamList = { k: "list"; params: { name: string; type: Ty }[] } | { k: "struct"; decl: StructDecl };
interface IfaceDecl extends DeclBase {
  kind: "interface";
  methods: MethodDef[];
  supers: IfaceDecl[];
}
interface ConstDecl extends DeclBase {
  kind: "const";
  type: Ty;
  /** Creation order: a constant's value refers only to constants created before it (no cycles). */
  order: number;
  /** The value as written, chosen before any file is printed. */
  valueText: string;
}
interface AnnDecl extends DeclBase {
  kind: "annotation";
  type: Ty;
  targets: Target[] | "*";
}
type Decl = StructDecl | EnumDecl | IfaceDecl | ConstDecl | AnnDecl;

type Member =
  | { m: "field"; name: string; ordinal: number; type: Ty }
  | { m: "group"; name: string; members: Member[] }
  | { m: "union"; name: string | null; ordinal: number | null; members: Member[] };

const WORDS = [
  "foo", "bar", "baz", "qux", "alpha", "beta", "gamma", "delta", "omega", "zeta", "kappa", "item",
  "value", "node", "thing", "info", "meta", "count", "size", "width", "blob", "entry", "key", "slot",
];

const TEXT_PIECES = [
  "a", "b", "Z", " ", "hello", "x y", "é", "日本", "😀", "\\n", "\\t", "\\\\", '\\"', "\\'", "\\x41", "\\101",
  "\\?", "\\a", "\\v", "\\r", "\\0", "\\x7f", "{", "#", "0", "\\b", "\\f",
];

class Generator {
  readonly rng: Rng;
  private counter = 0;
  private constOrder = 0;
  readonly files: FileCtx[] = [];
  private readonly all: Decl[] = [];
  readonly embedName: string;
  readonly embedBytes: Uint8Array;
  /** A second embedded file of arbitrary bytes (NUL, a UTF-8 BOM, invalid UTF-8), or null. */
  readonly rawName: string | null;
  readonly rawBytes: Uint8Array;

  constructor(
    readonly seed: number,
    private readonly corners: Required<SchemaCorners> = { generics: true, rawBytes: true, emptyEnums: true },
  ) {
    this.rng = new Rng(seed);
    this.embedName = `r${seed}.bin`;
    // Not empty: capnp 0.9.2 crashes (SIGSEGV) embedding an empty file as Text. Printable ASCII, so that the
    // same file can be embedded as Text.
    const n = this.rng.range(1, 24);
    this.embedBytes = new Uint8Array(n);
    for (let i = 0; i < n; i++) this.embedBytes[i] = 0x20 + this.rng.int(95);
    this.rawName = this.rng.chance(corners.rawBytes ? 0.25 : 0) ? `r${seed}x.bin` : null;
    this.rawBytes = this.rawName === null ? new Uint8Array(0) : this.randomBytes();
  }

  /** 1-40 bytes (never empty: see embedBytes): random, UTF-8 or Latin-1 pieces, sometimes after a BOM. */
  private randomBytes(): Uint8Array {
    const out: number[] = this.rng.chance(0.3) ? [0xef, 0xbb, 0xbf] : [];
    const pieces: (() => number[])[] = [
      () => [this.rng.int(256)],
      () => [0x20 + this.rng.int(95)],
      () => [...new TextEncoder().encode(this.rng.pick(["é", "日本", "😀", "\n"]))],
      () => [this.rng.pick([0x80, 0xbf, 0xc0, 0xc3, 0xe9, 0xed, 0xf0, 0xf5, 0xfe, 0xff])], // invalid alone
      () => [0xed, 0xa0, 0x80], // an encoded surrogate
      () => [0xf0, 0x9f, 0x98], // a truncated sequence
      () => [0xc0, 0x80], // an overlong NUL
      () => [0],
      () => [0xef, 0xbb, 0xbf], // a BOM not at the start
    ];
    for (let i = this.rng.range(1, 16); i > 0; i--) out.push(...this.rng.pick(pieces)());
    return new Uint8Array(out);
  }

  /** The name of a file to embed: the printable one, or the arbitrary bytes (for Text too). */
  private embed(): string {
    return `embed "${this.rawName !== null && this.rng.chance(0.5) ? this.rawName : this.embedName}"`;
  }

  private word(): string {
    return `${this.rng.pick(WORDS)}${this.counter++}`;
  }
  private lower(): string {
    return this.word();
  }
  private upper(): string {
    const w = this.word();
    return w[0].toUpperCase() + w.slice(1);
  }

  // ----- phase 1: declarations -------------------------------------------------------------------------

  build(): void {
    const fileCount = this.rng.chance(0.55) ? 1 : this.rng.chance(0.6) ? 2 : 3;
    for (let i = 0; i < fileCount; i++) {
      const file: FileCtx = {
        index: i,
        name: `r${this.seed}${"abc"[i]}.capnp`,
        id: this.rng.bits(64) | (1n << 63n),
        decls: [],
        aliases: new Map(),
      };
      for (let j = 0; j < i; j++) file.aliases.set(j, `Imp${this.upper()}`);
      this.files.push(file);
      const count = this.rng.range(1, 6);
      for (let d = 0; d < count; d++) file.decls.push(this.makeDecl(file, [], 0));
    }
    // Types are chosen once every declaration exists, so any of them (earlier files included) can be used.
    for (const decl of this.all) this.fill(decl);
    for (const decl of this.all) if (decl.kind === "const") decl.valueText = this.value(decl.type, decl.file, decl.order);
  }

  private makeDecl(file: FileCtx, parent: string[], depth: number, kinds?: Decl["kind"][]): Decl {
    const kind =
      kinds !== undefined
        ? this.rng.pick(kinds)
        : this.rng.pick<Decl["kind"]>(["struct", "struct", "struct", "enum", "interface", "const", "const", "annotation"]);
    const name = kind === "const" || kind === "annotation" ? this.lower() : this.upper();
    const base = { name, path: [...parent, name], file, nested: [] as Decl[] };
    let decl: Decl;
    switch (kind) {
      case "struct":
        decl = { ...base, kind, members: [], params: this.rng.chance(this.corners.generics ? 0.12 : 0) ? Array.from({ length: this.rng.range(1, 4) }, () => this.upper()) : [] };
        break;
      case "enum":
        decl = { ...base, kind, enumerants: [] };
        break;
      case "interface":
        decl = { ...base, kind, methods: [], supers: [] };
        break;
      case "const":
        decl = { ...base, kind, type: { k: "prim", name: "Void" }, order: this.constOrder++, valueText: "" };
        break;
      case "annotation":
        decl = { ...base, kind, type: { k: "prim", name: "Void" }, targets: "*" };
        break;
    }
    this.all.push(decl);
    if ((kind === "struct" || kind === "interface") && depth < 2) {
      const n = this.rng.chance(0.5) ? 0 : this.rng.range(1, 3);
      for (let i = 0; i < n; i++) {
        const child = this.makeDecl(file, decl.path, depth + 1);
        this.parent.set(child, decl);
        decl.nested.push(child);
      }
    }
    return decl;
  }

  /** Declarations visible from `file`: its own and those of the files it imports. */
  private visible(file: FileCtx): Decl[] {
    return this.all.filter((d) => d.file.index <= file.index);
  }

  /**
   * A random type for `file`. In the fields of a generic struct (`scope`), sometimes one of its parameters;
   * in a list only the third or a later one: capnp 0.9.2 refuses List(P) of the first parameter
   * ("'List(AnyPointer)' is not supported") and of the second ("List(AnyStruct)"), as errors.test.ts's
   * list-of-generic-parameter shows.
   */
  private randomType(file: FileCtx, depth = 0, opts: { noAny?: boolean; inList?: boolean } = {}): Ty {
    if (this.scope.length > 0 && this.rng.chance(0.15)) {
      const params = this.scope.flatMap((owner) => owner.params.map((_, index) => ({ owner, index }))).filter((p) => !opts.inList || p.index >= 2);
      if (params.length > 0) return { k: "param", ...this.rng.pick(params) };
    }
    const r = this.rng.next();
    if (r < 0.5) return { k: "prim", name: this.rng.pick(PRIMS) };
    if (r < 0.68 && depth < 3) {
      // No List(AnyPointer) in 0.9.2.
      return { k: "list", elem: this.randomType(file, depth + 1, { noAny: true, inList: true }) };
    }
    const visible = this.visible(file);
    const structs = visible.filter((d): d is StructDecl => d.kind === "struct");
    const enums = visible.filter((d): d is EnumDecl => d.kind === "enum");
    const ifaces = visible.filter((d): d is IfaceDecl => d.kind === "interface");
    if (r < 0.8 && structs.length > 0) {
      const decl = this.rng.pick(structs);
      // A generic struct (or one nested in a generic struct) bare, its parameters AnyPointer (or, inside the
      // generic struct, its own), or bound, every parameter to a pointer type.
      const bound: Binding[] = [];
      for (const owner of this.genericChain(decl)) {
        if (depth < 2 && this.rng.chance(0.6)) bound.push({ owner, args: owner.params.map(() => this.bindingType(file, depth + 1)) });
      }
      return bound.length === 0 ? { k: "struct", decl } : { k: "struct", decl, bound };
    }
    if (r < 0.9 && enums.length > 0) return { k: "enum", decl: this.rng.pick(enums) };
    if (r < 0.95 && ifaces.length > 0) return { k: "iface", decl: this.rng.pick(ifaces) };
    if (!opts.noAny) return { k: "any", name: this.rng.chance(0.6) ? "AnyPointer" : this.rng.pick<AnyName>(["AnyStruct", "AnyList", "Capability"]) };
    return { k: "prim", name: this.rng.pick(PRIMS) };
  }

  /** A type a generic parameter may be bound to: only pointer types (no AnyStruct, AnyList, Capability). */
  private bindingType(file: FileCtx, depth: number): Ty {
    for (;;) {
      const t = this.randomType(file, depth);
      if (t.k === "prim" ? t.name === "Text" || t.name === "Data" : t.k !== "enum" && (t.k !== "any" || t.name === "AnyPointer")) return t;
    }
  }

  /** While a struct's members are made: the generic structs among it and its ancestors, whose parameters its fields may use. */
  private scope: StructDecl[] = [];
  /** The declaration each nested one is declared in. */
  private readonly parent = new Map<Decl, Decl>();

  /** The generic structs among `decl` and the declarations it is nested in. */
  private genericChain(decl: Decl): StructDecl[] {
    const out: StructDecl[] = [];
    for (let d: Decl | undefined = decl; d !== undefined; d = this.parent.get(d)) if (d.kind === "struct" && d.params.length > 0) out.push(d);
    return out;
  }

  /** A type that can hold a literal value (for constants and annotations). */
  private valueType(file: FileCtx): Ty {
    for (;;) {
      const t = this.randomType(file, 0, { noAny: true });
      if (this.hasLiteral(t)) return t;
    }
  }

  private hasLiteral(t: Ty): boolean {
    if (t.k === "iface" || t.k === "any" || t.k === "param") return false;
    if (t.k === "enum") return t.decl.enumerants.length > 0;
    if (t.k === "list") return this.hasLiteral(t.elem);
    return true;
  }

  private fill(decl: Decl): void {
    const file = decl.file;
    switch (decl.kind) {
      case "struct": {
        this.scope = this.genericChain(decl);
        decl.members = this.structBody(file, 0, true);
        this.scope = [];
        // Ordinals: one sequence over the whole struct (groups and unions included), shuffled.
        const numbered: { ordinal: number | null }[] = [];
        const walk = (ms: Member[]): void => {
          for (const m of ms) {
            if (m.m === "field") numbered.push(m);
            else {
              if (m.m === "union" && m.ordinal !== null) numbered.push(m);
              walk(m.members);
            }
          }
        };
        walk(decl.members);
        const ordinals = this.rng.shuffle(numbered.map((_, i) => i));
        numbered.forEach((m, i) => (m.ordinal = ordinals[i]));
        // A union's own ordinal must come before its members' (its discriminant is placed then): swap it
        // with the smallest below it. Outer unions first; a swap inside a union keeps its outer sets intact.
        const fix = (ms: Member[]): void => {
          for (const m of ms) {
            if (m.m === "field") continue;
            if (m.m === "union" && m.ordinal !== null) {
              const inside: { ordinal: number | null }[] = [];
              const collect = (xs: Member[]): void => {
                for (const x of xs) {
                  if (x.m === "field" || (x.m === "union" && x.ordinal !== null)) inside.push(x);
                  if (x.m !== "field") collect(x.members);
                }
              };
              collect(m.members);
              const min = inside.reduce((a, b) => (b.ordinal! < a.ordinal! ? b : a));
              if (min.ordinal! < m.ordinal) [min.ordinal, m.ordinal] = [m.ordinal, min.ordinal!];
            }
            fix(m.members);
          }
        };
        fix(decl.members);
        break;
      }
      case "enum": {
        // Sometimes empty: no value can name one of its enumerants (hasLiteral).
        const n = this.rng.chance(this.corners.emptyEnums ? 0.06 : 0) ? 0 : this.rng.range(1, 6);
        const ordinals = this.rng.shuffle(Array.from({ length: n }, (_, i) => i));
        decl.enumerants = ordinals.map((ordinal) => ({ name: this.lower(), ordinal }));
        break;
      }
      case "interface": {
        const n = this.rng.range(0, 4);
        const ordinals = this.rng.shuffle(Array.from({ length: n }, (_, i) => i));
        decl.methods = ordinals.map((ordinal) => ({
          name: this.lower(),
          ordinal,
          params: this.paramList(file),
          results: this.rng.chance(0.2) ? null : this.paramList(file),
        }));
        // Superclasses: only interfaces declared earlier, so there are no cycles.
        const earlier = this.all.slice(0, this.all.indexOf(decl)).filter((d): d is IfaceDecl => d.kind === "interface" && d.file.index <= file.index);
        if (earlier.length > 0 && this.rng.chance(0.4)) {
          const supers = new Set<IfaceDecl>();
          for (let i = this.rng.range(1, 2); i > 0; i--) supers.add(this.rng.pick(earlier));
          decl.supers = [...supers];
        }
        break;
      }
      case "const": {
        // Struct-typed constants a little more often than randomType's share.
        const structs = this.visible(file).filter((d): d is StructDecl => d.kind === "struct");
        decl.type = structs.length > 0 && this.rng.chance(0.15) ? { k: "struct", decl: this.rng.pick(structs) } : this.valueType(file);
        break;
      }
      case "annotation":
        decl.type = this.rng.chance(0.3) ? { k: "prim", name: "Void" } : this.valueType(file);
        decl.targets = this.rng.chance(0.35) ? "*" : this.rng.shuffle([...TARGETS]).slice(0, this.rng.range(1, 5));
        break;
    }
  }

  private paramList(file: FileCtx): ParamList {
    const structs = this.visible(file).filter((d): d is StructDecl => d.kind === "struct" && d.params.length === 0);
    if (structs.length > 0 && this.rng.chance(0.15)) return { k: "struct", decl: this.rng.pick(structs) };
    const n = this.rng.range(0, 3);
    return { k: "list", params: Array.from({ length: n }, () => ({ name: this.lower(), type: this.randomType(file) })) };
  }

  private structBody(file: FileCtx, depth: number, allowUnnamedUnion: boolean, inUnion = false): Member[] {
    const members: Member[] = [];
    const n = inUnion ? this.rng.range(2, 4) : this.rng.range(depth === 0 ? 0 : 1, depth === 0 ? 7 : 3);
    let unnamedUnion = !allowUnnamedUnion;
    for (let i = 0; i < n; i++) {
      const r = this.rng.next();
      if (depth < 3 && r < 0.1) {
        members.push({ m: "group", name: this.lower(), members: this.structBody(file, depth + 1, true) });
      } else if (depth < 3 && r < 0.2 && !inUnion) {
        members.push({
          m: "union",
          name: this.lower(),
          ordinal: this.rng.chance(0.1) ? 0 : null,
          members: this.structBody(file, depth + 1, false, true),
        });
      } else if (depth < 3 && r < 0.27 && !unnamedUnion && !inUnion) {
        unnamedUnion = true;
        members.push({ m: "union", name: null, ordinal: null, members: this.structBody(file, depth + 1, false, true) });
      } else {
        members.push({ m: "field", name: this.lower(), ordinal: 0, type: this.randomType(file) });
      }
    }
    return members;
  }

  // ----- phase 2: printing, with values --------------------------------------------------------------

  /** How `decl` is named from `file`. */
  private ref(decl: Decl, from: FileCtx, absolute = true, bound: Binding[] = []): string {
    let path = decl.path.join(".");
    if (bound.length > 0) {
      const chain: Decl[] = [];
      for (let d: Decl | undefined = decl; d !== undefined; d = this.parent.get(d)) chain.unshift(d);
      path = chain
        .map((d) => {
          const b = bound.find((x) => x.owner === d);
          return b === undefined ? d.name : `${d.name}(${b.args.map((a) => this.typeName(a, from)).join(", ")})`;
        })
        .join(".");
    }
    if (decl.file === from) return absolute && this.rng.chance(0.3) ? `.${path}` : path;
    if (this.rng.chance(0.25)) return `import "${decl.file.name}".${path}`;
    return `${from.aliases.get(decl.file.index)}.${path}`;
  }

  /** `:Type`, spaced as `: .Type` for an absolute name (the lexer would read `:.` as one operator). */
  private colonType(t: Ty, from: FileCtx): string {
    const name = this.typeName(t, from);
    return name.startsWith(".") ? `: ${name}` : `:${name}`;
  }

  typeName(t: Ty, from: FileCtx): string {
    switch (t.k) {
      case "prim":
        return t.name;
      case "list":
        return `List(${this.typeName(t.elem, from)})`;
      case "any":
        return t.name;
      case "param":
        return t.owner.params[t.index];
      case "struct":
        return this.ref(t.decl, from, true, t.bound);
      default:
        return this.ref(t.decl, from);
    }
  }

  private sameType(a: Ty, b: Ty): boolean {
    if (a.k !== b.k) return false;
    switch (a.k) {
      case "prim":
        return a.name === (b as typeof a).name;
      case "list":
        return this.sameType(a.elem, (b as typeof a).elem);
      case "any":
        return a.name === (b as typeof a).name;
      case "param":
        return a.owner === (b as typeof a).owner && a.index === (b as typeof a).index;
      case "struct": {
        const { decl, bound = [] } = b as typeof a;
        const mine = a.bound ?? [];
        if (a.decl !== decl || mine.length !== bound.length) return false;
        return mine.every((x, i) => x.owner === bound[i].owner && x.args.every((y, j) => this.sameType(y, bound[i].args[j])));
      }
      default:
        return a.decl === (b as typeof a).decl;
    }
  }

  private intLiteral(name: IntName): string {
    const bits = Number(name.replace(/\D/g, ""));
    const signed = name.startsWith("Int");
    const r = this.rng.next();
    let v: bigint;
    if (r < 0.3) v = BigInt(this.rng.range(0, 10));
    else if (r < 0.4) v = signed ? -(1n << BigInt(bits - 1)) : (1n << BigInt(bits)) - 1n;
    else if (r < 0.5) v = signed ? (1n << BigInt(bits - 1)) - 1n : 0n;
    else {
      v = this.rng.bits(bits);
      if (signed) v = BigInt.asIntN(bits, v);
    }
    const neg = v < 0n;
    const mag = neg ? -v : v;
    const form = this.rng.next();
    const digits = form < 0.2 ? `0x${mag.toString(16)}` : form < 0.3 && mag > 0n ? `0${mag.toString(8)}` : mag.toString();
    return neg ? `-${digits}` : digits;
  }

  private floatLiteral(name: "Float32" | "Float64"): string {
    const r = this.rng.next();
    if (r < 0.06) return "inf";
    if (r < 0.12) return "-inf";
    if (r < 0.18) return "nan";
    if (r < 0.3) return `${this.rng.chance(0.3) ? "-" : ""}${this.rng.range(0, 100000)}`;
    if (r < 0.36) return `0x${this.rng.range(0, 0xffff).toString(16)}`;
    const maxExp = name === "Float32" ? 30 : 300;
    const sign = this.rng.chance(0.4) ? "-" : "";
    const int = String(this.rng.range(0, 99999));
    const frac = this.rng.chance(0.7) ? `.${this.rng.range(0, 999999)}` : "";
    const exp = this.rng.chance(0.5) ? `${this.rng.pick(["e", "E"])}${this.rng.pick(["", "+", "-"])}${this.rng.range(0, maxExp)}` : "";
    return `${sign}${int}${frac}${exp}` + (frac === "" && exp === "" ? ".5" : "");
  }

  private textLiteral(): string {
    let s = "";
    for (let i = this.rng.range(0, 5); i > 0; i--) {
      let piece = this.rng.pick(TEXT_PIECES);
      if (piece === "\\0") piece = "\\60"; // "0": no NUL in Text
      s += piece;
    }
    return `"${s}"`;
  }

  private dataLiteral(): string {
    const r = this.rng.next();
    if (r < (this.rawName === null ? 0.15 : 0.3)) return this.embed();
    if (r < 0.4) {
      let s = "";
      for (let i = this.rng.range(0, 4); i > 0; i--) s += this.rng.pick(["ab", "\\xff", "\\0", "\\x80", "é", " "]);
      return `"${s}"`;
    }
    let s = "";
    for (let i = this.rng.range(1, 9); i > 0; i--) {
      s += this.rng.int(256).toString(16).padStart(2, "0");
      if (this.rng.chance(0.4)) s += " ";
    }
    return `0x"${s.trim()}"`;
  }

  /**
   * A literal of type `t`, printed for use in `from`. `constLimit` bounds which constants may be named
   * (those created before the constant being defined, or all of them).
   */
  value(t: Ty, from: FileCtx, constLimit: number, depth = 0): string {
    // Sometimes name a constant of the same type instead.
    // Not for an enum: capnp 0.9.2 rejects an enum-typed constant as an enum value ("Type mismatch"; the
    // errors test covers that).
    if (t.k !== "enum" && this.rng.chance(0.12)) {
      const consts = this.visible(from).filter(
        (d): d is ConstDecl => d.kind === "const" && d.order < constLimit && this.sameType(d.type, t),
      );
      if (consts.length > 0) return this.constRef(this.rng.pick(consts), from);
    }
    switch (t.k) {
      case "prim":
        switch (t.name) {
          case "Void":
            return "void";
          case "Bool":
            return this.rng.chance(0.5) ? "true" : "false";
          case "Float32":
          case "Float64":
            return this.floatLiteral(t.name);
          case "Text":
            return this.rng.chance(this.rawName === null ? 0.08 : 0.2) ? this.embed() : this.textLiteral();
          case "Data":
            return this.dataLiteral();
          default:
            return this.intLiteral(t.name);
        }
      case "enum":
        return this.rng.pick(t.decl.enumerants).name;
      case "list": {
        const n = depth > 3 ? 0 : this.rng.range(0, 3);
        return `[${Array.from({ length: n }, () => this.value(t.elem, from, constLimit, depth + 1)).join(", ")}]`;
      }
      case "struct":
        // Sometimes the empty literal `()`, at any depth.
        return this.rng.chance(0.1) ? "()" : this.structLiteral(t.decl.members, from, constLimit, depth, false, this.bindings(t));
      default:
        throw new Error(`no literal for ${t.k}`);
    }
  }

  /**
   * The members of a union a struct literal sets: usually one, sometimes two or three (distinct, in random
   * order; the last one set is the union's member in the value, the others' values are overwritten).
   */
  private unionPicks(members: Member[]): Member[] {
    if (members.length < 2 || !this.rng.chance(0.15)) return [this.rng.pick(members)];
    return this.rng.shuffle([...members]).slice(0, this.rng.range(2, Math.min(3, members.length)));
  }

  /** The generic parameters a struct type binds, by owner. */
  private bindings(t: Ty & { k: "struct" }): Map<StructDecl, Ty[]> {
    return new Map((t.bound ?? []).map((b) => [b.owner, b.args]));
  }

  /** `t` with the parameters `subst` binds replaced (in lists too); others stay parameters (no literal). */
  private substitute(t: Ty, subst: Map<StructDecl, Ty[]>): Ty {
    if (t.k === "param") return subst.get(t.owner)?.[t.index] ?? t;
    if (t.k === "list") return { k: "list", elem: this.substitute(t.elem, subst) };
    return t;
  }

  /**
   * A struct literal; `all` sets every member given (the picks of a named union), else each at 60%. Fields
   * of a generic parameter that the struct's type binds (`subst`) take values of the bound type.
   */
  private structLiteral(members: Member[], from: FileCtx, constLimit: number, depth: number, all = false, subst = new Map<StructDecl, Ty[]>()): string {
    if (depth > 3) return "()";
    const parts: string[] = [];
    const assign = (m: Member): void => {
      if (m.m === "field") {
        const type = subst.size > 0 ? this.substitute(m.type, subst) : m.type;
        if (this.hasLiteral(type)) parts.push(`${m.name} = ${this.value(type, from, constLimit, depth + 1)}`);
        else if (m.type.k === "any" && m.type.name !== "Capability") {
          const target = this.anyPointerConst(from, constLimit, m.type.name);
          if (target !== null) parts.push(`${m.name} = ${target}`);
        }
      } else if (m.m === "group") {
        parts.push(`${m.name} = ${this.structLiteral(m.members, from, constLimit, depth + 1, false, subst)}`);
      } else if (m.name !== null) {
        parts.push(`${m.name} = ${this.structLiteral(this.unionPicks(m.members), from, constLimit, depth + 1, true, subst)}`);
      } else {
        for (const x of this.unionPicks(m.members)) assign(x); // members of the unnamed union
      }
    };
    for (const m of members) if (all || this.rng.chance(0.6)) assign(m);
    return `(${parts.join(", ")})`;
  }

  /** A constant's name in a value: a top-level one of the same file must be written `.name`. */
  private constRef(decl: ConstDecl, from: FileCtx): string {
    return decl.file === from && decl.path.length === 1 ? `.${decl.name}` : this.ref(decl, from);
  }

  /** A constant of struct or list type that an AnyPointer (of the given kind) may be set to. */
  private anyPointerConst(from: FileCtx, constLimit: number, kind: AnyName): string | null {
    const consts = this.visible(from).filter(
      (d): d is ConstDecl =>
        d.kind === "const" &&
        d.order < constLimit &&
        ((d.type.k === "struct" && kind !== "AnyList") || (d.type.k === "list" && kind !== "AnyStruct")),
    );
    return consts.length > 0 && this.rng.chance(0.5) ? this.constRef(this.rng.pick(consts), from) : null;
  }

  /**
   * Zero to two annotation applications for a `target` in or on the declaration `on`. Annotations whose
   * type is `on` itself are left out, and an annotation declaration takes only annotations declared before
   * it: either would make it depend on itself.
   */
  private annotations(target: Target, from: FileCtx, constLimit: number, on?: Decl): string {
    if (!this.rng.chance(0.3)) return "";
    const limit = on?.kind === "annotation" ? this.all.indexOf(on) : this.all.length;
    const anns = this.visible(from).filter((d): d is AnnDecl => {
      if (d.kind !== "annotation" || this.all.indexOf(d) >= limit) return false;
      if (on !== undefined && this.reaches(d.type, on, new Set())) return false;
      // On an annotation declaration, no value naming an enum or struct either: capnp 0.9.2 reports
      // "Declaration recursively depends on itself" for `enum E $q(true) {...}` when q is declared
      // `annotation q(enum) :Bool $s(a)` with `annotation s(*) :E` (random seed 3206 before this rule).
      if (on?.kind === "annotation" && this.namesDecl(d.type)) return false;
      return d.targets === "*" || d.targets.includes(target);
    });
    let out = "";
    for (let i = this.rng.range(1, 2); i > 0 && anns.length > 0; i--) {
      const a = this.rng.pick(anns);
      // Not `$.name`: the lexer would read `$.` as one operator.
      const name = this.ref(a, from, false);
      if (a.type.k === "prim" && a.type.name === "Void") out += ` $${name}`;
      else if (a.type.k === "struct" && this.rng.chance(0.5)) {
        // `$ann(a = 1)`: a struct value written without its own parentheses.
        out += ` $${name}${this.structLiteral(a.type.decl.members, from, constLimit, 1, false, this.bindings(a.type))}`;
      } else out += ` $${name}(${this.value(a.type, from, constLimit)})`;
    }
    return out;
  }

  /** Whether a value of type `t` names a declaration's schema (an enum or struct, in lists too). */
  private namesDecl(t: Ty): boolean {
    return t.k === "list" ? this.namesDecl(t.elem) : t.k === "struct" || t.k === "enum";
  }

  /** Whether a value of type `t` can contain a `decl` (through lists and struct fields). */
  private reaches(t: Ty, decl: Decl, seen: Set<Decl>): boolean {
    if (t.k === "list") return this.reaches(t.elem, decl, seen);
    if (t.k === "struct" && t.bound?.some((b) => b.args.some((a) => this.reaches(a, decl, seen)))) return true;
    if (t.k !== "struct" && t.k !== "enum") return false;
    if (t.decl === decl) return true;
    if (t.k === "enum" || seen.has(t.decl)) return false;
    seen.add(t.decl);
    const inMembers = (ms: Member[]): boolean =>
      ms.some((m) => (m.m === "field" ? this.reaches(m.type, decl, seen) : inMembers(m.members)));
    return inMembers(t.decl.members);
  }

  private doc(indent: string): string {
    if (!this.rng.chance(0.3)) return "";
    const lines = this.rng.range(1, 2);
    let out = "";
    for (let i = 0; i < lines; i++) {
      const text = this.rng.chance(0.015) ? this.latin1() : this.rng.pick(["doc", "comment", "é ü", "`code`", ""]);
      out += `${indent}# ${this.rng.pick(WORDS)} ${text}\n`;
    }
    return out;
  }

  /**
   * Text that is not UTF-8: Latin-1 bytes (0x80-0xff), written as the private-use characters U+E080-U+E0FF
   * that encodeFile turns into those single bytes.
   */
  private latin1(): string {
    let s = "";
    for (let i = this.rng.range(1, 4); i > 0; i--) {
      s += this.rng.pick(["caf", "na", " ", "x"]) + String.fromCharCode(0xe000 + this.rng.pick([0xe9, 0xfc, 0xe0, 0xa0, 0xff, 0x80, 0xc3, 0xb6]));
    }
    return s;
  }

  /** A trailing doc comment on the same line, or none. */
  private trailing(): string {
    return this.rng.chance(0.2) ? `  # ${this.rng.pick(WORDS)} ${this.rng.chance(0.015) ? this.latin1() : "trailing"}` : "";
  }

  printFile(file: FileCtx): string {
    const ALL = Infinity;
    let out = `@0x${file.id.toString(16)};${this.trailing()}\n`;
    out += this.doc("");
    for (const [index, alias] of file.aliases) out += `using ${alias} = import "${this.files[index].name}";\n`;
    // One `$ann;` statement per annotation.
    for (const ann of this.annotations("file", file, ALL).split(" $").slice(1)) out += `$${ann};\n`;
    for (const decl of file.decls) out += "\n" + this.printDecl(decl, "");
    return out;
  }

  private printDecl(decl: Decl, indent: string): string {
    const f = decl.file;
    const ALL = Infinity;
    const inner = indent + "  ";
    const nested = (): string => decl.nested.map((d) => this.printDecl(d, inner)).join("");
    switch (decl.kind) {
      case "struct":
        return (
          `${indent}struct ${decl.name}${decl.params.length > 0 ? `(${decl.params.join(", ")})` : ""}${this.annotations("struct", f, ALL, decl)} {${this.trailing()}\n` +
          this.doc(inner) +
          this.printMembers(decl.members, decl, inner) +
          nested() +
          `${indent}}\n`
        );
      case "enum":
        return (
          `${indent}enum ${decl.name}${this.annotations("enum", f, ALL, decl)} {\n` +
          this.doc(inner) +
          decl.enumerants.map((e) => `${inner}${e.name} @${e.ordinal}${this.annotations("enumerant", f, ALL, decl)};${this.trailing()}\n${this.doc(inner)}`).join("") +
          `${indent}}\n`
        );
      case "interface": {
        const supers = decl.supers.length > 0 ? ` extends(${decl.supers.map((s) => this.ref(s, f)).join(", ")})` : "";
        const methods = decl.methods
          .map((m) => {
            const results = m.results === null ? "" : ` -> ${this.printParams(m.results, decl)}`;
            return `${inner}${m.name} @${m.ordinal} ${this.printParams(m.params, decl)}${results}${this.annotations("method", f, ALL, decl)};${this.trailing()}\n${this.doc(inner)}`;
          })
          .join("");
        return `${indent}interface ${decl.name}${supers}${this.annotations("interface", f, ALL, decl)} {\n${this.doc(inner)}${methods}${nested()}${indent}}\n`;
      }
      case "const":
        return `${indent}const ${decl.name} ${this.colonType(decl.type, f)} = ${this.value(decl.type, f, decl.order)}${this.annotations("const", f, decl.order)};${this.trailing()}\n${this.doc(indent)}`;
      case "annotation": {
        const targets = decl.targets === "*" ? "*" : decl.targets.join(", ");
        return `${indent}annotation ${decl.name}(${targets}) ${this.colonType(decl.type, f)}${this.annotations("annotation", f, ALL, decl)};${this.trailing()}\n${this.doc(indent)}`;
      }
    }
  }

  private printParams(p: ParamList, iface: IfaceDecl): string {
    const f = iface.file;
    if (p.k === "struct") return this.ref(p.decl, f);
    const params = p.params.map((param) => {
      const def = this.hasLiteral(param.type) && this.rng.chance(0.25) ? ` = ${this.value(param.type, f, Infinity)}` : "";
      return `${param.name} ${this.colonType(param.type, f)}${def}${this.annotations("param", f, Infinity, iface)}`;
    });
    return `(${params.join(", ")})`;
  }

  /** The members of `struct` (or of one of its groups or unions). */
  private printMembers(members: Member[], struct: StructDecl, indent: string): string {
    const f = struct.file;
    const inner = indent + "  ";
    let out = "";
    for (const m of members) {
      if (m.m === "field") {
        let def = "";
        if (this.hasLiteral(m.type) && this.rng.chance(0.4)) def = ` = ${this.value(m.type, f, Infinity)}`;
        else if (m.type.k === "any" && m.type.name !== "Capability" && this.rng.chance(0.3)) {
          const target = this.anyPointerConst(f, Infinity, m.type.name);
          if (target !== null) def = ` = ${target}`;
        }
        out += `${indent}${m.name} @${m.ordinal} ${this.colonType(m.type, f)}${def}${this.annotations("field", f, Infinity, struct)};${this.trailing()}\n${this.doc(indent)}`;
      } else if (m.m === "group") {
        out += `${indent}${m.name} :group${this.annotations("group", f, Infinity, struct)} {\n${this.doc(inner)}${this.printMembers(m.members, struct, inner)}${indent}}\n`;
      } else {
        // An unnamed union takes no annotations.
        const head = m.name === null ? "union" : `${m.name} ${m.ordinal !== null ? `@${m.ordinal}! ` : ""}:union${this.annotations("union", f, Infinity, struct)}`;
        out += `${indent}${head} {\n${this.doc(inner)}${this.printMembers(m.members, struct, inner)}${indent}}\n`;
      }
    }
    return out;
  }
}

/** The schema project of one seed. Deterministic: the same seed (and corners) always gives the same bytes. */
export function generateSchema(seed: number, corners: SchemaCorners = {}): GeneratedSchema {
  const g = new Generator(seed, { generics: corners.generics ?? true, rawBytes: corners.rawBytes ?? true, emptyEnums: corners.emptyEnums ?? true });
  g.build();
  const files: GeneratedFile[] = g.files.map((f) => ({ name: f.name, contents: encodeFile(g.printFile(f)) }));
  files.push({ name: g.embedName, contents: g.embedBytes });
  if (g.rawName !== null) files.push({ name: g.rawName, contents: g.rawBytes });
  return { seed, files, schemas: g.files.map((f) => f.name) };
}

/** UTF-8, except that U+E000-U+E0FF (see Generator.latin1) stand for the single bytes 0x00-0xff. */
function encodeFile(text: string): Uint8Array {
  const enc = new TextEncoder();
  const parts = text.split(/([\uE000-\uE0FF])/);
  const chunks = parts.map((p, i) => (i % 2 === 1 ? Uint8Array.of(p.charCodeAt(0) - 0xe000) : enc.encode(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Writes a generated project into `dir`. */
export function writeSchema(schema: GeneratedSchema, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const f of schema.files) writeFileSync(join(dir, f.name), f.contents);
}

/** The seed a generated file name belongs to (`r123b.capnp` -> 123), or null. */
export function seedOfFile(name: string): number | null {
  const m = /^r(\d+)[a-z]?\.(capnp|bin)$/.exec(name);
  return m === null ? null : Number(m[1]);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const seed = Number(process.argv[2]);
  if (!Number.isInteger(seed)) {
    console.error("usage: node --import tsx test/support/random-schema.ts SEED [OUTDIR]");
    process.exit(2);
  }
  const dir = resolve(process.argv[3] ?? `/tmp/ipcgen-random-${seed}`);
  const schema = generateSchema(seed);
  writeSchema(schema, dir);
  console.log(`wrote ${schema.files.map((f) => f.name).join(", ")} to ${dir}`);
  console.log(`cd ${dir} && capnp compile -o- --no-standard-import ${schema.schemas.join(" ")}`);
}
