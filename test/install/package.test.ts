/**
 * ipcgen as its users get it: `npm pack` of this checkout (whose prepack makes the prebuilt addon) installed
 * into fresh apps with `npm install --omit=dev`, with the toolchain and without it; and a fresh clone, whose
 * `npm install` must leave `git status` clean. Real npm, the local npm cache first (--prefer-offline), the
 * npm registry for what the cache lacks.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, posix } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../support/ipcgen.js";

const PLATFORM = `${process.platform}-${process.arch}`;
const PREBUILT = `runtime/native/prebuilds/${PLATFORM}/ipcgen.napi.glibc.node`;
const NPM_FLAGS = ["--no-audit", "--no-fund", "--prefer-offline", "--foreground-scripts"];
const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, with no npm_* variables from an enclosing `npm test` (npm reads them as settings). */
function run(command: string, args: string[], options: { cwd: string; path?: string; env?: Record<string, string> }): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key) && key !== "INIT_CWD") env[key] = value;
  for (const name of ["CC", "CXX", "PYTHON", "IPCGEN_NATIVE_ADDON", "IPCGEN_BUILD_FROM_SOURCE"]) delete env[name];
  if (options.path !== undefined) env.PATH = options.path;
  Object.assign(env, options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The executable `name` on PATH. */
function which(name: string): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`${name} is not on PATH`);
}

/** npm and npx as scripts for this node, so that they run with a PATH that has nothing but node and sh. */
const npmCli = realpathSync(which("npm"));
const npxCli = join(dirname(npmCli), "npx-cli.js");
const npm = (args: string[], options: Parameters<typeof run>[2]) => run(process.execPath, [npmCli, ...args], options);
const npx = (args: string[], options: Parameters<typeof run>[2]) => run(process.execPath, [npxCli, ...args], options);

/** The lines ipcgen's install script printed. */
const ipcgenLines = (output: string) => output.split("\n").filter((line) => line.startsWith("ipcgen:"));

const SCHEMA = `@0xbf5147cbbecf40c1;
struct Greeting {
  name @0 :Text;
  times @1 :UInt32;
}
`;

/**
 * Run in the app with --enable-source-maps: imports `ipcgen` (which must not throw, addon or not), reads the
 * peer credentials of both ends of a Unix socket connection through ipcgen's runtime, names the .node files
 * this process mapped, and keeps the stack of an error thrown inside the runtime.
 */
const CHECK = `
import { readFileSync } from "node:fs";
import net from "node:net";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
const ipcgen = await import("ipcgen");
const root = createRequire(import.meta.url).resolve("ipcgen/package.json").slice(0, -"package.json".length);
const native = await import(pathToFileURL(root + "dist/runtime/native/index.js").href);
const server = net.createServer().listen(process.argv[2]);
await new Promise((resolve) => server.once("listening", resolve));
const accepted = new Promise((resolve) => server.once("connection", resolve));
const client = net.connect(process.argv[2]);
await new Promise((resolve) => client.once("connect", resolve));
const other = await accepted;
const result = { listen: typeof ipcgen.listen, self: { pid: process.pid, uid: process.getuid(), gid: process.getgid() } };
try {
  result.credentials = [native.peerCredentials(client), native.peerCredentials(other)];
} catch (error) {
  result.error = { name: error.name, message: error.message, missing: error.missing };
}
try {
  native.peerCredentials("not a socket");
} catch (error) {
  result.stack = error.stack;
}
result.loaded = [...new Set(readFileSync("/proc/self/maps", "utf8").split("\\n").map((line) => line.split(/\\s+/)[5]).filter((file) => file?.endsWith(".node")))];
client.destroy();
other.destroy();
server.close();
console.log(JSON.stringify(result));
`;

interface CheckResult {
  listen: string;
  self: { pid: number; uid: number; gid: number };
  credentials?: unknown[];
  error?: { name: string; message: string; missing: string[] };
  stack: string;
  loaded: string[];
}

const scratch = mkdtempSync(join(tmpdir(), "ipcgen-package-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A bin folder with nothing but node and sh: no cc, gcc, g++, make or python3. */
function bareBin(): string {
  const bin = join(scratch, "bare-bin");
  if (!existsSync(bin)) {
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, "node"));
    symlinkSync(realpathSync(which("sh")), join(bin, "sh"));
  }
  return bin;
}

/** A new app folder with the schema and the check script; `npm install --omit=dev` of the tarball into it. */
async function installApp(name: string, tarball: string, path?: string): Promise<{ dir: string; install: Run }> {
  const dir = join(scratch, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, private: true, type: "module" }));
  writeFileSync(join(dir, "hello.capnp"), SCHEMA);
  writeFileSync(join(dir, "check.mjs"), CHECK);
  const install = await npm(["install", "--omit=dev", ...NPM_FLAGS, tarball], { cwd: dir, path });
  expect(install.code, install.stderr).toBe(0);
  return { dir, install };
}

