/**
 * Template data to TypeScript text: Handlebars fills the templates (`templates/typescript/*.hbs`, each
 * replaceable by a file of the same name in a user's template directory), then ts-morph adds the imports
 * the data lists and formats the result.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Handlebars from "handlebars";
import { IndentationText, Project, QuoteKind } from "ts-morph";
import { DEFAULT_RUNTIME, type RuntimeImports } from "./runtime.js";
import type { FileData } from "./template-data.js";

/** The bundled templates: `templates/typescript` at the package root (this file is two or three levels down). */
export function defaultTemplateDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, "templates", "typescript");
    if (existsSync(join(candidate, "file.hbs"))) return candidate;
    dir = dirname(dir);
  }
  throw new Error("ipcgen's bundled templates (templates/typescript) are missing from the installation");
}

/** A Handlebars helper: called with the template's arguments, then Handlebars' options object. */
export type TemplateHelper = (...args: any[]) => unknown;

/** Helpers the templates may call; each is a small pure function of its arguments. */
export const BUNDLED_HELPERS: Readonly<Record<string, TemplateHelper>> = {
  /** A TSDoc block (with a trailing newline and the current indentation) from a schema doc comment, or nothing. */
  doc(text: unknown) {
    if (typeof text !== "string" || text.trim() === "") return "";
    const lines = text.replace(/\*\//g, "*\\/").split("\n").map((l) => l.replace(/\s+$/, ""));
    if (lines.length === 1) return `/** ${lines[0].trim()} */\n`;
    return `/**\n${lines.map((l) => (l === "" ? " *" : ` * ${l}`)).join("\n")}\n */\n`;
  },
  json(value: unknown) {
    return JSON.stringify(value);
  },
  concat(...args: unknown[]) {
    return args.slice(0, -1).join("");
  },
};

export class Renderer {
  private readonly hb = Handlebars.create();
  private readonly file: Handlebars.TemplateDelegate;
  private readonly header: Handlebars.TemplateDelegate;
  private readonly project = new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: { indentationText: IndentationText.TwoSpaces, quoteKind: QuoteKind.Double },
  });

  /**
   * `templateDirs`: later directories override earlier ones, file by file. `helpers` are registered after
   * the bundled ones (`doc`, `json`, `concat`), so one of the same name replaces the bundled helper.
   */
  constructor(
    templateDirs: readonly string[] = [defaultTemplateDir()],
    private readonly runtime: RuntimeImports = DEFAULT_RUNTIME,
    helpers: Readonly<Record<string, TemplateHelper>> = {},
  ) {
    const sources = new Map<string, string>();
    for (const dir of templateDirs) {
      for (const name of readdirSync(dir)) {
        if (name.endsWith(".hbs")) sources.set(name.slice(0, -4), readFileSync(join(resolve(dir), name), "utf8"));
      }
    }
    const file = sources.get("file");
    const header = sources.get("header") ?? "";
    if (file === undefined) throw new Error(`no file.hbs in the template directories ${templateDirs.join(", ")}`);
    for (const [name, helper] of Object.entries({ ...BUNDLED_HELPERS, ...helpers })) this.hb.registerHelper(name, helper as Handlebars.HelperDelegate);
    for (const [name, text] of sources) {
      // Parsed now, so that a syntax error shows with the template's name even if no schema needs that template.
      try {
        Handlebars.parse(text);
      } catch (err) {
        throw new Error(`${name}.hbs: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (name !== "file" && name !== "header") this.hb.registerPartial(name, text);
    }
    // Doc blocks are printed by a helper and must stay intact; every value is code, not HTML.
    this.file = this.hb.compile(file, { noEscape: true });
    this.header = this.hb.compile(header, { noEscape: true });
  }

  render(data: FileData, path: string): string {
    const text = this.file(data);
    const sf = this.project.createSourceFile(path, text, { overwrite: true });
    sf.insertImportDeclarations(0, [
      { namespaceImport: "capnp", moduleSpecifier: this.runtime.capnp },
      { namespaceImport: "codec", moduleSpecifier: this.runtime.codec },
      ...(data.usesRuntime ? [{ namespaceImport: "ipcgen", moduleSpecifier: this.runtime.runtime ?? "ipcgen" }] : []),
      ...data.imports.map((i) => ({ namedImports: i.names, moduleSpecifier: i.from })),
    ]);
    sf.formatText({ indentSize: 2, convertTabsToSpaces: true, ensureNewLineAtEndOfFile: true });
    const out = alignDocComments(sf.getFullText());
    this.project.removeSourceFile(sf);
    // The header goes above the imports, which ts-morph inserted at the top.
    return this.header(data) + out;
  }
}

/**
 * Indents the inner lines of every multi-line doc comment like its opening line. The formatter moves a
 * comment's first line to the indentation of the code it documents but leaves the lines after it alone,
 * and the doc helper cannot know the indentation when it prints them.
 */
export function alignDocComments(text: string): string {
  const lines = text.split("\n");
  let indent: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)\/\*\*\s*$/.exec(lines[i]);
    if (open !== null) {
      indent = open[1];
      continue;
    }
    if (indent === null) continue;
    if (/^\s*\*/.test(lines[i])) lines[i] = `${indent} ${lines[i].trimStart()}`;
    if (lines[i].includes("*/")) indent = null;
  }
  return lines.join("\n");
}
