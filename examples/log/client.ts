/**
 * A LOG client: writes its arguments as one line, or else each line of its standard input, then exits.
 * A line over the log's bound (4096 bytes) is refused before it is sent: it is reported, the others are
 * written, and the exit status is 1.
 *
 * Run: npx tsx examples/log/client.ts [SOCKET [TEXT...]]
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Log } from "./gen/log.capnp.js";

const [path = join(tmpdir(), "ipcgen-log.sock"), ...words] = process.argv.slice(2);

await using log = await Log.connect(path).catch((err: Error) => {
  console.error(`log: ${err.message}`);
  process.exit(1);
});

const lines = words.length > 0 ? [words.join(" ")] : createInterface({ input: process.stdin });
for await (const text of lines) {
  try {
    await log.write({ text });
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    console.error(`log: not written: ${err.message}`);
    process.exitCode = 1;
  }
}
