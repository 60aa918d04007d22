// The raw rows' server: a Node `net` server on a Unix socket that answers every length-prefixed frame
// (4-byte little-endian length, then that many bytes) with a frame carrying the same bytes. Each frame is
// handled on its own (copied into its reply). How the replies go out depends on the mode:
//   - "batched" (the default): the replies to the frames of one read go out in one write;
//   - "per-frame": each reply goes out with its own `socket.write` as soon as its frame is handled (no
//     batching, no cork), as a plain ping-pong server does.
// Servers cannot use `onread`, so this reads with 'data' events.
//
// Run by bench/rpc/client.mjs as `node raw-server.mjs SOCKET [batched|per-frame]`; prints one JSON line when
// listening and exits when its stdin closes.
import { rmSync } from "node:fs";
import net from "node:net";
import { allowedCpus, exitWithParent } from "./common.mjs";

const path = process.argv[2];
const mode = process.argv[3] ?? "batched";
if (mode !== "batched" && mode !== "per-frame") {
  console.error(`raw-server: unknown mode ${mode} (batched or per-frame)`);
  process.exit(1);
}
const perFrame = mode === "per-frame";
const MAX_FRAME = 1 << 20;

const server = net.createServer((socket) => {
  let carry = null; // the start of a frame that the last read did not finish
  socket.on("data", (chunk) => {
    const data = carry === null ? chunk : Buffer.concat([carry, chunk]);
    carry = null;
    // Find the complete frames first (so that, batched, their replies can be written into one buffer).
    let end = 0;
    while (data.length - end >= 4) {
      const length = data.readUInt32LE(end);
      if (length > MAX_FRAME) {
        socket.destroy(new Error(`frame of ${length} bytes`));
        return;
      }
      if (data.length - end - 4 < length) break;
      end += 4 + length;
    }
    if (end > 0 && perFrame) {
      for (let at = 0; at < end; ) {
        const length = data.readUInt32LE(at);
        // The handler: the reply's payload is the request's; written on its own.
        const out = Buffer.allocUnsafe(4 + length);
        out.writeUInt32LE(length, 0);
        data.copy(out, 4, at + 4, at + 4 + length);
        socket.write(out);
        at += 4 + length;
      }
    } else if (end > 0) {
      const out = Buffer.allocUnsafe(end);
      for (let at = 0; at < end; ) {
        const length = data.readUInt32LE(at);
        // The handler: the reply's payload is the request's.
        out.writeUInt32LE(length, at);
        data.copy(out, at + 4, at + 4, at + 4 + length);
        at += 4 + length;
      }
      socket.write(out);
    }
    if (end < data.length) carry = Buffer.from(data.subarray(end));
  });
  socket.on("error", () => socket.destroy());
});

server.on("error", (e) => {
  console.error(`raw-server: ${e.message}`);
  process.exit(1);
});
process.on("exit", () => rmSync(path, { force: true }));
exitWithParent();
server.listen(path, () => {
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, cpus: allowedCpus() })}\n`);
});
