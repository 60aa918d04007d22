/**
 * The allocator of shared memory that one side owns: a packet stream's bulk buffer (its source allocates)
 * and the extents of a zero-copy pool (its sender allocates).
 *
 * First fit over a sorted list of free ranges, coalesced on free, so that allocations can be freed in any
 * order. Callers round lengths to their alignment (64 bytes), so offsets stay aligned. The list holds at
 * most one range more than there are allocations, so its scans stay short.
 */
export class BulkAllocator {
  private readonly starts: number[];
  private readonly ends: number[];
  private freeBytes: number;

  constructor(readonly capacity: number) {
    this.starts = capacity > 0 ? [0] : [];
    this.ends = capacity > 0 ? [capacity] : [];
    this.freeBytes = capacity;
  }

  /** Bytes not allocated (possibly in pieces). */
  get available(): number {
    return this.freeBytes;
  }

  /** The offset of `length` new bytes, or -1 when no free extent is that long. */
  alloc(length: number): number {
    const { starts, ends } = this;
    for (let i = 0; i < starts.length; i++) {
      const start = starts[i];
      const left = ends[i] - start;
      if (left < length) continue;
      if (left === length) {
        starts.splice(i, 1);
        ends.splice(i, 1);
      } else {
        starts[i] = start + length;
      }
      this.freeBytes -= length;
      return start;
    }
    return -1;
  }

  /** Gives back what `alloc` returned; throws on a double free (a bug of this module, not a peer's). */
  free(offset: number, length: number): void {
    const { starts, ends } = this;
    const end = offset + length;
    // The first extent that starts after `offset`.
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid] <= offset) lo = mid + 1;
      else hi = mid;
    }
    const i = lo;
    if ((i > 0 && ends[i - 1] > offset) || (i < starts.length && starts[i] < end)) throw new Error(`BulkAllocator: ${offset}+${length} is already free (an ipcgen bug)`);
    const joinsPrevious = i > 0 && ends[i - 1] === offset;
    const joinsNext = i < starts.length && starts[i] === end;
    if (joinsPrevious && joinsNext) {
      ends[i - 1] = ends[i];
      starts.splice(i, 1);
      ends.splice(i, 1);
    } else if (joinsPrevious) {
      ends[i - 1] = end;
    } else if (joinsNext) {
      starts[i] = offset;
    } else {
      starts.splice(i, 0, offset);
      ends.splice(i, 0, end);
    }
    this.freeBytes += length;
  }
}

