/**
 * The LOG example in one go: starts the server, runs three clients (one writes its arguments, one its
 * standard input, one a line over the bound, which it refuses), then stops the server.
 *
 * Run: node --import tsx examples/log/demo.ts
 */
import { Program, withServer } from "../programs.js";

await withServer("log", import.meta.url, async (path, server) => {
  const args = new Program("args", new URL("client.ts", import.meta.url), [path, "hello", "from", "the", "command", "line"]);
  if ((await args.end()) !== 0) throw new Error("the first client failed");
  await server.waitFor(/hello from the command line/);

  const stdin = new Program("stdin", new URL("client.ts", import.meta.url), [path]);
  for (const line of ["first line of stdin", "second line", "third line"]) stdin.write(line);
  if ((await stdin.end()) !== 0) throw new Error("the second client failed");
  await server.waitFor(/third line/);

  // 5000 bytes: over the 4096 that log.capnp allows. The client refuses it and exits with status 1.
  const long = new Program("long", new URL("client.ts", import.meta.url), [path, "x".repeat(5000)]);
  if ((await long.end()) !== 1) throw new Error("the over-long line was not refused");
});
