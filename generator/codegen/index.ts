/**
 * The TypeScript back end: a `CodeGeneratorRequest` in, one module per requested file out.
 *
 * The schema's text flows one way through the generator, each stage plain data for the next:
 *
 *   text -> tokens -> syntax tree -> resolved nodes   generator/compiler: lexer, parser, compiler and translate
 *        -> plain-data model                          generator/model: schema.ts (the request), ipc.ts (ipc.capnp's conventions)
 *        -> template data (pure)                      template-data.ts, from one module per kind of node
 *        -> files                                     render.ts: templates/typescript/*.hbs, then ts-morph
 */
import type { CodeGeneratorRequest } from "../model/schema.js";
import { defaultTemplateDir, Renderer, type TemplateHelper } from "./render.js";
import { DEFAULT_RUNTIME, type RuntimeImports } from "./runtime.js";
import { templateData, type TemplateDataOptions } from "./template-data.js";

export { SchemaConventionError } from "./template-data.js";
export type { ModuleLocation } from "./names.js";

export interface GeneratedFile {
  /** The module's output path (`options.locations`): by default the schema's path plus `.ts`, relative to
   * the output directory. */
  path: string;
  content: string;
}

export interface GenerateOptions extends TemplateDataOptions {
  /** Template directories whose `.hbs` files replace the bundled ones of the same name. */
  templateDirs?: readonly string[];
  runtime?: RuntimeImports;
  /** Handlebars helpers besides (or replacing) the bundled `doc`, `json` and `concat`, by name. */
  helpers?: Record<string, TemplateHelper>;
}

export function generateTypeScript(request: CodeGeneratorRequest, options: GenerateOptions = {}): GeneratedFile[] {
  const renderer = new Renderer([defaultTemplateDir(), ...(options.templateDirs ?? [])], options.runtime ?? DEFAULT_RUNTIME, options.helpers);
  return templateData(request, options).map((data) => {
    return { path: data.path, content: renderer.render(data, data.path) };
  });
}
