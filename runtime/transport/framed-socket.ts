/**
 * A Unix socket that sends and receives frames. Sending never blocks the event loop and never lets the
 * queue grow without bound: past `maxQueuedBytes` of unsent bytes, `send` waits for the socket to drain (or
 * fails at once, if the caller asked not to wait). Frames leave in the order they were handed over, waiting
 * or not: the peer checks that their ids follow each other.
 */
import type { Socket } from "node:net";
import { BackpressureError } from "../errors.js";
import { type Frame, FrameDecoder, FrameError } from "./frames.js";

export const DEFAULT_MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** A frame up to this size is copied together with the held frames before it (see `sendSoon`). */
const JOIN_MAX_BYTES = 16 * 1024;
/** Frames per write when a run of synchronous code sends many. */
const FLUSH_EVERY = 16;

export interface FramedSocketEvents {
  frame(frame: Frame): void;
  /** A frame broke the rules; the socket is being destroyed. */
  violation(error: FrameError): void;
  /** The socket closed: `error` is set for a reset or other failure, null for a clean end of stream. */
  closed(error: Error | null): void;
}

export class FramedSocket {
  private readonly decoder: FrameDecoder;
  /**
   * Frames waiting for the socket to drain, in order; `force` ones go regardless of the limit. `owed` ones
   * are answers to the peer (see `sendAnswer`): while any waits, the socket is not read.
   */
  private backlog: { bytes: Uint8Array; force: boolean; owed: boolean; written: () => void }[] = [];
  /** Answers waiting in the backlog. */
  private owed = 0;
  /** Reading was paused here because answers wait (not by whoever else may pause the socket). */
  private pausedForAnswers = false;
  /** Small frames that leave with the next frame written (see `sendSoon`). */
  private held: Uint8Array[] = [];
  private isClosed = false;

