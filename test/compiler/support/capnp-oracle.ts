/**
 * Test-only access to the official compiler (`/usr/bin/capnp`, 0.9.2) as an oracle.
 *
 * `capnp convert binary:json` refuses requests holding AnyPointer values, so the request is converted to
 * capnp's text format instead and parsed here. Scalars come back as strings (so 64-bit ids stay exact),
 * structs as plain objects, lists as arrays, `<opaque pointer>` as the string "<opaque pointer>".
 */
import { spawnSync } from "node:child_process";

export type TextValue = string | TextValue[] | { [field: string]: TextValue };

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
export function parseCapnpText(text: string): TextValue {
  let pos = 0;
  const skip = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const expect = (ch: string) => {
    skip();
    if (text[pos] !== ch) throw new Error(`expected '${ch}' at ${pos}: ${text.slice(pos, pos + 40)}`);
    pos++;
  };
  const parseString = (): string => {
    pos++; // opening quote
    let out = "";
    while (text[pos] !== '"') {
      if (text[pos] === "\\") {
        const e = text[++pos];
        if (e === "x") {
          out += String.fromCharCode(parseInt(text.slice(pos + 1, pos + 3), 16));
          pos += 3;
          continue;
        }
        out += ({ n: "\n", t: "\t", r: "\r", "0": "\0" } as Record<string, string>)[e] ?? e;
        pos++;
      } else out += text[pos++];
    }
    pos++;
    return out;
  };
  const parseValue = (): TextValue => {
    skip();
    const ch = text[pos];
    if (ch === "(") {
      pos++;
      const obj: { [field: string]: TextValue } = {};
      skip();
      while (text[pos] !== ")") {
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(pos, pos + 100));
        if (!m) throw new Error(`expected field name at ${pos}`);
        pos += m[0].length;
        expect("=");
        obj[m[0]] = parseValue();
        skip();
        if (text[pos] === ",") pos++;
        skip();
      }
      pos++;
      return obj;
    }
    if (ch === "[") {
      pos++;
      const list: TextValue[] = [];
      skip();
      while (text[pos] !== "]") {
        list.push(parseValue());
        skip();
        if (text[pos] === ",") pos++;
        skip();
      }
      pos++;
      return list;
    }
    if (ch === '"') return parseString();
    if (text.startsWith("<opaque pointer>", pos)) {
      pos += "<opaque pointer>".length;
      return "<opaque pointer>";
    }
    const m = /^[^\s,()[\]]+/.exec(text.slice(pos, pos + 400));
    if (!m) throw new Error(`unexpected text at ${pos}: ${text.slice(pos, pos + 40)}`);
    pos += m[0].length;
    return m[0];
  };
  const value = parseValue();
  skip();
  if (pos !== text.length) throw new Error(`trailing text at ${pos}`);
  return value;
}
