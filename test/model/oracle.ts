/** The official capnp 0.9.2 tool as a test oracle, and the decoded schema of test.capnp. */

import { execFileSync } from "node:child_process";
import { decodeRequest } from "../../generator/model/request.js";
import { nodeLookup, type NodeLookup } from "../../generator/model/codec.js";
import type { CodeGeneratorRequest, Node } from "../../generator/model/schema.js";

import { CORPUS } from "../support/ipcgen.js";

export { CORPUS };
export const TEST_CAPNP = "src/capnp/test.capnp";
const IMPORT = ["-I", "src", "--no-standard-import"];

/** Runs `capnp` in the corpus root; stderr (compiler warnings) is dropped. */
export function capnp(args: string[], input?: Uint8Array | string): Buffer {
  return execFileSync("capnp", args, { cwd: CORPUS, input, stdio: ["pipe", "pipe", "pipe"], maxBuffer: 1 << 28 });
}

export function compile(file: string): Uint8Array {
  return capnp(["compile", "-o-", ...IMPORT, file]);
}

export function requestText(bytes: Uint8Array): string {
  return capnp(["convert", "binary:text", ...IMPORT, "src/capnp/schema.capnp", "CodeGeneratorRequest"], bytes).toString();
}

export function canonical(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(capnp(["convert", "binary:canonical"], bytes));
}

export function encodeText(type: string, text: string): Uint8Array {
  return new Uint8Array(capnp(["encode", ...IMPORT, TEST_CAPNP, type], text));
}

export function decodeToText(type: string, bytes: Uint8Array): string {
  return capnp(["decode", ...IMPORT, TEST_CAPNP, type], bytes).toString();
}

/** A flat single-segment message (canonical form) with the one-segment table capnp tools read. */
export function frame(flat: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + flat.length);
  new DataView(out.buffer).setUint32(4, flat.length / 8, true);
  out.set(flat, 8);
  return out;
}

export interface TestSchema {
  req: CodeGeneratorRequest;
  lookup: NodeLookup;
  /** A node by its name within test.capnp, e.g. "TestAllTypes" or "TestGenerics.Inner". */
  node(name: string): Node;
}

let cached: TestSchema | undefined;

export function testSchema(): TestSchema {
  if (cached !== undefined) return cached;
  const req = decodeRequest(compile(TEST_CAPNP));
  const byName = new Map(req.nodes.map((n) => [n.displayName, n]));
  cached = {
    req,
    lookup: nodeLookup(req.nodes),
    node(name) {
      const n = byName.get(`${TEST_CAPNP}:${name}`);
      if (n === undefined) throw new Error(`no node ${name}`);
      return n;
    },
  };
  return cached;
}
