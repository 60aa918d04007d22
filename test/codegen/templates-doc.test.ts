/**
 * docs/templates.md kept honest: its worked example is run as written (the schema and override templates
 * are taken from the document, the generated lines it shows must be exactly what changes), and its
 * reference must cover every template and every field of the template data, with the declared types and
 * example values that the data really holds.
 *
 * The document marks what this test reads with HTML comments before fenced blocks:
 *   <!-- example: schema NAME -->         a schema of the worked example, compiled as NAME
 *   <!-- example: sample-schema NAME -->  another schema whose data the reference's examples come from
 *   <!-- example: template NAME -->       an override template (NAME.hbs) of the worked example
 *   <!-- example: output PATH -->         a diff of the generated module PATH: `+` lines are what the
 *                                         override adds, ` ` lines context, `@@` lines separate hunks
 *   <!-- example: helpers NAME -->        a --helpers module
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateTypeScript, type GeneratedFile, type ModuleLocation } from "../../generator/codegen/index.js";
import { moduleLocations } from "../../generator/codegen/layout.js";
import type { TemplateHelper } from "../../generator/codegen/render.js";
import { type FileData, templateData, TEMPLATE_DATA_VERSION } from "../../generator/codegen/template-data.js";
import type { CodeGeneratorRequest } from "../../generator/model/schema.js";
import { typecheck, writeGenerated } from "../support/generated.js";
import { ipcgenCompile, REPO } from "../support/ipcgen.js";

const DOC_PATH = join(REPO, "docs/templates.md");
const DOC = readFileSync(DOC_PATH, "utf8");
const TEMPLATES = join(REPO, "templates/typescript");
const OUT = join(REPO, "test/.gen/templates-doc");
/** The worked example shows the header of this version; the test generates with it, whatever package.json says. */
const VERSION = "0.1.0";

interface Example {
  kind: string;
  name: string;
  text: string;
}

/** Every marked fenced block of the document, in order. */
function examples(): Example[] {
  const re = /<!-- example: ([\w-]+) ([^\s]+) -->\n+```[\w-]*\n([\s\S]*?)^```$/gm;
  return [...DOC.matchAll(re)].map((m) => ({ kind: m[1], name: m[2], text: m[3] }));
}
const ofKind = (kind: string): Example[] => examples().filter((e) => e.kind === kind);

const work = mkdtempSync(join(tmpdir(), "ipcgen-templates-doc-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Compiles schema `name` (written to the scratch directory) as the CLI would from there. */
async function compileSchema(name: string, text: string): Promise<CodeGeneratorRequest> {
  return (await compileLikeCli(name, text)).request;
}

/** The request, and where the CLI puts each module with -o (ipc.capnp's comes with the package). */
async function compileLikeCli(name: string, text: string): Promise<{ request: CodeGeneratorRequest; locations: Map<bigint, ModuleLocation> }> {
  writeFileSync(join(work, name), text);
  const result = await ipcgenCompile([name], { cwd: work, importPath: [], standardImport: true });
  expect(result.messages, name).toEqual([]);
  return { request: result.request, locations: moduleLocations(result.sources, "out") };
}

/** Writes `templates` into a fresh directory; returns it. */
function templateDir(name: string, templates: readonly Example[]): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const t of templates) writeFileSync(join(dir, t.name), t.text);
  return dir;
}

// ---------------------------------------------------------------------------------------------------------
// Diffs

interface Hunk {
  lines: { added: boolean; text: string }[];
}

/** The hunks of a documented diff: `+` added, ` ` (or an empty line) context, `@@ ...` starts a hunk. */
function parseDiff(text: string): Hunk[] {
  const hunks: Hunk[] = [];
  let current: Hunk | null = null;
  for (const line of text.replace(/\n$/, "").split("\n")) {
    if (line.startsWith("@@")) {
      current = { lines: [] };
      hunks.push(current);
      continue;
    }
    if (current === null) throw new Error(`docs/templates.md: a diff must start with an @@ line, not ${JSON.stringify(line)}`);
    if (line.startsWith("+")) current.lines.push({ added: true, text: line.slice(1) });
    else if (line.startsWith(" ") || line === "") current.lines.push({ added: false, text: line.slice(1) });
    else throw new Error(`docs/templates.md: a diff line starts with '+' or ' ': ${JSON.stringify(line)}`);
  }
  return hunks;
}

