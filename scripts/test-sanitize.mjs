// npm run test:sanitize: builds the native addon with AddressSanitizer and UndefinedBehaviorSanitizer into
// runtime/native/build-sanitize/ (the normal build/ is untouched), then runs the native tests against it
// (IPCGEN_NATIVE_ADDON makes loadNativeAddon() take that build). Node itself is not instrumented, so the
// ASan runtime is preloaded into every Node process of the run. Any sanitizer report, in the test
// process or in any process it starts, fails the run: reports go to files in a fresh directory, which
// must stay empty. Exit status 0 only when the build, the tests and the sanitizers all pass.
//
// Options: --build-only, --files <test files...> (default: the native test files below).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const nativeDir = join(root, "runtime", "native");
const outDir = join(nativeDir, "build-sanitize");
const addon = join(outDir, "build", "Release", "ipcgen_native.node");
const defaultFiles = ["test/runtime/native.test.ts", "test/runtime/shm-native.test.ts", "test/runtime/fd-passing.test.ts"];
const sanitize = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g", "-O1"];

function fail(message) {
  process.stderr.write(`test:sanitize: ${message}\n`);
  process.exit(1);
}

function run(command, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: "inherit", ...options });
    child.on("error", (error) => resolve({ code: -1, error }));
    child.on("close", (code, signal) => resolve({ code, signal }));
  });
}

/** node-gyp as install.mjs finds it: npm's bundled copy, or one on PATH. */
function nodeGyp() {
  const bundled = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ].find((path) => path && existsSync(path));
  if (bundled) return [process.execPath, bundled];
  return ["node-gyp"];
}

/** build-sanitize/binding.gyp: binding.gyp's target, its sources read from ../src, with the sanitizers. */
async function build() {
  const gyp = JSON.parse(
    readFileSync(join(nativeDir, "binding.gyp"), "utf8")
      .split("\n")
      .filter((line) => !line.trim().startsWith("#"))
      .join("\n"),
  );
  for (const target of gyp.targets) {
    target.sources = target.sources.map((source) => join("..", source));
    target.cflags = [...(target.cflags ?? []), ...sanitize];
    target.cflags_cc = [...(target.cflags_cc ?? []), ...sanitize];
    target.ldflags = [...(target.ldflags ?? []), "-fsanitize=address,undefined"];
  }
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "binding.gyp"), `# Made by scripts/test-sanitize.mjs from ../binding.gyp.\n${JSON.stringify(gyp, null, 2)}\n`);
  const [command, ...args] = nodeGyp();
  args.push("rebuild", "--directory", outDir, "--loglevel=warn");
  const prefix = join(dirname(process.execPath), "..");
  if (!process.env.npm_config_nodedir && existsSync(join(prefix, "include", "node", "node_api.h"))) args.push(`--nodedir=${prefix}`);
  const { code, signal } = await run(command, args, { cwd: outDir });
  if (code !== 0) fail(`the sanitizer build failed (node-gyp ${signal ? `killed by ${signal}` : `exit ${code}`})`);
}

/** The ASan runtime that gcc links against, to preload into Node. */
function asanRuntime() {
  const cc = process.env.CC?.split(" ")[0] || "gcc";
  let path;
  try {
    path = execFileSync(cc, ["-print-file-name=libasan.so"], { encoding: "utf8" }).trim();
  } catch (error) {
    fail(`cannot ask ${cc} where libasan.so is: ${error.message}`);
  }
  if (!path.startsWith("/") || !existsSync(path)) fail(`${cc} has no libasan.so (install libasan, e.g. with gcc)`);
  return path;
}

async function test(files) {
  const reports = mkdtempSync(join(tmpdir(), "ipcgen-sanitize-"));
  const env = {
    ...process.env,
    IPCGEN_NATIVE_ADDON: addon,
    LD_PRELOAD: asanRuntime(),
    // Node is not instrumented: its own exit-time allocations are not leaks of ours; V8 and wasm use SIGSEGV
    // themselves; an uninstrumented main program makes ODR checks meaningless.
    ASAN_OPTIONS: `detect_leaks=0:handle_segv=0:allow_user_segv_handler=1:detect_odr_violation=0:halt_on_error=1:abort_on_error=0:exitcode=86:log_path=${join(reports, "asan")}`,
    UBSAN_OPTIONS: `halt_on_error=1:print_stacktrace=1:exitcode=87:log_path=${join(reports, "ubsan")}`,
  };
  const vitest = join(root, "node_modules", "vitest", "vitest.mjs");
  // UBSan writes its reports to stderr whatever log_path says (beside ASan's runtime): watch the output too.
  let seen = false;
  let tail = "";
  const watch = (into) => (chunk) => {
    into.write(chunk);
    const text = tail + chunk.toString();
    if (/runtime error:|ERROR: \w*Sanitizer|SUMMARY: \w*Sanitizer/.test(text)) seen = true;
    tail = text.slice(-200);
  };
  const { code, signal } = await new Promise((resolve) => {
    const child = spawn(process.execPath, [vitest, "run", ...files], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", watch(process.stdout));
    child.stderr.on("data", watch(process.stderr));
    child.on("error", (error) => resolve({ code: -1, error }));
    child.on("close", (code, signal) => resolve({ code, signal }));
  });
  const found = readdirSync(reports);
  for (const file of found) process.stderr.write(`\n--- sanitizer report ${file} ---\n${readFileSync(join(reports, file), "utf8")}`);
  rmSync(reports, { recursive: true, force: true });
  if (found.length > 0) fail(`${found.length} sanitizer report(s), above`);
  if (seen) fail("a sanitizer reported an error (above)");
  if (code !== 0) fail(`the tests failed under the sanitizers (${signal ? `killed by ${signal}` : `exit ${code}`})`);
  process.stdout.write(`test:sanitize: ${files.join(", ")} passed with ASan and UBSan, no reports\n`);
}

const argv = process.argv.slice(2);
const at = argv.indexOf("--files");
const files = at >= 0 ? argv.slice(at + 1) : defaultFiles;
await build();
if (!argv.includes("--build-only")) await test(files);
