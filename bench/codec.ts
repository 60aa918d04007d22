/**
 * Codec benchmark: building and reading one message (bench/codec.capnp's `Sample`: a UInt64 id, 1 KiB of
 * Data and a list of 100 two-word `Item` structs, 2,672 bytes framed) with, in the same run:
 *   - JSON: `JSON.stringify` / `JSON.parse`, Data as base64 and the UInt64 as a decimal string (the baseline)
 *   - capnp-es 0.0.16: the code its capnpc-ts plugin generates for bench/codec.capnp
 *   - capnp-ts 0.9.3: hand-written `Struct` subclasses with accessors, as capnp-ts's own std/*.capnp.js are
 *   - DataView: hand-written code that writes and reads the same bytes directly (the machine's limit)
 *   - ipcgen: the code `ipcgen bench/codec.capnp -o DIR` generates, through its plain-object functions
 *     (`Sample.encode` / `Sample.decode`) and through its builder classes
 * Every row builds from, and reads back to, the same plain object `{ id: bigint, payload: Uint8Array,
 * items: { id, kind, value }[] }`; reading copies the Data out of the message, as JSON.parse must.
 * Each row is checked once (the read equals the input) and the Cap'n Proto rows must build identical bytes.
 * Prints a table (medians of batches, after warm-up) and the same table as a Markdown section for
 * docs/benchmarks.md.
 *
 * Run: `npm run bench:codec` (node --import tsx bench/codec.ts). Options through the environment:
 * BENCH_BATCHES (batches per figure, default 31), BENCH_BATCH_MS (length of a batch, default 10).
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Message as EsMessage } from "capnp-es";
import { CompositeList, Message as TsMessage, ObjectSize, Struct, type Data, type List, type ListCtor } from "capnp-ts";
import ts from "typescript";
import { ownPackagePaths } from "../generator/cli/verify.js";
import { machine, machineLines, markdownTable, median, textTable } from "./support.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SCHEMA = "bench/codec.capnp";
const CAPNP_ES_PLUGIN = join(REPO, "node_modules/capnp-es/dist/compiler/capnpc-ts.mjs");
const BATCHES = Number(process.env.BENCH_BATCHES ?? 31);
const BATCH_MS = Number(process.env.BENCH_BATCH_MS ?? 10);
const WARMUP_MS = 150;

// ---------------------------------------------------------------------------------------------------------
// The data

interface Item {
  id: number;
  kind: number;
  value: number;
}
interface Plain {
  id: bigint;
  payload: Uint8Array;
  items: Item[];
}

const PAYLOAD_BYTES = 1024;
const ITEM_COUNT = 100;

/** Deterministic and varied: ids across the whole UInt32/UInt64 ranges, values with a few decimals. */
function sampleData(): Plain {
  const payload = new Uint8Array(PAYLOAD_BYTES);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 151 + 17) & 0xff;
  const items: Item[] = [];
  for (let i = 0; i < ITEM_COUNT; i++) {
    items.push({ id: Math.imul(i + 1, 0x9e3779b1) >>> 0, kind: i % 7, value: Math.round((i * 37.77 - 1200) * 1000) / 1000 });
  }
  return { id: 0xfedcba9876543210n, payload, items };
}

// ---------------------------------------------------------------------------------------------------------
// The rows: each builds a wire form from the plain object and reads a plain object back from it

interface Codec {
  build(p: Plain): Uint8Array | string;
  read(wire: Uint8Array | string): Plain;
}

/** The ArrayBuffer for a Message to read without copying, when the bytes fill one (as every build's do). */
function wholeBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.slice().buffer;
}

const asBytes = (wire: Uint8Array | string): Uint8Array => {
  if (typeof wire === "string") throw new TypeError("expected bytes");
  return wire;
};

