/**
 * The NIC server: a loopback. Each session's frames from `tx` are copied into frames of its own `rx`, with
 * the same sequence number, and acknowledged; `rx` frames the client has acknowledged are released. Both
 * streams push back: a full ring or a full buffer makes the loop wait, and nothing is dropped.
 *
 * Run: npx tsx examples/nic/server.ts [SOCKET]
 */
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Nic, type NicHandler, type NicRemote } from "./gen/nic.capnp.js";

function session(remote: NicRemote): NicHandler {
  const mac = randomBytes(6);
  mac[0] = (mac[0] & 0xfe) | 0x02; // locally administered, unicast
  const { tx, rx } = remote;

  // Received frames the client has acknowledged go back to the bulk buffer.
  void (async () => {
    for await (const frame of rx.acknowledged()) rx.release(frame);
  })().catch(() => {}); // the stream closes with the session

  void (async () => {
    for await (const sent of tx) {
      const { sequence } = tx.descriptor(sent);
      const received = await rx.alloc(sent.size);
      sent.data.copy(received.data);
      await rx.submit(received, { sequence });
      await tx.ack(sent);
    }
  })().catch(() => {});

  return { macAddress: () => ({ mac }) };
}

const path = process.argv[2] ?? join(tmpdir(), "ipcgen-nic.sock");
const server = await Nic.listen(path, session);
console.log(`nic: listening on ${path}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void server.close());
}