/** Where `needle` occurs in `hay` as consecutive lines. */
function occurrences(hay: readonly string[], needle: readonly string[]): number[] {
  const at: number[] = [];
  for (let i = 0; i + needle.length <= hay.length; i++) {
    if (needle.every((line, j) => hay[i + j] === line)) at.push(i);
  }
  return at;
}

/** A line diff (longest common subsequence), for failure messages: `-` lines of `a`, `+` lines of `b`. */
function lineDiff(a: readonly string[], b: readonly string[]): string {
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      out.push(`${j + 1}: +${b[j++]}`);
    } else {
      out.push(`${i + 1}: -${a[i++]}`);
    }
  }
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------------------
// The worked example

describe("docs/templates.md: the worked example", () => {
  let bundled: GeneratedFile[];
  let overridden: GeneratedFile[];

  beforeAll(async () => {
    const schemas = ofKind("schema");
    expect(schemas.map((s) => s.name)).toEqual(["counter.capnp"]);
    const { request, locations } = await compileLikeCli(schemas[0].name, schemas[0].text);
    bundled = generateTypeScript(request, { version: VERSION, locations });
    overridden = generateTypeScript(request, { version: VERSION, locations, templateDirs: [templateDir("override", ofKind("template"))] });
  });

  it("overrides templates by their names", () => {
    const names = ofKind("template").map((t) => t.name);
    expect(names.length).toBeGreaterThan(0);
    const bundledNames = readdirSync(TEMPLATES);
    for (const name of names) expect(bundledNames, `${name} replaces a bundled template`).toContain(name);
  });

  it("changes exactly the lines the document shows, where it shows them", () => {
    const outputs = ofKind("output");
    expect(outputs.length).toBeGreaterThan(0);
    const documented = new Map(outputs.map((o) => [o.name, parseDiff(o.text)]));
    expect(overridden.map((f) => f.path)).toEqual(bundled.map((f) => f.path));
    for (const [index, file] of overridden.entries()) {
      const after = file.content.split("\n");
      const before = bundled[index].content.split("\n");
      const hunks = documented.get(file.path);
      if (hunks === undefined) {
        expect(file.content, `${file.path} is not in the document, so the overrides must not change it`).toBe(bundled[index].content);
        continue;
      }
      const diff = lineDiff(before, after);
      const added = new Set<number>();
      for (const hunk of hunks) {
        const texts = hunk.lines.map((l) => l.text);
        // (1) The documented lines, with their context, are in the overridden output ...
        const found = occurrences(after, texts);
        expect(found.length, `${file.path}: this hunk is not in the output:\n${texts.join("\n")}\n\nwhat changed:\n${diff}`).toBeGreaterThan(0);
        for (const start of found) hunk.lines.forEach((l, k) => l.added && added.add(start + k));
        // (2) ... and not in the bundled output: neither the hunk, nor any added line that says something.
        expect(occurrences(before, texts), `${file.path}: the bundled output has this hunk already`).toEqual([]);
        for (const l of hunk.lines.filter((l) => l.added && /\w/.test(l.text))) expect(before, `${file.path}: the bundled output has this line`).not.toContain(l.text);
      }
      // (3) Without the documented lines, the output is the bundled one, byte for byte.
      const rest = after.filter((_, k) => !added.has(k));
      expect(rest.join("\n"), `${file.path}: the override changes more than the document shows:\n${diff}`).toBe(before.join("\n"));
    }
    for (const path of documented.keys()) expect(overridden.map((f) => f.path), `the document shows ${path}`).toContain(path);
  });

  it("the overridden output type-checks", () => {
    rmSync(OUT, { recursive: true, force: true });
    const paths = writeGenerated(overridden, join(OUT, "override"));
    expect(typecheck(paths)).toEqual([]);
  }, 120_000);

  it("the error class stringifies as the document says, with the override and without", async () => {
    writeGenerated(overridden, join(OUT, "override"));
    writeGenerated(bundled, join(OUT, "bundled"));
    type ErrorClass = new (details: { limit: number }, message: string) => Error;
    const stringify = async (dir: string): Promise<string> => {
      const module = (await import(join(OUT, dir, "counter.capnp.ts"))) as { Counter_OverflowError: ErrorClass };
      return JSON.stringify(new module.Counter_OverflowError({ limit: 1000 }, "over the limit"));
    };
    const withOverride = await stringify("override");
    expect(DOC).toContain(`\`${withOverride}\``);
    const without = JSON.parse(await stringify("bundled")) as Record<string, unknown>;
    expect(without).not.toHaveProperty("message");
    expect(without).toHaveProperty("data");
  });
});

