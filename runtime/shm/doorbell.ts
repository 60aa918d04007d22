/**
 * A doorbell: an eventfd that one process rings and another watches, for wake-ups across processes
 * (Atomics.notify wakes only its own process). Ringing adds to the counter; the watcher's event loop polls
 * the descriptor (no thread), reads the counter back to zero and runs the callback. Rings coalesce: the
 * callback must look at the shared state itself, and loop until it has done all it can.
 */
import { type EventfdWatch, loadNativeAddon, type NativeBinding } from "../native/index.js";

export class Doorbell {
  private fd: number;
  private readonly native: NativeBinding;
  private watching: EventfdWatch | null = null;

  private constructor(fd: number, native: NativeBinding) {
    this.fd = fd;
    this.native = native;
  }

  /** A new doorbell (made by the side that makes a stream's region). */
  static create(): Doorbell {
    const native = loadNativeAddon();
    return new Doorbell(native.eventfdCreate(), native);
  }

  /** A doorbell the peer passed: refused (and closed) unless it is an eventfd. Takes ownership of `fd`. */
  static adopt(fd: number): Doorbell {
    const native = loadNativeAddon();
    try {
      native.eventfdCheck(fd);
    } catch (err) {
      native.closeFd(fd);
      throw err;
    }
    return new Doorbell(fd, native);
  }

  /** The descriptor, to pass to the peer (a copy goes; this one stays). */
  get descriptor(): number {
    if (this.fd < 0) throw new Error("the doorbell is closed");
    return this.fd;
  }

  /** Wakes the watcher, in whichever process it is. */
  ring(): void {
    if (this.fd >= 0) this.native.eventfdRing(this.fd);
  }

  /** Calls `callback` on this process's event loop after rings (they coalesce); one watch per doorbell. */
  watch(callback: () => void): void {
    if (this.watching !== null) throw new Error("the doorbell is watched already");
    this.watching = this.native.eventfdWatch(this.descriptor, callback);
  }

  /** Stops the watch, if any, and closes the descriptor. */
  close(): void {
    this.watching?.close();
    this.watching = null;
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    this.native.closeFd(fd);
  }
}
