/**
 * A small coverage-guided fuzzer (jazzer.js's prebuilt addon does not load on glibc 2.36, and its older
 * releases download their binaries outside the npm registry, so ipcgen carries its own).
 *
 * - Inputs are bytes. Each is made from a corpus entry by a few stacked mutations: bit flips, random and
 *   "interesting" bytes and integers, inserts, deletes, copies within the input, splices with another
 *   entry, and Cap'n Proto-aware ones (pointer words of every kind, segment-table counts and sizes, frame
 *   length prefixes).
 * - Feedback is V8's precise block coverage (node:inspector, `Profiler.startPreciseCoverage` with call
 *   counts and block detail), restricted to the modules a target aims at. Coverage is taken once per batch
 *   of inputs (taking it costs far more than running an input); a batch that reached new blocks is bisected
 *   to the inputs that did, which join the corpus.
 * - A finding is any exception a target's `run` lets out (targets swallow the errors their input path
 *   documents and nothing else), an input slower than `slowMs`, or memory growth past `maxHeapGrowthBytes`.
 *   Findings are minimized (chunk and byte deletion, keeping the same kind of failure).
 *
 * Everything here is deterministic given the seed, except where targets themselves are not (sockets).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const FUZZ_DIR = join(REPO, "test", "fuzz");

// ---------------------------------------------------------------------------------------------------------
// Targets

export interface FuzzTarget {
  name: string;
  /** What the target feeds its input to (one line, for the report). */
  describe: string;
  /** Repository-relative paths of the modules whose coverage guides the fuzzer and is reported. */
  modules: string[];
  /** Valid inputs built in code: the corpus starts from them (and from the committed corpus). */
  seeds(): Uint8Array[];
  /**
   * Runs one input. Returns (or resolves) when the input was handled: accepted, or refused with an error
   * its input path documents. Anything it throws is a finding.
   */
  run(input: Uint8Array): void | Promise<void>;
  /** Longest input the mutators make. */
  maxLen?: number;
  /** Byte strings worth inserting (magic numbers, valid pointer words, names). */
  dictionary?: Uint8Array[];
  setup?(): void | Promise<void>;
  teardown?(): void | Promise<void>;
}

/** Thrown by targets for an outcome that breaks a property (the engine reports it like a crash). */
export class PropertyViolation extends Error {
  override name = "PropertyViolation";
}

/** Runs `fn`; an error that `expected` accepts is swallowed, anything else goes on. Answers whether it threw. */
export function tolerate(fn: () => void, expected: (e: unknown) => boolean): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    if (expected(e)) return true;
    throw e;
  }
}

/** True when `e` is exactly an instance of one of `classes` (not of a subclass that happens to inherit). */
export const isOneOf =
  (...classes: (abstract new (...args: never[]) => unknown)[]) =>
  (e: unknown): boolean =>
    classes.some((c) => e instanceof c);

// ---------------------------------------------------------------------------------------------------------
// Randomness

/** xorshift128+: fast, seedable, good enough for mutation choices. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = seed >>> 0 || 1;
    this.b = 0x9e3779b9;
    this.c = 0x243f6a88;
    this.d = 0xb7e15162;
    for (let i = 0; i < 16; i++) this.u32();
  }

  /** xoshiro128** */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** 0 .. n-1 */
  below(n: number): number {
    return n <= 1 ? 0 : this.u32() % n;
  }

  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)];
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