// JSON. The string is the wire form (not its UTF-8 bytes), which is the cheapest fair reading for JSON.
interface JsonSample {
  id: string;
  payload: string;
  items: Item[];
}
const json: Codec = {
  build(p) {
    const payload = Buffer.from(p.payload.buffer, p.payload.byteOffset, p.payload.byteLength).toString("base64");
    const out: JsonSample = { id: p.id.toString(), payload, items: p.items };
    return JSON.stringify(out);
  },
  read(wire) {
    if (typeof wire !== "string") throw new TypeError("expected a string");
    const o = JSON.parse(wire) as JsonSample;
    // Buffer.from(base64) is a fresh Uint8Array; the items come out of JSON.parse in their final shape.
    return { id: BigInt(o.id), payload: Buffer.from(o.payload, "base64"), items: o.items };
  },
};

// capnp-ts, with classes written by hand the way capnp-ts's generated std/schema.capnp.js is.
//
// They are anonymous classes returned by functions because tsx, which runs this file, gives every named
// class a static block that redefines its `name` (esbuild's keepNames), and V8 then runs the libraries'
// per-field code on these classes two to three times slower than on the same classes compiled by tsc.
// (The generated code measured below is compiled by TypeScript for the same reason: see loadTypeScript.)
const TsItem = (() =>
  class extends Struct {
    static override readonly _capnp = { displayName: "Item", id: "9a17c892655f9567", size: new ObjectSize(16, 0) };
    get id(): number {
      return Struct.getUint32(0, this);
    }
    set id(value: number) {
      Struct.setUint32(0, value, this);
    }
    get kind(): number {
      return Struct.getUint16(4, this);
    }
    set kind(value: number) {
      Struct.setUint16(4, value, this);
    }
    get value(): number {
      return Struct.getFloat64(8, this);
    }
    set value(value: number) {
      Struct.setFloat64(8, value, this);
    }
  })();
type TsItem = InstanceType<typeof TsItem>;

const TsSample = (() =>
  class extends Struct {
    static override readonly _capnp = { displayName: "Sample", id: "c38f93c9d3940bff", size: new ObjectSize(8, 2) };
    static _Items: ListCtor<TsItem>;
    get id(): bigint {
      return Struct.getUint64(0, this);
    }
    set id(value: bigint) {
      Struct.setUint64(0, value, this);
    }
    get payload(): Data {
      return Struct.getData(0, this);
    }
    initPayload(length: number): Data {
      return Struct.initData(0, length, this);
    }
    get items(): List<TsItem> {
      return Struct.getList(1, TsSample._Items, this);
    }
    initItems(length: number): List<TsItem> {
      return Struct.initList(1, TsSample._Items, length, this);
    }
  })();
TsSample._Items = CompositeList(TsItem);

/** What the rows use of the struct, list and data classes of generated code, which is loaded untyped. */
interface ItemAccess {
  id: number;
  kind: number;
  value: number;
}
/** capnp-ts's lists have getLength(), capnp-es's a length property: the rows add the one they use. */
interface ListAccess<T> {
  get(index: number): T;
}
interface DataAccess {
  copyBuffer(src: ArrayBufferView): void;
  toUint8Array(): Uint8Array;
}

// Each row below has its own copy of the item loops: one loop shared by the rows would see three
// libraries' classes and slow all of them down (polymorphic property access), which real code would not.

const capnpTs: Codec = {
  build(p) {
    const message = new TsMessage();
    const root = message.initRoot(TsSample);
    root.id = p.id;
    root.initPayload(p.payload.length).copyBuffer(p.payload);
    const list = root.initItems(p.items.length);
    for (let i = 0; i < p.items.length; i++) {
      const from = p.items[i];
      const to = list.get(i);
      to.id = from.id;
      to.kind = from.kind;
      to.value = from.value;
    }
    return new Uint8Array(message.toArrayBuffer());
  },
  read(wire) {
    const root = new TsMessage(wholeBuffer(asBytes(wire)), false).getRoot(TsSample);
    const list = root.items;
    const items: Item[] = new Array(list.getLength());
    for (let i = 0; i < items.length; i++) {
      const it = list.get(i);
      items[i] = { id: it.id, kind: it.kind, value: it.value };
    }
    return { id: root.id, payload: root.payload.toUint8Array().slice(), items };
  },
};

// capnp-es: its generated module is imported at start (see generateCapnpEs).
interface EsSample {
  id: bigint;
  readonly payload: DataAccess;
  readonly items: ListAccess<ItemAccess> & { readonly length: number };
  _initPayload(length: number): DataAccess;
  _initItems(length: number): ListAccess<ItemAccess>;
}
type EsSampleCtor = Parameters<EsMessage["initRoot"]>[0];