describe("docs/templates.md: the helpers example", () => {
  it("guards a template set against another data version", async () => {
    const [module] = ofKind("helpers");
    expect(module?.name).toBe("helpers.mjs");
    const path = join(work, module.name);
    writeFileSync(path, module.text);
    const helpers = (await import(pathToFileURL(path).href)) as Record<string, TemplateHelper>;
    const [guarded] = ofKind("guard");
    expect(guarded?.name).toBe("header.hbs");
    const request = await compileSchema(ofKind("schema")[0].name, ofKind("schema")[0].text);
    const dir = templateDir("guarded", [guarded]);
    const files = generateTypeScript(request, { version: VERSION, templateDirs: [dir], helpers: { ...helpers } });
    const plain = generateTypeScript(request, { version: VERSION });
    expect(files.map((f) => f.content)).toEqual(plain.map((f) => f.content));
    // A template set written for another version stops with the helper's message.
    writeFileSync(join(dir, "header.hbs"), guarded.text.replace(`generator.dataVersion ${TEMPLATE_DATA_VERSION}`, `generator.dataVersion ${TEMPLATE_DATA_VERSION + 1}`));
    expect(() => generateTypeScript(request, { templateDirs: [dir], helpers: { ...helpers } })).toThrow(/data version/);
  });
});

describe("docs/templates.md: the rules of overriding", () => {
  let request: CodeGeneratorRequest;
  beforeAll(async () => {
    request = await compileSchema(ofKind("schema")[0].name, ofKind("schema")[0].text);
  });

  it("a missing partial is an error naming it", () => {
    const dir = templateDir("missing-partial", [{ kind: "template", name: "error.hbs", text: "{{> error-extras}}\n" }]);
    expect(() => generateTypeScript(request, { templateDirs: [dir] })).toThrow("The partial error-extras could not be found");
    expect(DOC).toContain("The partial error-extras could not be found");
  });

  it("file.hbs and header.hbs are not partials", () => {
    const dir = templateDir("not-partials", [{ kind: "template", name: "error.hbs", text: "{{> header}}\n" }]);
    expect(() => generateTypeScript(request, { templateDirs: [dir] })).toThrow("The partial header could not be found");
  });

  it("a template's syntax error is reported with its name, even when no schema needs the template", () => {
    // Neither counter.capnp nor ipc.capnp declares a constant, yet the broken const.hbs is found.
    const dir = templateDir("eager", [{ kind: "template", name: "const.hbs", text: "{{#if doc}\n" }]);
    expect(DOC).toContain("A syntax error in any template is reported");
    expect(() => generateTypeScript(request, { templateDirs: [dir] })).toThrow(/^const\.hbs: Parse error/);
  });

  it("a new .hbs file is a partial every template can call", () => {
    const dir = templateDir("new-partial", [
      { kind: "template", name: "licence.hbs", text: "// Licensed to {{source}}\n" },
      { kind: "template", name: "header.hbs", text: "{{> licence}}" },
    ]);
    expect(generateTypeScript(request, { templateDirs: [dir] })[0].content.split("\n")[0]).toBe("// Licensed to counter.capnp");
  });
});

// ---------------------------------------------------------------------------------------------------------
// The reference

/** The document's sections: `### \`Name\`` headings and the text up to the next heading. */
function sections(): Map<string, string> {
  const out = new Map<string, string>();
  const re = /^#{2,4} `([\w.-]+)`[^\n]*\n([\s\S]*?)(?=^#{1,4} |(?![\s\S]))/gm;
  for (const m of DOC.matchAll(re)) out.set(m[1], m[2]);
  return out;
}

interface Row {
  path: string;
  type: string;
  example: string;
}

