/**
 * A NIC client: sends COUNT frames of SIZE bytes (default 10,000 of 1,500) through the loopback, checks
 * that each comes back whole and in order, and prints the throughput.
 *
 * Run: npx tsx examples/nic/client.ts [SOCKET [COUNT [SIZE]]]
 */
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Nic } from "./gen/nic.capnp.js";

const [path = join(tmpdir(), "ipcgen-nic.sock"), countArg = "10000", sizeArg = "1500"] = process.argv.slice(2);
const count = Number(countArg);
const size = Number(sizeArg);

await using nic = await Nic.connect(path);
const { mac } = await nic.macAddress();
console.log(`interface ${[...mac].map((b) => b.toString(16).padStart(2, "0")).join(":")}`);

/** The bytes of frame `n`: its number, then its low byte repeated. */
function fill(frame: Buffer, n: number): void {
  frame.writeUInt32LE(n, 0);
  frame.fill(n & 0xff, 4);
}

const started = performance.now();
const sent = createHash("sha256");
const sending = (async () => {
  // Frames sent are acknowledged by the server once copied: release them for new ones.
  void (async () => {
    for await (const frame of nic.tx.acknowledged()) nic.tx.release(frame);
  })().catch(() => {});
  for (let n = 0; n < count; n++) {
    const frame = await nic.tx.alloc(size);
    fill(frame.data, n);
    sent.update(frame.data);
    await nic.tx.submit(frame, { sequence: n });
  }
})();

const received = createHash("sha256");
let next = 0;
for await (const frame of nic.rx) {
  const { sequence } = nic.rx.descriptor(frame);
  if (sequence !== next || frame.size !== size || frame.data.readUInt32LE(0) !== next) {
    throw new Error(`frame ${next} came back as frame ${sequence} of ${frame.size} bytes`);
  }
  received.update(frame.data);
  await nic.rx.ack(frame);
  if (++next === count) break;
}
await sending;
const seconds = (performance.now() - started) / 1000;
if (sent.digest("hex") !== received.digest("hex")) throw new Error("the frames came back changed");
console.log(`${count} frames of ${size} bytes came back intact: ${((count * size) / seconds / 1e6).toFixed(0)} MB/s each way`);
