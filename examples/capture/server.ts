/**
 * The encoder (a stand-in for one): it reads each frame where the capture process drew it, in the capture
 * process's zero-copy pool, and answers a checksum of it and a preview at half size, drawn into a block of its
 * own pool. No frame is copied: the pixels are read in place until the handler returns, and the preview is
 * handed over with the answer.
 *
 * Run: npx tsx examples/capture/server.ts [SOCKET]
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PoolBlock } from "ipcgen";
import { Encoder, Encoder_BadFrameError, type EncoderHandler, type EncoderRemote } from "./gen/capture.capnp.js";

/** `bytes` as 32-bit words: a view of them when they are aligned (a frame in shared memory is), else of a copy. */
function wordsOf(bytes: Uint8Array): Uint32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.length >> 2);
}

/** The schema's checksum: FNV-1a over the words. */
function checksum(words: Uint32Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 0x01000193);
  return h >>> 0;
}

function session(remote: EncoderRemote): EncoderHandler {
  const pid = remote.credentials?.pid;
  /** Blocks for previews. The client has one while it holds the answer; then it is written again. */
  let previews: PoolBlock[] = [];
  let frames = 0;
  console.log(`[${pid}] capturing`);
  void remote.session.closed.then((ended) => console.log(`[${pid}] ${frames} frames encoded; the session ended: ${ended.cause}`));

  return {
    // Synchronous: its answer is sent (and the preview handed over) before the next request is handled, so
    // a block that is not in flight is one nobody else is writing.
    encode({ seq, width, height, pixels }) {
      if (width < 2 || height < 2 || pixels.length !== width * height * 4) {
        throw new Encoder_BadFrameError({ bytes: BigInt(pixels.length) }, `${pixels.length} bytes are not a frame of ${width}x${height}`);
      }
      const frame = wordsOf(pixels); // in the client's pool, ours until this handler returns
      const w = width >> 1;
      const h = height >> 1;
      if (previews.length > 0 && previews[0].size !== w * h * 4) {
        for (const block of previews) block.free(); // ones still in flight go back to the pool when returned
        previews = [];
      }
      // A client that keeps its answers makes this take more blocks, up to the pool's limit (then the call fails).
      let block = previews.find((b) => !b.inFlight);
      if (block === undefined) previews.push((block = remote.allocate(w * h * 4)));
      const bytes = block.bytes;
      const preview = new Uint32Array(bytes.buffer, bytes.byteOffset, w * h);
      for (let y = 0; y < h; y++) {
        const row = 2 * y * width;
        for (let x = 0; x < w; x++) preview[y * w + x] = frame[row + 2 * x];
      }
      frames++;
      return { seq, checksum: checksum(frame), preview: bytes };
    },
  };
}

const path = process.argv[2] ?? join(tmpdir(), "ipcgen-capture.sock");
const server = await Encoder.listen(path, session);
console.log(`encoder: listening on ${path}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void server.close());
}
