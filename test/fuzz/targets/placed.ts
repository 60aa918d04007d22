/**
 * Placed handles and pool extents: a `Placed` handle checked against the peer's extents
 * (runtime/shm/placed.ts, what ZeroCopyPool.open maps), then the message read where the handle says, as a
 * handler reads a placed request (shared Data views, the traversal limit the message's size allows).
 * Refusals must be MessageDecodeError (the handle or the message does not decode) or a plain Error (the
 * handle names memory it may not); an accepted handle must name only whole words inside the extents.
 */
import { MessageDecodeError, MessageReader } from "../../../runtime/codec/wire.js";
import { Placed } from "../../../runtime/protocol/protocol.capnp.js";
import { MAX_PLACED_SEGMENTS, placedSegments } from "../../../runtime/shm/placed.js";
import { Lists, Node } from "../gen/fuzz.capnp.js";
import { ByteStream, concat, type FuzzTarget, PropertyViolation } from "../engine.js";
import { FUZZ_TRAVERSAL_LIMIT } from "./messages.js";

/** Extent sizes the control byte picks from: small, unaligned, and near the limits. */
const SIZES = [64, 256, 1000, 4096, 8, 65536, 2 ** 32 + 8, 2 ** 53 - 8];
const MAX_PLACED = [1 << 20, 64, 4096, 2 ** 31];

export const placedTarget: FuzzTarget = {
  name: "placed",
  describe: "Placed handles checked against extents (runtime/shm/placed.ts), then the message read in place",
  modules: ["runtime/shm/placed.ts", "runtime/protocol/protocol.capnp.ts", "runtime/codec/wire.ts"],
  maxLen: 1024,
  seeds() {
    const message = Lists.encode({ texts: ["in place"], datas: [new Uint8Array(24).fill(7)], int32s: [1, 2, 3] });
    const words = (message.length - 8) / 8;
    const handle = Placed.encode({ segments: [{ extent: 0, offset: 8n, words }] });
    const two = Placed.encode({ segments: [{ extent: 1, offset: 0n, words: 1 }, { extent: 0, offset: 8n, words }] });
    const seed = (control: number, h: Uint8Array, memory: Uint8Array) => concat(new Uint8Array([control, h.length & 0xff, h.length >> 8]), h, memory);
    // Extent memory: 8 bytes of padding, then the message's segment.
    const memory = concat(new Uint8Array(8), message.subarray(8));
    return [seed(0x03, handle, memory), seed(0x13, two, memory), seed(0x83, handle, memory)];
  },
  run(input) {
    const s = new ByteStream(input);
    const control = s.u8();
    const handle = s.take(s.u16());
    const content = s.rest();
    const extents = Array.from({ length: 1 + (control & 3) }, (_, i) => ({ size: SIZES[((control >> 2) + i * 3) & 7] }));
    const maxPlacedBytes = MAX_PLACED[(control >> 5) & 3];
    let refs;
    try {
      refs = placedSegments(handle, extents, maxPlacedBytes);
    } catch (e) {
      if (e instanceof MessageDecodeError || (e as Error).constructor === Error) return;
      throw e;
    }
    if (refs.length === 0 || refs.length > MAX_PLACED_SEGMENTS) throw new PropertyViolation(`${refs.length} segments accepted`);
    let total = 0;
    for (const r of refs) {
      const size = extents[r.extent]?.size;
      if (size === undefined || r.bytes <= 0 || r.bytes % 8 !== 0 || r.offset % 8 !== 0 || r.offset < 0 || r.offset + r.bytes > size) {
        throw new PropertyViolation(`segment ${JSON.stringify(r)} accepted outside extent ${r.extent} of ${size} bytes`);
      }
      total += r.bytes;
    }
    if (total > maxPlacedBytes) throw new PropertyViolation(`${total} bytes accepted past the limit of ${maxPlacedBytes}`);
    // The extents' memory: the input's remaining bytes, over and over (only extents small enough to make).
    if (refs.some((r) => r.offset + r.bytes > 1 << 20)) return;
    const memory = (extent: number): Uint8Array => {
      const out = new Uint8Array(Math.min(extents[extent].size, 1 << 20));
      if (content.length > 0) for (let at = 0; at < out.length; at += content.length) out.set(content.subarray(0, Math.min(content.length, out.length - at)), at);
      return out;
    };
    const mapped = new Map<number, Uint8Array>();
    const segments = refs.map((r) => {
      if (!mapped.has(r.extent)) mapped.set(r.extent, memory(r.extent));
      return new Uint8Array(mapped.get(r.extent)!.buffer, r.offset, r.bytes);
    });
    const reader = new MessageReader(segments, { shareData: true, traversalLimitInWords: Math.max(FUZZ_TRAVERSAL_LIMIT, total / 8) });
    try {
      if (control & 0x80) Node.decode(reader);
      else Lists.decode(reader);
    } catch (e) {
      if (!(e instanceof MessageDecodeError)) throw e;
    }
  },
};
