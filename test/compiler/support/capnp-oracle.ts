/**
 * Test-only access to the official compiler (`/usr/bin/capnp`, 0.9.2) as an oracle.
 *
 * `capnp convert binary:json` refuses requests holding AnyPointer values, so the request is converted to
 * capnp's text format instead and parsed here. Scalars come back as strings (so 64-bit ids stay exact),
 * structs as plain objects, lists as arrays, `<opaque pointer>` as the string "<opaque pointer>".
 */
import { spawnSync } from "node:child_process";

export type { TextValue } from "./capnp-text.js";
import { parseCapnpText } from "./capnp-text.js";

export interface CapnpRun {
  status: number;
  stderr: string;
  /** The parsed CodeGeneratorRequest; null when capnp failed. */
  request: any;
}

/** Runs `capnp compile -o- ARGS` in `cwd` and returns the parsed request (or capnp's errors). */
export function capnpCompile(args: string[], cwd: string): CapnpRun {
  // PWD must match cwd, or kj warns on stderr.
  const env = { ...process.env, PWD: cwd };
  const compiled = spawnSync("capnp", ["compile", "-o-", ...args], { cwd, env, maxBuffer: 1 << 28 });
  const stderr = compiled.stderr.toString("utf8");
  if (compiled.status !== 0) return { status: compiled.status ?? -1, stderr, request: null };
  const converted = spawnSync(
    "capnp",
    ["convert", "binary:text", "/usr/include/capnp/schema.capnp", "CodeGeneratorRequest"],
    { input: compiled.stdout, maxBuffer: 1 << 28 },
  );
  if (converted.status !== 0) throw new Error(`capnp convert failed: ${converted.stderr}`);
  return { status: 0, stderr, request: parseCapnpText(converted.stdout.toString("utf8")) };
}

/** Parses the output of `capnp convert binary:text`. */
export { parseCapnpText } from "./capnp-text.js";
