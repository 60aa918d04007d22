/**
 * The terminal example in one go: starts the server, runs a client that writes three lines (one of them
 * longer than the shared buffer) and prints the echoes, then stops the server.
 *
 * Run: node --import tsx examples/terminal/demo.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Program } from "../programs.js";

const dir = mkdtempSync(join(tmpdir(), "ipcgen-terminal-"));
const path = join(dir, "terminal.sock");
const server = new Program("server", new URL("server.ts", import.meta.url), [path]);
try {
  await server.waitFor(/listening/);
  const client = new Program("client", new URL("client.ts", import.meta.url), [path]);
  for (const line of ["hello, terminal", "through shared memory", "x".repeat(5000)]) client.write(line);
  if ((await client.end()) !== 0) throw new Error("the client failed");
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