function capnpEs(Sample: EsSampleCtor): Codec {
  return {
    build(p) {
      const message = new EsMessage();
      const root = message.initRoot(Sample) as unknown as EsSample;
      root.id = p.id;
      root._initPayload(p.payload.length).copyBuffer(p.payload);
      const list = root._initItems(p.items.length);
      for (let i = 0; i < p.items.length; i++) {
        const from = p.items[i];
        const to = list.get(i);
        to.id = from.id;
        to.kind = from.kind;
        to.value = from.value;
      }
      return new Uint8Array(message.toArrayBuffer());
    },
    read(wire) {
      const root = new EsMessage(wholeBuffer(asBytes(wire)), false).getRoot(Sample) as unknown as EsSample;
      const list = root.items;
      const items: Item[] = new Array(list.length);
      for (let i = 0; i < items.length; i++) {
        const it = list.get(i);
        items[i] = { id: it.id, kind: it.kind, value: it.value };
      }
      return { id: root.id, payload: root.payload.toUint8Array().slice(), items };
    },
  };
}

// Hand-written DataView code. The layout is the one every Cap'n Proto builder makes when it sets the fields
// in order: a segment table for one segment, the root pointer, Sample (1 data word, 2 pointers), the Data
// padded to a word, then the items' tag word and the items (2 data words each).
const DATA_WORDS = 1;
const POINTERS = 2;
const ITEM_WORDS = 2;

const dataView: Codec = {
  build(p) {
    const n = p.payload.length;
    const count = p.items.length;
    if (n >= 2 ** 29 || count * ITEM_WORDS >= 2 ** 29) throw new RangeError("too large for a list pointer");
    const payloadAt = 8 + 8 * (1 + DATA_WORDS + POINTERS);
    const tagAt = payloadAt + ((n + 7) & ~7);
    const size = tagAt + 8 + count * ITEM_WORDS * 8;
    const out = new Uint8Array(size);
    const v = new DataView(out.buffer);
    v.setUint32(0, 0, true); // segment count - 1
    v.setUint32(4, (size - 8) / 8, true); // segment size in words
    v.setUint32(8, 0, true); // root: struct pointer, offset 0
    v.setUint32(12, DATA_WORDS | (POINTERS << 16), true);
    v.setBigUint64(16, p.id, true);
    // List pointers: offset in words from the end of the pointer, element size 2 (bytes) or 7 (composite).
    v.setUint32(24, (((payloadAt - 32) / 8) << 2) | 1, true);
    v.setUint32(28, (n << 3) | 2, true);
    v.setUint32(32, (((tagAt - 40) / 8) << 2) | 1, true);
    v.setUint32(36, ((count * ITEM_WORDS) << 3) | 7, true);
    out.set(p.payload, payloadAt);
    v.setUint32(tagAt, count << 2, true); // the tag: a struct pointer whose offset is the element count
    v.setUint32(tagAt + 4, ITEM_WORDS, true);
    for (let i = 0, at = tagAt + 8; i < count; i++, at += ITEM_WORDS * 8) {
      const item = p.items[i];
      v.setUint32(at, item.id, true);
      v.setUint16(at + 4, item.kind, true);
      v.setFloat64(at + 8, item.value, true);
    }
    return out;
  },
  read(wire) {
    // A reader, not a replay of the writer: it follows the pointers, checks their kinds and bounds, and reads
    // fields beyond a smaller (older) struct's sections as their defaults. Only far pointers, which a
    // one-segment message does not need, are refused.
    const bytes = asBytes(wire);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 16 || v.getUint32(0, true) !== 0) throw new Error("not a one-segment message");
    const end = 8 + v.getUint32(4, true) * 8;
    if (end > bytes.length) throw new Error("truncated message");
    const check = (from: number, bytesLong: number) => {
      if (from < 8 || from + bytesLong > end) throw new Error("pointer out of bounds");
    };

    const lo = v.getUint32(8, true);
    const hi = v.getUint32(12, true);
    if ((lo & 3) !== 0) throw new Error("root is not a struct");
    const root = 16 + (lo >> 2) * 8;
    const dataWords = hi & 0xffff;
    const pointers = hi >>> 16;
    check(root, (dataWords + pointers) * 8);
    const id = dataWords >= 1 ? v.getBigUint64(root, true) : 0n;
    const ptrs = root + dataWords * 8;

    let payload = new Uint8Array(0);
    if (pointers >= 1 && (v.getUint32(ptrs, true) !== 0 || v.getUint32(ptrs + 4, true) !== 0)) {
      const plo = v.getUint32(ptrs, true);
      const phi = v.getUint32(ptrs + 4, true);
      if ((plo & 3) !== 1 || (phi & 7) !== 2) throw new Error("payload is not a list of bytes");
      const at = ptrs + 8 + (plo >> 2) * 8;
      const length = phi >>> 3;
      check(at, length);
      payload = bytes.slice(at, at + length);
    }

    const items: Item[] = [];
    if (pointers >= 2 && (v.getUint32(ptrs + 8, true) !== 0 || v.getUint32(ptrs + 12, true) !== 0)) {
      const plo = v.getUint32(ptrs + 8, true);
      const phi = v.getUint32(ptrs + 12, true);
      if ((plo & 3) !== 1 || (phi & 7) !== 7) throw new Error("items is not a list of structs");
      const tag = ptrs + 16 + (plo >> 2) * 8;
      const words = phi >>> 3;
      check(tag, 8 + words * 8);
      const tlo = v.getUint32(tag, true);
      const thi = v.getUint32(tag + 4, true);
      if ((tlo & 3) !== 0) throw new Error("bad list tag");
      const count = tlo >>> 2;
      const itemData = thi & 0xffff;
      const step = (itemData + (thi >>> 16)) * 8;
      if (count * step > words * 8) throw new Error("list tag larger than its list");
      for (let i = 0, at = tag + 8; i < count; i++, at += step) {
        items.push({
          id: itemData >= 1 ? v.getUint32(at, true) : 0,
          kind: itemData >= 1 ? v.getUint16(at + 4, true) : 0,
          value: itemData >= 2 ? v.getFloat64(at + 8, true) : 0,
        });
      }
    }
    return { id, payload, items };
  },
};

