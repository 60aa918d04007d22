/**
 * `--helpers FILE`: a user's module of Handlebars helpers. Every function it exports (by name; or, for a
 * CommonJS module, every function of its `module.exports` object) becomes a helper of that name, next to
 * the bundled ones, replacing a bundled one of the same name.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { TemplateHelper } from "../codegen/render.js";
import { CliError, oneLine } from "./errors.js";

/** Checks, before anything is compiled, that FILE is there. */
export function checkHelpersFile(file: string, cwd: string): void {
  const stats = statSync(resolve(cwd, file), { throwIfNoEntry: false });
  if (stats === undefined) throw new CliError(`--helpers ${file}: no such file`);
  if (!stats.isFile()) throw new CliError(`--helpers ${file}: not a regular file`);
}

let generation = 0;

/**
 * Imports the module and collects its functions. `fresh` imports it anew (a new URL, since Node caches
 * modules by URL), for `--watch` after the file changed.
 */
export async function loadHelpers(file: string, cwd: string, fresh = false): Promise<Record<string, TemplateHelper>> {
  checkHelpersFile(file, cwd);
  const url = pathToFileURL(resolve(cwd, file)).href + (fresh ? `?v=${++generation}` : "");
  let module: Record<string, unknown>;
  try {
    module = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    const hint =
      code === "ERR_UNKNOWN_FILE_EXTENSION"
        ? ` (this Node cannot import ${file.slice(file.lastIndexOf("."))} files: write the helpers as .js or .mjs, or run Node with a loader for it)`
        : "";
    throw new CliError(`--helpers ${file}: cannot be loaded: ${oneLine(err)}${hint}`);
  }
  const helpers: Record<string, TemplateHelper> = {};
  for (const [name, value] of Object.entries(module)) {
    if (name !== "default" && typeof value === "function") helpers[name] = value as TemplateHelper;
  }
  // A CommonJS module (`module.exports = { upper }`) arrives as the default export.
  const fallback = module.default;
  if (fallback !== null && typeof fallback === "object") {
    for (const [name, value] of Object.entries(fallback)) {
      if (typeof value === "function" && !(name in helpers)) helpers[name] = value as TemplateHelper;
    }
  }
  if (Object.keys(helpers).length === 0) {
    throw new CliError(`--helpers ${file}: exports no functions (each exported function becomes a helper of its name)`);
  }
  return helpers;
}
