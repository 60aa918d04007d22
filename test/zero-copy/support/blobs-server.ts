/**
 * The Blobs server for the zero-copy tests: `node --import tsx blobs-server.ts SOCKET [OPTIONS_JSON]`, where
 * the options are `ListenServiceOptions` (say `{"zeroCopy": false}`), plus `allowUid` (a uid let in besides
 * the server's own) and `permissions`. Prints "listening", then serves Blobs
 * (test/fixtures/blobs.capnp) until killed; prints "holding N" when `hold` has N bytes in hand, and
 * "ended CAUSE: MESSAGE" when a session ends.
 */
import type { PoolBlock } from "../../../runtime/index.js";
import { Blobs, type BlobsHandler, type BlobsRemote } from "../gen/blobs.capnp.js";

const [path, json] = process.argv.slice(2);

function sumOf(bytes: Uint8Array): bigint {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum += bytes[i];
  return BigInt(sum);
}

function blobs(remote: BlobsRemote): BlobsHandler {
  let kept: Uint8Array = new Uint8Array(0);
  let told = { count: 0, bytes: 0n };
  let block: PoolBlock | null = null;
  return {
    echo: ({ data }) => ({ data: new Uint8Array(data) }),
    sum: ({ data, parts }) => ({
      sum: parts.reduce((total, part) => total + sumOf(part), sumOf(data)),
      length: BigInt(parts.reduce((total, part) => total + part.length, data.length)),
    }),
    keep({ data }) {
      kept = data;
    },
    kept: () => ({ length: BigInt(kept.length), first: kept[0] ?? 0 }),
    async hold({ data, ms }) {
      console.log(`holding ${data.length}`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      return { length: BigInt(data.length) };
    },
    async fill({ size, byte }) {
      // One block per session, reused once the client has given it back.
      if (block === null || block.size !== size) {
        block?.free();
        block = remote.allocate(size);
      }
      await block.whenReturned();
      const bytes = block.bytes;
      bytes.fill(byte);
      return { data: bytes };
    },
    tell({ data }) {
      told = { count: told.count + 1, bytes: told.bytes + BigInt(data.length) };
    },
    told: () => told,
  };
}

const { allowUid, ...options } = (json === undefined ? {} : JSON.parse(json)) as { allowUid?: number };
await Blobs.listen(path, blobs, {
  ...options,
  ...(allowUid === undefined ? {} : { allow: (peer) => peer.uid === process.getuid?.() || peer.uid === allowUid }),
  onSession(remote) {
    void remote.session.closed.then((error) => console.log(`ended ${error.cause}: ${error.message}`));
  },
});
console.log("listening");
