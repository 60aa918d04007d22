import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Diagnostic } from "../../generator/compiler/diagnostics.js";
import { ModuleLoader, standardImportDir, type Module } from "../../generator/compiler/modules.js";
import { capnpCompile } from "./support/capnp-oracle.js";

let root: string;
let proj: string;
let nextId = 0xd0b5a3c2a1f00100n;

/** Writes a schema file with a fresh id; `body` may use imports. */
function schema(path: string, body: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `@0x${(nextId++).toString(16)};\n${body}`);
}

beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), "ipcgen-modules-")));
  proj = join(root, "proj");
  schema(join(proj, "foo.capnp"), 'using B = import "/a/b.capnp";\nusing S = import "sub/s.capnp";\nstruct Foo { b @0 :B.Bee; s @1 :S.Ess; }\n');
  schema(join(root, "inc/a/b.capnp"), 'using C = import "c.capnp";\nstruct Bee { c @0 :C.Cee; }\n');
  schema(join(root, "inc/a/c.capnp"), "struct Cee {}\n");
  schema(join(root, "inc2/a/b.capnp"), "struct Bee {}\n");
  schema(join(root, "inc2/a/bad.capnp"), "struct Bad { x @0 :Nope; }\n");
  schema(join(proj, "sub/s.capnp"), 'using F = import "../foo.capnp";\nstruct Ess {}\n');
  schema(join(proj, "sub/s2.capnp"), "struct Ess2 {}\n");
  schema(join(root, "other/o.capnp"), 'using C = import "../inc/a/c.capnp";\nstruct O { c @0 :C.Cee; }\n');
  schema(
    join(proj, "x.capnp"),
    'using A = import "/sub/s2.capnp";\nusing B = import "sub/s2.capnp";\nusing C = import "/proj/sub/s2.capnp";\n' +
      'using D = import "./sub/../sub/s2.capnp";\nstruct X { a @0 :A.Ess2; b @1 :B.Ess2; c @2 :C.Ess2; d @3 :D.Ess2; }\n',
  );
  schema(join(proj, "y.capnp"), 'using C = import "/proj/sub/s2.capnp";\nusing B = import "sub/s2.capnp";\nstruct Y { c @0 :C.Ess2; b @1 :B.Ess2; }\n');
  schema(join(proj, "usebad.capnp"), 'using X = import "/a/bad.capnp";\nstruct U { x @0 :X.Bad; }\n');
  schema(join(proj, "sub/usebad2.capnp"), 'using X = import "/a/bad.capnp";\nstruct U { x @0 :X.Bad; }\n');
  schema(join(proj, "z.capnp"), 'using Cxx = import "/capnp/c++.capnp";\n$Cxx.namespace("z");\nstruct Z {}\n');
  symlinkSync("sub/s2.capnp", join(proj, "link.capnp"));
  symlinkSync("sub/s2.capnp", join(proj, "s2.capnp"));
  schema(join(proj, "l.capnp"), 'using A = import "s2.capnp";\nusing B = import "sub/s2.capnp";\nstruct L { a @0 :A.Ess2; b @1 :B.Ess2; }\n');
  schema(join(proj, "l2.capnp"), 'using A = import "link.capnp";\nusing B = import "sub/s2.capnp";\nstruct L { a @0 :A.Ess2; }\n');
  writeFileSync(join(proj, "sub/blob.bin"), "relative bytes");
  writeFileSync(join(root, "inc/a/blob.bin"), "searched bytes");
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Run {
  /** Display names of every file loaded, sorted. */
  files: string[];
  /** Requested files in order. */
  requested: string[];
}

/** Splits a command line like capnp's into our loader options and the requested files. */
function parseArgs(args: string[]) {
  const importPath: string[] = [];
  const srcPrefixes: string[] = [];
  const files: string[] = [];
  let standardImport = true;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-I") importPath.push(args[++i]);
    else if (args[i].startsWith("--src-prefix=")) srcPrefixes.push(args[i].slice("--src-prefix=".length));
    else if (args[i] === "--no-standard-import") standardImport = false;
    else files.push(args[i]);
  }
  return { importPath, srcPrefixes, files, standardImport };
}

/** Loads the files and, following every `import "..."` in their text, everything they import. */
function ours(args: string[], cwd = proj) {
  const { files, ...opts } = parseArgs(args);
  const diagnostics: Diagnostic[] = [];
  const loader = new ModuleLoader({ ...opts, diagnostics, cwd });
  const requested: Module[] = [];
  const seen = new Set<Module>();
  const visit = (m: Module) => {
    if (seen.has(m)) return;
    seen.add(m);
    for (const [, name] of new TextDecoder().decode(m.source).matchAll(/import "([^"]*)"/g)) {
      const imported = m.importRelative(name);
      if (imported) visit(imported);
    }
  };
  for (const f of files) {
    const m = loader.loadRequested(f);
    if (m) {
      requested.push(m);
      visit(m);
    }
  }
  const run: Run = { files: [...seen].map((m) => m.displayName).sort(), requested: requested.map((m) => m.displayName) };
  return { run, loader, diagnostics, requested };
}

