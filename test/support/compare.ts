/**
 * Deep comparison of two models (`CodeGeneratorRequest`s), reporting differences as readable paths:
 *
 *   nodes[id=0x…](capnp/test.capnp:TestAllTypes).struct.fields[3](int16Field).slot.offset: expected 2, got 3
 *
 * Normalization sorts `nodes` and `sourceInfo` by id (their order carries no meaning: capnp emits them in
 * hash-map order); everything else keeps its order (fields, enumerants, methods, nested nodes, requested
 * files and annotations are ordered lists in the schema). Values are compared exactly: bigints by value,
 * numbers with `Object.is` (so NaN equals NaN and -0 differs from 0), `Uint8Array`s byte by byte, and
 * `PointerValue`s by their canonical bytes and then by their layout as written (`recordedPointerBytes`:
 * capnp stores struct-valued defaults at full size, which the canonical form hides).
 *
 * Null is told apart from empty: both requests are compared as written (encoded by the request encoder and
 * decoded again, which records for each empty list and Data and each absent struct whether its pointer was
 * null, see `markNullness`), and a null pointer differs from a present empty list or struct. (Text cannot
 * carry the record: a null Text and an empty one both read as "".)
 */
import { recordedNullness, recordedPointerBytes } from "../../generator/model/codec.js";
import { decodeRequest, encodeRequest } from "../../generator/model/request.js";
import type { CodeGeneratorRequest, Id, Node, PointerValue, SourceInfo } from "../../generator/model/schema.js";
import { MessageBuilder, MessageReader, type PointerReader, type StructReader } from "../../runtime/codec/wire.js";

export interface Difference {
  path: string;
  expected: string;
  actual: string;
}

export interface DiffResult {
  /** The first differences found (at most `limit`), in model order. */
  differences: Difference[];
  /** How many differences there are in all (counting stops at 10,000). */
  total: number;
}

const MAX_COUNT = 10_000;

export function hexId(id: bigint): string {
  return "0x" + BigInt.asUintN(64, id).toString(16).padStart(16, "0");
}