  constructor(
    readonly socket: Socket,
    private readonly events: FramedSocketEvents,
    maxFrameBytes: number,
    private readonly maxQueuedBytes = DEFAULT_MAX_QUEUED_BYTES,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
    let failure: Error | null = null;
    // A socket connected with `onread` (see `readCallback`) delivers through that callback instead.
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("drain", () => this.flushBacklog());
    socket.on("error", (err) => {
      failure = err;
    });
    socket.on("close", () => {
      this.isClosed = true;
      this.held = [];
      // Frames still waiting are dropped with the connection; their senders stop waiting.
      const backlog = this.backlog;
      this.backlog = [];
      for (const frame of backlog) frame.written();
      this.events.closed(failure);
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The largest frame read from the next length prefix on (see `FrameDecoder.setLimit`). */
  limitFrames(maxFrameBytes: number): void {
    this.decoder.setLimit(maxFrameBytes);
  }

  /**
   * The `onread` option for `net.connect`: reads into one reused buffer instead of a new Buffer and a
   * stream event per read (Node offers this to client sockets only). Frames read whole are handed over as
   * views of that buffer, marked borrowed (the session copies what it keeps); partial frames are copied.
   */
  static readCallback(target: { framed: FramedSocket | null }): { buffer: Buffer; callback: (n: number, buf: Buffer) => boolean } {
    return {
      buffer: Buffer.allocUnsafe(64 * 1024),
      callback: (n, buf) => {
        target.framed?.receive(buf.subarray(0, n), true);
        return true;
      },
    };
  }

  /** @internal Bytes read from the socket. */
  receive(chunk: Buffer, borrowed = false): void {
    if (this.isClosed) return;
    this.reading = true;
    try {
      this.decoder.push(chunk, this.deliver, borrowed);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.events.violation(err);
    } finally {
      this.reading = false;
      this.endRun();
    }
  }

  private readonly deliver = (frame: Frame): void => {
    // A frame can end the session (a violation, an end): the frames after it are not for anyone.
    if (!this.isClosed && !this.socket.destroyed) this.events.frame(frame);
  };

  /** Whether `bytes` more would take the queue past its limit (an empty queue always takes a frame). */
  private full(length: number): boolean {
    const queued = this.socket.writableLength;
    return queued > 0 && queued + length > this.maxQueuedBytes;
  }

  /** Whether a frame of `length` bytes would have to wait (callers that must not wait ask first). */
  wouldWait(length: number): boolean {
    return this.backlog.length > 0 || this.full(length);
  }

  /**
   * Queues a frame. Returns null when it is queued at once (the usual case: no promise to pay for); over
   * the limit, a promise that resolves once the frame is queued after the socket drained (`wait`), or
   * rejects with `BackpressureError` (`wait: false`).
   */
  send(bytes: Uint8Array, wait = true): Promise<void> | null {
    if (this.isClosed) return null;
    if (!this.wouldWait(bytes.length)) {
      this.write(bytes);
      return null;
    }
    if (!wait) return Promise.reject(new BackpressureError(`${this.socket.writableLength} bytes are already queued for a peer that is not reading (limit ${this.maxQueuedBytes})`));
    // Held frames came before this one: they go now, ahead of the backlog.
    this.flushHeld();
    return new Promise<void>((written) => this.backlog.push({ bytes, force: false, owed: false, written }));
  }

  /**
   * Queues an answer to the peer (a response, an error, a channel open's answer). Past the limit it waits
   * in the backlog, like a call; and while any answer waits, the socket is not read, so that a peer that
   * sends requests but does not read their answers cannot make this side hold more of them: it can send
   * more only once it reads.
   */
  sendAnswer(bytes: Uint8Array): void {
    if (this.isClosed) return;
    if (!this.wouldWait(bytes.length)) {
      this.write(bytes);
      return;
    }
    this.flushHeld();
    this.backlog.push({ bytes, force: false, owed: true, written: () => {} });
    this.owed++;
    if (!this.pausedForAnswers && !this.socket.isPaused()) {
      this.pausedForAnswers = true;
      this.socket.pause();
    }
  }

  /** Whether reading is paused because answers wait for the peer to read (see `sendAnswer`). */
  get readingPaused(): boolean {
    return this.pausedForAnswers;
  }

  /** Whether frames wait for the peer to read: the queue is past its limit, or frames are held back. */
  get congested(): boolean {
    return this.backlog.length > 0 || this.socket.writableLength > this.maxQueuedBytes;
  }

  /** Bytes the kernel has taken so far: while it grows, the peer reads. */
  get sentBytes(): number {
    return this.socket.bytesWritten - this.socket.writableLength;
  }

  /** Bytes queued for the peer: in the socket's queue and in the backlog. */
  get queuedBytes(): number {
    let n = this.socket.writableLength;
    for (const frame of this.backlog) n += frame.bytes.length;
    return n;
  }

  /**
   * Queues a small control frame to leave with the next frame written, or when the current run of
   * synchronous code ends: a release made just before an answer (or a call) costs no write of its own.
   */
  sendSoon(bytes: Uint8Array): void {
    if (this.isClosed) return;
    if (this.backlog.length > 0) {
      this.backlog.push({ bytes, force: true, owed: false, written: () => {} });
      return;
    }
    this.held.push(bytes);
    if (this.held.length === 1) queueMicrotask(this.flushHeld);
  }

  /** Writes the held frames, if the run ended without another frame to carry them. */
  private readonly flushHeld = (): void => {
    if (this.held.length === 0 || this.isClosed) return;
    const held = this.held;
    this.held = [];
    for (const bytes of held) this.write(bytes);
  };

  /**
   * Queues a frame regardless of the limit (control frames and answers: pongs, cancels, the final end);
   * behind frames that wait, if any, so that the order holds.
   */
  sendNow(bytes: Uint8Array): void {
    if (this.isClosed) return;
    if (this.backlog.length === 0) this.write(bytes);
    else this.backlog.push({ bytes, force: true, owed: false, written: () => {} });
  }

  /** Writes waiting frames, in order, while the limit allows. */
  private flushBacklog(): void {
    while (!this.isClosed && this.backlog.length > 0) {
      const next = this.backlog[0];
      if (!next.force && this.full(next.bytes.length)) return;
      this.backlog.shift();
      this.write(next.bytes);
      if (next.owed) this.owed--;
      next.written();
    }
    // Every answer has left: the peer reads again, and may send more.
    if (this.owed === 0 && this.pausedForAnswers && !this.isClosed) {
      this.pausedForAnswers = false;
      this.socket.resume();
    }
  }

  /**
   * The first frame of a run of synchronous code is written at once: a lone call costs one plain write,
   * the lowest latency. The frames after it in the same run are corked and leave together when the run is
   * over, in groups of `FLUSH_EVERY` (so the peer starts on the first ones): many calls in flight cost few
   * writes. A run ends at the end of the read being handled, or else in a microtask.
   */
  private write(bytes: Uint8Array): void {
    const n = this.runWrites++;
    if (this.held.length > 0) {
      // Held frames go first, in the same system call: joined with a small frame (a plain write costs
      // half what a writev does here), written corked with a large one (a writev, no copy).
      const held = this.held;
      this.held = [];
      if (bytes.length <= JOIN_MAX_BYTES) {
        held.push(bytes);
        bytes = Buffer.concat(held);
      } else {
        if (n === 0 && !this.reading) queueMicrotask(this.endRun);
        if (n <= 1) this.socket.cork();
        for (const frame of held) this.socket.write(frame);
        this.socket.write(bytes);
        if (n === 0) this.socket.uncork();
        return;
      }
    }
    if (n === 0) {
      if (!this.reading) queueMicrotask(this.endRun);
    } else if (n === 1) {
      this.socket.cork();
    } else if (n % FLUSH_EVERY === 0) {
      this.socket.uncork();
      this.socket.cork();
    }
    this.socket.write(bytes);
  }

  /** Frames written in the current run of synchronous code. */
  private runWrites = 0;
  /** Inside `receive`: the run ends when the read is handled (no microtask needed). */
  private reading = false;
  private readonly endRun = (): void => {
    if (this.runWrites > 1) this.socket.uncork();
    this.runWrites = 0;
  };

}
