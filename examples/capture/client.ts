/**
 * The capture process: draws FRAMES frames (default 60) of 1280x720 RGBA pixels, a moving pattern, into
 * blocks of its session's zero-copy pool and has the encoder encode them, three at a time: while the encoder
 * reads one frame, the next is drawn into another block. It checks every answer (the checksum it computed
 * itself, one pixel of the preview) and prints how many bytes crossed the socket, against how many the
 * frames and previews hold. With --no-zero-copy everything goes through the socket instead, to compare.
 *
 * Run: npx tsx examples/capture/client.ts [SOCKET [FRAMES]] [--no-zero-copy]
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SessionEndedError } from "ipcgen";
import { Encoder } from "./gen/capture.capnp.js";

const args = process.argv.slice(2);
const [path = join(tmpdir(), "ipcgen-capture.sock"), framesArg = "60"] = args.filter((a) => !a.startsWith("--"));
const frames = Number(framesArg);
const zeroCopy = !args.includes("--no-zero-copy");

const WIDTH = 1280;
const HEIGHT = 720;
/** Frames being encoded at once, each in a block of its own. */
const DEPTH = 3;

await using encoder = await Encoder.connect(path, zeroCopy ? {} : { zeroCopy: false }).catch((err: Error) => {
  console.error(`capture: ${err.message}`);
  process.exit(1);
});

/** The pattern: diagonal stripes of 256 shades, as RGBA words (little-endian: red is the low byte). */
const PERIOD = 256;
const stripes = new Uint32Array(WIDTH + PERIOD);
for (let i = 0; i < stripes.length; i++) {
  const v = i % PERIOD;
  stripes[i] = (0xff << 24) | (((v * 3) & 0xff) << 16) | ((255 - v) << 8) | v;
}

/** The pixel at (x, y) of frame `seq`: the stripes move 4 pixels to the left each frame. */
const pixelAt = (x: number, y: number, seq: number): number => stripes[(x + y + 4 * seq) % PERIOD];

/** Draws frame `seq`: each row is a stretch of `stripes`, copied in whole. */
function draw(frame: Uint32Array, seq: number): void {
  for (let y = 0; y < HEIGHT; y++) {
    const start = (y + 4 * seq) % PERIOD;
    frame.set(stripes.subarray(start, start + WIDTH), y * WIDTH);
  }
}

/** The schema's checksum: FNV-1a over the words. */
function checksum(words: Uint32Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 0x01000193);
  return h >>> 0;
}

const hex = (n: number): string => n.toString(16).padStart(8, "0");

/** Has frame `seq` encoded, and checks the answer. */
async function encode(seq: number, pixels: Uint8Array, sum: number): Promise<void> {
  // The answer's preview lies in the encoder's pool: readable in place until `answer` is disposed of.
  using answer = await encoder.encode({ seq, width: WIDTH, height: HEIGHT, pixels });
  if (answer.seq !== seq || answer.checksum !== sum) {
    throw new Error(`frame ${seq} came back as frame ${answer.seq} with checksum ${hex(answer.checksum)}, not ${hex(sum)}`);
  }
  // One pixel of the preview, somewhere else each frame, against the frame as drawn.
  const { preview } = answer;
  const w = WIDTH >> 1;
  const x = (seq * 37) % w;
  const y = (seq * 17) % (HEIGHT >> 1);
  if (preview.length !== w * (HEIGHT >> 1) * 4) throw new Error(`frame ${seq}: a preview of ${preview.length} bytes`);
  const pixel = new DataView(preview.buffer, preview.byteOffset, preview.length).getUint32((y * w + x) * 4, true);
  const drawn = pixelAt(2 * x, 2 * y, seq);
  if (pixel !== drawn) throw new Error(`frame ${seq}: preview pixel (${x}, ${y}) is ${hex(pixel)}, not ${hex(drawn)}`);
  if (seq % 20 === 0) console.log(`frame ${seq}: checksum ${hex(sum)}, preview pixel (${x}, ${y}) as drawn`);
}

const blocks = Array.from({ length: DEPTH }, () => encoder.allocate(WIDTH * HEIGHT * 4));
/** Per block, the frame in it being encoded: settles once the answer is checked, when the block is back. */
const encoding: Promise<void>[] = [];
const way = encoder.zeroCopy ? "through shared memory" : "through the socket";
console.log(`capturing ${frames} frames of ${WIDTH}x${HEIGHT}, ${DEPTH} at a time, ${way}`);

const started = performance.now();
try {
  for (let seq = 0; seq < frames; seq++) {
    const slot = seq % DEPTH;
    // The encoder released the frame before answering, so the block is ours again once the call resolved.
    await encoding[slot];
    const pixels = blocks[slot].bytes;
    const words = new Uint32Array(pixels.buffer, pixels.byteOffset, pixels.length / 4);
    draw(words, seq);
    // Sending hands the block over: `pixels` and `words` read as empty from now on; `bytes` works again once
    // the block is back.
    encoding[slot] = encode(seq, pixels, checksum(words));
    encoding[slot].catch(() => {}); // its failure is reported where it is awaited
  }
  await Promise.all(encoding);
} catch (err) {
  if (!(err instanceof SessionEndedError)) throw err;
  console.error(`capture: the encoder's session ended (${err.cause}): ${err.message}`);
  process.exit(1);
}

const seconds = (performance.now() - started) / 1000;
const frameBytes = frames * WIDTH * HEIGHT * 4;
const previewBytes = frameBytes / 4;
const { bytesWritten, bytesRead } = encoder.session.framed.socket;
const share = ((bytesWritten + bytesRead) / (frameBytes + previewBytes)) * 100;
const count = (n: number): string => n.toLocaleString("en-US");
const mb = (n: number): string => (n / 1e6).toFixed(1);
console.log(`${frames} frames encoded and checked: ${mb(frameBytes)} MB in ${seconds.toFixed(2)} s, ${(frameBytes / 1e6 / seconds).toFixed(0)} MB/s`);
console.log(
  `socket: ${count(bytesWritten)} bytes out, ${count(bytesRead)} in, ` +
    `for ${count(frameBytes)} bytes of frames and ${count(previewBytes)} of previews (${share.toFixed(3)}%)`,
);