function byId<T extends { id: Id }>(a: T, b: T): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The request as the request encoder writes it, read back: what `ipcgen compile -o-` outputs, with the
 * nullness of every empty list, Data and struct recorded (a model built in memory mostly leaves it to the
 * encoder's rules).
 */
export function asWritten(req: CodeGeneratorRequest): CodeGeneratorRequest {
  return decodeRequest(encodeRequest(req));
}

/** A copy of the request with `nodes` and `sourceInfo` sorted by id; nothing else is reordered. */
export function normalizeRequest(req: CodeGeneratorRequest): CodeGeneratorRequest {
  return { ...req, nodes: [...req.nodes].sort(byId), sourceInfo: [...req.sourceInfo].sort(byId) };
}

/** The file part of a display name (`dir/foo.capnp:Foo.bar` -> `dir/foo.capnp`). */
export function fileOfDisplayName(displayName: string): string {
  const colon = displayName.indexOf(":");
  return colon < 0 ? displayName : displayName.slice(0, colon);
}

/**
 * The part of a request that belongs to the given files (by display name): their nodes and those nodes'
 * source info, and their `requestedFiles` entries. Lets a batch compiled in one run be compared file by file.
 */
export function restrictToFiles(req: CodeGeneratorRequest, files: Iterable<string>): CodeGeneratorRequest {
  const wanted = new Set(files);
  const nodes = req.nodes.filter((n) => wanted.has(fileOfDisplayName(n.displayName)));
  const ids = new Set(nodes.map((n) => n.id));
  return {
    capnpVersion: req.capnpVersion,
    nodes,
    sourceInfo: req.sourceInfo.filter((s) => ids.has(s.id)),
    requestedFiles: req.requestedFiles.filter((f) => wanted.has(f.filename)),
  };
}

function isPointerValue(v: unknown): v is { canonical: Uint8Array } {
  return (
    typeof v === "object" && v !== null && !Array.isArray(v) && (v as { canonical?: unknown }).canonical instanceof Uint8Array &&
    Object.keys(v).length === 1
  );
}

/** A pointer value's bytes as written (structs at the size they were written with), else its canonical form. */
function layoutOf(v: { canonical: Uint8Array }): Uint8Array {
  return recordedPointerBytes(v as PointerValue) ?? v.canonical;
}

const ID_KEYS = new Set(["id", "typeId", "scopeId", "paramStructType", "resultStructType"]);

function hexBytes(bytes: Uint8Array, from = 0, max = 24): string {
  const end = Math.min(bytes.length, from + max);
  let s = "";
  for (let i = from; i < end; i++) s += bytes[i].toString(16).padStart(2, "0");
  return (from > 0 ? "…" : "") + s + (end < bytes.length ? "…" : "");
}

class Differ {
  readonly differences: Difference[] = [];
  total = 0;
  private readonly names = new Map<Id, string>();

  constructor(
    private readonly limit: number,
    ...models: CodeGeneratorRequest[]
  ) {
    for (const m of models) for (const n of m.nodes) if (!this.names.has(n.id)) this.names.set(n.id, n.displayName);
  }

  full(): boolean {
    return this.total >= MAX_COUNT;
  }

  report(path: string, expected: string, actual: string): void {
    this.total++;
    if (this.differences.length < this.limit) this.differences.push({ path, expected, actual });
  }

  idLabel(id: Id): string {
    const name = this.names.get(id);
    return name === undefined ? hexId(id) : `${hexId(id)}(${name})`;
  }

  show(v: unknown, key?: string): string {
    if (v === undefined) return "absent";
    if (v === null) return "null";
    if (typeof v === "bigint") return key !== undefined && ID_KEYS.has(key) ? this.idLabel(v) : `${v}n`;
    if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
    if (typeof v === "string") return JSON.stringify(v);
    if (typeof v === "boolean") return String(v);
    if (v instanceof Uint8Array) return `<${v.length} bytes ${hexBytes(v)}>`;
    if (isPointerValue(v)) return `pointer<${v.canonical.length} bytes ${hexBytes(v.canonical)}>`;
    if (Array.isArray(v)) return `[${v.length} element${v.length === 1 ? "" : "s"}]`;
    if (typeof v === "object") {
      const o = v as Record<string, unknown>;
      const label = typeof o.displayName === "string" ? ` ${o.displayName}` : typeof o.name === "string" ? ` ${JSON.stringify(o.name)}` : "";
      const which = typeof o.which === "string" ? ` which=${o.which}` : "";
      return `{object${label}${which}}`;
    }
    return String(v);
  }

  bytes(path: string, a: Uint8Array, b: Uint8Array): void {
    let i = 0;
    const n = Math.min(a.length, b.length);
    while (i < n && a[i] === b[i]) i++;
    if (i === n && a.length === b.length) return;
    const where = i < n ? `first difference at byte ${i}` : `lengths differ after ${n} equal bytes`;
    this.report(
      path,
      `<${a.length} bytes ${hexBytes(a, Math.max(0, i - 4))}>`,
      `<${b.length} bytes ${hexBytes(b, Math.max(0, i - 4))}> (${where})`,
    );
  }

  value(path: string, a: unknown, b: unknown, key?: string): void {
    if (this.full()) return;
    if (typeof a === "number" && typeof b === "number") {
      if (!Object.is(a, b)) this.report(path, this.show(a), this.show(b));
      return;
    }
    if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
      if (a !== b) this.report(path, this.show(a, key), this.show(b, key));
      return;
    }
    const nullA = recordedNullness(a) === true;
    const nullB = recordedNullness(b) === true;
    if (nullA !== nullB) {
      const what = (v: object, isNull: boolean) => (isNull ? "a null pointer" : `present ${this.show(v)}`);
      this.report(path, what(a, nullA), what(b, nullB));
      return;
    }
    if (a instanceof Uint8Array || b instanceof Uint8Array) {
      if (a instanceof Uint8Array && b instanceof Uint8Array) this.bytes(path, a, b);
      else this.report(path, this.show(a), this.show(b));
      return;
    }
    if (isPointerValue(a) && isPointerValue(b)) {
      const before = this.total;
      this.bytes(`${path}.canonical`, a.canonical, b.canonical);
      if (this.total === before) this.bytes(`${path}.layout`, layoutOf(a), layoutOf(b));
      return;
    }
    if (Array.isArray(a) || Array.isArray(b)) {
      if (!Array.isArray(a) || !Array.isArray(b)) {
        this.report(path, this.show(a), this.show(b));
        return;
      }
      if (a.length !== b.length) this.report(`${path}.length`, String(a.length), String(b.length));
      const n = Math.max(a.length, b.length);
      for (let i = 0; i < n && !this.full(); i++) {
        const name = (a[i] ?? b[i]) as { name?: unknown } | undefined;
        const label = typeof name === "object" && name !== null && typeof name.name === "string" ? `(${name.name})` : "";
        this.value(`${path}[${i}]${label}`, a[i], b[i]);
      }
      return;
    }
    const oa = a as Record<string, unknown>;
    const ob = b as Record<string, unknown>;
    if (typeof oa.which === "string" && oa.which !== ob.which) {
      this.report(`${path}.which`, this.show(oa.which), this.show(ob.which));
      return;
    }
    const keys = new Set([...Object.keys(oa), ...Object.keys(ob)]);
    for (const k of keys) {
      if (oa[k] === undefined && ob[k] === undefined) continue;
      this.value(`${path}.${k}`, oa[k], ob[k], k);
    }
  }

  /** Two id-sorted lists, matched by id. */
  byIds<T extends { id: Id }>(list: string, a: T[], b: T[], each: (path: string, x: T, y: T) => void): void {
    let i = 0;
    let j = 0;
    while ((i < a.length || j < b.length) && !this.full()) {
      const x = a[i];
      const y = b[j];
      if (y === undefined || (x !== undefined && x.id < y.id)) {
        this.report(`${list}[id=${this.idLabel(x.id)}]`, "present", "absent");
        i++;
      } else if (x === undefined || y.id < x.id) {
        this.report(`${list}[id=${this.idLabel(y.id)}]`, "absent", "present");
        j++;
      } else {
        each(`${list}[id=${this.idLabel(x.id)}]`, x, y);
        i++;
        j++;
      }
    }
  }

  request(a: CodeGeneratorRequest, b: CodeGeneratorRequest): void {
    this.value("capnpVersion", a.capnpVersion, b.capnpVersion);
    this.byIds<Node>("nodes", a.nodes, b.nodes, (p, x, y) => this.value(p, x, y));
    this.byIds<SourceInfo>("sourceInfo", a.sourceInfo, b.sourceInfo, (p, x, y) => this.value(p, x, y));
    this.value("requestedFiles", a.requestedFiles, b.requestedFiles);
    const known = new Set(["capnpVersion", "nodes", "sourceInfo", "requestedFiles"]);
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!known.has(k)) this.value(k, (a as unknown as Record<string, unknown>)[k], (b as unknown as Record<string, unknown>)[k], k);
    }
  }
}