// ipcgen's generated code: the plain-object functions, and the builder classes used like capnp-ts's.
interface IpcgenSampleClass {
  encode(p: Plain): Uint8Array;
  decode(bytes: Uint8Array): Plain;
}
interface IpcgenSample {
  id: bigint;
  readonly payload: DataAccess;
  readonly items: ListAccess<ItemAccess> & { getLength(): number };
  initPayload(length: number): DataAccess;
  initItems(length: number): ListAccess<ItemAccess>;
}

const ipcgenPlain = (Sample: IpcgenSampleClass): Codec => ({
  build: (p) => Sample.encode(p),
  read: (wire) => Sample.decode(asBytes(wire)),
});

function ipcgenBuilders(Sample: Parameters<TsMessage["initRoot"]>[0]): Codec {
  return {
    build(p) {
      const message = new TsMessage();
      const root = message.initRoot(Sample) as unknown as IpcgenSample;
      root.id = p.id;
      root.initPayload(p.payload.length).copyBuffer(p.payload);
      const list = root.initItems(p.items.length);
      for (let i = 0; i < p.items.length; i++) {
        const from = p.items[i];
        const to = list.get(i);
        to.id = from.id;
        to.kind = from.kind;
        to.value = from.value;
      }
      return new Uint8Array(message.toArrayBuffer());
    },
    read(wire) {
      const root = new TsMessage(wholeBuffer(asBytes(wire)), false).getRoot(Sample) as unknown as IpcgenSample;
      const list = root.items;
      const items: Item[] = new Array(list.getLength());
      for (let i = 0; i < items.length; i++) {
        const it = list.get(i);
        items[i] = { id: it.id, kind: it.kind, value: it.value };
      }
      return { id: root.id, payload: root.payload.toUint8Array().slice(), items };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Generating code at start

/**
 * Runs this project's CLI from source, as `node --import tsx generator/cli/main.ts ARGS`; the first line of
 * what it said on failure.
 */
function runCli(args: string[]): string | null {
  const r = spawnSync(process.execPath, ["--import", "tsx", "generator/cli/main.ts", ...args], { cwd: REPO, encoding: "utf8" });
  if (r.error) return r.error.message;
  if (r.status === 0) return null;
  // Its first line, without the command's name, and up to a ";" that starts advice.
  const said = `${r.stderr}${r.stdout}`.trim().split("\n")[0].replace(/^ipcgen( compile)?: /, "").split(";")[0];
  return `exit status ${r.status}${said === "" ? "" : ` (${said.slice(0, 160)})`}`;
}

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0].slice(0, 160);

type Loaded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Every .ts file under `dir` (declarations aside). */
function tsFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => join(dir, f));
}

