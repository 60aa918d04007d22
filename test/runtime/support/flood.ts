/**
 * A hostile client process for the pre-log-in limits: `node --import tsx flood.ts SOCKET MS CONNECTIONS BYTES`.
 * For MS milliseconds keeps CONNECTIONS connections open to SOCKET that never log in: each sends the length
 * prefix of a frame just under 64 MiB (the default frame limit), then up to BYTES bytes of that frame as
 * fast as the server takes them, then waits; a connection the server closes is replaced. Prints
 * "flooding" once the first connection is made, and at the end {"connections":N,"bytes":B}.
 */
import { createConnection } from "node:net";

const [path, ms, count, bytes] = process.argv.slice(2);
const end = Date.now() + Number(ms);
const chunk = Buffer.alloc(64 * 1024);
const prefix = Buffer.alloc(4);
prefix.writeUInt32LE(64 * 1024 * 1024 - 1);
let connections = 0;
let sent = 0;

/** One connection after another until the time is up. */
function slot(): Promise<void> {
  return new Promise((resolve) => {
    const next = (): void => {
      if (Date.now() >= end) {
        resolve();
        return;
      }
      if (connections++ === 0) process.stdout.write("flooding\n");
      const socket = createConnection(path);
      const stop = setTimeout(() => socket.destroy(), end - Date.now());
      let left = Number(bytes);
      socket.on("error", () => {});
      socket.on("close", () => {
        clearTimeout(stop);
        // A short pause: a server that closes at once must not turn this into a busy loop.
        setTimeout(next, 10);
      });
      socket.on("connect", () => {
        socket.write(prefix);
        const pump = (): void => {
          while (left > 0 && !socket.destroyed) {
            left -= chunk.length;
            sent += chunk.length;
            if (!socket.write(chunk)) {
              socket.once("drain", pump);
              return;
            }
          }
        };
        pump();
      });
    };
    next();
  });
}

await Promise.all(Array.from({ length: Number(count) }, slot));
process.stdout.write(`${JSON.stringify({ connections, bytes: sent })}\n`);
