/**
 * A placed message's handle, checked: where its segments lie in the peer's zero-copy pool. Pure (no memory
 * is touched), so that messages.ts maps what it returns and the fuzzer can feed it any bytes.
 */
import { Placed } from "../protocol/protocol.capnp.js";

/** The most segments a placed message may have (its handle is read before any of them). */
export const MAX_PLACED_SEGMENTS = 1024;

/** One segment of a placed message: bytes at `offset` of the peer's extent number `extent`. */
export interface PlacedRef {
  extent: number;
  offset: number;
  bytes: number;
}

/**
 * The segments `handle` (an encoded `Placed`) names, each a whole number of words inside one of
 * `extents` (the peer's, by index), at most `maxPlacedBytes` together. Throws `MessageDecodeError` for a
 * handle that does not decode, and Error for one naming memory it may not. Either ends the session as a
 * protocol violation (the session reads handles), so neither reaches the application as it is.
 */
export function placedSegments(handle: Uint8Array, extents: readonly { readonly size: number }[], maxPlacedBytes: number): PlacedRef[] {
  // A segment costs its plain object (13 words, see `structList`): room for twice the most accepted, so
  // that a handle with too many is refused below, saying so.
  const placed = Placed.decode(handle, { traversalLimitInWords: 8 + MAX_PLACED_SEGMENTS * 32 });
  const count = placed.segments.length;
  if (count === 0 || count > MAX_PLACED_SEGMENTS) throw new Error(`${count} segments (1 to ${MAX_PLACED_SEGMENTS} are accepted)`);
  const refs: PlacedRef[] = [];
  let total = 0;
  for (const [i, ref] of placed.segments.entries()) {
    const extent = extents[ref.extent];
    if (extent === undefined) throw new Error(`segment ${i} lies in extent ${ref.extent}, which the peer never announced`);
    const bytes = ref.words * 8;
    if (ref.words === 0 || ref.offset % 8n !== 0n || ref.offset + BigInt(bytes) > BigInt(extent.size)) {
      throw new Error(`segment ${i} (${bytes} bytes at ${ref.offset}) does not lie within extent ${ref.extent} of ${extent.size} bytes`);
    }
    total += bytes;
    if (total > maxPlacedBytes) throw new Error(`the message is larger than this side's limit of ${maxPlacedBytes} bytes`);
    refs.push({ extent: ref.extent, offset: Number(ref.offset), bytes });
  }
  return refs;
}
