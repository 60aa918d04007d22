/** Little-endian message words from [lo, hi] halves: how the wire tests write hand-made pointers. */
export function words(...pairs: (readonly [number, number])[]): Uint8Array {
  const out = new Uint8Array(pairs.length * 8);
  const v = new DataView(out.buffer);
  pairs.forEach(([lo, hi], i) => {
    v.setUint32(i * 8, lo >>> 0, true);
    v.setUint32(i * 8 + 4, hi >>> 0, true);
  });
  return out;
}