/** A table's rows whose first cell is a code span: field path, type, meaning, example. */
function rows(section: string): Row[] {
  const out: Row[] = [];
  for (const line of section.split("\n")) {
    if (!line.startsWith("| `")) continue;
    const cells = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim().replace(/\\\|/g, "|"));
    expect(cells.length, `a row of four cells: ${line}`).toBe(4);
    out.push({ path: cells[0].replace(/^`|`$/g, ""), type: cells[1].replace(/^`|`$/g, ""), example: cells[3] });
  }
  return out;
}

/** A declared type as the document writes it: object literal types are `object`, whitespace collapsed. */
function typeText(node: ts.TypeNode, source: ts.SourceFile): string {
  const literals: ts.TypeLiteralNode[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isTypeLiteralNode(n)) literals.push(n);
    else n.forEachChild(visit);
  };
  visit(node);
  let text = node.getText(source);
  const start = node.getStart(source);
  for (const lit of literals.reverse()) text = text.slice(0, lit.getStart(source) - start) + "object" + text.slice(lit.getEnd() - start);
  return text.replace(/\s+/g, " ");
}

/** Every field path of an interface's members: `a`, and `a[].b` / `a.b` inside object literal types. */
function fieldPaths(members: ts.NodeArray<ts.TypeElement>, source: ts.SourceFile, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const member of members) {
    if (!ts.isPropertySignature(member) || member.type === undefined) continue;
    const path = prefix + member.name.getText(source);
    out.set(path, typeText(member.type, source));
    // `{...}`, `{...}[]`, `{...} | null`: the literal's members are fields too.
    let t: ts.TypeNode = member.type;
    let suffix = "";
    if (ts.isUnionTypeNode(t)) t = t.types.find((u) => !(ts.isLiteralTypeNode(u) && u.literal.kind === ts.SyntaxKind.NullKeyword)) ?? t;
    if (ts.isArrayTypeNode(t)) {
      t = t.elementType;
      suffix = "[]";
    }
    if (ts.isTypeLiteralNode(t)) for (const [p, type] of fieldPaths(t.members, source, `${path}${suffix}.`)) out.set(p, type);
  }
  return out;
}

/** The modules that declare the template data's interfaces (template-data.ts re-exports them all). */
const TEMPLATE_DATA_SOURCES = ["template-data", "struct-data", "plain-data", "generic-data", "enum-data", "const-data", "service-data"].map(
  (m) => `generator/codegen/${m}.ts`,
);

/** The exported `...Data` interfaces of the template data's sources: name -> field path -> declared type. */
function dataInterfaces(): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const file of TEMPLATE_DATA_SOURCES) {
    const source = ts.createSourceFile(file, readFileSync(join(REPO, file), "utf8"), ts.ScriptTarget.Latest, true);
    for (const statement of source.statements) {
      if (!ts.isInterfaceDeclaration(statement) || !statement.name.text.endsWith("Data")) continue;
      if (!statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
      out.set(statement.name.text, fieldPaths(statement.members, source));
    }
  }
  return out;
}

/** Where each interface's objects live in a file's data, for checking the document's example values. */
function samples(files: readonly FileData[]): Map<string, unknown[]> {
  const structs = files.flatMap((f) => f.structs);
  const services = files.flatMap((f) => f.services);
  return new Map<string, unknown[]>([
    ["FileData", [...files]],
    ["GeneratorData", files.map((f) => f.generator)],
    ["EnumData", files.flatMap((f) => f.enums)],
    ["ConstData", files.flatMap((f) => f.consts)],
    ["StructData", structs],
    ["FieldData", structs.flatMap((s) => s.fields)],
    ["UnionData", structs.flatMap((s) => (s.union === null ? [] : [s.union]))],
    ["PlainData", structs.map((s) => s.plain)],
    ["GenericData", structs.map((s) => s.generic)],
    ["ErrorData", files.flatMap((f) => f.errors)],
    ["ServiceData", services],
    ["CallData", services.flatMap((s) => [...s.calls, ...s.oneways])],
    ["SignalData", services.flatMap((s) => [...s.toClient, ...s.toServer])],
    ["ArmData", services.flatMap((s) => s.arms)],
    ["ChannelsEntryData", services.flatMap((s) => (s.channels === null ? [] : [s.channels]))],
    ["StreamData", services.flatMap((s) => [...s.clientStreams, ...s.remoteStreams])],
    ["MethodEntryData", services.flatMap((s) => s.methods)],
  ]);
}

