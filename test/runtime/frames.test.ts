/** The frame layer on its own: frames split across reads at every boundary, and frames that break the rules. */
import { describe, expect, it } from "vitest";
import { Header_Kind } from "../../runtime/protocol/protocol.capnp.js";
import { encodeFrame, type Frame, FrameDecoder, FrameError } from "../../runtime/transport/frames.js";

const frames = [
  encodeFrame({ token: 7n, channel: 0, id: 1, kind: Header_Kind.REQUEST, interfaceId: 0x99n, methodId: 3 }, new Uint8Array(40).fill(1)),
  encodeFrame({ token: 7n, channel: 5, id: 2, answers: 9, kind: Header_Kind.PING }, null),
  encodeFrame({ token: 7n, id: 3, kind: Header_Kind.RESPONSE }, new Uint8Array(1000).fill(3)),
];
const stream = Buffer.concat(frames);

function decode(chunks: Buffer[], max?: number): Frame[] {
  const d = new FrameDecoder(max);
  const out: Frame[] = [];
  for (const c of chunks) d.push(c, (f) => out.push(f));
  return out;
}

const summary = (fs: Frame[]) => fs.map((f) => [f.header.id, f.header.channel, f.header.kind, f.header.interfaceId, f.header.methodId, f.header.answers, f.body.length, f.body[0] ?? -1]);

describe("frames", () => {
  const expected = summary(decode([stream]));

  it("reads a stream of frames whole", () => {
    expect(expected).toEqual([
      [1, 0, Header_Kind.REQUEST, 0x99n, 3, 0, 40, 1],
      [2, 5, Header_Kind.PING, 0n, 0, 9, 0, -1],
      [3, 0, Header_Kind.RESPONSE, 0n, 0, 0, 1000, 3],
    ]);
  });

  it("reads the same frames split in two at every byte, and byte by byte", () => {
    for (let cut = 1; cut < stream.length; cut++) {
      expect(summary(decode([stream.subarray(0, cut), stream.subarray(cut)]))).toEqual(expected);
    }
    expect(summary(decode([...stream].map((b) => Buffer.from([b]))))).toEqual(expected);
  });

  it("reads borrowed reads (a reused buffer, as with onread): whole frames in place, partial ones copied", () => {
    const reused = Buffer.alloc(stream.length);
    for (let cut = 1; cut < stream.length; cut += 7) {
      const d = new FrameDecoder();
      const seen: unknown[][] = [];
      // Summarized during the callback: a borrowed body is valid only until the read buffer is reused.
      const onFrame = (f: Frame) => seen.push(...summary([f]).map((row) => [...row, f.borrowed]));
      for (const [from, to] of [[0, cut], [cut, stream.length]]) {
        stream.copy(reused, 0, from, to);
        d.push(reused.subarray(0, to - from), onFrame, true);
        reused.fill(0xee); // the buffer's next use
      }
      expect(seen.map((row) => row.slice(0, -1))).toEqual(expected);
    }
    // Whole frames of a borrowed read are handed over in place, marked borrowed.
    const whole: boolean[] = [];
    new FrameDecoder().push(stream, (f) => whole.push(f.borrowed), true);
    expect(whole).toEqual([true, true, true]);
  });

  it("refuses a frame over the limit from its length alone, and one too short for a header", () => {
    const huge = Buffer.alloc(4);
    huge.writeUInt32LE(0xffffffff);
    expect(() => decode([huge])).toThrow(FrameError);
    expect(() => decode([stream], 100)).toThrow(/over the limit of 100/);
    const tiny = Buffer.from([4, 0, 0, 0, 1, 2, 3, 4]);
    expect(() => decode([tiny])).toThrow(/too short/);
  });

  it("changes its limit from the next length on: a lowered one refuses it, a raised one takes it", () => {
    const d = new FrameDecoder(64);
    const out: Frame[] = [];
    // frames[2] (over 1,000 bytes) arrives in two reads: its length is checked when the first arrives.
    const third = Buffer.from(frames[2]);
    expect(() => d.push(third.subarray(0, 10), (f) => out.push(f))).toThrow(/over the limit of 64/);
    const raised = new FrameDecoder(64);
    raised.push(Buffer.from(frames[1]), (f) => out.push(f));
    raised.setLimit(4096);
    raised.push(third.subarray(0, 10), (f) => out.push(f));
    raised.push(third.subarray(10), (f) => out.push(f));
    raised.setLimit(64);
    expect(() => raised.push(third, (f) => out.push(f))).toThrow(/over the limit of 64/);
    expect(summary(out)).toEqual(expected.slice(1));
  });

  it("refuses a header that is not one small segment", () => {
    const bad = Buffer.alloc(4 + 24);
    bad.writeUInt32LE(24, 0);
    bad.writeUInt32LE(1, 4); // two segments
    expect(() => decode([bad])).toThrow(/one segment/);
    bad.writeUInt32LE(0, 4);
    bad.writeUInt32LE(20, 8); // a segment (20 words) longer than the frame
    expect(() => decode([bad])).toThrow(/runs past the frame/);
  });

  it("refuses a header whose root is not a struct inside the header", () => {
    const good = Buffer.from(frames[1]);
    const listRoot = Buffer.from(good);
    listRoot[12] = (listRoot[12] & ~3) | 1; // the root pointer made a list pointer
    expect(() => decode([listRoot])).toThrow(/not a struct pointer/);
    const outside = Buffer.from(good);
    outside.writeUInt32LE(0x7fff << 2, 12); // an offset far past the header
    expect(() => decode([outside])).toThrow(/out of bounds/);
    const backwards = Buffer.from(good);
    backwards.writeInt32LE(-5 << 2, 12); // an offset before the message
    expect(() => decode([backwards])).toThrow(/out of bounds/);
  });
});