/** Compares two requests as written (see `asWritten`) after normalization; `expected` is the oracle's. */
export function diffRequests(expected: CodeGeneratorRequest, actual: CodeGeneratorRequest, limit = 8): DiffResult {
  const a = normalizeRequest(asWritten(expected));
  const b = normalizeRequest(asWritten(actual));
  const d = new Differ(limit, a, b);
  d.request(a, b);
  return { differences: d.differences, total: d.total };
}

/** Compares any two values with the same rules (for parts of a model). */
export function diffValues(expected: unknown, actual: unknown, path = "", limit = 8): DiffResult {
  const d = new Differ(limit);
  d.value(path, expected, actual);
  return { differences: d.differences, total: d.total };
}

export function formatDiff(result: DiffResult): string {
  if (result.total === 0) return "no differences";
  const lines = result.differences.map((d) => `  ${d.path}: expected ${d.expected}, got ${d.actual}`);
  const more = result.total - result.differences.length;
  if (more > 0) lines.push(`  … and ${more}${result.total >= MAX_COUNT ? "+" : ""} more`);
  return `${result.total}${result.total >= MAX_COUNT ? "+" : ""} difference${result.total === 1 ? "" : "s"}:\n${lines.join("\n")}`;
}

/** Throws, naming the first differences, unless the two requests are equal after normalization. */
export function assertSameRequest(expected: CodeGeneratorRequest, actual: CodeGeneratorRequest, what: string, limit = 8): void {
  const result = diffRequests(expected, actual, limit);
  if (result.total > 0) throw new Error(`${what}: ipcgen's model differs from capnp's; ${formatDiff(result)}`);
}

// ---------------------------------------------------------------------------------------------------------
// Bytes: what the model cannot show (a null Text against an empty one, Text bytes that are not UTF-8, the
// layout of everything) is compared on the encoded requests, entry by entry.

