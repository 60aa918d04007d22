/**
 * Helpers for the lexer/parser tests: run our parser on a source, and run the official capnp 0.9.2 on the
 * same source to keep only the errors its lexer and parser produce.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileErrorReporter, LineMap, formatDiagnostic, type Diagnostic } from "../../generator/compiler/diagnostics.js";
import { parseFile } from "../../generator/compiler/parser.js";
import type { ParsedFile } from "../../generator/compiler/ast.js";

export const CAPNP = "/usr/bin/capnp";
export const haveCapnp = existsSync(CAPNP);

export function parseSource(source: string | Uint8Array, file = "file"): { parsed: ParsedFile; messages: string[] } {
  const bytes = typeof source === "string" ? new TextEncoder().encode(source) : source;
  const sink: Diagnostic[] = [];
  const parsed = parseFile(bytes, new FileErrorReporter(file, sink));
  const lines = new LineMap(bytes);
  return { parsed, messages: sink.map((d) => formatDiagnostic(d, lines)) };
}

/** Messages that come from capnp's lexer.c++ and parser.c++, as opposed to its later stages. */
const PARSER_MESSAGES = [
  /^Parse error\.$/,
  /^Parse error: Empty list item\.$/,
  /^Non-UTF-8 input detected\./,
  /^Invalid ID\./,
  /^Ordinals cannot be greater than 65535\.$/,
  /^'using' declaration without '='/,
  /^As of Cap'n Proto v0\.3, /,
  /^Wildcard should not be specified together with other targets\.$/,
  /^Not a valid annotation target\.$/,
  /^Duplicate target specification\.$/,
  /^This statement should end with a (block|semicolon), not a (semicolon|block)\.$/,
  /^File can only have one ID\.$/,
  /^File does not declare an ID\./,
];

export function isParserMessage(line: string): boolean {
  const m = /^[^:]*:[0-9:-]*: error: (.*)$/.exec(line);
  return m !== null && PARSER_MESSAGES.some((re) => re.test(m[1]));
}

/** The random id in "File does not declare an ID" differs per run; blank it out. */
export function normalizeMessage(line: string): string {
  return line.replace(/@0x[0-9a-f]+;$/, "@0x<random>;");
}

let scratch: string | null = null;

/** Compiles `source` (as file name `file`) with capnp and returns its parser-stage error lines. */
export function capnpParserErrors(source: string | Uint8Array): string[] {
  scratch ??= mkdtempSync(join(tmpdir(), "ipcgen-parser-"));
  writeFileSync(join(scratch, "file"), source);
  const result = spawnSync(CAPNP, ["compile", "-o-", "--no-standard-import", "file"], {
    cwd: scratch,
    encoding: "utf8",
  });
  return result.stderr
    .split("\n")
    .filter(isParserMessage)
    .map(normalizeMessage);
}

/** Runs capnp compile and converts the request to capnp's text format. */
export function capnpRequestText(corpusDir: string, file: string): string {
  const binary = execFileSync(CAPNP, ["compile", "-o-", "-I", "src", "--no-standard-import", file], {
    cwd: corpusDir,
    maxBuffer: 1 << 28,
    stdio: ["ignore", "pipe", "ignore"],
  });
  return execFileSync(
    CAPNP,
    ["convert", "binary:text", "-I", "src", "src/capnp/schema.capnp", "CodeGeneratorRequest"],
    { cwd: corpusDir, input: binary, maxBuffer: 1 << 28, encoding: "utf8", stdio: ["pipe", "pipe", "ignore"] },
  );
}
