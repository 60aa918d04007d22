/**
 * A session's shared buffer (Genode's Terminal pattern): memory both ends of a session map, which the
 * schema's `$sharedBuffer(size)` asks for. The client writes into it, then calls; or calls, then reads
 * from it. The other side can change the bytes at any time, so whoever takes data from the buffer copies it
 * out first and clamps every size it is told; and one side's uses of it must not overlap (`use`).
 */
import type { SharedMapping } from "../native/index.js";

export class SharedBuffer {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly mapping: SharedMapping) {}

  /** In bytes. */
  get size(): number {
    return this.mapping.size;
  }

  /** The buffer's bytes, as they are now: the peer may change them at any time (see `copyOut`). */
  get bytes(): Buffer {
    return this.mapping.data;
  }

  /**
   * Runs `fn` with the buffer once the uses before it have finished: a client writing then calling (or
   * calling then reading) inside `use` cannot have its bytes overwritten by another of its own calls.
   */
  use<T>(fn: (bytes: Buffer) => T | Promise<T>): Promise<T> {
    const run = this.queue.then(() => fn(this.mapping.data));
    this.queue = run.catch(() => {});
    return run;
  }

  /** `size` made safe to use as a byte count of this buffer: an integer from 0 to the buffer's size. */
  clamp(size: number): number {
    if (!Number.isFinite(size) || size <= 0) return 0;
    return Math.min(Math.floor(size), this.mapping.size);
  }

  /** A copy of the first `size` bytes (clamped), in memory of this process's own, for the peer cannot change it. */
  copyOut(size: number): Buffer {
    return Buffer.from(this.mapping.data.subarray(0, this.clamp(size)));
  }

  /** Copies as much of `bytes` as fits to the start of the buffer; answers how many bytes that was. */
  copyIn(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, this.mapping.size);
    this.mapping.data.set(bytes.subarray(0, n), 0);
    return n;
  }
}
