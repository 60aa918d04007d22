/**
 * The Echo service of test/fixtures/echo.capnp for the runtime's tests: its generated code (written under
 * test/.gen/runtime, importing the runtime's sources) and its service definition, written by hand until
 * stubs are generated.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { generateTypeScript } from "../../../generator/codegen/index.js";
import { compile } from "../../../generator/compiler/index.js";
import type { ServiceDefinition } from "../../../runtime/rpc/service.js";
import type { MethodRef } from "../../../runtime/session/session.js";

export const REPO = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const OUT = join(REPO, "test/.gen/runtime");

/** The Echo interface's id, set by `generateEcho`. */
let echoId = 0n;

/** Generates the fixture's module (idempotent) and returns its path. */
export function generateEcho(): string {
  const previous = process.cwd();
  process.chdir(REPO);
  try {
    const result = compile(["test/fixtures/echo.capnp"], { importPath: ["generator/std"], standardImport: false });
    if (!result.ok) throw new Error(result.messages.join("\n"));
    const path = join(OUT, "test/fixtures/echo.capnp.ts");
    const codec = relative(dirname(path), join(REPO, "runtime/codec/index.js"));
    const [file] = generateTypeScript(result.request, { runtime: { capnp: "capnp-ts", codec } });
    echoId = result.request.nodes.find((n) => n.displayName.endsWith(":Echo"))!.id;
    // Written only when it changed: client processes may run as another user, who can read it but not write.
    if (!existsSync(path) || readFileSync(path, "utf8") !== file.content) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.content);
    }
    return path;
  } finally {
    process.chdir(previous);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the generated module is imported at run time
export type EchoModule = Record<string, any>;

export async function loadEcho(): Promise<EchoModule> {
  return (await import(generateEcho())) as EchoModule;
}

/** Echo's definition (after `loadEcho`): methods named on the wire by Echo's id and their ordinals, the interface's id, a fixed test fingerprint. */
export function echoService(m: EchoModule, fingerprint = 0x1234n): ServiceDefinition {
  return {
    id: echoId,
    fingerprint,
    name: "Echo",
    methods: (
      [
        { name: "echo", params: m.EchoParams, results: m.EchoResults },
        { name: "fail", params: m.FailParams, results: m.Empty },
        { name: "wait", params: m.Empty, results: m.Empty },
        { name: "stats", params: m.Empty, results: m.Stats },
        { name: "note", params: m.EchoParams, results: m.Empty },
        { name: "lists", params: m.ListParams, results: m.ListResults, kind: "call" },
        { name: "block", params: m.Empty, results: m.Empty, kind: "call" },
        { name: "hang", params: m.Empty, results: m.Empty, kind: "oneway" },
        { name: "handlers", params: m.Empty, results: m.Handlers },
      ] as const
    ).map((method, methodId) => ({ ...method, interfaceId: echoId, methodId })),
  };
}

/**
 * Echo's method (or signal) `methodId` as the wire names it. Its `interfaceId` is read when used, so that a
 * test may name methods at load time, before Echo's module is generated.
 */
export const echoMethod = (methodId: number): MethodRef => ({
  get interfaceId() {
    if (echoId === 0n) generateEcho();
    return echoId;
  },
  methodId,
});
