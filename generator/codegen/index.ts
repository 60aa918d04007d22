/**
 * The TypeScript back end: a `CodeGeneratorRequest` in, one module per requested file out.
 *
 *   request -> templateData (pure) -> Renderer (Handlebars templates, then ts-morph) -> files
 */
import type { CodeGeneratorRequest } from "../model/schema.js";
import { outputPath } from "./names.js";
import { DEFAULT_RUNTIME, defaultTemplateDir, Renderer, type RuntimeImports, type TemplateHelper } from "./render.js";
import { templateData, type TemplateDataOptions } from "./template-data.js";

export { SchemaConventionError } from "./template-data.js";

export interface GeneratedFile {
  /** Relative to the output directory: the schema's path plus `.ts`. */
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
    const path = outputPath(data.source);
    return { path, content: renderer.render(data, path) };
  });
}
