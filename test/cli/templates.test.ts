/**
 * The template machinery from the command line: `--helpers FILE` (a module of Handlebars helpers) and
 * `ipcgen templates eject DIR` (a copy of the bundled templates that generates the same code until edited).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, ipcgen, lines, listFiles } from "./helpers.js";
import { TEMPLATES, VERSION, expectOneLineFailure, inScratch, scratch } from "./project.js";

let work: string;
const { generate, read } = inScratch(() => work);

beforeAll(async () => {
  await ensureBuilt();
  work = scratch("ipcgen-templates-");
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("--helpers", () => {
  let dir: string;
  beforeAll(() => {
    dir = join(work, "helpers");
    mkdirSync(join(dir, "templates"), { recursive: true });
    mkdirSync(join(dir, "esm"), { recursive: true });
    writeFileSync(join(dir, "templates/header.hbs"), "// {{upper source}} from {{generator.name}}\n");
    writeFileSync(join(dir, "upper.mjs"), "export function upper(s) { return String(s).toUpperCase(); }\nexport const notAHelper = 1;\n");
    writeFileSync(join(dir, "esm/package.json"), '{ "type": "module" }\n');
    writeFileSync(join(dir, "esm/upper.js"), "export const upper = (s) => `<${s}>`;\n");
    writeFileSync(join(dir, "upper.cjs.js"), "exports.upper = (s) => String(s).split('').reverse().join('');\n");
    writeFileSync(join(dir, "doc.mjs"), 'export function doc(text) { return typeof text === "string" ? `/** DOC: ${text.trim()} */\\n` : ""; }\n');
    writeFileSync(join(dir, "throws.mjs"), 'throw new Error("helpers exploded");\n');
    writeFileSync(join(dir, "nothing.mjs"), "export const answer = 42;\n");
    writeFileSync(join(dir, "throws-later.mjs"), 'export function upper() { throw new Error("upper failed"); }\n');
  });

  it("an .mjs module's exported functions are helpers the templates call", () => {
    generate(["chat.capnp", "-o", "gen-helpers", "-t", "helpers/templates", "--helpers", "helpers/upper.mjs", "--no-verify"]);
    expect(read("gen-helpers/chat.capnp.ts").split("\n")[0]).toBe("// CHAT.CAPNP from ipcgen");
    expect(read("gen-helpers/types.capnp.ts").split("\n")[0]).toBe("// TYPES.CAPNP from ipcgen");
  });

  it("a .js module, ES (package type module) or CommonJS", () => {
    generate(["chat.capnp", "-o", "gen-helpers-esm", "-t", "helpers/templates", "--helpers", "helpers/esm/upper.js", "--no-verify"]);
    expect(read("gen-helpers-esm/chat.capnp.ts").split("\n")[0]).toBe("// <chat.capnp> from ipcgen");
    generate(["chat.capnp", "-o", "gen-helpers-cjs", "-t", "helpers/templates", "--helpers", "helpers/upper.cjs.js", "--no-verify"]);
    expect(read("gen-helpers-cjs/chat.capnp.ts").split("\n")[0]).toBe("// pnpac.tahc from ipcgen");
  });

  it("a helper replaces the bundled one of the same name", () => {
    generate(["chat.capnp", "-o", "gen-helpers-doc", "--helpers", "helpers/doc.mjs", "--no-verify"]);
    expect(read("gen-helpers-doc/types.capnp.ts")).toContain("/** DOC: A chat message. */");
  });

  it("a module that throws while loading is one line", () => {
    expectOneLineFailure(
      ipcgen(["chat.capnp", "-o", "gen-x", "--helpers", "helpers/throws.mjs"], { cwd: work }),
      /^ipcgen: --helpers helpers\/throws\.mjs: cannot be loaded: helpers exploded$/,
    );
  });

  it("a module that exports no function is one line", () => {
    expectOneLineFailure(ipcgen(["chat.capnp", "-o", "gen-x", "--helpers", "helpers/nothing.mjs"], { cwd: work }), /^ipcgen: --helpers helpers\/nothing\.mjs: exports no functions/);
  });

  it("a file that does not exist is one line, before anything is compiled", () => {
    expectOneLineFailure(ipcgen(["chat.capnp", "-o", "gen-x", "--helpers", "helpers/nosuch.mjs"], { cwd: work }), /^ipcgen: --helpers helpers\/nosuch\.mjs: no such file$/);
  });

  it("a helper that throws while rendering is one line naming the helpers", () => {
    expectOneLineFailure(
      ipcgen(["chat.capnp", "-o", "gen-x", "-t", "helpers/templates", "--helpers", "helpers/throws-later.mjs"], { cwd: work }),
      /^ipcgen: generating TypeScript with --templates helpers\/templates, --helpers helpers\/throws-later\.mjs failed: upper failed$/,
    );
    expect(existsSync(join(work, "gen-x"))).toBe(false);
  });
});

describe("ipcgen templates eject", () => {
  const bundled = readdirSync(TEMPLATES).filter((n) => n.endsWith(".hbs")).sort();

  it("copies every bundled template into DIR (created), and says what it wrote", () => {
    const run = ipcgen(["templates", "eject", "ejected/typescript"], { cwd: work });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe("");
    expect(lines(run.stdout.toString())).toEqual(bundled.map((n) => `wrote ejected/typescript/${n}`));
    expect(listFiles(join(work, "ejected/typescript"))).toEqual(bundled);
    for (const name of bundled) expect(read(`ejected/typescript/${name}`), name).toBe(readFileSync(join(TEMPLATES, name), "utf8"));
  });

  it("--templates with the ejected copy generates exactly the default output", () => {
    generate(["chat.capnp", "-o", "gen-default", "--no-verify"]);
    generate(["chat.capnp", "-o", "gen-ejected", "--templates", "ejected/typescript", "--no-verify"]);
    for (const name of ["chat.capnp.ts", "types.capnp.ts"]) expect(read(`gen-ejected/${name}`), name).toBe(read(`gen-default/${name}`));
  });

  it("editing one ejected template changes exactly what it prints", () => {
    const dir = "ejected-edit";
    expect(ipcgen(["templates", "eject", dir], { cwd: work }).status).toBe(0);
    writeFileSync(join(work, dir, "header.hbs"), "// {{source}}: generated, version {{generator.version}}\n");
    generate(["chat.capnp", "-o", "gen-edited", "--templates", dir]);
    generate(["chat.capnp", "-o", "gen-default", "--no-verify"]);
    for (const name of ["chat", "types"]) {
      const edited = read(`gen-edited/${name}.capnp.ts`).split("\n");
      const original = read(`gen-default/${name}.capnp.ts`).split("\n");
      expect(edited[0]).toBe(`// ${name}.capnp: generated, version ${VERSION}`);
      expect(edited.slice(1)).toEqual(original.slice(1));
    }
  });

  it("refuses to overwrite existing templates (writing none) unless --force", () => {
    const dir = "ejected-twice";
    expect(ipcgen(["templates", "eject", dir], { cwd: work }).status).toBe(0);
    writeFileSync(join(work, dir, "header.hbs"), "// mine\n");
    rmSync(join(work, dir, "enum.hbs"));
    expectOneLineFailure(
      ipcgen(["templates", "eject", dir], { cwd: work }),
      new RegExp(`^ipcgen: templates eject ${dir}: ${dir}/\\S+\\.hbs and ${bundled.length - 2} more templates exist already; nothing was written \\(--force overwrites\\)$`),
    );
    expect(read(`${dir}/header.hbs`)).toBe("// mine\n");
    expect(existsSync(join(work, dir, "enum.hbs"))).toBe(false);

    const forced = ipcgen(["templates", "eject", dir, "--force"], { cwd: work });
    expect(forced.status, forced.stderr).toBe(0);
    expect(lines(forced.stdout.toString())).toHaveLength(bundled.length);
    expect(read(`${dir}/header.hbs`)).toBe(readFileSync(join(TEMPLATES, "header.hbs"), "utf8"));
    expect(existsSync(join(work, dir, "enum.hbs"))).toBe(true);
  });

  it("without DIR is one line", () => {
    expectOneLineFailure(ipcgen(["templates", "eject"], { cwd: work }), /^ipcgen: templates eject: DIR is required/);
  });

  it("a DIR that is a file is one line", () => {
    expectOneLineFailure(ipcgen(["templates", "eject", "chat.capnp"], { cwd: work }), /^ipcgen: templates eject chat\.capnp: not a directory$/);
  });

  it("'templates' alone asks what to do", () => {
    const run = ipcgen(["templates"], { cwd: work });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^ipcgen: templates: name what to do: 'ipcgen templates eject DIR'$/m);
  });
});
