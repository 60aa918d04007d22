/**
 * The terminal server. It prints what each client writes, and gives it back to that client as input,
 * upper-cased, signalling `readAvail`. Sizes from the client are clamped and the buffer's bytes are copied
 * out before they are looked at: the client can change them at any time.
 *
 * Run: npx tsx examples/terminal/server.ts [SOCKET]
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Terminal, type TerminalHandler, type TerminalRemote } from "./gen/terminal.capnp.js";

function session(remote: TerminalRemote): TerminalHandler {
  const pid = remote.credentials?.pid;
  /** Input waiting to be read. */
  let pending = Buffer.alloc(0);
  return {
    write({ size }) {
      const bytes = remote.buffer.copyOut(size);
      const text = bytes.toString("utf8").replace(/\n$/, "");
      console.log(`[${pid}] ${text.length <= 60 ? text : `${text.slice(0, 40)}... (${text.length} bytes)`}`);
      const wasEmpty = pending.length === 0;
      pending = Buffer.concat([pending, Buffer.from(bytes.toString("utf8").toUpperCase())]);
      if (wasEmpty) remote.readAvail();
      return { written: bytes.length };
    },
    read({ size }) {
      const n = remote.buffer.copyIn(pending.subarray(0, remote.buffer.clamp(size)));
      pending = pending.subarray(n);
      return { read: n };
    },
    avail: () => ({ bytes: pending.length }),
  };
}

const path = process.argv[2] ?? join(tmpdir(), "ipcgen-terminal.sock");
const server = await Terminal.listen(path, session);
console.log(`terminal: listening on ${path}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void server.close());
}
