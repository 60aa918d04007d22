/**
 * The terminal example in one go: starts the server, runs a client that writes three lines (one of them
 * longer than the shared buffer) and prints the echoes, then stops the server.
 *
 * Run: node --import tsx examples/terminal/demo.ts
 */
import { Program, withServer } from "../programs.js";

await withServer("terminal", import.meta.url, async (path) => {
  const client = new Program("client", new URL("client.ts", import.meta.url), [path]);
  for (const line of ["hello, terminal", "through shared memory", "x".repeat(5000)]) client.write(line);
  if ((await client.end()) !== 0) throw new Error("the client failed");
});
