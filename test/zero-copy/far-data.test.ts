/**
 * How a zero-copy message points at Data in segments of their own (a double-far pointer whose landing pad
 * lies in the message's first segment): the C++ library reads such messages to the same values, and so
 * does ipcgen's reader, reading the values in place.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { encodeWith, MessageReader, type DataPlacer } from "../../runtime/codec/plain.js";
import { splitSegments } from "../../runtime/codec/wire.js";
import { framedCopy } from "../../runtime/session/session.js";
import { Bundle } from "./gen/blobs.capnp.js";
import { oracle } from "../support/oracle.js";
import { REPO } from "../support/ipcgen.js";

/** Puts every Data value of `min` bytes or more in a segment of its own, after some words of padding. */
class SegmentPlacer implements DataPlacer {
  readonly segments: Uint8Array[] = [];
  constructor(
    private readonly min: number,
    private readonly padWords = 0,
  ) {}

  place(data: Uint8Array): { segment: number; word: number } | null {
    if (data.length < this.min) return null;
    const segment = new Uint8Array(this.padWords * 8 + Math.ceil(data.length / 8) * 8).fill(0xee);
    segment.set(data, this.padWords * 8);
    this.segments.push(segment);
    return { segment: this.segments.length, word: this.padWords };
  }
}

/** `value` encoded with `placer`, as a multi-segment framed message, and the reader of its segments. */
function encodePlaced(value: Bundle.Init, placer: SegmentPlacer): { framed: Uint8Array; reader: MessageReader } {
  const own = splitSegments(encodeWith(placer, () => Bundle.encode(value)));
  expect(own).toHaveLength(1);
  // A plain Uint8Array, as the pool's views are (the encoder gives a Buffer, whose subarrays are Buffers).
  const reader = new MessageReader([new Uint8Array(own[0]), ...placer.segments], { shareData: true });
  return { framed: framedCopy(reader), reader };
}

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

const value: Bundle.Init = {
  name: "frames",
  data: bytes(1000, 1),
  parts: [bytes(300, 2), bytes(5, 3), bytes(0, 0), bytes(257, 4)],
  inner: { name: "inner", data: bytes(4096, 5), parts: [bytes(9, 6)] },
};

describe("Data values in segments of their own", () => {
  it("ipcgen reads them back, in place: views of the segments, not copies", () => {
    const placer = new SegmentPlacer(100, 3);
    const { reader } = encodePlaced(value, placer);
    // data, parts[0], parts[3], inner.data: four segments besides the first.
    expect(placer.segments).toHaveLength(4);
    const back = Bundle.decode(reader);
    expect(back).toEqual({ ...value, inner: { ...value.inner, inner: null } });
    expect(back.data.buffer).toBe(placer.segments[0].buffer);
    expect(back.inner!.data.buffer).toBe(placer.segments[3].buffer);
  });

  it.skipIf(oracle === null)("the C++ library reads them to the same values", () => {
    const decode = (framed: Uint8Array): string =>
      execFileSync("capnp", ["decode", "-I", "generator/std", "--no-standard-import", "test/fixtures/blobs.capnp", "Bundle"], { cwd: REPO, input: framed }).toString();
    const placed = encodePlaced(value, new SegmentPlacer(100, 2)).framed;
    const inline = Bundle.encode(value);
    expect(splitSegments(placed).length).toBe(5);
    expect(decode(placed)).toBe(decode(inline));
    expect(decode(placed)).toContain('name = "inner"');
  });
});