/** A deterministic stream of numbers drawn from an input's bytes (targets use it to decide chunking, ops). */
export class ByteStream {
  private at = 0;
  constructor(readonly bytes: Uint8Array) {}
  get left(): number {
    return this.bytes.length - this.at;
  }
  u8(): number {
    return this.at < this.bytes.length ? this.bytes[this.at++] : 0;
  }
  u16(): number {
    return this.u8() | (this.u8() << 8);
  }
  u32(): number {
    return (this.u16() | (this.u16() << 16)) >>> 0;
  }
  take(n: number): Uint8Array {
    const out = this.bytes.subarray(this.at, Math.min(this.bytes.length, this.at + n));
    this.at += out.length;
    return out;
  }
  rest(): Uint8Array {
    return this.take(this.left);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Mutation

const INTERESTING_8 = [0, 1, 2, 3, 4, 7, 8, 16, 32, 63, 64, 100, 127, 128, 129, 254, 255];
const INTERESTING_32 = [
  0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 63, 64, 65, 127, 128, 255, 256, 1023, 1024, 4095, 4096, 65535, 65536, 65537,
  0x7fff, 0x8000, 0x1fffffff, 0x20000000, 0x3fffffff, 0x40000000, 0x7ffffffe, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
  0xfffffffc, 0xfffffff8, 64 * 1024 * 1024, 64 * 1024 * 1024 + 1, 8 * 1024 * 1024,
];

/** Cap'n Proto pointer words (lo, hi) of every kind, with offsets and sizes near the edges. */
function pointerWord(rng: Rng, words: number): [number, number] {
  const near = () => rng.below(Math.max(2, words + 4)) - 2;
  const small = () => rng.pick([0, 1, 2, 3, 4, 8, 0xffff, rng.below(16)]);
  switch (rng.below(7)) {
    case 0: // struct
      return [(near() << 2) >>> 0, (small() | (small() << 16)) >>> 0];
    case 1: // list, small count
      return [((near() << 2) | 1) >>> 0, (rng.below(8) | (rng.below(64) << 3)) >>> 0];
    case 2: // list, huge count
      return [((near() << 2) | 1) >>> 0, (rng.below(8) | (rng.pick([(1 << 29) - 1, 1 << 28, 0xffffff]) << 3)) >>> 0];
    case 3: // far / double far
      return [((rng.below(words + 2) << 3) | (rng.chance(0.5) ? 6 : 2)) >>> 0, rng.below(4)];
    case 4: // capability, or an "other" pointer
      return [3, rng.below(4)];
    case 5: // inline-composite tag
      return [(rng.pick([0, 1, 2, 3, 0x3fffffff, rng.below(64)]) << 2) >>> 0, (small() | (small() << 16)) >>> 0];
    default: // null, or a negative offset
      return rng.chance(0.5) ? [0, 0] : [((-1 - rng.below(8)) << 2) >>> 0, (rng.below(4) | (rng.below(4) << 16)) >>> 0];
  }
}

export class Mutator {
  constructor(
    private readonly rng: Rng,
    private readonly maxLen: number,
    private readonly dictionary: readonly Uint8Array[],
  ) {}

  /** A mutant of `input` (never `input` itself); `other` is another corpus entry for splicing. */
  mutate(input: Uint8Array, other: Uint8Array): Uint8Array {
    let out: Uint8Array = Uint8Array.from(input);
    const n = 1 + this.rng.below(this.rng.chance(0.2) ? 16 : 5);
    for (let i = 0; i < n; i++) out = this.once(out, other);
    if (out.length > this.maxLen) out = out.subarray(0, this.maxLen).slice();
    return out;
  }

  private once(b: Uint8Array, other: Uint8Array): Uint8Array {
    const r = this.rng;
    if (b.length === 0) return r.bytes(1 + r.below(16));
    const at = r.below(b.length);
    switch (r.below(18)) {
      case 0:
        b[at] ^= 1 << r.below(8);
        return b;
      case 1:
        b[at] = r.u32() & 0xff;
        return b;
      case 2:
        b[at] = r.pick(INTERESTING_8);
        return b;
      case 3:
        b[at] = (b[at] + r.below(33) - 16) & 0xff;
        return b;
      case 4:
      case 5: {
        // A 32-bit value, little-endian, usually on a 4-byte boundary.
        const v = r.pick(INTERESTING_32) + (r.chance(0.2) ? r.below(5) - 2 : 0);
        const p = r.chance(0.7) ? at & ~3 : at;
        return put32(b, p, v);
      }
      case 6: {
        // A 32-bit value added to what is there.
        const p = at & ~3;
        if (p + 4 > b.length) return b;
        const view = new DataView(b.buffer, b.byteOffset, b.length);
        view.setUint32(p, (view.getUint32(p, true) + r.below(17) - 8) >>> 0, true);
        return b;
      }
      case 7:
      case 8: {
        // A Cap'n Proto pointer word at an 8-byte boundary (of the input, or of a message after a 4-byte prefix).
        const base = r.chance(0.3) ? 4 : 0;
        const words = (b.length - base) >> 3;
        if (words <= 0) return b;
        const p = base + r.below(words) * 8;
        const [lo, hi] = pointerWord(r, words);
        put32(b, p, lo);
        return put32(b, p + 4, hi);
      }
      case 9: {
        // Segment table: count or a segment size (of a message at 0, 4 or 16).
        const base = r.pick([0, 0, 4, 8, 16]);
        const p = base + 4 * r.below(4);
        return put32(b, p, r.chance(0.5) ? r.below(8) : r.pick(INTERESTING_32));
      }
      case 10: {
        // Insert bytes.
        const ins = r.chance(0.5) ? r.bytes(1 + r.below(8)) : new Uint8Array(8 * (1 + r.below(4)));
        return concat(b.subarray(0, at), ins, b.subarray(at));
      }
      case 11: {
        // Delete bytes (often a whole word).
        const len = r.chance(0.5) ? 8 : 1 + r.below(Math.min(16, b.length - at));
        return concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + len)));
      }
      case 12: {
        // Copy a chunk within the input (overwrite).
        const len = 1 + r.below(Math.min(32, b.length));
        const from = r.below(b.length - len + 1);
        const to = r.below(b.length - len + 1);
        b.copyWithin(to, from, from + len);
        return b;
      }
      case 13: {
        // Duplicate a chunk (insert).
        const len = 1 + r.below(Math.min(64, b.length));
        const from = r.below(b.length - len + 1);
        return concat(b.subarray(0, at), b.slice(from, from + len), b.subarray(at));
      }
      case 14: {
        // Splice: a prefix of this one and a suffix of another entry.
        if (other.length === 0) return b;
        const cut = r.below(other.length);
        return concat(b.subarray(0, at), other.subarray(cut));
      }
      case 15: {
        // Overwrite with a chunk of another entry.
        if (other.length === 0) return b;
        const len = 1 + r.below(Math.min(32, other.length));
        const from = r.below(other.length - len + 1);
        const to = r.below(Math.max(1, b.length - len + 1));
        const out = b.length >= to + len ? b : concat(b, new Uint8Array(to + len - b.length));
        out.set(other.subarray(from, from + len), to);
        return out;
      }
      case 16: {
        // A dictionary token, inserted or overwritten.
        if (this.dictionary.length === 0) return b;
        const token = r.pick(this.dictionary);
        if (r.chance(0.5)) return concat(b.subarray(0, at), token, b.subarray(at));
        const out = b.length >= at + token.length ? b : concat(b, new Uint8Array(at + token.length - b.length));
        out.set(token, at);
        return out;
      }
      default: {
        // Truncate, or append a frame-like tail (a length prefix that says what follows).
        if (r.chance(0.5)) return b.subarray(0, at).slice();
        const tail = r.bytes(r.below(24));
        const prefix = new Uint8Array(4);
        new DataView(prefix.buffer).setUint32(0, tail.length, true);
        return concat(b, prefix, tail);
      }
    }
  }
}

