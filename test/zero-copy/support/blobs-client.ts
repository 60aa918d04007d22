/**
 * A Blobs client as a process of its own, for the tests that kill it:
 * `node --import tsx blobs-client.ts SOCKET SIZE MS` sends `hold` a block of SIZE bytes of 0x5a that the
 * server holds for MS milliseconds; prints "sending" before the call and "held N" after it.
 */
import { Blobs } from "../gen/blobs.capnp.js";

const [path, size, ms] = process.argv.slice(2);
const blobs = await Blobs.connect(path);
const block = blobs.allocate(Number(size));
block.bytes.fill(0x5a);
console.log("sending");
const { length } = await blobs.hold({ data: block.bytes, ms: Number(ms) });
console.log(`held ${length}`);
await blobs.close();