/**
 * Imports generated TypeScript the way an application would run it: compiled by TypeScript to JavaScript.
 * Importing the .ts through tsx instead would make every generated class two to three times slower (see the
 * capnp-ts classes above), which is tsx's cost, not the generated code's. All .ts files under `dir` are
 * compiled next to themselves, so that imports between them keep working, and then removed: tsx resolves an
 * import of x.js to x.ts whenever that exists, and would run the .ts after all.
 */
async function loadTypeScript(dir: string, file: string): Promise<Record<string, unknown>> {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    rewriteRelativeImportExtensions: true,
  };
  for (const source of tsFiles(dir)) {
    const out = ts.transpileModule(readFileSync(source, "utf8"), { compilerOptions: options, fileName: source });
    writeFileSync(source.replace(/\.ts$/, ".js"), out.outputText);
    rmSync(source);
  }
  return (await import(pathToFileURL(file.replace(/\.ts$/, ".js")).href)) as Record<string, unknown>;
}

/** capnp-es's Sample, generated with its capnpc-ts plugin run by `ipcgen compile` (a drop-in `capnp compile`). */
async function generateCapnpEs(dir: string): Promise<Loaded<EsSampleCtor>> {
  const failed = runCli(["compile", `-o${CAPNP_ES_PLUGIN}:${dir}`, SCHEMA]);
  if (failed !== null) return { ok: false, reason: `\`ipcgen compile -o capnpc-ts:DIR\`: ${failed}` };
  const file = join(dir, "bench/codec.ts");
  if (!existsSync(file)) return { ok: false, reason: "capnpc-ts did not write bench/codec.ts" };
  try {
    const mod = await loadTypeScript(dir, file);
    if (mod.Sample === undefined) return { ok: false, reason: "capnp-es's module has no Sample" };
    return { ok: true, value: mod.Sample as EsSampleCtor };
  } catch (e) {
    return { ok: false, reason: `importing capnp-es's code failed: ${firstLine(e)}` };
  }
}

/**
 * The runtime source (relative to runtime/, `.js`) that a specifier of the package names, as the CLI's
 * type-check resolves it (`ipcgen/codec` -> `codec/index.js`, `ipcgen/std/x` -> `std/x.js`); null for none.
 */
function runtimeModule(specifier: string): string | null {
  for (const [key, [file]] of Object.entries(ownPackagePaths())) {
    const star = key.indexOf("*");
    const [head, tail] = star < 0 ? [key, null] : [key.slice(0, star), key.slice(star + 1)];
    let source: string | null = null;
    if (tail === null) source = key === specifier ? file : null;
    else if (specifier.startsWith(head) && specifier.endsWith(tail)) source = file.replace("*", specifier.slice(head.length, specifier.length - tail.length));
    if (source !== null) return relative(join(REPO, "runtime"), source).replace(/\.ts$/, ".js");
  }
  return null;
}

