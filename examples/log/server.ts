/**
 * The LOG server: prints every line its clients write, prefixed with the pid of the process that wrote it
 * (as the kernel reported it when the client logged in, so a client cannot claim to be another).
 *
 * Run: npx tsx examples/log/server.ts [SOCKET]
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Log } from "./gen/log.capnp.js";

const path = process.argv[2] ?? join(tmpdir(), "ipcgen-log.sock");

// One handler object serves every session: the context says whose session a call comes from.
const server = await Log.listen(path, {
  write({ text }, { remote }) {
    const pid = remote.credentials?.pid ?? "?";
    for (const line of text.split("\n")) process.stdout.write(`[${pid}] ${line}\n`);
  },
});
console.log(`log: listening on ${path}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void server.close());
}
