/**
 * A Blobs client for the descriptor tests, run as another user: `blobs-other.ts SOCKET SIZE` echoes SIZE
 * bytes (placed both ways when zero-copy is on) and asks the server to fill a block of its own pool; prints
 * one JSON line: its uid, whether the session uses shared memory, and what came back.
 */
import { Blobs } from "../gen/blobs.capnp.js";

const [path, size] = process.argv.slice(2);
await using blobs = await Blobs.connect(path);
const data = new Uint8Array(Number(size)).fill(0x3c);
using echoed = await blobs.echo({ data });
using filled = await blobs.fill({ size: Number(size), byte: 0x77 });
console.log(
  JSON.stringify({
    uid: process.getuid?.(),
    zeroCopy: blobs.zeroCopy,
    echoed: echoed.data.length === data.length && echoed.data.every((b) => b === 0x3c),
    filled: filled.data.length === data.length && filled.data.every((b) => b === 0x77),
  }),
);