function put32(b: Uint8Array, p: number, v: number): Uint8Array {
  const out = p + 4 <= b.length ? b : concat(b, new Uint8Array(p + 4 - b.length));
  new DataView(out.buffer, out.byteOffset, out.length).setUint32(p, v >>> 0, true);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Coverage

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface FunctionCoverage {
  functionName: string;
  ranges: Range[];
  isBlockCoverage: boolean;
}
interface ScriptCoverage {
  scriptId: string;
  url: string;
  functions: FunctionCoverage[];
}

/** The inspector session of this thread: one for the whole process, since V8 has one coverage state. */
let inspector: Session | null = null;

/**
 * Starts V8's precise block coverage, once per process, and leaves it on: code that runs (and gets
 * optimized) while it is off loses its block counters for good. This module starts it when it is loaded,
 * so that whoever imports it before the targets (run.ts, fuzz.test.ts) gets the targets' modules counted
 * from their first line.
 */
export function startCoverage(): void {
  if (inspector !== null) return;
  inspector = new Session();
  inspector.connect();
  post("Profiler.enable");
  post("Profiler.startPreciseCoverage", { callCount: true, detailed: true });
}

function post<T>(method: string, params?: object): T {
  let result: T | undefined;
  let error: Error | null = null;
  let done = false;
  inspector!.post(method, params ?? {}, (err, res) => {
    error = err;
    result = res as T;
    done = true;
  });
  // A session connected to its own thread answers synchronously.
  if (!done) throw new Error(`inspector call ${method} did not answer synchronously`);
  if (error !== null) throw error;
  return result!;
}

startCoverage();

/**
 * Block coverage of some modules. V8 reports, per function, the ranges whose counts differ from the range
 * around them, so a block is known once it was reported, and covered when the innermost reported range
 * around it has a count: blocks of a function never compiled are not known (its whole range counts as one
 * block until it runs). Counters reset at each `take`.
 */
export class Coverage {
  /** Script url -> function key -> known blocks "start:end" of that function. */
  private readonly known = new Map<string, Map<string, Set<string>>>();
  readonly covered = new Set<string>();
  private readonly matches: (url: string) => boolean;

  constructor(modules: readonly string[]) {
    const paths = modules.map((m) => join(REPO, m));
    this.matches = (url) => {
      const path = url.startsWith("file://") ? fileURLToPath(url) : url;
      return paths.includes(path);
    };
    startCoverage();
  }

  /** Nothing to give back: coverage stays on for the process (see `startCoverage`). */
  dispose(): void {}

  /** Resets the counters (what ran before is forgotten). */
  reset(): void {
    post("Profiler.takePreciseCoverage");
  }

  /** The blocks covered since the last take or reset that were not covered before (not yet added). */
  take(): Set<string> {
    const { result } = post<{ result: ScriptCoverage[] }>("Profiler.takePreciseCoverage");
    const fresh = new Set<string>();
    for (const script of result) {
      if (!this.matches(script.url)) continue;
      let fns = this.known.get(script.url);
      if (fns === undefined) this.known.set(script.url, (fns = new Map()));
      for (const fn of script.functions) {
        const ranges = fn.ranges;
        const fkey = `${ranges[0].startOffset}:${ranges[0].endOffset}`;
        let blocks = fns.get(fkey);
        if (blocks === undefined) fns.set(fkey, (blocks = new Set()));
        for (const r of ranges) blocks.add(`${r.startOffset}:${r.endOffset}`);
        if (ranges[0].count === 0 && ranges.length === 1) continue;
        for (const block of blocks) {
          const id = `${script.url}#${block}`;
          if (this.covered.has(id)) continue;
          const [s, e] = block.split(":").map(Number);
          // The innermost reported range around the block gives its count.
          let count = 0;
          let width = Infinity;
          for (const r of ranges) {
            if (r.startOffset <= s && e <= r.endOffset && r.endOffset - r.startOffset < width) {
              width = r.endOffset - r.startOffset;
              count = r.count;
            }
          }
          if (count > 0) fresh.add(id);
        }
      }
    }
    return fresh;
  }

  add(blocks: Iterable<string>): void {
    for (const b of blocks) this.covered.add(b);
  }

  /** Blocks and functions known and covered, over the target's modules. */
  summary(): { blocks: number; blocksKnown: number; functions: number; functionsKnown: number; modulesSeen: number } {
    let blocksKnown = 0;
    let functionsKnown = 0;
    let functions = 0;
    for (const [url, fns] of this.known) {
      for (const [fkey, blocks] of fns) {
        blocksKnown += blocks.size;
        functionsKnown++;
        if (this.covered.has(`${url}#${fkey}`)) functions++;
      }
    }
    return { blocks: this.covered.size, blocksKnown, functions, functionsKnown, modulesSeen: this.known.size };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Corpus on disk

export const corpusDir = (target: string): string => join(FUZZ_DIR, "corpus", target);
export const findingsDir = (target: string): string => join(FUZZ_DIR, "findings", target);

export const hashOf = (bytes: Uint8Array): string => createHash("sha1").update(bytes).digest("hex").slice(0, 16);

export function readDir(dir: string): { name: string; bytes: Uint8Array }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".bin"))
    .sort()
    .map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(dir, name))) }));
}

