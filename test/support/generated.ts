/** Generated modules in tests: written where their imports resolve, and type-checked as users compile them. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import ts from "typescript";
import { type GeneratedFile, type GenerateOptions, generateTypeScript } from "../../generator/codegen/index.js";
import type { CodeGeneratorRequest } from "../../generator/model/schema.js";
import { REPO } from "./ipcgen.js";

/** Writes `files` (from `generateTypeScript`) under `dir`; returns their paths. */
export function writeGenerated(files: readonly GeneratedFile[], dir: string): string[] {
  return files.map((f) => {
    const path = join(dir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content);
    return path;
  });
}

/** Generates the request's modules into `dir` (inside the repository, so that `capnp-ts` and `ipcgen/codec` resolve). */
export function generateInto(request: CodeGeneratorRequest, dir: string, options?: GenerateOptions): string[] {
  return writeGenerated(generateTypeScript(request, options), dir);
}

/** Type-checks `files` under the project's strict settings; returns the diagnostics, "file:line: message". */
export function typecheck(files: string[]): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(REPO, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
  const program = ts.createProgram(files, { ...config.options, noEmit: true });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    if (d.file === undefined) return ts.flattenDiagnosticMessageText(d.messageText, "\n");
    const line = d.file.getLineAndCharacterOfPosition(d.start ?? 0).line;
    return `${d.file.fileName.slice(REPO.length + 1)}:${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
  });
}
