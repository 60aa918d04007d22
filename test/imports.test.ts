/**
 * The architecture as docs/architecture.md draws it, checked on the sources: no import cycle in the
 * generator or the runtime (type-only imports included: a cycle of types is still a knot to read), and
 * the runtime's layers import only the layers below them.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "./support/ipcgen.js";

/** Every .ts source below `dir`, but generated code (runtime/std, the protocol's module). */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "std" || name === "build" || name === "node_modules" ? [] : sources(path);
    return name.endsWith(".ts") && !name.endsWith(".capnp.ts") ? [path] : [];
  });
}

/** The relative imports and re-exports of a file, resolved to files. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"/gms)) {
    const target = resolve(dirname(file), m[1].replace(/\.js$/, ".ts"));
    if (existsSync(target)) out.push(target);
  }
  return out;
}

/** A cycle in the import graph of `files`, as a list of paths, or null. */
function findCycle(files: string[]): string[] | null {
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (f: string): string[] | null => {
    if (state.get(f) === "done") return null;
    if (state.get(f) === "open") return [...stack.slice(stack.indexOf(f)), f];
    state.set(f, "open");
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      const cycle = visit(g);
      if (cycle !== null) return cycle;
    }
    stack.pop();
    state.set(f, "done");
    return null;
  };
  for (const f of files) {
    const cycle = visit(f);
    if (cycle !== null) return cycle.map((p) => relative(REPO, p));
  }
  return null;
}

/** The runtime's layers, lowest first (docs/architecture.md): a file may import its own layer and those before it. */
const LAYERS: string[][] = [
  ["runtime/errors.ts"],
  ["runtime/codec/", "runtime/native/", "runtime/contract.ts"],
  ["runtime/protocol/"],
  ["runtime/transport/"],
  ["runtime/session/"],
  ["runtime/rpc/", "runtime/shm/"],
  ["runtime/stubs/"],
  ["runtime/index.ts"],
];
const layerOf = (path: string): number => LAYERS.findIndex((layer) => layer.some((p) => (p.endsWith("/") ? path.startsWith(p) : path === p)));

describe("imports", () => {
  it("the runtime has no import cycle", () => {
    expect(findCycle(sources(join(REPO, "runtime")))).toBe(null);
  });

  it("the generator has no import cycle", () => {
    expect(findCycle(sources(join(REPO, "generator")))).toBe(null);
  });

  it("the runtime's layers import only their own layer and those below", () => {
    const wrong: string[] = [];
    for (const file of sources(join(REPO, "runtime"))) {
      const from = relative(REPO, file);
      const at = layerOf(from);
      expect(at, `${from} belongs to no layer`).toBeGreaterThanOrEqual(0);
      for (const target of importsOf(file)) {
        const to = relative(REPO, target);
        if (layerOf(to) > at) wrong.push(`${from} imports ${to}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
