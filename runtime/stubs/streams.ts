/**
 * Packet streams as generated stubs show them: the two ends of runtime/shm/packet-stream.ts with the
 * descriptor typed by its schema struct. A packet's `offset` and `size` are the stream's; the service's
 * own fields (Block's opcode, block number, success flag...) are read with `descriptor(packet)` and written
 * with the packet when it is submitted or acknowledged.
 */
import type { StructCodec } from "../rpc/service.js";
import { MessageReader } from "../codec/wire.js";
import { type Packet, type PacketSink, type PacketSource, type WaitOptions } from "../shm/packet-stream.js";

/** The descriptor struct's codec, over the data section a ring slot holds. */
export class DescriptorCodec<P, I> {
  constructor(
    private readonly codec: StructCodec<P, I>,
    /** Of the struct's data section (which is the slot). */
    private readonly dataWords: number,
  ) {}

  /** The fields of a slot's bytes. */
  decode(slot: Uint8Array): P {
    // A one-segment message whose root pointer (offset 0) points at the slot's bytes as the struct's data.
    const message = new Uint8Array(16 + this.dataWords * 8);
    const view = new DataView(message.buffer);
    view.setUint32(4, 1 + this.dataWords, true);
    view.setUint16(12, this.dataWords, true);
    message.set(slot.subarray(0, this.dataWords * 8), 16);
    return this.codec.decode(message);
  }

  /** The slot bytes of `fields` (the struct's data section; `offset` and `size` are overwritten later). */
  encode(fields: I, into: Uint8Array): void {
    const root = MessageReader.fromFramed(this.codec.encode(fields)).root().struct();
    into.fill(0);
    if (root !== null) into.set(root.segment.bytes.subarray(root.dataByte, root.dataByte + Math.min(root.dataBytes, into.length)));
  }
}

/** The source end of a stream (the side that allocates and submits), typed by its descriptor struct. */
export class StreamSource<P, I> {
  constructor(
    /** The untyped end, for what this class does not wrap. */
    readonly raw: PacketSource,
    private readonly fields: DescriptorCodec<P, I>,
  ) {}

  /** A packet of `size` bytes in the bulk buffer, or null when there is no room now. */
  tryAlloc(size: number): Packet | null {
    return this.raw.tryAlloc(size);
  }

  /** A packet of `size` bytes, once there is room (acknowledged packets released make room). */
  alloc(size: number, options?: WaitOptions): Promise<Packet> {
    return this.raw.alloc(size, options);
  }

  /** Hands `packet` to the sink, with the service's `fields` in its descriptor, if the submit ring has room. */
  trySubmit(packet: Packet, fields?: I): boolean {
    if (fields !== undefined) this.fields.encode(fields, packet.extra);
    return this.raw.trySubmit(packet);
  }

  /** Hands `packet` to the sink once the submit ring has room. */
  submit(packet: Packet, fields?: I, options?: WaitOptions): Promise<void> {
    if (fields !== undefined) this.fields.encode(fields, packet.extra);
    return this.raw.submit(packet, options);
  }

  /** The next acknowledged packet, or null; release it (or submit it again) when done with it. */
  tryGetAck(): Packet | null {
    return this.raw.tryGetAck();
  }

  /** The next acknowledged packet, once there is one. */
  getAck(options?: WaitOptions): Promise<Packet> {
    return this.raw.getAck(options);
  }

  /** Acknowledged packets as they come back. */
  acknowledged(options?: WaitOptions): AsyncIterableIterator<Packet> {
    return this.raw.acknowledged(options);
  }

  /** Frees an acknowledged (or never submitted) packet's bytes. */
  release(packet: Packet): void {
    this.raw.release(packet);
  }

  /** The service's fields of a packet's descriptor (as the sink acknowledged them, for an acknowledged one). */
  descriptor(packet: Packet): P {
    return this.fields.decode(packet.extra);
  }

  /** Wakes the sink now rather than when this turn of the event loop ends. */
  flush(): void {
    this.raw.flush();
  }
}

/** The sink end of a stream (the side that gets and acknowledges), typed by its descriptor struct. */
export class StreamSink<P, I> {
  constructor(
    readonly raw: PacketSink,
    private readonly fields: DescriptorCodec<P, I>,
  ) {}

  /** The next submitted packet, or null when there is none now. */
  tryGet(): Packet | null {
    return this.raw.tryGet();
  }

  /** The next submitted packet, once there is one. */
  get(options?: WaitOptions): Promise<Packet> {
    return this.raw.get(options);
  }

  /** Submitted packets as they come: `for await (const packet of sink)`. */
  packets(options?: WaitOptions): AsyncIterableIterator<Packet> {
    return this.raw.packets(options);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Packet> {
    return this.raw.packets();
  }

  /** The service's fields of a packet's descriptor. The source can rewrite the ring, not this copy. */
  descriptor(packet: Packet): P {
    return this.fields.decode(packet.extra);
  }

  /** Gives `packet` back, with `fields` (say, a success flag) in its descriptor, if the ring has room. */
  tryAck(packet: Packet, fields?: I): boolean {
    if (fields !== undefined) this.fields.encode(fields, packet.extra);
    return this.raw.tryAck(packet);
  }

  /** Gives `packet` back once the acknowledgement ring has room; acknowledgements may come in any order. */
  ack(packet: Packet, fields?: I, options?: WaitOptions): Promise<void> {
    if (fields !== undefined) this.fields.encode(fields, packet.extra);
    return this.raw.ack(packet, options);
  }

  /** Wakes the source now rather than when this turn of the event loop ends. */
  flush(): void {
    this.raw.flush();
  }
}