/** The values at `path` (`a`, `a.b`, `a[].b`) in any of `objects`; arrays are searched, nulls end a path. */
function valuesAt(objects: readonly unknown[], path: string): unknown[] {
  let current = [...objects];
  for (const part of path.split(".")) {
    const array = part.endsWith("[]");
    const key = array ? part.slice(0, -2) : part;
    const next: unknown[] = [];
    for (const o of current) {
      if (o === null || typeof o !== "object") continue;
      const v = (o as Record<string, unknown>)[key];
      if (array && Array.isArray(v)) next.push(...v);
      else if (!array) next.push(v);
    }
    current = next;
  }
  return current;
}

/** The example cell's value when it is one code span: its JSON value, or else its text. Prose gives undefined. */
function exampleValue(cell: string): { json: unknown; text: string } | undefined {
  const m = /^`([^`]*)`$/.exec(cell) ?? /^`` (.*) ``$/.exec(cell);
  if (m === null) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(m[1]);
  } catch {
    json = undefined;
  }
  return { json, text: m[1] };
}

describe("docs/templates.md: the reference", () => {
  const docSections = sections();

  it("has a section for every template, and none for a template that does not exist", () => {
    const templates = readdirSync(TEMPLATES).filter((n) => n.endsWith(".hbs")).sort();
    const documented = [...docSections.keys()].filter((n) => n.endsWith(".hbs")).sort();
    expect(documented).toEqual(templates);
  });

  it("has a section for every interface of the template data, and none for one that does not exist", () => {
    const interfaces = [...dataInterfaces().keys()].sort();
    expect(interfaces).toContain("FileData");
    expect(interfaces).toContain("ArmData");
    const documented = [...docSections.keys()].filter((n) => /Data$/.test(n)).sort();
    expect(documented).toEqual(interfaces);
  });

  it("reads every module of generator/codegen that declares a ...Data interface", () => {
    const declaring = readdirSync(join(REPO, "generator/codegen"))
      .filter((n) => n.endsWith(".ts") && /^export interface \w+Data\b/m.test(readFileSync(join(REPO, "generator/codegen", n), "utf8")))
      .map((n) => `generator/codegen/${n}`);
    expect(declaring.sort()).toEqual([...TEMPLATE_DATA_SOURCES].sort());
  });

  it("documents every field with its declared type, and no field that does not exist", () => {
    for (const [name, fields] of dataInterfaces()) {
      const table = rows(docSections.get(name)!);
      expect(table.map((r) => r.path).sort(), `the fields of ${name}`).toEqual([...fields.keys()].sort());
      for (const row of table) expect(row.type, `the type of ${name}.${row.path}`).toBe(fields.get(row.path));
    }
  });

  it("gives example values the data really holds (for the document's schemas)", async () => {
    const data: FileData[] = [];
    for (const schema of [...ofKind("schema"), ...ofKind("sample-schema")]) {
      const { request, locations } = await compileLikeCli(schema.name, schema.text);
      data.push(...templateData(request, { version: VERSION, locations }).filter((f) => f.source === schema.name));
    }
    expect(data).toHaveLength(2);
    const sampled = samples(data);
    let checked = 0;
    for (const name of dataInterfaces().keys()) {
      const objects = sampled.get(name);
      expect(objects, `${name}: say in samples() where its objects are`).toBeDefined();
      for (const row of rows(docSections.get(name)!)) {
        const example = exampleValue(row.example);
        if (example === undefined) continue;
        const values = valuesAt(objects!, row.path);
        const matches = values.some(
          (v) => (example.json !== undefined && JSON.stringify(v) === JSON.stringify(example.json)) || (typeof v === "string" && v === example.text),
        );
        expect(matches, `${name}.${row.path}: the example ${row.example} is none of ${JSON.stringify(values.slice(0, 8))}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it("states the data version", () => {
    expect(DOC).toContain(`TEMPLATE_DATA_VERSION\` is ${TEMPLATE_DATA_VERSION}`);
  });
});