/** ipcgen's generated module, from `ipcgen bench/codec.capnp -o DIR`. */
async function generateIpcgen(dir: string): Promise<Loaded<{ Sample: unknown }>> {
  const failed = runCli([SCHEMA, "-o", dir]);
  if (failed !== null) return { ok: false, reason: `\`ipcgen ${SCHEMA} -o DIR\`: ${failed}` };
  const file = join(dir, "bench/codec.capnp.ts");
  if (!existsSync(file)) return { ok: false, reason: "ipcgen did not write bench/codec.capnp.ts" };
  // Generated code imports its runtime through the package's exports (`ipcgen/codec`, `ipcgen/capnp`, ...).
  // Here it is this checkout's runtime/, as the tests have it (vitest.config.ts), copied next to the
  // generated code so that it is compiled the same way.
  const runtime = join(dir, "_runtime");
  cpSync(join(REPO, "runtime"), runtime, { recursive: true, filter: (f) => !/\.(test|spec)\.ts$/.test(f) });
  for (const generated of tsFiles(dir).filter((f) => !f.startsWith(runtime))) {
    const text = readFileSync(generated, "utf8").replace(/(["'])(ipcgen(?:\/[^"']+)?)\1/g, (whole, _quote: string, specifier: string) => {
      const target = runtimeModule(specifier);
      if (target === null) return whole;
      let to = relative(dirname(generated), join(runtime, target));
      if (!to.startsWith(".")) to = `./${to}`;
      return JSON.stringify(to);
    });
    writeFileSync(generated, text);
  }
  try {
    const mod = await loadTypeScript(dir, file);
    if (mod.Sample === undefined) return { ok: false, reason: "the generated module has no Sample" };
    return { ok: true, value: { Sample: mod.Sample } };
  } catch (e) {
    return { ok: false, reason: `importing the generated code failed: ${firstLine(e)}` };
  }
}

function ipcgenRows(loaded: Loaded<{ Sample: unknown }>): { plain: Loaded<Codec>; builders: Loaded<Codec> } {
  if (!loaded.ok) return { plain: loaded, builders: loaded };
  const Sample = loaded.value.Sample as Partial<IpcgenSampleClass> & { prototype?: object };
  const plain: Loaded<Codec> =
    typeof Sample.encode === "function" && typeof Sample.decode === "function"
      ? { ok: true, value: ipcgenPlain(Sample as IpcgenSampleClass) }
      : { ok: false, reason: "the generated Sample has no static encode/decode" };
  const proto = (Sample.prototype ?? {}) as Partial<IpcgenSample>;
  const builders: Loaded<Codec> =
    typeof Sample === "function" && typeof proto.initPayload === "function" && typeof proto.initItems === "function"
      ? { ok: true, value: ipcgenBuilders(Sample as unknown as Parameters<TsMessage["initRoot"]>[0]) }
      : { ok: false, reason: "the generated Sample class has no initPayload/initItems" };
  return { plain, builders };
}

// ---------------------------------------------------------------------------------------------------------
// Checking and timing

/** Why `got` is not `want`, or null when equal. */
function difference(want: Plain, got: Plain): string | null {
  if (typeof got.id !== "bigint" || got.id !== want.id) return `id is ${String(got.id)}, not ${want.id}`;
  if (!(got.payload instanceof Uint8Array)) return "payload is not a Uint8Array";
  if (got.payload.length !== want.payload.length) return `payload has ${got.payload.length} bytes, not ${want.payload.length}`;
  for (let i = 0; i < want.payload.length; i++) {
    if (got.payload[i] !== want.payload[i]) return `payload differs at byte ${i}`;
  }
  if (!Array.isArray(got.items) || got.items.length !== want.items.length) return `items is not a list of ${want.items.length}`;
  for (let i = 0; i < want.items.length; i++) {
    const a = want.items[i];
    const b = got.items[i];
    if (b.id !== a.id || b.kind !== a.kind || !Object.is(b.value, a.value)) {
      return `items[${i}] is ${JSON.stringify(b)}, not ${JSON.stringify(a)}`;
    }
  }
  return null;
}

/** Keeps results alive so that no work is optimized away. */
let sink = 0;

/** µs per call of `fn` over one batch of `n` calls. */
function batch(fn: () => unknown, n: number): number {
  let last: unknown;
  const start = performance.now();
  for (let i = 0; i < n; i++) last = fn();
  const us = ((performance.now() - start) * 1000) / n;
  if (last === sink) sink++;
  return us;
}

/** Runs `fn` for WARMUP_MS so that it is optimized; returns how many calls take about BATCH_MS. */
function warmUp(fn: () => unknown): number {
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < WARMUP_MS) {
    batch(fn, 20);
    calls += 20;
  }
  return Math.max(10, Math.round((calls / (performance.now() - start)) * BATCH_MS));
}