async function check(dir: string, path?: string): Promise<CheckResult> {
  const socket = join(dir, "check.sock");
  const result = await run(process.execPath, ["--enable-source-maps", "check.mjs", socket], { cwd: dir, path });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as CheckResult;
}

/** `npx ipcgen --version` and `npx ipcgen hello.capnp -o gen` work in the app. */
async function expectCliWorks(dir: string, path?: string) {
  const version = await npx(["--no-install", "ipcgen", "--version"], { cwd: dir, path });
  expect(version.stderr).toBe("");
  expect(version.stdout.trim()).toBe(pkg.version);
  rmSync(join(dir, "gen"), { recursive: true, force: true });
  const generate = await npx(["--no-install", "ipcgen", "hello.capnp", "-o", "gen"], { cwd: dir, path });
  expect(generate.stderr).toBe("");
  expect(generate.code).toBe(0);
  expect(readFileSync(join(dir, "gen", "hello.capnp.ts"), "utf8")).toMatch(/export (class|interface) Greeting\b/);
}

describe("the lock file", () => {
  it("agrees with package.json, install script included", () => {
    const lock = JSON.parse(readFileSync(join(REPO, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version?: string; dependencies?: object; devDependencies?: object; hasInstallScript?: boolean }>;
    };
    const root = lock.packages[""];
    expect(root.version).toBe(pkg.version);
    expect(root.dependencies).toEqual(pkg.dependencies);
    expect(root.devDependencies).toEqual(pkg.devDependencies);
    expect(root.hasInstallScript).toBe(pkg.scripts.install !== undefined);
    expect(lock.packages["node_modules/@types/node"].version).toBe("20.19.43");
  });
});

describe("the packed package", () => {
  let tarball: string;
  let files: Set<string>;

  beforeAll(async () => {
    // prepack makes the prebuilt addon, prepare builds dist/; both print on stderr, the JSON is on stdout.
    const pack = await npm(["pack", "--json", "--pack-destination", scratch], { cwd: REPO });
    expect(pack.code, pack.stderr).toBe(0);
    const [info] = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
    tarball = join(scratch, info.filename);
    files = new Set(info.files.map((file) => file.path));
    expect(ipcgenLines(pack.stderr)).toEqual([expect.stringMatching(new RegExp(`^ipcgen: native addon: prebuilt ${PREBUILT} \\(\\d+ KiB\\)$`))]);
  }, 300_000);

  it("has the prebuilt addon, the docs --help names, and every source its source maps name", () => {
    expect(files).toContain(PREBUILT);
    for (const doc of ["README.md", "docs/cli.md", "docs/codegen.md", "docs/runtime.md"]) expect(files).toContain(doc);
    const maps = [...files].filter((file) => file.endsWith(".map"));
    expect(maps).toContain("dist/runtime/session/client.js.map");
    expect(maps).toContain("dist/runtime/session/client.d.ts.map");
    const missing: string[] = [];
    for (const map of maps) {
      const { sources, sourcesContent, sourceRoot = "" } = JSON.parse(readFileSync(join(REPO, map), "utf8")) as {
        sources: string[];
        sourcesContent?: (string | null)[];
        sourceRoot?: string;
      };
      sources.forEach((source, i) => {
        if (typeof sourcesContent?.[i] === "string") return;
        const path = posix.normalize(posix.join(posix.dirname(map), sourceRoot, source));
        if (!files.has(path)) missing.push(`${map} names ${path}`);
      });
    }
    expect(missing).toEqual([]);
  });

  it("installs with --omit=dev and uses the prebuilt addon; the CLI generates", async () => {
    const { dir, install } = await installApp("app", tarball);
    expect(ipcgenLines(install.stdout + install.stderr)).toEqual([`ipcgen: native addon: using the prebuilt binary for ${PLATFORM} (${PREBUILT})`]);
    expect(install.stdout + install.stderr).not.toMatch(/gyp info/);
    await expectCliWorks(dir);

    const installed = join(dir, "node_modules", "ipcgen");
    const help = await npx(["--no-install", "ipcgen", "--help"], { cwd: dir });
    expect(help.stdout).toContain("node_modules/ipcgen/docs/");
    for (const doc of ["docs/cli.md", "docs/codegen.md"]) expect(existsSync(join(installed, doc)), doc).toBe(true);

    const result = await check(dir);
    expect(result.listen).toBe("function");
    expect(result.error).toBeUndefined();
    expect(result.credentials).toEqual([result.self, result.self]);
    expect(result.loaded).toEqual([join(realpathSync(installed), PREBUILT)]);
    // With --enable-source-maps the stack names the runtime's TypeScript, which is there to read.
    const frame = /\((\/[^():]+\/runtime\/native\/index\.ts):(\d+):\d+\)/.exec(result.stack);
    expect(frame, result.stack).not.toBeNull();
    const line = readFileSync(frame![1], "utf8").split("\n")[Number(frame![2]) - 1];
    expect(line).toContain("TypeError");
  }, 300_000);

  it("installs where there is no compiler, make or python3: the prebuilt addon; without it either, one warning and code generation still works", async () => {
    const bin = bareBin();
    const gone = await run("sh", ["-c", "command -v cc gcc g++ c++ make python3 python"], { cwd: scratch, path: bin });
    expect(gone.stdout).toBe("");

    const { dir, install } = await installApp("app-no-toolchain", tarball, bin);
    expect(ipcgenLines(install.stdout + install.stderr)).toEqual([`ipcgen: native addon: using the prebuilt binary for ${PLATFORM} (${PREBUILT})`]);
    await expectCliWorks(dir, bin);
    const result = await check(dir, bin);
    expect(result.credentials).toEqual([result.self, result.self]);
    expect(result.loaded).toEqual([join(realpathSync(dir), "node_modules", "ipcgen", PREBUILT)]);

    // A platform with no prebuilt binary (here: the binary removed) and no toolchain.
    rmSync(join(dir, "node_modules", "ipcgen", "runtime", "native", "prebuilds"), { recursive: true });
    const rebuild = await npm(["rebuild", "ipcgen", ...NPM_FLAGS], { cwd: dir, path: bin });
    expect(rebuild.code, rebuild.stderr).toBe(0);
    expect(ipcgenLines(rebuild.stdout + rebuild.stderr)).toEqual([
      `ipcgen: warning: native addon not built: there is no prebuilt binary for ${PLATFORM}, and it cannot be built from source ` +
        "(cc, g++, make, python3 not found); code generation works without it; the runtime's native functions (peer credentials, " +
        "shared memory, descriptor passing) need it: install build-essential and python3 (Debian/Ubuntu: apt-get install " +
        "build-essential python3), then run npm rebuild ipcgen.",
    ]);
    await expectCliWorks(dir, bin);
    const without = await check(dir, bin);
    expect(without.listen).toBe("function");
    expect(without.loaded).toEqual([]);
    expect(without.error).toEqual({
      name: "NativeAddonError",
      message: expect.stringMatching(/^ipcgen's native addon is not built \(there is no prebuilt binary for [^)]+\): cc\/g\+\+\/make\/python3 not found; /),
      missing: ["cc", "g++", "make", "python3"],
    });

    // With the toolchain back, `npm rebuild ipcgen` builds it from source, quietly.
    const built = await npm(["rebuild", "ipcgen", ...NPM_FLAGS], { cwd: dir });
    expect(built.code, built.stderr).toBe(0);
    expect(ipcgenLines(built.stdout + built.stderr)).toEqual([
      `ipcgen: native addon: built from source (runtime/native/build/Release/ipcgen_native.node), as there is no prebuilt binary for ${PLATFORM}`,
    ]);
    expect(built.stdout + built.stderr).not.toMatch(/gyp info|CC\(target\)/);
    const rebuilt = await check(dir);
    expect(rebuilt.credentials).toEqual([rebuilt.self, rebuilt.self]);
    expect(rebuilt.loaded).toEqual([join(realpathSync(dir), "node_modules", "ipcgen", "runtime/native/build/Release/ipcgen_native.node")]);
  }, 300_000);
});

describe("a fresh clone", () => {
  it("npm install changes no tracked file and prints one line for the addon", async () => {
    const clone = join(scratch, "clone");
    const cloned = await run("git", ["clone", "--quiet", REPO, clone], { cwd: scratch });
    expect(cloned.code, cloned.stderr).toBe(0);
    const install = await npm(["install", ...NPM_FLAGS], { cwd: clone });
    expect(install.code, install.stderr).toBe(0);
    const output = install.stdout + install.stderr;
    expect(output).not.toMatch(/gyp info/);
    // Built from source in a checkout (the CI machine has the toolchain; without it, the one-line warning).
    expect(ipcgenLines(output)).toEqual([
      expect.stringMatching(/^ipcgen: (native addon: built from source \(runtime\/native\/build\/Release\/ipcgen_native\.node\)|warning: native addon not built: .*)$/),
    ]);
    const status = await run("git", ["status", "--porcelain"], { cwd: clone });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toBe("");
  }, 300_000);
});