function theirs(args: string[], cwd = proj): Run {
  const result = capnpCompile(args, cwd);
  expect(result.stderr).not.toMatch(/error/);
  const nodes: any[] = result.request.nodes;
  return {
    files: nodes.filter((n) => n.file !== undefined).map((n) => n.displayName).sort(),
    requested: result.request.requestedFiles.map((f: any) => f.filename),
  };
}

/** The file part of each capnp error line. */
function capnpErrorFiles(args: string[], cwd = proj): string[] {
  const result = capnpCompile(args, cwd);
  return [...result.stderr.matchAll(/^(.*?):\d+(?::\d+(?:-\d+)?)?: error: /gm)].map((m) => m[1]);
}

describe("module loading matches capnp's names", () => {
  const cases: [string, string[]][] = [
    ["a file in the cwd, -I import, relative imports both ways", ["-I", "../inc", "foo.capnp"]],
    ["the same file by two spellings", ["-I", "../inc", "./foo.capnp", "sub/../foo.capnp"]],
    ["an absolute path inside the cwd", ["-I", "../inc", "<proj>/foo.capnp"]],
    ["a file outside the cwd (named from the root)", ["../other/o.capnp"]],
    ["a file outside the cwd found again through -I", ["-I", "<root>/inc", "../inc/a/b.capnp"]],
    ["-I order", ["-I", "../inc2", "-I", "../inc", "foo.capnp"]],
    ["--src-prefix", ["--src-prefix=sub", "sub/s2.capnp"]],
    ["--src-prefix with a trailing slash and an absolute file", ["--src-prefix=sub/", "<proj>/sub/s2.capnp"]],
    ["the deepest --src-prefix wins", ["--src-prefix=.", "--src-prefix=sub", "sub/s2.capnp", "foo.capnp", "-I", "../inc"]],
    ["one file reached through -I ., -I .. and relative paths", ["-I", ".", "-I", "..", "x.capnp"]],
    ["the first name reached wins", ["-I", "..", "y.capnp"]],
    ["a symlink with the same base name is the same module", ["l.capnp"]],
    ["the standard directory without -I", ["z.capnp"]],
  ];
  for (const [name, rawArgs] of cases) {
    it(name, () => {
      const args = rawArgs.map((a) => a.replace("<proj>", proj).replace("<root>", root));
      const mine = ours(args);
      expect(mine.diagnostics).toEqual([]);
      expect(mine.run).toEqual(theirs(args));
    });
  }

  it("a symlink with another base name is another module (capnp then reports a duplicate id)", () => {
    const mine = ours(["l2.capnp"]);
    expect(mine.run.files).toEqual(["l2.capnp", "link.capnp", "sub/s2.capnp"]);
    expect(capnpErrorFiles(["l2.capnp"])).toEqual(["sub/s2.capnp", "link.capnp"]);
  });

  it("names files in errors with the directory as the user spelled it", () => {
    for (const inc of ["../inc2/", "../inc2", `${root}/inc2`, "./../inc2"]) {
      const mine = ours(["-I", inc, "usebad.capnp"]);
      const bad = mine.loader.modules.find((m) => m.displayName === "a/bad.capnp")!;
      expect(bad.errorName).toBe(capnpErrorFiles(["-I", inc, "usebad.capnp"])[0]);
    }
    for (const args of [
      ["-I", "../inc2", "--src-prefix=sub", "sub/usebad2.capnp"],
      ["-I", "../inc2", `--src-prefix=${proj}/sub`, "sub/usebad2.capnp"],
      ["-I", "../inc2", "--src-prefix=sub/", `${proj}/sub/usebad2.capnp`],
    ]) {
      // Make the requested file itself fail, to see its name in errors.
      const mine = ours(args);
      expect(mine.requested[0].displayName).toBe("usebad2.capnp");
      expect(capnpErrorFiles(args)[0]).toBe("../inc2/a/bad.capnp");
      const prefix = args[2].slice("--src-prefix=".length);
      expect(mine.requested[0].errorName).toBe((prefix.endsWith("/") ? prefix : prefix + "/") + "usebad2.capnp");
    }
    expect(ours(["../other/o.capnp"]).requested[0].errorName).toBe(`${root}/other/o.capnp`);
  });

  it("reports errors through the module, globally counted as in capnp", () => {
    const { requested, diagnostics } = ours(["-I", "../inc", "foo.capnp"]);
    const foo = requested[0];
    const b = foo.importRelative("/a/b.capnp")!;
    expect(b.errors.hadErrors()).toBe(false);
    foo.errors.addError(3, 5, "boom");
    expect(b.errors.hadErrors()).toBe(true);
    expect(diagnostics).toEqual([{ file: "foo.capnp", start: 3, end: 5, message: "boom" }]);
    expect(foo.lines.position(foo.source.indexOf(0x0a) + 1)).toEqual({ line: 1, column: 0 });
  });
});

