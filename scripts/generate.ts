/**
 * Regenerates the generated code this repository commits, each from its schema with ipcgen's own compiler
 * and generator: the runtime's protocol, the stubs' test fixture, and every example. Committed so that it
 * type-checks in a fresh clone and can be read as ipcgen's output; test/codegen/committed.test.ts fails
 * when a committed file is not what this writes.
 *
 * Run: node --import tsx scripts/generate.ts [--check]
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateTypeScript } from "../generator/codegen/index.js";
import { moduleLocations } from "../generator/codegen/layout.js";
import type { RuntimeImports } from "../generator/codegen/runtime.js";
import { compile } from "../generator/compiler/index.js";

export const REPO = join(dirname(fileURLToPath(import.meta.url)), "..");

interface Target {
  /** Directory the schema's path is relative to (its --src-prefix). */
  dir: string;
  schema: string;
  out: string;
  runtime?: RuntimeImports;
  /** `-I` directories, relative to `dir`. */
  importPath?: string[];
}

/** Every committed target: the protocol imports the codec relatively (it is the package itself). */
export function targets(): Target[] {
  const examples = readdirSync(join(REPO, "examples"), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      readdirSync(join(REPO, "examples", d.name))
        .filter((f) => f.endsWith(".capnp"))
        .map((f) => ({ dir: `examples/${d.name}`, schema: f, out: `examples/${d.name}/gen` })),
    );
  // The modules of the bundled standard schemas, which the package ships as `ipcgen/std/...` (generated
  // code imports them from there): each imports the runtime relatively, from its own depth.
  const stdDir = join(REPO, "generator", "std");
  const std = schemaFiles(stdDir).map((schema) => {
    const up = "../".repeat(schema.split("/").length);
    return { dir: "generator/std", schema, out: "runtime/std", importPath: ["."], runtime: { capnp: `${up}codec/capnp.js`, codec: `${up}codec/index.js`, runtime: `${up}index.js` } };
  });
  return [
    ...std,
    { dir: "runtime/protocol", schema: "protocol.capnp", out: "runtime/protocol", runtime: { capnp: "capnp-ts", codec: "../codec/index.js" } },
    { dir: "test/fixtures", schema: "stubs.capnp", out: "test/stubs/gen" },
    { dir: "test/fixtures", schema: "blobs.capnp", out: "test/zero-copy/gen" },
    // The fuzzer's plain-view target, importing the codec from source (it runs without a build).
    { dir: "test/fixtures", schema: "fuzz.capnp", out: "test/fuzz/gen", runtime: { capnp: "capnp-ts", codec: "../../../runtime/codec/index.js" } },
    { dir: "test/fixtures", schema: "soak.capnp", out: "test/hardening/gen" },
    ...examples,
  ];
}

/** The `.capnp` files under `dir`, as `/`-separated paths relative to it, sorted. */
function schemaFiles(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? schemaFiles(dir, `${prefix}${d.name}/`) : d.name.endsWith(".capnp") ? [`${prefix}${d.name}`] : []))
    .sort();
}

function version(): string {
  return (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string }).version;
}

/** The files a target generates: path (from the repository) and content. */
export function generate(target: Target): { path: string; content: string }[] {
  const previous = process.cwd();
  process.chdir(join(REPO, target.dir));
  try {
    const result = compile([target.schema], { standardImport: target.runtime === undefined, importPath: target.importPath ?? [] });
    if (!result.ok) throw new Error(result.messages.join("\n"));
    const files = generateTypeScript(result.request, {
      version: version(),
      locations: moduleLocations(result.sources, "out"),
      ...(target.runtime ? { runtime: target.runtime } : {}),
    });
    // With its own runtime imports a target keeps only its own module (the protocol imports nothing; each
    // standard schema is a target of its own).
    return files.filter((f) => target.runtime === undefined || f.path === `${target.schema}.ts`).map((f) => ({ path: join(target.out, f.path), content: f.content }));
  } finally {
    process.chdir(previous);
  }
}

/** Paths (from the repository) of committed files that differ from what would be generated. */
export function outOfDate(): string[] {
  return targets()
    .flatMap(generate)
    .filter((f) => {
      const path = join(REPO, f.path);
      return !existsSync(path) || readFileSync(path, "utf8") !== f.content;
    })
    .map((f) => f.path);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes("--check")) {
    const stale = outOfDate();
    for (const path of stale) process.stderr.write(`${path} is out of date: run node --import tsx scripts/generate.ts\n`);
    process.exitCode = stale.length > 0 ? 1 : 0;
  } else {
    for (const file of targets().flatMap(generate)) {
      const path = join(REPO, file.path);
      if (existsSync(path) && readFileSync(path, "utf8") === file.content) continue;
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.content);
      process.stdout.write(`wrote ${file.path}\n`);
    }
  }
}
