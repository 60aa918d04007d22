// Provides ipcgen's native addon; package.json's `install` script runs it on `npm install`/`npm ci`/`npm rebuild`.
// Plain JavaScript, because it runs before `prepare` compiles anything and also in users' installs.
//
// 1. An installed package ships a prebuilt binary (prebuilds/<platform>-<arch>/, made by prebuild.mjs when the
//    package is packed). If one matches this machine and loads, nothing is compiled.
// 2. Otherwise (another platform, a binary that does not load, a git checkout, `npm rebuild ipcgen
//    --build-from-source` or IPCGEN_BUILD_FROM_SOURCE=1) the addon is built from source with node-gyp, its
//    output kept in build/ipcgen-build.log, not printed.
//
// Either way it prints one line. It never fails the install: code generation needs no addon, so a missing
// toolchain or a failed build is a one-line warning, and the outcome is written to build/ipcgen-install.json
// for index.ts to quote when the addon is first used (npm hides a dependency's install output unless it fails).
import { spawn } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = join(here, "..", "..");
const buildDir = join(here, "build");
const statusFile = join(buildDir, "ipcgen-install.json");
const logFile = join(buildDir, "ipcgen-build.log");
const built = join(buildDir, "Release", "ipcgen_native.node");
const platform = `${process.platform}-${process.arch}`;
const hint = "install build-essential and python3 (Debian/Ubuntu: apt-get install build-essential python3), then run npm rebuild ipcgen";
const codegenStillWorks = "code generation works without it; the runtime's native functions (peer credentials, shared memory, descriptor passing) need it";

/** The path of an executable named `name` on PATH, or undefined. */
function which(name) {
  if (name.includes("/")) return isExecutable(name) ? name : undefined;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The tools node-gyp's make build calls, by the names it uses; honours CC/CXX/PYTHON as node-gyp does. */
function missingTools() {
  const missing = [];
  // gyp compiles C with $CC (default cc) and links every addon with $CXX (default g++), C-only ones too.
  const cc = process.env.CC?.split(" ")[0] || "cc";
  const cxx = process.env.CXX?.split(" ")[0] || "g++";
  if (!which(cc)) missing.push(cc);
  if (!which(cxx)) missing.push(cxx);
  if (!which("make")) missing.push("make");
  const python = process.env.npm_config_python || process.env.PYTHON;
  if (python ? !which(python) : !which("python3") && !which("python")) missing.push(python || "python3");
  return missing;
}

/** How to run node-gyp: npm's bundled copy (npm names it in npm_config_node_gyp), or one on PATH. */
function nodeGypCommand() {
  const bundled = [
    process.env.npm_config_node_gyp,
    // Run by hand, outside npm: the copy bundled with the npm installed beside this node.
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ].find((path) => path && existsSync(path));
  if (bundled) return [process.execPath, bundled];
  const onPath = which("node-gyp");
  return onPath ? [onPath] : undefined;
}

/** node-gyp otherwise downloads Node's headers, which fails offline: the local ones' folder, when npm has not
 * named one (npm passes its `nodedir` setting as npm_config_nodedir). */
function localNodeDir() {
  const prefix = join(dirname(process.execPath), "..");
  if (!process.env.npm_config_nodedir && existsSync(join(prefix, "include", "node", "node_api.h"))) return prefix;
  return undefined;
}

function writeStatus(status) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(statusFile, JSON.stringify({ ...status, node: process.version, date: new Date().toISOString() }, null, 2) + "\n");
}

function say(line) {
  process.stderr.write(`ipcgen: native addon: ${line}\n`);
}

function warn(line) {
  process.stderr.write(`ipcgen: warning: native addon ${line}\n`);
}

/** A path for messages: relative to the package when inside it. */
function shown(path) {
  const rel = relative(packageRoot, path);
  return rel.startsWith("..") ? path : rel;
}

/** Why not to use a prebuilt binary even if there is one, or undefined. */
function buildFromSourceReason() {
  // npm rebuild ipcgen --build-from-source (npm passes it on as npm_config_build_from_source), or the variable.
  for (const name of ["npm_config_build_from_source", "IPCGEN_BUILD_FROM_SOURCE"]) {
    const flag = process.env[name];
    if (flag && flag !== "false" && flag !== "0") return name;
  }
  // ipcgen's own checkout: its sources may be newer than a binary left by an earlier `npm pack`.
  if (existsSync(join(packageRoot, ".git"))) return "a git checkout";
  return undefined;
}

