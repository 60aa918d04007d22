// The ipcgen row's server: serves bench/rpc/echo.capnp's Echo through ipcgen's RPC runtime (see ipcgen.mjs).
//
// Run by bench/rpc/client.mjs as `node ipcgen-server.mjs FILES_JSON SOCKET`, FILES_JSON naming the runtime and
// the generated code (compiled to JavaScript by bench/rpc.ts) and the Echo interface's id. Prints one JSON
// line when listening (or why it could not) and exits when its stdin closes.
import { rmSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { allowedCpus, exitWithParent, firstLine } from "./common.mjs";
import { serve } from "./ipcgen.mjs";

const files = JSON.parse(process.argv[2]);
const path = process.argv[3];
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

exitWithParent();
process.on("exit", () => rmSync(path, { force: true }));
try {
  const runtime = await import(pathToFileURL(files.runtime).href);
  const generated = await import(pathToFileURL(files.generated).href);
  await serve({ runtime, generated, echoId: files.echoId }, path);
  say({ ready: true, pid: process.pid, cpus: allowedCpus() });
} catch (e) {
  say({ ready: false, reason: firstLine(e) });
  process.exit(1);
}
