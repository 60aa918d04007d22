/**
 * The contract between the generator and the runtime: what a generated module hands the runtime to
 * describe a service (its methods, their kinds and bounds, its packet streams). Written once, here; the
 * runtime's layers and the generator's model (generator/model/ipc.ts) both import it. Types only, and
 * no imports but types from the codec, so that every layer may depend on it.
 */
import type { MessageReader, ReaderOptions } from "./codec/wire.js";

/**
 * What a method is (`/ipcgen/ipc.capnp`): a call answered by the server, a one-way message, a signal, or a
 * packet stream (whose data does not travel as requests).
 */
export type MethodKind = "call" | "oneway" | "signal" | "packetStream";

/** Who receives a signal, or which way a packet stream's packets go (`toServer`: the client is the source). */
export type Direction = "toServer" | "toClient";

/** `$maxSize`: a bound on a top-level Text or Data field (bytes) or List field (elements). */
export interface SizeLimit {
  field: string;
  max: number;
}

/**
 * Where a packet descriptor struct's `offset` and `size` fields lie in its data section, in bytes (Cap'n
 * Proto places fields at multiples of their width). The rest of the data section is the service's own
 * fields, which the stream carries as raw bytes. The struct has no pointer fields.
 */
export interface DescriptorLayout {
  /** Of the struct's data section, in 8-byte words: a ring slot holds exactly that. */
  dataWords: number;
  offsetAt: number;
  offsetBytes: 4 | 8;
  sizeAt: number;
  sizeBytes: 4 | 8;
}

/** What both ends of a packet stream derive from the schema (`$packetStream` and the descriptor) and must agree on. */
export interface PacketStreamConfig {
  /** Descriptors per ring; ringSize - 1 are in flight at most. */
  ringSize: number;
  /** Bytes of the bulk buffer (rounded up to 64 in the region). */
  bufferSize: number;
  descriptor: DescriptorLayout;
}

/** Reads and writes one struct: what `X.encode` / `X.decode` of generated code provide. */
export interface StructCodec<T, I = T> {
  encode(value: I): Uint8Array;
  /** Takes framed bytes, or a reader of a placed message. */
  decode(bytes: Uint8Array | MessageReader, options?: ReaderOptions): T;
}

/** An error a method may raise (`$raises`): generated error classes are these. */
export interface RaisedErrorClass {
  /** The error's name in its schema (`"Chat.NotJoined"`), which crosses the wire. */
  readonly errorName: string;
  /** Rebuilds the error from what crossed the wire. */
  fromRemote(data: Uint8Array | null, message: string): Error;
}

/**
 * One method of a service, as Cap'n Proto identifies it: `interfaceId`, the interface that declares it (the
 * service's own, or one it extends), and `methodId`, its ordinal there. That pair is what crosses the wire,
 * so a method keeps its identity when methods are added to its interface or to one it extends.
 */
export interface MethodDefinition<P = unknown, R = unknown, PI = P, RI = R> {
  name: string;
  interfaceId: bigint;
  methodId: number;
  params: StructCodec<P, PI>;
  results: StructCodec<R, RI>;
  /** Default "call". */
  kind?: MethodKind;
  direction?: Direction;
  /** A call's default timeout. */
  timeoutMs?: number;
  raises?: readonly RaisedErrorClass[];
  paramLimits?: readonly SizeLimit[];
  resultLimits?: readonly SizeLimit[];
  /** The results struct has no fields: callers get `undefined`. */
  voidResults?: boolean;
  /** For packet streams (`$packetStream`). */
  stream?: PacketStreamConfig;
}

/** A service: the interface a session's main channel (or another channel) speaks. */
export interface ServiceDefinition {
  name: string;
  /** The interface's id. */
  id: bigint;
  /** A hash of everything of the schema that crosses the wire: builds that differ are refused at log-in. */
  fingerprint: bigint;
  /**
   * Every method the interface has, its superclasses' included. Stubs refer to a method by its position
   * here (a local handle, never sent); the wire names it by `interfaceId` and `methodId`.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- methods differ in their types
  methods: readonly MethodDefinition<any, any, any, any>[];
}
