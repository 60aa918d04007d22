// Builds ipcgen's native addon; package.json's `install` script runs it on `npm install`/`npm ci`/`npm rebuild`.
// Plain JavaScript with no dependencies, because it runs before `prepare` compiles anything and also in
// users' installs. It never fails the install: code generation needs no compiler, so a missing toolchain
// or a failed build is a warning here, and the outcome is written to build/ipcgen-install.json for
// index.ts to quote when the addon is first used (npm hides a dependency's install output unless it fails).
import { spawn } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const buildDir = join(here, "build");
const statusFile = join(buildDir, "ipcgen-install.json");
const hint = "install build-essential and python3 (Debian/Ubuntu: apt-get install build-essential python3), then run npm rebuild ipcgen";

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

function writeStatus(status) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(statusFile, JSON.stringify({ ...status, node: process.version, date: new Date().toISOString() }, null, 2) + "\n");
}

function warn(lines) {
  process.stderr.write(lines.map((line) => `ipcgen: warning: ${line}\n`).join(""));
}

/** Runs the command, passing its output through while keeping the end of it for the status file. */
function run(command, args) {
  return new Promise((resolve) => {
    let tail = "";
    const keep = (chunk) => {
      tail = (tail + chunk.toString()).slice(-16000);
    };
    const child = spawn(command, args, { cwd: here, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk) => (process.stdout.write(chunk), keep(chunk)));
    child.stderr.on("data", (chunk) => (process.stderr.write(chunk), keep(chunk)));
    child.on("error", (error) => resolve({ code: -1, tail: `${tail}\n${error.message}` }));
    child.on("close", (code, signal) => resolve({ code: code ?? -1, signal, tail }));
  });
}

async function main() {
  const missing = missingTools();
  const gyp = nodeGypCommand();
  if (!gyp) missing.push("node-gyp");
  if (missing.length > 0) {
    writeStatus({ ok: false, missing });
    warn([`native addon not built: ${missing.join(", ")} not found.`, `Code generation works without it; the runtime's native functions (peer credentials, ...) need it: ${hint}.`]);
    return;
  }

  const args = [...gyp.slice(1), "rebuild", "--directory", here];
  // node-gyp otherwise downloads Node's headers, which fails offline: point it at the local ones when npm
  // has not (npm passes its `nodedir` setting as npm_config_nodedir).
  const prefix = join(dirname(process.execPath), "..");
  if (!process.env.npm_config_nodedir && existsSync(join(prefix, "include", "node", "node_api.h"))) args.push(`--nodedir=${prefix}`);

  const { code, signal, tail } = await run(gyp[0], args);
  if (code === 0) {
    writeStatus({ ok: true });
    return;
  }
  const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
  // The compiler's errors, without node-gyp's chatter ("gyp info ...") around them.
  const log = tail.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("gyp info")).slice(-40).join("\n");
  writeStatus({ ok: false, failed: `node-gyp ${how}`, log });
  warn([`native addon build failed: node-gyp ${how} (its output is above, and in ${statusFile}).`, `Code generation works without it; the runtime's native functions need it: fix the error, then run npm rebuild ipcgen.`]);
}

main().catch((error) => {
  // Even a bug here must not fail the install.
  warn([`native addon not built: ${error?.stack ?? error}`]);
});
