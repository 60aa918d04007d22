/**
 * The capture example in one go: starts the encoder, runs the capture process against it twice (through
 * shared memory, then with --no-zero-copy, every frame through the socket, to compare), then stops the
 * encoder.
 *
 * Run: node --import tsx examples/capture/demo.ts
 */
import { Program, withServer } from "../programs.js";

await withServer("capture", import.meta.url, async (path) => {
  for (const args of [[path], [path, "--no-zero-copy"]]) {
    const client = new Program("client", new URL("client.ts", import.meta.url), args);
    if ((await client.end()) !== 0) throw new Error("the client failed");
  }
});
