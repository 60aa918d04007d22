/**
 * A terminal client: writes each line of its standard input through the shared buffer, and prints the
 * input the terminal gives back whenever it signals `readAvail`. Exits once its input has ended and all
 * it wrote has come back.
 *
 * Run: npx tsx examples/terminal/client.ts [SOCKET]
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { SessionEndedError } from "ipcgen";
import { Terminal } from "./gen/terminal.capnp.js";

const path = process.argv[2] ?? join(tmpdir(), "ipcgen-terminal.sock");
await using terminal = await Terminal.connect(path).catch((err: Error) => {
  console.error(`terminal: ${err.message}`);
  process.exit(1);
});

let written = 0;
let partial = "";
let echoed = 0;
let inputEnded = false;
let finished = (): void => {};
const done = new Promise<void>((resolve) => (finished = resolve));

/** Long texts are shown by their start and their length. */
const shorten = (text: string): string => (text.length <= 60 ? text : `${text.slice(0, 40)}... (${text.length} bytes)`);

/** Reads all pending input through the buffer; the server's count is clamped too, as it could lie. */
async function drain(): Promise<void> {
  for (;;) {
    const text = await terminal.buffer.use(async (buffer) => {
      const { read } = await terminal.read({ size: buffer.length });
      return buffer.toString("utf8", 0, Math.min(read, buffer.length));
    });
    if (text === "") break;
    echoed += Buffer.byteLength(text);
    // Whole lines are printed; a line's start waits for its end.
    const lines = (partial + text).split("\n");
    partial = lines.pop()!;
    for (const line of lines) process.stdout.write(`echo: ${shorten(line)}\n`);
  }
  if (inputEnded && echoed >= written) finished();
}

terminal.on("readAvail", () => {
  // A signal that arrives as the session closes finds nothing more to read.
  drain().catch((err: unknown) => {
    if (!(err instanceof SessionEndedError)) throw err;
  });
});

for await (const line of createInterface({ input: process.stdin })) {
  // A line longer than the buffer goes in pieces, each written before the next is put in the buffer.
  const bytes = Buffer.from(`${line}\n`);
  for (let at = 0; at < bytes.length; ) {
    at += await terminal.buffer.use(async (buffer) => {
      const n = bytes.copy(buffer, 0, at);
      return (await terminal.write({ size: n })).written;
    });
  }
  written += bytes.length;
}
inputEnded = true;
await drain();
await done;
