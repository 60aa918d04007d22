// Makes the prebuilt addon that the package ships: package.json's `prepack` runs it, so `npm pack` and
// `npm publish` put prebuilds/<platform>-<arch>/ipcgen.napi.<libc>.node in the tarball, and installs on that
// platform need no compiler (install.mjs uses it, index.ts loads it through node-gyp-build).
// prebuildify builds binding.gyp in a scratch copy, so the checkout's own build/ is left as it was, then
// strips the binary. One N-API build serves every Node the package supports (NAPI_VERSION=8 in binding.gyp).
// Needs the toolchain (cc, g++, make, python3); unlike install.mjs it fails loudly: a package without its
// prebuilt binary would make every user compile.
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const target = join(here, "prebuilds", `${process.platform}-${process.arch}`);

/** npm's node-gyp (npm names it in npm_config_node_gyp, or the copy beside this node), for prebuildify. */
function nodeGyp() {
  return [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ].find((path) => path && existsSync(path));
}

const env = { ...process.env };
const gyp = nodeGyp();
if (gyp && !env.PREBUILD_NODE_GYP) env.PREBUILD_NODE_GYP = gyp;
// Node's own headers when they are installed, rather than a download (which fails offline).
const prefix = join(dirname(process.execPath), "..");
if (!env.npm_config_nodedir && existsSync(join(prefix, "include", "node", "node_api.h"))) env.npm_config_nodedir = prefix;

const scratch = mkdtempSync(join(tmpdir(), "ipcgen-prebuild-"));
let output = "";
try {
  for (const name of ["binding.gyp", "src"]) cpSync(join(here, name), join(scratch, name), { recursive: true });
  rmSync(target, { recursive: true, force: true });
  const args = [
    require.resolve("prebuildify/bin.js"),
    "--napi",
    "--strip",
    "--tag-libc",
    // The name's "napi" tag tells node-gyp-build that the binary is for any Node version.
    "--name=ipcgen.napi",
    `--target=node@${process.versions.node}`,
    `--out=${here}`,
    `--cwd=${scratch}`,
    `--cache=${join(scratch, "devdir")}`, // node-gyp's header cache, if it must download them
  ];
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", (error) => ((output += error.message), resolve(-1)));
    child.on("close", (status) => resolve(status ?? -1));
  });
  const files = existsSync(target) ? readdirSync(target).filter((name) => name.endsWith(".node")) : [];
  if (code !== 0 || files.length !== 1) throw new Error(`prebuildify ${code === 0 ? `made ${files.length} binaries` : `exited with status ${code}`}`);
  const file = join(target, files[0]);
  require(file).peerCredentials; // eslint-disable-line no-unused-expressions -- it loads
  const kib = Math.round(statSync(file).size / 1024);
  process.stderr.write(`ipcgen: native addon: prebuilt ${relative(join(here, "..", ".."), file)} (${kib} KiB)\n`);
} catch (error) {
  process.stderr.write(output);
  process.stderr.write(`ipcgen: could not make the prebuilt native addon: ${error.message}\n`);
  process.exitCode = 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