export function writeEntry(dir: string, bytes: Uint8Array, prefix = ""): string {
  mkdirSync(dir, { recursive: true });
  const name = `${prefix}${hashOf(bytes)}.bin`;
  writeFileSync(join(dir, name), bytes);
  return name;
}

// ---------------------------------------------------------------------------------------------------------
// The loop

export interface Finding {
  target: string;
  input: Uint8Array;
  /** The minimized input (the same kind of failure). */
  minimized: Uint8Array;
  kind: string;
  error: unknown;
}

export interface FuzzOptions {
  seed?: number;
  /** Wall-clock budget of the mutation loop, after the corpus has been replayed. */
  durationMs: number;
  /** Stop after this many executions (besides the time budget). */
  maxExecs?: number;
  /** An input taking longer than this is a finding. Default 1,000 ms. */
  slowMs?: number;
  /** Growth of heap + array buffers past this over the run is a finding. Default 1 GiB. */
  maxHeapGrowthBytes?: number;
  /** Stop at the first finding (the test suite does; the long run goes on and collects). */
  stopOnFinding?: boolean;
  /** Inputs to start from besides the target's seeds (the committed corpus, regressions). */
  corpus?: Uint8Array[];
  log?: (line: string) => void;
}

export interface FuzzResult {
  target: string;
  execs: number;
  ms: number;
  /** Corpus entries (inputs reaching new blocks) found by mutation in this run. */
  newEntries: Uint8Array[];
  /** Everything in the corpus at the end: given, seeds, new. */
  corpus: Uint8Array[];
  findings: Finding[];
  coverage: ReturnType<Coverage["summary"]>;
  seed: number;
}

