/**
 * The channels example in one go: starts the server, runs a client whose four workers count the primes
 * below 3,000,000 side by side, then one whose workers the control channel stops after half a second, then
 * stops the server.
 *
 * Run: node --import tsx examples/channels/demo.ts
 */
import { Program, withServer } from "../programs.js";

const client = new URL("client.ts", import.meta.url);
await withServer("channels", import.meta.url, async (path) => {
  const full = new Program("full", client, [path, "--below", "3000000", "--workers", "4"]);
  await full.waitFor(/total: 216816 primes below 3000000/);
  if ((await full.end()) !== 0) throw new Error("the first client failed");

  const stopped = new Program("stop", client, [path, "--below", "1000000000", "--workers", "3", "--stop-after", "500"]);
  await stopped.waitFor(/stopped: w0, w1, w2/);
  if ((await stopped.end()) !== 0) throw new Error("the second client failed");
});
