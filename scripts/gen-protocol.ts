/**
 * Generates `runtime/protocol/protocol.capnp.ts` from `runtime/protocol/protocol.capnp` with ipcgen's own
 * compiler and code generator. The runtime imports the codec relatively (it is the package itself).
 * test/runtime/protocol.test.ts fails when the committed file is not what this prints.
 *
 * Run: node --import tsx scripts/gen-protocol.ts
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateTypeScript } from "../generator/codegen/index.js";
import { compile } from "../generator/compiler/index.js";

export const PROTOCOL_DIR = join(dirname(fileURLToPath(import.meta.url)), "../runtime/protocol");

/** The generated module's text. */
export function protocolModule(): string {
  const previous = process.cwd();
  process.chdir(PROTOCOL_DIR);
  try {
    const result = compile(["protocol.capnp"], { standardImport: false });
    if (!result.ok) throw new Error(result.messages.join("\n"));
    const [file] = generateTypeScript(result.request, { runtime: { capnp: "capnp-ts", codec: "../codec/index.js" } });
    return file.content;
  } finally {
    process.chdir(previous);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(join(PROTOCOL_DIR, "protocol.capnp.ts"), protocolModule());
}