/** The kind of a failure, for minimization and deduplication: error class and message shape. */
export function failureKind(e: unknown): string {
  if (e instanceof Error) return `${e.constructor.name}: ${e.message.replace(/\d+/g, "N").slice(0, 120)}`;
  return `non-error: ${String(e).slice(0, 80)}`;
}

/** Runs one input; a thrown error, or a run slower than `slowMs`, is returned as a failure. */
async function execute(target: FuzzTarget, input: Uint8Array, slowMs: number): Promise<{ error: unknown; kind: string } | null> {
  const t0 = performance.now();
  try {
    const r = target.run(input);
    if (r instanceof Promise) await r;
  } catch (error) {
    return { error, kind: failureKind(error) };
  }
  const ms = performance.now() - t0;
  if (ms > slowMs) return { error: new Error(`slow input: ${ms.toFixed(0)} ms`), kind: "slow input" };
  return null;
}

/** Smaller inputs that fail the same way (chunk deletion, then byte zeroing), within a few hundred runs. */
export async function minimize(target: FuzzTarget, input: Uint8Array, kind: string, slowMs: number): Promise<Uint8Array> {
  let best = input;
  let budget = 400;
  const fails = async (candidate: Uint8Array): Promise<boolean> => {
    budget--;
    const r = await execute(target, candidate, slowMs);
    return r !== null && r.kind === kind;
  };
  for (let chunk = Math.max(1, best.length >> 1); chunk >= 1 && budget > 0; chunk >>= 1) {
    for (let at = 0; at < best.length && budget > 0; ) {
      const candidate = concat(best.subarray(0, at), best.subarray(at + chunk));
      if (await fails(candidate)) best = candidate;
      else at += chunk;
    }
  }
  for (let i = 0; i < best.length && budget > 0; i++) {
    if (best[i] === 0) continue;
    const candidate = best.slice();
    candidate[i] = 0;
    if (await fails(candidate)) best = candidate;
  }
  return best;
}

const memory = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

