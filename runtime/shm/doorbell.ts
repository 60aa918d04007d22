/**
 * A doorbell: a 32-bit word of a shared mapping that one process rings and another watches, for wake-ups
 * across processes (Atomics.notify wakes only its own process). Ringing bumps the word and wakes the
 * watcher's thread with a futex; the watcher's callback runs on its event loop, never blocking it. Rings
 * coalesce: the callback must look at the shared state itself, and loop until it has done all it can.
 */
import { type FutexWatch, loadNativeAddon, type SharedMapping } from "../native/index.js";

export class Doorbell {
  private readonly words: Int32Array;
  private readonly index: number;

  constructor(
    private readonly mapping: SharedMapping,
    /** Of the word: a multiple of 4 inside the mapping. */
    readonly byteOffset: number,
  ) {
    if (byteOffset % 4 !== 0 || byteOffset < 0 || byteOffset + 4 > mapping.size) throw new RangeError(`a doorbell needs a 4-byte aligned word inside the mapping, not at ${byteOffset}`);
    this.words = new Int32Array(mapping.control);
    this.index = byteOffset / 4;
  }

  /** Wakes the watcher, in whichever process it is. */
  ring(): void {
    Atomics.add(this.words, this.index, 1);
    loadNativeAddon().futexWake(this.mapping.handle, this.byteOffset);
  }

  /** Calls `callback` on this process's event loop after each ring (rings in between coalesce). */
  watch(callback: () => void): FutexWatch {
    return loadNativeAddon().futexWatch(this.mapping.handle, this.byteOffset, callback);
  }
}
