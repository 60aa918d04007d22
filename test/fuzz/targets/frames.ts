/**
 * Frame parsing: a byte stream pushed into `FrameDecoder` in chunks the input chooses, borrowed or not.
 * Property: the decoder hands over the same frames, and fails (FrameError, nothing else) at the same
 * point, however the stream is cut, and whether or not the read buffers are reused after each push.
 */
import { FrameDecoder, FrameError, encodeFrame, type Frame } from "../../../runtime/transport/frames.js";
import { Header_Kind } from "../../../runtime/protocol/protocol.capnp.js";
import { ByteStream, concat, type FuzzTarget, PropertyViolation } from "../engine.js";

interface Outcome {
  frames: string[];
  error: string | null;
}

const show = (f: Frame): string => `${JSON.stringify(f.header, (_, v) => (typeof v === "bigint" ? `${v}n` : v))}|${Buffer.from(f.body).toString("hex")}`;

/** Pushes `stream` cut at `cuts`; a borrowed push's chunk is scribbled over afterwards, as a reused read buffer is. */
function decode(stream: Uint8Array, cuts: number[], borrowed: boolean, maxFrameBytes: number): Outcome {
  const decoder = new FrameDecoder(maxFrameBytes);
  const frames: string[] = [];
  let at = 0;
  try {
    for (const cut of [...cuts, stream.length]) {
      const end = Math.min(stream.length, Math.max(at, cut));
      const chunk = Buffer.from(stream.subarray(at, end));
      at = end;
      decoder.push(chunk, (f) => frames.push(show(f)), borrowed);
      if (borrowed) chunk.fill(0xa5);
      if (decoder.pending < 0 || decoder.pending > stream.length) throw new PropertyViolation(`pending ${decoder.pending} of a ${stream.length}-byte stream`);
    }
  } catch (e) {
    if (!(e instanceof FrameError)) throw e;
    return { frames, error: e.message };
  }
  return { frames, error: null };
}

export const framesTarget: FuzzTarget = {
  name: "frames",
  describe: "FrameDecoder.push over a stream cut into chunks (borrowed or not); compared with one push",
  modules: ["runtime/transport/frames.ts"],
  maxLen: 600,
  seeds() {
    const body = new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]);
    const f1 = encodeFrame({ token: 0n, id: 1, kind: Header_Kind.HELLO }, body);
    const f2 = encodeFrame({ token: 0x1234n, channel: 3, id: 2, answers: 1, kind: Header_Kind.RESPONSE, interfaceId: 0xabcdn, methodId: 7, placed: true }, null);
    const f3 = encodeFrame({ token: 5n, id: 3, kind: Header_Kind.PING }, new Uint8Array(3));
    // Control byte, cut seeds, then the stream.
    return [concat(new Uint8Array([0, 5, 17, 40]), f1, f2, f3), concat(new Uint8Array([1, 1, 2, 3]), f2, f2), concat(new Uint8Array([2, 0, 0, 0]), f3)];
  },
  dictionary: [
    encodeFrame({ token: 1n, id: 1, kind: Header_Kind.PING }, null),
    new Uint8Array([0, 0, 0, 0, 5, 0, 0, 0]), // a one-segment table of 5 words
    new Uint8Array([0, 0, 0, 0, 4, 0, 0, 0]), // header struct pointer: offset 0, 4 data words
  ],
  run(input) {
    const s = new ByteStream(input);
    const control = s.u8();
    const cutSeeds = [s.u8(), s.u8(), s.u8()];
    const stream = s.rest();
    const maxFrameBytes = control & 4 ? 64 : control & 8 ? 8 : undefined;
    const whole = decode(stream, [], false, maxFrameBytes ?? 64 * 1024 * 1024);
    // Cuts: the seeds' positions, and (control bit 0) at every byte.
    const cuts = control & 1 ? Array.from({ length: stream.length }, (_, i) => i + 1) : cutSeeds.map((c) => (c * stream.length) >> 8).sort((a, b) => a - b);
    const cut = decode(stream, cuts, (control & 2) !== 0, maxFrameBytes ?? 64 * 1024 * 1024);
    const n = Math.min(whole.frames.length, cut.frames.length);
    for (let i = 0; i < n; i++) if (whole.frames[i] !== cut.frames[i]) throw new PropertyViolation(`frame ${i} differs when the stream is cut: ${whole.frames[i]} vs ${cut.frames[i]}`);
    // Every byte arrives either way, so both hand over the same frames and fail (or not) the same way.
    if (whole.frames.length !== cut.frames.length || whole.error !== cut.error) {
      throw new PropertyViolation(`one push: ${whole.frames.length} frames, ${whole.error ?? "no error"}; cut: ${cut.frames.length} frames, ${cut.error ?? "no error"}`);
    }
  },
};