/** A plain (non-canonical) copy of a struct into a message of its own: its layout kept, its place forgotten. */
function plainStruct(s: StructReader): Uint8Array {
  const b = new MessageBuilder(64);
  const dataWords = (s.dataBytes + 7) >>> 3;
  const at = b.initStruct(0, dataWords, s.ptrCount);
  b.copyStructContent(at, dataWords, s.ptrCount, s, false);
  return b.toFlat();
}

function plainPointer(p: PointerReader | null): Uint8Array {
  const b = new MessageBuilder(64);
  if (p !== null) b.copyPointer(0, p, false);
  return b.toFlat();
}

interface Entry {
  name: string;
  bytes: Uint8Array;
}

/**
 * An encoded request cut into comparable parts: each node and each source info (by id), the requested
 * files and the version, each copied plainly into a message of its own (so segment layout and the order
 * of nodes, which carry no meaning, drop out, and everything else is kept byte for byte).
 */
export interface RequestEntries {
  nodes: Map<Id, Entry>;
  sourceInfo: Map<Id, Entry>;
  rest: Map<string, Uint8Array>;
}

export function requestEntries(framed: Uint8Array): RequestEntries {
  const root = MessageReader.fromFramed(framed, { traversalLimitInWords: Infinity, nestingLimit: 1 << 12 }).root().struct()!;
  const list = (i: number): Map<Id, Entry> => {
    const out = new Map<Id, Entry>();
    const l = root.pointer(i)?.list() ?? null;
    for (let k = 0; l !== null && k < l.length; k++) {
      const s = l.struct(k);
      const id = s.dataBytes >= 8 ? s.segment.view.getBigUint64(s.dataByte, true) : 0n;
      out.set(id, { name: i === 0 ? (s.pointer(0)?.text() ?? "") : "", bytes: plainStruct(s) });
    }
    return out;
  };
  const rest = new Map([
    ["requestedFiles", plainPointer(root.pointer(1))],
    ["capnpVersion", plainPointer(root.pointer(2))],
  ]);
  return { nodes: list(0), sourceInfo: list(3), rest };
}

/**
 * Compares two encoded requests entry by entry (see `requestEntries`), byte for byte. `only` restricts it to
 * those node ids (and their source info; the requested files and version are then not compared), for a
 * batch compiled in one run; `exempt(kind, id)` leaves an entry out (a known difference of another class).
 */
export function diffRequestBytes(
  expected: Uint8Array | RequestEntries,
  actual: Uint8Array | RequestEntries,
  options: { only?: ReadonlySet<Id>; exempt?: (kind: "nodes" | "sourceInfo", id: Id) => boolean; limit?: number } = {},
): DiffResult {
  const a = expected instanceof Uint8Array ? requestEntries(expected) : expected;
  const b = actual instanceof Uint8Array ? requestEntries(actual) : actual;
  const d = new Differ(options.limit ?? 8);
  const names = new Map<Id, string>();
  for (const m of [a.nodes, b.nodes]) for (const [id, e] of m) if (!names.has(id)) names.set(id, e.name);
  const label = (id: Id) => (names.has(id) ? `${hexId(id)}(${names.get(id)})` : hexId(id));
  for (const kind of ["nodes", "sourceInfo"] as const) {
    const ids = new Set([...a[kind].keys(), ...b[kind].keys()]);
    for (const id of [...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))) {
      if (options.only !== undefined && !options.only.has(id)) continue;
      if (options.exempt?.(kind, id) === true) continue;
      const x = a[kind].get(id);
      const y = b[kind].get(id);
      const path = `${kind}[id=${label(id)}] (bytes)`;
      if (x === undefined || y === undefined) d.report(path, x === undefined ? "absent" : "present", y === undefined ? "absent" : "present");
      else d.bytes(path, x.bytes, y.bytes);
    }
  }
  if (options.only === undefined) for (const [k, x] of a.rest) d.bytes(`${k} (bytes)`, x, b.rest.get(k)!);
  return { differences: d.differences, total: d.total };
}

/** Throws, naming the first differing entries, unless the two encoded requests are equal entry by entry. */
export function assertSameRequestBytes(
  expected: Uint8Array | RequestEntries,
  actual: Uint8Array | RequestEntries,
  what: string,
  options: Parameters<typeof diffRequestBytes>[2] = {},
): void {
  const result = diffRequestBytes(expected, actual, options);
  if (result.total > 0) throw new Error(`${what}: ipcgen's request bytes differ from capnp's; ${formatDiff(result)}`);
}