describe("module loading failures", () => {
  it("reports a missing command-line file in one line", () => {
    const { diagnostics, requested } = ours(["nothere.capnp", "sub"]);
    expect(requested).toEqual([]);
    expect(diagnostics).toEqual([
      { file: "nothere.capnp", start: 0, end: 0, message: "no such file" },
      { file: "sub", start: 0, end: 0, message: "no such file" },
    ]);
    expect(capnpCompile(["nothere.capnp"], proj).stderr).toContain("nothere.capnp: no such file");
  });

  it("reports a missing -I or --src-prefix directory", () => {
    const { diagnostics } = ours(["-I", "nodir", "--src-prefix=su", "foo.capnp"]);
    expect(diagnostics).toEqual([
      { file: "-I nodir", start: 0, end: 0, message: "no such directory" },
      { file: "--src-prefix=su", start: 0, end: 0, message: "no such directory" },
    ]);
    expect(capnpCompile(["-I", "nodir", "foo.capnp"], proj).stderr).toContain("-I nodir: no such directory");
  });

  it("returns null for missing imports, imports climbing out of their directory, and no standard import", () => {
    const { requested } = ours(["--src-prefix=sub", "sub/s.capnp", "foo.capnp"]);
    expect(requested[0].displayName).toBe("s.capnp");
    expect(requested[0].importRelative("../foo.capnp")).toBeNull(); // capnp crashes here
    expect(requested[1].importRelative("/a/b.capnp")).toBeNull(); // no -I
    expect(requested[1].importRelative("nope.capnp")).toBeNull();
    expect(requested[1].importRelative("//sub/s.capnp")).toBeNull();
    expect(requested[1].importRelative("sub")).toBeNull(); // a directory
    const noStd = ours(["--no-standard-import", "z.capnp"]);
    expect(noStd.requested[0].importRelative("/capnp/c++.capnp")).toBeNull();
    expect(capnpCompile(["--no-standard-import", "z.capnp"], proj).stderr).toContain("Import failed: /capnp/c++.capnp");
  });
});

describe("embed", () => {
  it("reads relative to the file, or through the import path", () => {
    const { requested } = ours(["-I", "../inc", "foo.capnp"]);
    const foo = requested[0];
    expect(new TextDecoder().decode(foo.embedRelative("sub/blob.bin")!)).toBe("relative bytes");
    expect(new TextDecoder().decode(foo.embedRelative("/a/blob.bin")!)).toBe("searched bytes");
    expect(foo.embedRelative("missing.bin")).toBeNull();
    expect(foo.embedRelative("../x.bin")).toBeNull();
    const b = foo.importRelative("/a/b.capnp")!;
    expect(new TextDecoder().decode(b.embedRelative("blob.bin")!)).toBe("searched bytes");
  });
});

describe("standard directory", () => {
  it("is found from the sources and from the build", () => {
    const std = standardImportDir()!;
    expect(std).toBe(join(dirname(dirname(dirname(new URL(import.meta.url).pathname))), "generator", "std"));
    const pkgRoot = dirname(std.slice(0, -"/std".length));
    const fromDist = pathToFileURL(join(pkgRoot, "dist/generator/compiler/modules.js")).href;
    expect(standardImportDir(fromDist)).toBe(std);
    expect(standardImportDir(pathToFileURL("/nonexistent/x/modules.js").href)).toBeNull();
  });

  it("holds the files Debian installs under /usr/include/capnp, unchanged", () => {
    const std = standardImportDir()!;
    for (const f of ["c++.capnp", "schema.capnp", "rpc.capnp", "rpc-twoparty.capnp", "persistent.capnp", "stream.capnp", "compat/json.capnp"]) {
      expect(readFileSync(join(std, "capnp", f)).equals(readFileSync(join("/usr/include/capnp", f))), f).toBe(true);
    }
    expect(readFileSync(join(std, "capnp", "LICENSE"), "utf8")).toContain("MIT License");
  });

  it("is searched after -I directories", () => {
    const fake = join(root, "fakestd");
    schema(join(fake, "capnp/c++.capnp"), "annotation namespace(file): Text;\n");
    const { requested } = ours(["-I", fake, "z.capnp"]);
    const cxx = requested[0].importRelative("/capnp/c++.capnp")!;
    expect(cxx.errorName).toBe(`${fake}/capnp/c++.capnp`);
    const std = ours(["z.capnp"]).requested[0].importRelative("/capnp/c++.capnp")!;
    expect(std.fsPath).toBe(join(standardImportDir()!, "capnp/c++.capnp"));
    expect(std.displayName).toBe("capnp/c++.capnp");
  });
});