/**
 * The prebuilt binary for this machine, as index.ts's loader would pick it (node-gyp-build's rules, from
 * prebuilds/ only), and whether it loads here: { file } or { file, error }; undefined when there is none.
 */
function findPrebuilt() {
  const require = createRequire(import.meta.url);
  if (!existsSync(join(here, "prebuilds"))) return undefined;
  let file;
  const previous = process.env.PREBUILDS_ONLY;
  process.env.PREBUILDS_ONLY = "1"; // read when node-gyp-build is loaded: skip build/, look in prebuilds/
  try {
    file = require("node-gyp-build").path(here);
  } catch {
    return undefined; // none for this platform (or node-gyp-build is missing, which the loader needs too)
  } finally {
    if (previous === undefined) delete process.env.PREBUILDS_ONLY;
    else process.env.PREBUILDS_ONLY = previous;
  }
  try {
    require(file).peerCredentials; // eslint-disable-line no-unused-expressions
    return { file };
  } catch (error) {
    return { file, error: (error?.message ?? String(error)).split("\n")[0] };
  }
}

/** Runs the command with its output going to the log file only (written at the end: `node-gyp rebuild`
 * starts by deleting build/). */
function run(command, args) {
  return new Promise((resolve) => {
    const chunks = [Buffer.from(`$ ${[command, ...args].join(" ")}\n`)];
    const child = spawn(command, args, { cwd: here, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk) => chunks.push(chunk));
    child.stderr.on("data", (chunk) => chunks.push(chunk));
    const done = (result) => {
      mkdirSync(buildDir, { recursive: true });
      writeFileSync(logFile, Buffer.concat(chunks));
      resolve(result);
    };
    child.on("error", (error) => done({ code: -1, error: error.message }));
    child.on("close", (code, signal) => done({ code: code ?? -1, signal }));
  });
}

/** The end of the build log, without node-gyp's chatter ("gyp info ..."): the compiler's errors. */
function logTail() {
  try {
    return readFileSync(logFile, "utf8").split("\n").filter((line) => line.trim() !== "" && !line.startsWith("gyp info")).slice(-40).join("\n");
  } catch {
    return "";
  }
}

async function main() {
  const reason = buildFromSourceReason();
  let prebuiltNote = "";
  if (!reason) {
    const prebuilt = findPrebuilt();
    if (prebuilt && !prebuilt.error) {
      // A build/Release left by an earlier build from source would win over it in the loader.
      rmSync(join(buildDir, "Release"), { recursive: true, force: true });
      writeStatus({ ok: true, prebuilt: prebuilt.file });
      say(`using the prebuilt binary for ${platform} (${shown(prebuilt.file)})`);
      return;
    }
    prebuiltNote = prebuilt ? `the prebuilt binary for ${platform} does not load here (${prebuilt.error})` : `there is no prebuilt binary for ${platform}`;
  }

  const missing = missingTools();
  const gyp = nodeGypCommand();
  if (!gyp) missing.push("node-gyp");
  if (missing.length > 0) {
    writeStatus({ ok: false, missing, ...(prebuiltNote && { prebuilt: prebuiltNote }) });
    const why = prebuiltNote ? `${prebuiltNote}, and ` : "";
    warn(`not built: ${why}it cannot be built from source (${missing.join(", ")} not found); ${codegenStillWorks}: ${hint}.`);
    return;
  }

  const args = [...gyp.slice(1), "rebuild", "--directory", here];
  const nodedir = localNodeDir();
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  const { code, signal, error } = await run(gyp[0], args);
  if (code === 0 && existsSync(built)) {
    writeStatus({ ok: true });
    say(`built from source (${shown(built)})${prebuiltNote ? `, as ${prebuiltNote}` : ""}`);
    return;
  }
  const how = error ? `could not start (${error})` : signal ? `was killed by ${signal}` : `exited with status ${code}`;
  writeStatus({ ok: false, failed: `node-gyp ${how}`, log: logTail(), ...(prebuiltNote && { prebuilt: prebuiltNote }) });
  warn(`build failed: node-gyp ${how}, its output is in ${logFile}; ${codegenStillWorks}: fix the error, then run npm rebuild ipcgen.`);
}

main().catch((error) => {
  // Even a bug here must not fail the install.
  warn(`not built: ${String(error?.stack ?? error).replaceAll("\n", " | ")}`);
});
