/**
 * Frames on a session socket: `u32 length (LE) | Header message | body message`, as
 * runtime/protocol/protocol.capnp describes. Decoding trusts nothing: a length over the limit is refused as
 * soon as its four bytes arrive, before any of the frame is buffered.
 */
import { IpcgenError } from "../errors.js";
import { EMPTY_STRUCT, MessageBuilder, MessageDecodeError, StructReader } from "../codec/wire.js";
import { Header } from "../protocol/protocol.capnp.js";

/** Frames larger than this are refused unless a session says otherwise (a body is one Cap'n Proto message). */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

export interface Frame {
  header: Header.Plain;
  /**
   * The body message (framed), or an empty array for kinds without a body. It may be `borrowed`: a view of
   * a read buffer that is reused after the frame's handler returns, so whoever keeps it must copy it.
   */
  body: Uint8Array;
  borrowed: boolean;
}

/** A frame that breaks the protocol: the session ends with cause "protocol-violation". */
export class FrameError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_FRAME";
  override readonly code = FrameError.code;
  override name = "FrameError";
}

const EMPTY = new Uint8Array(0);

/** The header struct's sections, from its generated class. */
const HEADER_DATA_WORDS = Header._capnp.size.dataByteLength / 8;
const HEADER_POINTERS = Header._capnp.size.pointerLength;
/** What a frame's length counts besides its body: the header message, segment table included. */
export const HEADER_BYTES = 8 + (1 + HEADER_DATA_WORDS + HEADER_POINTERS) * 8;
/** One builder for every header: a header is a few words, written afresh for each frame (the hot path). */
const headerBuilder = new MessageBuilder(1 + HEADER_DATA_WORDS + HEADER_POINTERS);

/** One frame's bytes. */
export function encodeFrame(header: Header.Init, body: Uint8Array | null): Uint8Array {
  const b = headerBuilder;
  b.reset();
  Header._write(b, b.initStruct(0, HEADER_DATA_WORDS, HEADER_POINTERS), header);
  const headWords = b.used;
  const headBytes = 8 + headWords * 8;
  const bodyLength = body === null ? 0 : body.length;
  const out = Buffer.allocUnsafe(4 + headBytes + bodyLength);
  out.writeUInt32LE(headBytes + bodyLength, 0);
  // The header message's segment table: one segment of headWords words.
  out.writeUInt32LE(0, 4);
  out.writeUInt32LE(headWords, 8);
  out.set(b.bytes.subarray(0, headWords * 8), 12);
  if (body !== null) out.set(body, 4 + headBytes);
  return out;
}

/** Splits a byte stream into frames. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Length of the frame being collected, once its prefix has arrived; -1 before. */
  private need = -1;

  constructor(private maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /**
   * Changes the limit, from the next length prefix on (a server reads hello-sized frames until log-in).
   * A frame whose prefix has already been accepted is collected whole.
   */
  setLimit(maxFrameBytes: number): void {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held for an incomplete frame. */
  get pending(): number {
    return this.buffered;
  }

  /**
   * Adds bytes and hands each frame they complete to `onFrame`, in order. Throws `FrameError` for a frame
   * that breaks the rules (frames before it have been handed over).
   */
  push(chunk: Buffer, onFrame: (frame: Frame) => void, borrowed = false): void {
    if (this.buffered === 0) {
      // The usual case: the chunk starts at a frame boundary. Frames it holds whole are read in place.
      let at = 0;
      while (chunk.length - at >= 4) {
        const length = this.check(chunk.readUInt32LE(at));
        if (chunk.length - at - 4 < length) break;
        // A plain Uint8Array view: Buffer's subarray goes through a subclass constructor, slower on this path.
        onFrame(parseFrame(new Uint8Array(chunk.buffer, chunk.byteOffset + at + 4, length), borrowed));
        at += 4 + length;
      }
      if (at === chunk.length) return;
      chunk = chunk.subarray(at);
    }
    // Kept past this call: a borrowed read must be copied (frames made from copies are not borrowed).
    this.chunks.push(borrowed ? Buffer.from(chunk) : chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 4) break;
        this.need = this.check(this.peekLength());
      }
      if (this.buffered < 4 + this.need) break;
      const bytes = this.take(4 + this.need).subarray(4);
      this.need = -1;
      onFrame(parseFrame(bytes));
    }
  }

  /** A frame length, if the rules allow it. */
  private check(length: number): number {
    if (length > this.maxFrameBytes) throw new FrameError(`frame of ${length} bytes is over the limit of ${this.maxFrameBytes}`);
    if (length < 8) throw new FrameError(`frame of ${length} bytes is too short to hold a header`);
    return length;
  }

  private peekLength(): number {
    const first = this.chunks[0];
    if (first.length >= 4) return first.readUInt32LE(0);
    return Buffer.concat(this.chunks).readUInt32LE(0);
  }

  /** Removes and returns the first `n` buffered bytes. */
  private take(n: number): Buffer {
    let out: Buffer;
    const first = this.chunks[0];
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks);
      out = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.buffered -= n;
    return out;
  }
}

/**
 * The header's root struct, read straight from the frame (the hot path: no reader objects). The header
 * has no pointers, so only its root pointer and data section are checked and read; a pointer section, if
 * a newer peer sends one, is skipped.
 */
function headerStruct(bytes: Uint8Array, view: DataView, words: number): StructReader {
  if (words === 0) throw new MessageDecodeError("the header message has no root pointer");
  const lo = view.getUint32(8, true);
  const hi = view.getUint32(12, true);
  if (lo === 0 && hi === 0) return EMPTY_STRUCT;
  if ((lo & 3) !== 0) throw new MessageDecodeError("the header's root is not a struct pointer");
  const start = 1 + 1 + (lo >> 2); // words from the segment table: table, root pointer, offset
  const dataWords = hi & 0xffff;
  const ptrCount = hi >>> 16;
  if (start < 2 || start - 1 + dataWords + ptrCount > words) throw new MessageDecodeError("the header's root struct is out of bounds");
  const segment = { bytes, view, words: 1 + words };
  return new StructReader(null, segment, start * 8, dataWords * 8, start + dataWords, 0, 0);
}

/** A frame's header and body, from the bytes after its length prefix. */
export function parseFrame(bytes: Uint8Array, borrowed = false): Frame {
  let headerLength: number;
  let header: Header.Plain;
  try {
    // A header is one segment of a few words: anything else is not a header.
    if (bytes.length < 8) throw new MessageDecodeError(`${bytes.length} bytes cannot hold a header message`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const words = view.getUint32(4, true);
    if (view.getUint32(0, true) !== 0 || words > 64) throw new MessageDecodeError("a header message must be one segment of at most 64 words");
    headerLength = 8 + words * 8;
    if (headerLength > bytes.length) throw new MessageDecodeError(`the header message (${headerLength} bytes) runs past the frame (${bytes.length} bytes)`);
    header = Header._read(headerStruct(bytes, view, words));
  } catch (err) {
    if (err instanceof MessageDecodeError) throw new FrameError(`malformed frame header: ${err.message}`);
    throw err;
  }
  return { header, body: headerLength === bytes.length ? EMPTY : bytes.subarray(headerLength), borrowed };
}
