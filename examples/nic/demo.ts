/**
 * The nic example in one go: starts the server, runs the client against it, then stops the server.
 *
 * Run: node --import tsx examples/nic/demo.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Program } from "../programs.js";

const dir = mkdtempSync(join(tmpdir(), "ipcgen-nic-"));
const path = join(dir, "nic.sock");
const server = new Program("server", new URL("server.ts", import.meta.url), [path]);
try {
  await server.waitFor(/listening/);
  const client = new Program("client", new URL("client.ts", import.meta.url), [path]);
  if ((await client.end()) !== 0) throw new Error("the client failed");
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
