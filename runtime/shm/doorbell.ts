/**
 * A doorbell: one end of a Unix datagram socket pair, for wake-ups across processes (Atomics.notify wakes
 * only its own process). Each side holds its own end: `ring()` sends one datagram to the other end (never
 * waiting), and `watch()` runs a callback on this process's event loop after the other end rang (the
 * event loop polls the descriptor, no thread). Rings coalesce: the callback must look at the shared state
 * itself, and loop until it has done all it can.
 *
 * Not an eventfd: one eventfd is one open file description in both processes, so the peer could clear its
 * O_NONBLOCK and fill its counter, and our next ring would block our event loop for ever. A socket pair's
 * ends are two descriptions; the peer cannot touch ours.
 */
import { type DoorbellWatch, loadNativeAddon, type NativeBinding } from "../native/index.js";

export class Doorbell {
  private fd: number;
  private readonly native: NativeBinding;
  private watching: DoorbellWatch | null = null;

  private constructor(fd: number, native: NativeBinding) {
    this.fd = fd;
    this.native = native;
  }

  /** A new pair of connected ends: keep one, pass the other's descriptor to the peer and then close it. */
  static pair(): [Doorbell, Doorbell] {
    const native = loadNativeAddon();
    const [a, b] = native.doorbellPair();
    return [new Doorbell(a, native), new Doorbell(b, native)];
  }

  /** An end the peer passed: refused (and closed) unless it is a doorbell's end. Takes ownership of `fd`. */
  static adopt(fd: number): Doorbell {
    const native = loadNativeAddon();
    try {
      native.doorbellCheck(fd);
    } catch (err) {
      native.closeFd(fd);
      throw err;
    }
    return new Doorbell(fd, native);
  }

  /** The descriptor, to pass to the peer (a copy goes; this one stays until close()). */
  get descriptor(): number {
    if (this.fd < 0) throw new Error("the doorbell is closed (an ipcgen bug: its owner asked for its descriptor after closing it)");
    return this.fd;
  }

  /** Wakes whoever watches the other end, in whichever process it is. */
  ring(): void {
    if (this.fd >= 0) this.native.doorbellRing(this.fd);
  }

  /** Calls `callback` on this process's event loop after the other end rang (rings coalesce); one watch per end. */
  watch(callback: () => void): void {
    if (this.watching !== null) throw new Error("the doorbell is watched already (an ipcgen bug: one watch per end)");
    this.watching = this.native.doorbellWatch(this.descriptor, callback);
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