interface Job {
  fn: () => unknown;
  calls: number;
  samples: number[];
}

/**
 * Median µs per call of each job. The batches go round the jobs in turn, so that whatever else the machine is
 * doing meanwhile (other processes, a frequency change) falls on every row alike rather than on a few.
 */
function timeAll(fns: (() => unknown)[]): number[] {
  const jobs: Job[] = fns.map((fn) => ({ fn, calls: warmUp(fn), samples: [] }));
  for (let round = 0; round < BATCHES; round++) {
    for (const job of jobs) job.samples.push(batch(job.fn, job.calls));
  }
  return jobs.map((job) => median(job.samples));
}

interface Row {
  name: string;
  codec: Loaded<Codec>;
  /** Compared byte for byte with the other Cap'n Proto rows. */
  capnp: boolean;
}

type Result =
  | { name: string; ok: true; build: number; read: number; size: number }
  | { name: string; ok: false; reason: string };

async function main(): Promise<void> {
  const started = performance.now();
  const data = sampleData();

  mkdirSync(join(REPO, "node_modules/.cache"), { recursive: true });
  // Inside the project, so that the generated code's imports of capnp-es and capnp-ts resolve.
  const tmp = mkdtempSync(join(REPO, "node_modules/.cache/bench-codec-"));
  // The compiled .js files are ES modules; under node_modules they are outside the project's package scope,
  // and as CommonJS their imports would go through interop getters that slow every accessor down.
  writeFileSync(join(tmp, "package.json"), '{ "type": "module" }\n');
  let rows: Row[];
  try {
    const [es, ipcgen] = [await generateCapnpEs(join(tmp, "capnp-es")), await generateIpcgen(join(tmp, "ipcgen"))];
    const { plain, builders } = ipcgenRows(ipcgen);
    rows = [
      { name: "JSON (stringify/parse)", codec: { ok: true, value: json }, capnp: false },
      { name: "capnp-es 0.0.16 (generated)", codec: es.ok ? { ok: true, value: capnpEs(es.value) } : es, capnp: true },
      { name: "capnp-ts 0.9.3 (hand-written accessors)", codec: { ok: true, value: capnpTs }, capnp: true },
      { name: "DataView (hand-written)", codec: { ok: true, value: dataView }, capnp: true },
      { name: "ipcgen plain (encode/decode)", codec: plain, capnp: true },
      { name: "ipcgen builder classes", codec: builders, capnp: true },
    ];
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  // Check each row once, and collect the Cap'n Proto rows' bytes.
  const wires = new Map<string, Uint8Array | string>();
  const checked: Row[] = rows.map((row) => {
    if (!row.codec.ok) return row;
    try {
      const wire = row.codec.value.build(data);
      const wrong = difference(data, row.codec.value.read(wire));
      if (wrong !== null) return { ...row, codec: { ok: false, reason: `wrong result: ${wrong}` } };
      wires.set(row.name, wire);
      return row;
    } catch (e) {
      return { ...row, codec: { ok: false, reason: `threw: ${firstLine(e)}` } };
    }
  });
  for (const row of checked) console.log(`check ${row.name}: ${row.codec.ok ? "ok" : row.codec.reason}`);
  const bytesLine = compareBytes(checked.filter((r) => r.capnp && r.codec.ok).map((r) => [r.name, wires.get(r.name) as Uint8Array]));
  console.log(bytesLine);

  const fns: (() => unknown)[] = [];
  for (const row of checked) {
    if (!row.codec.ok) continue;
    const codec = row.codec.value;
    const wire = wires.get(row.name) as Uint8Array | string;
    fns.push(() => codec.build(data), () => codec.read(wire));
  }
  const times = timeAll(fns);
  if (sink < 0) console.log(sink);
  let next = 0;
  const results: Result[] = checked.map((row) => {
    if (!row.codec.ok) return { name: row.name, ok: false, reason: row.codec.reason };
    const [build, read] = [times[next++], times[next++]];
    return { name: row.name, ok: true, build, read, size: (wires.get(row.name) as Uint8Array | string).length };
  });

  const base = results[0];
  const ratio = (us: number, of: number) => `${(us / of).toFixed(2)}× JSON`;
  const header = ["codec", "build µs", "build vs JSON", "read µs", "read vs JSON", "message bytes"];
  const cells: string[][] = results.map((r) =>
    r.ok && base.ok
      ? [r.name, r.build.toFixed(2), ratio(r.build, base.build), r.read.toFixed(2), ratio(r.read, base.read), String(r.size)]
      : [r.name, r.ok ? "baseline failed" : `not available: ${r.reason}`],
  );
  const target = targetLine(results);
  const m = machine();
  const elapsed = (performance.now() - started) / 1000;

  console.log("");
  console.log(`${m.cpu}, ${m.cores} cores; Node ${m.node}; ${m.os}`);
  console.log("");
  for (const line of textTable(header, cells)) console.log(line);
  console.log("");
  console.log(target);
  console.log(`(${elapsed.toFixed(1)} s)`);

  const section = [
    "## codec",
    "",
    `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:codec\` (bench/codec.ts): building and reading ` +
      `one bench/codec.capnp \`Sample\` (a UInt64, ${PAYLOAD_BYTES} bytes of Data, a list of ${ITEM_COUNT} two-word structs) ` +
      "from and to the same plain object. JSON's wire form is the string, Data as base64; the Cap'n Proto rows " +
      "build a framed one-segment message and copy the Data out when reading.",
    "",
    ...machineLines(m),
    `- median of ${BATCHES} batches of about ${BATCH_MS} ms each per figure, after ${WARMUP_MS} ms of warm-up`,
    `- ${bytesLine}`,
    "",
    ...markdownTable(header, cells),
    "",
    target,
    "",
  ];
  console.log("");
  console.log("Markdown for docs/benchmarks.md:");
  console.log("");
  console.log(section.join("\n"));
}

/** Whether the Cap'n Proto rows built the same bytes, as a sentence. */
function compareBytes(wires: [string, Uint8Array][]): string {
  if (wires.length < 2) return "bytes: fewer than two Cap'n Proto rows to compare";
  const [firstName, first] = wires[0];
  const differ: string[] = [];
  for (const [name, bytes] of wires.slice(1)) {
    let at = 0;
    while (at < first.length && at < bytes.length && first[at] === bytes[at]) at++;
    if (at < first.length || at < bytes.length) {
      differ.push(`${name} (${bytes.length} bytes) differs from ${firstName} (${first.length} bytes) from byte ${at}`);
    }
  }
  const names = wires.map(([n]) => n.replace(/ \(.*\)$/, "")).join(", ");
  return differ.length === 0
    ? `bytes identical: ${names} build the same ${first.length}-byte message`
    : `bytes differ: ${differ.join("; ")}`;
}

/**
 * The target is judged on the plain-object functions, the generated code's own fast path; the builder
 * classes are capnp-ts's accessors and are reported alongside.
 */
function targetLine(results: Result[]): string {
  const goal = "Target (generated code faster than JSON at both build and read):";
  const [base] = results;
  const plain = results.find((r) => r.name.startsWith("ipcgen plain"));
  const builders = results.find((r) => r.name.startsWith("ipcgen builder"));
  if (!base?.ok) return `${goal} unknown (the JSON baseline failed).`;
  if (plain === undefined) return `${goal} NOT reached (no ipcgen row).`;
  if (!plain.ok) return `${goal} NOT reached (ipcgen's generated code is not available: ${plain.reason}).`;
  const x = (us: number, of: number) => `${(us / of).toFixed(2)}×`;
  const reached = plain.build < base.build && plain.read < base.read;
  const also = builders?.ok
    ? `; the builder classes, not part of the target: build ${x(builders.build, base.build)}, read ${x(builders.read, base.read)}`
    : "";
  return (
    `${goal} ${reached ? "reached" : "NOT reached"} (ipcgen plain encode/decode: build ${x(plain.build, base.build)} JSON, ` +
    `read ${x(plain.read, base.read)} JSON${also}).`
  );
}

await main();