export async function fuzz(target: FuzzTarget, options: FuzzOptions): Promise<FuzzResult> {
  const seed = options.seed ?? (Date.now() ^ (process.pid << 8)) >>> 0;
  const rng = new Rng(seed);
  const slowMs = options.slowMs ?? 1000;
  const maxGrowth = options.maxHeapGrowthBytes ?? 1024 * 1024 * 1024;
  const log = options.log ?? (() => {});
  const mutator = new Mutator(rng, target.maxLen ?? 1024, target.dictionary ?? []);
  const coverage = new Coverage(target.modules);
  const findings: Finding[] = [];
  const kinds = new Set<string>();
  const corpus: Uint8Array[] = [];
  const newEntries: Uint8Array[] = [];
  let execs = 0;
  const t0 = performance.now();
  const baseMemory = memory();
  let stop = false;

  const report = async (input: Uint8Array, failure: { error: unknown; kind: string }): Promise<void> => {
    if (kinds.has(failure.kind)) return;
    // A slow run may be the machine's fault (other processes, a garbage collection): slow thrice, or nothing.
    if (failure.kind === "slow input") {
      for (let i = 0; i < 2; i++) if ((await execute(target, input, slowMs))?.kind !== "slow input") return;
    }
    kinds.add(failure.kind);
    const minimized = failure.kind === "slow input" ? input : await minimize(target, input, failure.kind, slowMs);
    findings.push({ target: target.name, input, minimized, kind: failure.kind, error: failure.error });
    log(`${target.name}: FINDING ${failure.kind} (${minimized.length} bytes minimized)`);
    if (options.stopOnFinding) stop = true;
  };

  /** Runs `inputs` and answers the new blocks they reached together; failures are reported. */
  const runAll = async (inputs: readonly Uint8Array[]): Promise<Set<string>> => {
    for (const input of inputs) {
      const failure = await execute(target, input, slowMs);
      execs++;
      if (failure !== null) await report(input, failure);
    }
    return coverage.take();
  };

  /** The inputs of a batch that reached new blocks, found by bisection; each joins the corpus. */
  const bisect = async (inputs: readonly Uint8Array[], isNew: boolean): Promise<void> => {
    if (inputs.length === 1) {
      if (!isNew) return;
      coverage.reset();
      const fresh = await runAll(inputs);
      if (fresh.size === 0) return; // not reproducible alone (state left by earlier inputs)
      coverage.add(fresh);
      corpus.push(inputs[0]);
      newEntries.push(inputs[0]);
      return;
    }
    const half = inputs.length >> 1;
    for (const part of [inputs.slice(0, half), inputs.slice(half)]) {
      coverage.reset();
      const fresh = await runAll(part);
      if (fresh.size > 0) await bisect(part, true);
    }
  };

  try {
    await target.setup?.();
    // The starting corpus, in one batch (taking coverage per entry costs more than running it): all of it
    // is kept, and what it covers is the baseline. mergeCorpus is what keeps a corpus small.
    const start = [...target.seeds(), ...(options.corpus ?? [])].sort((a, b) => a.length - b.length);
    coverage.reset();
    coverage.add(await runAll(start));
    corpus.push(...start);
    log(`${target.name}: ${start.length} starting inputs, ${coverage.covered.size} blocks`);

    let batchSize = 16;
    const deadline = t0 + options.durationMs;
    while (!stop && performance.now() < deadline && (options.maxExecs === undefined || execs < options.maxExecs)) {
      const batch: Uint8Array[] = [];
      const bt = performance.now();
      coverage.reset();
      for (let i = 0; i < batchSize; i++) {
        const base = corpus.length > 8 && rng.chance(0.5) ? corpus[corpus.length - 1 - rng.below(Math.min(8, corpus.length))] : rng.pick(corpus);
        batch.push(mutator.mutate(base, rng.pick(corpus)));
      }
      const fresh = await runAll(batch);
      // A turn of the event loop per batch: what inputs scheduled (a stream's setImmediate) runs and lets go
      // of its memory, which otherwise piles up for the whole run and reads as a leak.
      await new Promise((resolve) => setImmediate(resolve));
      // Batches of about 30 ms: taking coverage costs milliseconds.
      const took = performance.now() - bt;
      batchSize = Math.max(1, Math.min(512, Math.round(batchSize * (took < 30 ? 1.5 : 0.7))));
      if (fresh.size > 0) await bisect(batch, true);
      if (memory() - baseMemory > maxGrowth) {
        globalThis.gc?.();
        if (memory() - baseMemory > maxGrowth) await report(batch[batch.length - 1], { error: new Error(`memory grew by ${memory() - baseMemory} bytes`), kind: "memory growth" });
      }
    }
  } finally {
    await target.teardown?.();
    coverage.dispose();
  }
  return { target: target.name, execs, ms: performance.now() - t0, newEntries, corpus, findings, coverage: coverage.summary(), seed };
}

/**
 * The smallest set of `inputs` covering what they all cover, greedily: smallest first, each kept when it
 * reaches blocks the ones before it did not (what libFuzzer's -merge does).
 */
export async function mergeCorpus(target: FuzzTarget, inputs: readonly Uint8Array[]): Promise<Uint8Array[]> {
  const coverage = new Coverage(target.modules);
  const keep: Uint8Array[] = [];
  const seen = new Set<string>();
  try {
    await target.setup?.();
    for (const input of [...inputs].sort((a, b) => a.length - b.length)) {
      const h = hashOf(input);
      if (seen.has(h)) continue;
      seen.add(h);
      coverage.reset();
      try {
        const r = target.run(input);
        if (r instanceof Promise) await r;
      } catch {
        continue; // a finding is kept among the findings, not in the corpus
      }
      const fresh = coverage.take();
      if (fresh.size > 0) {
        coverage.add(fresh);
        keep.push(input);
      }
    }
  } finally {
    await target.teardown?.();
    coverage.dispose();
  }
  return keep;
}
