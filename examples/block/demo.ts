/**
 * The block example in one go: starts the server, runs the client against it, then stops the server.
 *
 * Run: node --import tsx examples/block/demo.ts
 */
import { Program, withServer } from "../programs.js";

await withServer("block", import.meta.url, async (path) => {
  const client = new Program("client", new URL("client.ts", import.meta.url), [path]);
  if ((await client.end()) !== 0) throw new Error("the client failed");
});
