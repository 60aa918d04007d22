/**
 * A session's descriptor channel: a second connection to the server's socket, used only to pass file
 * descriptors (SCM_RIGHTS), because Node's sockets drop any descriptor that arrives with their data.
 *
 * It is never polled. Each descriptor message (one byte, one or two descriptors) is sent before the frame
 * on the session's socket that announces it, and the kernel queues it at once, so when the receiver reads
 * that frame the message is already waiting: it reads exactly one message per announcing frame, in order.
 * A message missing, or carrying the wrong number of descriptors, is the peer breaking the protocol.
 *
 * The client makes it (`DescriptorChannel.connect`) after the welcome and sends `join` on it through the
 * native addon; the server reads that frame with Node, then takes the connection from Node (`adopt`).
 */
import type { Socket } from "node:net";
import { IpcgenError } from "../errors.js";
import { loadNativeAddon, type NativeBinding, socketFd } from "../native/index.js";
import { Region_Purpose } from "../protocol/protocol.capnp.js";

/** The most descriptors one message carries (a packet stream's region and the client's doorbell end). */
export const MAX_DESCRIPTORS_PER_MESSAGE = 2;

/** How many descriptors a region's message carries: its memfd, and for a packet stream the client's doorbell end. */
export const descriptorsFor = (purpose: Region_Purpose): number => (purpose === Region_Purpose.PACKET_STREAM ? 2 : 1);

/** The byte each descriptor message carries (a message cannot be empty). */
const MARK = new Uint8Array([0x44]);

/** The peer broke the descriptor channel's rules; the session ends as a protocol violation. */
export class DescriptorChannelError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_DESCRIPTOR_CHANNEL";
  override readonly code = DescriptorChannelError.code;
  override name = "DescriptorChannelError";
}

export class DescriptorChannel {
  private fd: number;
  private readonly native: NativeBinding;

  private constructor(fd: number, native: NativeBinding) {
    this.fd = fd;
    this.native = native;
  }

  /** Connects a new channel to the server listening on `path`. */
  static connect(path: string): DescriptorChannel {
    const native = loadNativeAddon();
    return new DescriptorChannel(native.fdChannelConnect(path), native);
  }

  /**
   * Takes over the connection under a Node socket: a copy of its descriptor, so that the socket can be
   * destroyed (it must be, at once: Node would read, and drop, what arrives next).
   */
  static adopt(socket: Socket): DescriptorChannel {
    const native = loadNativeAddon();
    return new DescriptorChannel(native.dupFd(socketFd(socket, "DescriptorChannel.adopt")), native);
  }

  /** The descriptor itself (for its peer's credentials), -1 once closed. */
  get descriptor(): number {
    return this.fd;
  }

  /** Writes raw bytes with no descriptors (the client's `join` frame). */
  write(bytes: Uint8Array): void {
    this.native.fdSend(this.open(), bytes, []);
  }

  /**
   * Sends one message carrying `fds` (copies: this side keeps its own). Throws when the peer's buffer is
   * full, which only a peer that stopped reading its announcements can cause.
   */
  send(fds: readonly number[]): void {
    if (fds.length < 1 || fds.length > MAX_DESCRIPTORS_PER_MESSAGE) throw new RangeError(`a descriptor message carries 1 to ${MAX_DESCRIPTORS_PER_MESSAGE} descriptors, not ${fds.length}`);
    this.native.fdSend(this.open(), MARK, fds);
  }

  /**
   * The next message's descriptors, which must be exactly `count`: the caller owns them (and must close
   * them, or hand them on). Throws DescriptorChannelError when no message waits or it carries another number.
   */
  receive(count: number): number[] {
    const got = this.native.fdRecv(this.open(), 1, MAX_DESCRIPTORS_PER_MESSAGE);
    if (got === null) throw new DescriptorChannelError("a frame announced descriptors that the descriptor channel does not hold");
    if (got.bytes.length === 0) throw new DescriptorChannelError("the descriptor channel was closed by the peer");
    if (got.fds.length !== count) {
      for (const fd of got.fds) this.native.closeFd(fd);
      throw new DescriptorChannelError(`a descriptor message carried ${got.fds.length} descriptors where ${count} were announced`);
    }
    return got.fds;
  }

  /** Closes the channel; descriptors queued on it and not yet received are closed by the kernel. */
  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    this.native.closeFd(fd);
  }

  private open(): number {
    if (this.fd < 0) throw new DescriptorChannelError("the descriptor channel is closed");
    return this.fd;
  }
}

/** Closes descriptors this side received and will not use (after a failed check, say); errors ignored. */
export function closeAll(fds: readonly number[]): void {
  if (fds.length === 0) return; // nothing to close, also where the addon is unavailable
  const native = loadNativeAddon();
  for (const fd of fds) {
    try {
      native.closeFd(fd);
    } catch {
      // already closed: nothing to give back
    }
  }
}
