/**
 * A session: one client's connection to a service, the same object on both ends once log-in is done.
 *
 * It numbers the frames it sends, checks the token and numbering of every frame it receives, matches
 * answers to requests, keeps the peer alive with pings, and ends exactly once with a cause: after that every
 * pending call rejects with the same `SessionEndedError` and new calls reject at once.
 *
 * Channels are multiplexed on the session's socket (see docs/runtime.md for why): channel 0 is the main
 * channel, and either side may open more. Each channel is an `Channel` with its own handlers; what the
 * frames mean above that (RPC, signals) is given to it by the layers above.
 */
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { type EndCause, BackpressureError, IpcgenError, CancelledError, ChannelClosedError, MessageTooLargeError, RemoteError, SessionEndedError, TimeoutError } from "../errors.js";
import type { MessageReader } from "../codec/wire.js";
import { End, Failure, Failure_Kind, Header_Kind, Signal } from "../protocol/protocol.capnp.js";
import type { SharedMapping } from "../native/index.js";
import type { DescriptorChannel } from "../transport/descriptor-channel.js";
import { DEFAULT_MAX_QUEUED_BYTES, FramedSocket } from "../transport/framed-socket.js";
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, type Frame, type FrameError, HEADER_BYTES } from "../transport/frames.js";

export interface SessionOptions {
  /** How often to ping the peer. Default 2,000 ms. */
  keepAliveIntervalMs?: number;
  /** A peer silent for this long is taken for hung: the session ends. Default 5,000 ms. */
  keepAliveTimeoutMs?: number;
  /** Frames larger than this are refused before they are read. Default 64 MiB. */
  maxFrameBytes?: number;
  /** Unsent bytes past which sending waits. Default 8 MiB. */
  maxQueuedBytes?: number;
  /** A channel open not answered in this long fails with `TimeoutError`. Default 5,000 ms. */
  openTimeoutMs?: number;
  /** Channels the peer may have open at once; past it, its opens are rejected ("rejected"). Default 256. */
  maxChannels?: number;
  /**
   * Requests (and one-way messages) of the peer's that may run here at once, on all channels; past it, a
   * request is answered at once with a `RemoteError` of kind "rejected" and a one-way message is dropped
   * (`droppedOneWays`). Default 1,024.
   */
  maxRunningRequests?: number;
  /**
   * Zero-copy messages for the session (`zeroCopy()` of runtime/shm/messages.ts makes this): with it, this
   * side says at log-in that it can map the peer's zero-copy pool, and places large messages in its own when
   * the peer says the same. Without it, every message goes over the socket.
   */
  zeroCopyPool?: ((session: Session) => ZeroCopyMemory) | null;
}

/** The peer's process as the kernel reports it (SO_PEERCRED), read at connect on both sides. */
export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** What a request handler is told besides the request's body. */
export interface RequestContext {
  /**
   * The session the request came on. A capability that is no channel of a session (an in-process pair)
   * throws `NoSessionError` when this is read.
   */
  session: Session;
  channel: Capability;
  /** What the layer above attached to the channel (`Channel.remote`): a generated stub's remote. */
  remote: unknown;
  /** Fires when the caller cancels the request or the session ends. */
  signal: AbortSignal;
}

/** A body to send: encoded bytes, or a message placed in this side's zero-copy pool (zero-copy). */
export type OutgoingBody = Uint8Array | PlacedBody;

/** A message built in this side's zero-copy pool (runtime/shm/messages.ts): only its handle crosses the socket. */
export interface PlacedBody {
  /** The `Placed` struct naming the message's segments, encoded. */
  readonly handle: Uint8Array;
}

/**
 * A message the peer placed in its zero-copy pool, read in place. The session releases it when its handler
 * settles (requests, one-way messages); an answer's receiver releases it when done. Release hands the
 * memory back to the peer: views of it read as empty from then on.
 */
export class PlacedMessage {
  private done = false;

  constructor(
    readonly reader: MessageReader,
    private readonly onRelease: () => void,
  ) {}

  release(): void {
    if (this.done) return;
    this.done = true;
    this.onRelease();
  }
}

/** A body received: encoded bytes (framed), or a placed message. */
export type Body = Uint8Array | PlacedMessage;

/**
 * Zero-copy messages, plugged into a session by the layer above (runtime/shm/messages.ts): this side's
 * zero-copy pool, which it places outgoing messages in, and the peer's, which it reads placed messages from.
 * The session carries the frames; this keeps the memory and checks everything the peer says about it.
 */
export interface ZeroCopyMemory {
  /** The placed body went out in frame `id`: its blocks are the peer's until it releases that frame. */
  sent(id: number, body: PlacedBody): void;
  /** A placed body that will not be sent after all (its request was given up, its session ended). */
  discard(body: PlacedBody): void;
  /** The peer released frame `id`'s message; false when no such message is in flight (a violation). */
  released(id: number): boolean;
  /**
   * A `poolExtent` body and the descriptor that came with it: maps the peer's new extent. Throws for a
   * region this side will not map. Takes the descriptor (it is closed either way).
   */
  mapPeerExtent(body: Uint8Array, fd: number): void;
  /**
   * A placed frame's handle: the message, in place. Throws for a handle naming memory it may not.
   * `collectable`: it may never be released explicitly (an answer's results), so garbage collection of
   * its views releases it.
   */
  open(id: number, handle: Uint8Array, collectable: boolean): PlacedMessage;
  /**
   * Runs `encode` (a generated `encode` call, or one returning bytes built elsewhere) so that large Data
   * values land in this side's pool; answers the bytes, or a placed body when the message is large or
   * holds placed values.
   */
  place(encode: () => Uint8Array): OutgoingBody;
  /** The session ended: frees this side's pool, removes names, lets go of the peer's. */
  close(): void;
}

/**
 * A method as the wire names it (runtime/contract.ts): the interface that declares it and its ordinal there.
 * A generated method definition is one.
 */
export interface MethodRef {
  readonly interfaceId: bigint;
  readonly methodId: number;
}

/** Answers a request with the response body, or throws (see `RequestFailure`). */
export type RequestHandler = (interfaceId: bigint, methodId: number, body: Body, context: RequestContext) => Promise<OutgoingBody> | OutgoingBody;
/**
 * Handles a one-way message; a placed body is released when the promise it returns settles (or at once).
 * `context.signal` fires when the session ends or the channel closes while the promise is pending.
 */
export type OneWayHandler = (interfaceId: bigint, methodId: number, body: Body, channel: Capability, context: RequestContext) => unknown;
export type SignalHandler = (interfaceId: bigint, methodId: number, count: number) => void;

/**
 * The seam between generated stubs and the protocol that carries their calls, at Cap'n Proto's
 * capability level: one end of a capability. Its client side sends a call as the method's
 * `(interfaceId, methodId)` and its parameters, and resolves to the answer; its server side is the
 * dispatcher the layer above installs (`requestHandler`, `oneWayHandler`, `signalHandler`), which answers
 * the other end's calls. Stubs and `rpc/` use nothing else of what carries them. A channel of ipcgen's
 * local protocol (`Channel`) is one; `rpc/in-process.ts` makes another, two linked ends in one process.
 */
export interface Capability {
  /** The local protocol's session this end belongs to; null where there is none. */
  readonly session: Session | null;
  /** The channel's number on its session (0: the session's main channel); 0 where there is no session. */
  readonly id: number;
  /** Closed from either side (or its session ended). */
  readonly closed: boolean;
  /** Resolves when it closes. */
  whenClosed(): Promise<void>;
  close(): void;
  /** A call; the answer is handed to `decode` (a placed answer is `decode`'s to release). */
  call<T>(method: MethodRef, params: OutgoingBody, decode: (answer: Body) => T, options?: CallOptions): Promise<T>;
  /** A one-way message: resolves once it is sent (or queued, with `wait` false). */
  oneWay(method: MethodRef, params: OutgoingBody, wait?: boolean): Promise<void>;
  /** A delivery of `signal` standing for `count` submits. */
  sendSignal(signal: MethodRef, count: number): void;
  /** Encodes a message to send this way (the local protocol may place a large one in shared memory). */
  encodeBody(encode: () => Uint8Array): OutgoingBody;
  requestHandler: RequestHandler | null;
  oneWayHandler: OneWayHandler | null;
  signalHandler: SignalHandler | null;
  /** What the layer above attaches to this end (a generated stub's remote); handlers see it in their context. */
  remote: unknown;
}

/**
 * Receives a channel the peer opened, with its metadata (an encoded struct). Returning false (or throwing)
 * rejects the open; the opener then gets a non-fatal `RemoteError` of kind "rejected".
 */
export type PassiveOpenHandler = (channel: Channel, metadata: Uint8Array) => boolean | void | Promise<boolean | void>;

/**
 * A failure a request handler (`Channel.requestHandler`) throws on purpose: it crosses the socket as it is,
 * and the caller gets it as a `RemoteError`. Any other error becomes "internal". `serve` throws these for
 * its handlers' `ApplicationError`s, unknown methods and malformed parameters.
 */
export class RequestFailure extends IpcgenError {
  static readonly code = "ERR_IPCGEN_REQUEST_FAILURE";
  override readonly code = RequestFailure.code;
  override name = "RequestFailure";
  constructor(readonly failure: Failure.Init) {
    super(failure.message ?? "request failed");
  }
}

export interface CallOptions {
  /** Reject with `TimeoutError` (and cancel the request) after this long. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** When the send queue is full: wait (default) or reject with `BackpressureError`. */
  wait?: boolean;
}

/**
 * The answer as it is: copied, since a borrowed body is reused once the frame's handling returns; a placed
 * answer is copied out whole (framed) and released.
 */
const identity = (answer: Body): Uint8Array => {
  if (answer instanceof Uint8Array) return new Uint8Array(answer);
  try {
    return framedCopy(answer.reader);
  } finally {
    answer.release();
  }
};

/** A message's segments as one framed message (the standard segment table, then the segments). */
export function framedCopy(reader: MessageReader): Uint8Array {
  const segments = reader.segments;
  const tableBytes = (4 + segments.length * 4 + 7) & ~7;
  let size = tableBytes;
  for (const seg of segments) size += seg.words * 8;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, segments.length - 1, true);
  let at = tableBytes;
  segments.forEach((seg, i) => {
    view.setUint32(4 + i * 4, seg.words, true);
    out.set(seg.bytes.subarray(0, seg.words * 8), at);
    at += seg.words * 8;
  });
  return out;
}

/**
 * A request waiting for its answer. One object per call, with no closures unless the call has a timeout or
 * an AbortSignal: this is the hottest allocation of the calling side.
 */
class PendingCall {
  private timer: NodeJS.Timeout | null = null;
  private signal: AbortSignal | null = null;
  private settled = false;

  constructor(
    private readonly session: Session,
    readonly channel: number,
    readonly id: number,
    private readonly onResolve: (value: unknown) => void,
    private readonly onReject: (error: Error) => void,
    /** Turns the answer's body into the call's value (the results' decoder), in the same turn. */
    private readonly decode: (answer: Body) => unknown,
  ) {}

  watch(options: CallOptions): void {
    if (options.timeoutMs !== undefined) {
      const ms = options.timeoutMs;
      this.timer = setTimeout(() => this.session.giveUp(this, new TimeoutError(`no answer within ${ms} ms`)), ms);
    }
    if (options.signal !== undefined) {
      this.signal = options.signal;
      this.abort = () => this.session.giveUp(this, new CancelledError("the call was cancelled"));
      this.signal.addEventListener("abort", this.abort, { once: true });
    }
  }

  private abort: (() => void) | null = null;

  resolve(body: Body): void {
    if (!this.finish()) {
      if (body instanceof PlacedMessage) body.release();
      return;
    }
    let value: unknown;
    try {
      value = this.decode(body);
    } catch (err) {
      this.onReject(err as Error);
      return;
    }
    this.onResolve(value);
  }

  reject(error: Error): void {
    if (this.finish()) this.onReject(error);
  }

  private finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.abort !== null) this.signal!.removeEventListener("abort", this.abort);
    return true;
  }
}

/** How many closed channels a session remembers, to drop frames that were on their way when it closed. */
export const MAX_CLOSED_CHANNELS = 4096;

/** A random non-zero 64-bit session token. */
export function newSessionToken(): bigint {
  let token = 0n;
  while (token === 0n) token = randomBytes(8).readBigUInt64LE(0);
  return token;
}

/**
 * One channel of a session: the main channel (id 0) or one opened later. Requests, one-way messages and
 * signals travel on a channel and are handled by that channel's handlers.
 */
export class Channel implements Capability {
  requestHandler: RequestHandler | null = null;
  oneWayHandler: OneWayHandler | null = null;
  signalHandler: SignalHandler | null = null;
  /** What the layer above attaches to this channel (a generated stub's remote); handlers see it in their context. */
  remote: unknown = null;
  private isClosed = false;

  constructor(
    readonly session: Session,
    readonly id: number,
    /** The metadata it was opened with (empty for the main channel). */
    readonly metadata: Uint8Array,
  ) {}

  get closed(): boolean {
    return this.isClosed || this.session.ended;
  }

  request(method: MethodRef, body: OutgoingBody, options?: CallOptions): Promise<Uint8Array> {
    return this.call(method, body, identity, options);
  }

  /**
   * A request whose answer is handed to `decode` (its errors reject the call); resolves to what that
   * returns. A placed answer is `decode`'s to release (or to hand on to whoever does).
   */
  call<T>(method: MethodRef, body: OutgoingBody, decode: (answer: Body) => T, options?: CallOptions): Promise<T> {
    // Once the session has ended, its end error says more than "closed".
    if (this.isClosed && !this.session.ended) {
      this.session.discard(body);
      return Promise.reject(new ChannelClosedError(`channel ${this.id} is closed`));
    }
    return this.session.sendRequest(this, Header_Kind.REQUEST, method, body, decode, options);
  }

  async oneWay(method: MethodRef, body: OutgoingBody, wait = true): Promise<void> {
    if (this.isClosed && !this.session.ended) {
      this.session.discard(body);
      throw new ChannelClosedError(`channel ${this.id} is closed`);
    }
    await this.session.sendOneWay(this, method, body, wait);
  }

  /** Encodes a message for this channel: placed in this side's zero-copy pool when large and the peer maps it. */
  encodeBody(encode: () => Uint8Array): OutgoingBody {
    return this.session.encodeBody(encode);
  }

  /** Sends a signal delivery standing for `count` submits. */
  sendSignal(signal: MethodRef, count: number): void {
    if (!this.closed) this.session.sendFrame(this.id, Header_Kind.SIGNAL, 0, Signal.encode({ count }), signal);
  }

  /** Closes this channel (not the main one: close the session for that). */
  close(): void {
    if (this.id === 0) throw new TypeError("the main channel closes with its session: use session.close()");
    if (this.isClosed) return;
    this.session.sendFrame(this.id, Header_Kind.CLOSE_CHANNEL, 0, null);
    this.session.forget(this);
  }

  private closing: { promise: Promise<void>; resolve: () => void } | null = null;

  /** Resolves when the channel closes, from either side, or its session ends. */
  whenClosed(): Promise<void> {
    if (this.closing === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.closing = { promise, resolve };
      if (this.closed) resolve();
    }
    return this.closing.promise;
  }

  /** @internal The peer closed it, or the session forgot it. */
  markClosed(): void {
    this.isClosed = true;
    this.closing?.resolve();
  }
}

export class Session {
  /** 0 until log-in is done. */
  token = 0n;
  /**
   * The peer's credentials: the client's on the server side, the server's on the client side. Null where
   * they were not read: without the native addon, or on a server with `credentials: "none"`
   * (docs/platforms.md).
   */
  peer: PeerCredentials | null = null;
  readonly framed: FramedSocket;
  /** The main channel. */
  readonly main: Channel;

  private nextId = 1;
  private expectedId = 1;
  private readonly pending = new Map<number, PendingCall>();
  /** Requests being answered here, by id: cancelling one aborts its handler's signal. */
  private readonly running = new Map<number, Running>();
  private readonly endpoints = new Map<number, Channel>();
  /**
   * Channels closed here whose late frames are dropped rather than taken for violations: the most recent
   * MAX_CLOSED_CHANNELS, so that a peer opening and closing channels without end cannot grow it without end.
   */
  private readonly closedChannels = new Set<number>();
  private nextChannel: number;
  private endError: SessionEndedError | null = null;
  private endListeners: ((error: SessionEndedError) => void)[] = [];
  private lastHeard = Date.now();
  /** Set by every frame received; the keep-alive tick turns it into `lastHeard` (no clock read per frame). */
  private heard = false;
  private keepAlive: NodeJS.Timeout | null = null;
  private readonly options: Required<Omit<SessionOptions, "zeroCopyPool">>;
  private passiveOpen: PassiveOpenHandler | null = null;
  /** Log-in frames (hello, welcome, refused) go here until the session is open. */
  loginHandler: ((frame: Frame) => void) | null = null;
  /** The shared memory made for this session at log-in (its schema's shared buffer, packet streams), by `regionKey`. */
  readonly regions = new Map<string, SharedMapping>();
  /**
   * Why this session has no shared memory (the shared buffer and packet streams its schema may ask for,
   * zero-copy messages), when one of its ends cannot share any: "local", this process runs without the
   * native addon (or reads no peer credentials, which the descriptor channel needs); "peer", the other end
   * said so at log-in. Null when nothing stood in the way. Set at log-in.
   */
  noSharedMemory: { side: "local" | "peer"; reason: string } | null = null;
  /**
   * The connection descriptors are passed on (transport/descriptor-channel.ts), once the client has joined
   * it; null for sessions that pass none. Closed when the session ends.
   */
  descriptors: DescriptorChannel | null = null;
  /** Client side: runs once, when the server answers `joined` (the login waits for it). */
  onJoined: (() => void) | null = null;
  /** Zero-copy messages, when the layer above set them up (runtime/shm/messages.ts). */
  zeroCopyPool: ZeroCopyMemory | null = null;
  /** The peer said at log-in it can map this side's zero-copy pool: bodies may be placed toward it. */
  peerTakesPlaced = false;
  /** The largest frame the peer said at log-in it reads: larger messages are refused here. */
  peerMaxFrameBytes = Infinity;
  /** Answers that arrived for requests nobody waits for any more (cancelled, timed out). */
  droppedAnswers = 0;
  /**
   * One-way messages of the peer's dropped here: past `maxRunningRequests`, or (counted by the service
   * layer) naming no one-way method of the service, malformed, or over their bounds.
   */
  droppedOneWays = 0;
  onDroppedAnswer: ((id: number, kind: Header_Kind) => void) | null = null;

  constructor(
    socket: Socket,
    /** Which end this is: clients open odd channel ids, servers even ones. */
    readonly role: "client" | "server",
    options: SessionOptions = {},
  ) {
    this.options = {
      keepAliveIntervalMs: options.keepAliveIntervalMs ?? 2000,
      keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? 5000,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      maxQueuedBytes: options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
      openTimeoutMs: options.openTimeoutMs ?? 5000,
      maxChannels: options.maxChannels ?? 256,
      maxRunningRequests: options.maxRunningRequests ?? 1024,
    };
    this.nextChannel = role === "client" ? 1 : 2;
    this.main = new Channel(this, 0, new Uint8Array(0));
    this.endpoints.set(0, this.main);
    this.framed = new FramedSocket(
      socket,
      {
        frame: (frame) => this.receive(frame),
        violation: (error: FrameError) => this.fail("protocol-violation", error.message),
        closed: (error) => {
          if (error === null) this.end("peer-died", "the peer closed the connection without ending the session");
          else this.end("peer-died", `the connection failed: ${(error as NodeJS.ErrnoException).code ?? error.message}`);
        },
      },
      this.options.maxFrameBytes,
      this.options.maxQueuedBytes,
    );
  }

  /** The largest frame this side reads (the frame length is 32 bits), as it says at log-in. */
  get maxFrameBytes(): number {
    return Math.min(this.options.maxFrameBytes, 0xffffffff);
  }

  /** Whether large messages go through shared memory toward the peer (see `ZeroCopyMemory`). */
  get zeroCopy(): boolean {
    return this.zeroCopyPool !== null && this.peerTakesPlaced;
  }

  /** Whether the session has ended. */
  get ended(): boolean {
    return this.endError !== null;
  }

  /** Resolves, once, with the error that ended the session. */
  readonly closed: Promise<SessionEndedError> = new Promise((resolve) => this.endListeners.push(resolve));

  /** The channels open now, the main one first. */
  get channels(): Channel[] {
    return [...this.endpoints.values()];
  }

  /** Starts keep-alive; called when log-in is done. */
  open(token: bigint): void {
    this.token = token;
    this.lastHeard = Date.now();
    this.keepAlive = setInterval(() => {
      const now = Date.now();
      if (this.stalled(now)) {
        this.fail("keep-alive-timeout", `the peer does not read: ${this.framed.queuedBytes} bytes have waited for it for over ${this.options.keepAliveTimeoutMs} ms`);
        return;
      }
      // While reading is paused for answers to leave, nothing can be heard: `stalled` watches instead.
      if (this.heard || this.framed.readingPaused) {
        this.heard = false;
        this.lastHeard = now;
      } else if (now - this.lastHeard > this.options.keepAliveTimeoutMs) {
        this.fail("keep-alive-timeout", `no word from the peer for ${this.options.keepAliveTimeoutMs} ms`);
        return;
      }
      // Frames already waiting reach the peer first and tell it this side lives: a ping would only add to them.
      if (!this.framed.congested) this.sendFrame(0, Header_Kind.PING, 0, null);
    }, this.options.keepAliveIntervalMs);
    this.keepAlive.unref();
  }

  /** When the queue for the peer last moved, and how far (see `stalled`). */
  private stallStart = 0;
  private stallSent = -1;

  /**
   * Whether frames have waited for the peer past the queue limit for longer than `keepAliveTimeoutMs`
   * without the kernel taking a byte of them: the peer does not read. A slow reader keeps it moving.
   */
  private stalled(now: number): boolean {
    if (!this.framed.congested) {
      this.stallSent = -1;
      return false;
    }
    const sent = this.framed.sentBytes;
    if (sent !== this.stallSent) {
      this.stallSent = sent;
      this.stallStart = now;
      return false;
    }
    return now - this.stallStart > this.options.keepAliveTimeoutMs;
  }

  // ---- the main channel's handlers, for convenience ----

  setRequestHandler(handler: RequestHandler | null): void {
    this.main.requestHandler = handler;
  }
  setOneWayHandler(handler: OneWayHandler | null): void {
    this.main.oneWayHandler = handler;
  }
  setSignalHandler(handler: SignalHandler | null): void {
    this.main.signalHandler = handler;
  }
  request(method: MethodRef, body: OutgoingBody, options?: CallOptions): Promise<Uint8Array> {
    return this.main.request(method, body, options);
  }
  oneWay(method: MethodRef, body: OutgoingBody, wait = true): Promise<void> {
    return this.main.oneWay(method, body, wait);
  }
  sendSignal(signal: MethodRef, count: number): void {
    this.main.sendSignal(signal, count);
  }

  // ---- channels ----

  /** Sets the handler of channels the peer opens; without one, opens are rejected. */
  onChannel(handler: PassiveOpenHandler | null): void {
    this.passiveOpen = handler;
  }

  /**
   * Opens a channel with `metadata` (an encoded struct saying which kind of channel it is). Rejects with a
   * `RemoteError` of kind "rejected" when the peer has no handler or refuses, and with `TimeoutError` when it
   * does not answer in time; neither ends the session.
   */
  async openChannel(metadata: Uint8Array, options: { timeoutMs?: number } = {}): Promise<Channel> {
    if (this.endError !== null) throw this.endError;
    const id = this.nextChannel;
    this.nextChannel += 2;
    const endpoint = new Channel(this, id, metadata);
    // Registered before the open is sent: the peer may use the channel as soon as it accepts it.
    this.endpoints.set(id, endpoint);
    try {
      await this.sendRequest(endpoint, Header_Kind.OPEN_CHANNEL, undefined, metadata, identity, { timeoutMs: options.timeoutMs ?? this.options.openTimeoutMs });
    } catch (err) {
      this.forget(endpoint);
      throw err;
    }
    return endpoint;
  }

  /** @internal Drops a channel (closed by either side). */
  forget(endpoint: Channel): void {
    endpoint.markClosed();
    if (this.endpoints.get(endpoint.id) === endpoint) {
      this.endpoints.delete(endpoint.id);
      this.closedChannels.add(endpoint.id);
      // The oldest goes (a Set keeps insertion order): a frame still on its way there by now is a violation.
      if (this.closedChannels.size > MAX_CLOSED_CHANNELS) this.closedChannels.delete(this.closedChannels.values().next().value!);
    }
    // Requests running on it are cancelled, and calls waiting on it fail: no answer can cross it any more.
    const error = new ChannelClosedError(`channel ${endpoint.id} was closed`);
    for (const r of [...this.running.values()]) {
      if (r.channel !== endpoint) continue;
      this.running.delete(r.id);
      r.abort(error);
    }
    for (const call of [...this.pending.values()]) {
      if (call.channel !== endpoint.id) continue;
      this.pending.delete(call.id);
      call.reject(error);
    }
  }

  // ---- sending ----

  /** @internal Sends a frame now (control frames and answers), with the next id; answers the id. */
  sendFrame(channel: number, kind: Header_Kind, answers: number, body: OutgoingBody | null, method?: MethodRef): number {
    if (this.endError !== null && kind !== Header_Kind.END) {
      this.discard(body);
      return 0;
    }
    const id = this.nextId;
    this.framed.sendNow(this.frame(channel, kind, answers, body, method));
    return id;
  }

  /** @internal Sends a small control frame (a release) with the next frame written, or soon after. */
  sendSoon(channel: number, kind: Header_Kind, answers: number): void {
    if (this.endError === null) this.framed.sendSoon(this.frame(channel, kind, answers, null));
  }

  /** A frame with the next id. A placed body goes as its handle, and is the peer's from then on. */
  frame(channel: number, kind: Header_Kind, answers: number, body: OutgoingBody | null, method?: MethodRef): Uint8Array {
    const id = this.nextId++;
    const interfaceId = method?.interfaceId;
    const methodId = method?.methodId;
    if (body === null || body instanceof Uint8Array) return encodeFrame({ token: this.token, channel, id, answers, kind, interfaceId, methodId }, body);
    if (this.zeroCopyPool === null || !this.peerTakesPlaced) {
      // Only a body another session placed gets here: this session places none for such a peer (encodeBody).
      throw new TypeError("a placed body for a peer that cannot map this side's zero-copy pool: send only bodies this session's encodeBody made");
    }
    this.zeroCopyPool.sent(id, body);
    return encodeFrame({ token: this.token, channel, id, answers, kind, interfaceId, methodId, placed: true }, body.handle);
  }

  /**
   * Encodes an outgoing body: placed in this side's zero-copy pool when the peer takes placed messages and
   * the message is large enough, else as bytes.
   */
  encodeBody(encode: () => Uint8Array): OutgoingBody {
    return this.zeroCopyPool !== null && this.peerTakesPlaced && this.endError === null ? this.zeroCopyPool.place(encode) : encode();
  }

  /** @internal Frees a placed body that will not be sent. */
  discard(body: OutgoingBody | null): void {
    if (body !== null && !(body instanceof Uint8Array)) this.zeroCopyPool?.discard(body);
  }

  /** The length a frame carrying `body` has on the wire (what the peer's frame limit counts). */
  private frameLength(body: OutgoingBody): number {
    return HEADER_BYTES + (body instanceof Uint8Array ? body.length : body.handle.length);
  }

  /** The error for a frame larger than the peer reads, or null. */
  private tooLarge(length: number): MessageTooLargeError | null {
    if (length <= this.peerMaxFrameBytes) return null;
    return new MessageTooLargeError(`a message of ${length} bytes is larger than the peer reads (${this.peerMaxFrameBytes} bytes)`);
  }

  /**
   * Why a request or one-way message cannot be sent, found before its frame takes an id (an id taken and
   * never sent would break the numbering the peer checks): it is larger than the peer reads, or it would
   * wait when its caller asked not to. The body is freed then.
   */
  private refusal(body: OutgoingBody, wait: boolean | undefined): Error | null {
    const length = this.frameLength(body);
    let error: Error | null = this.tooLarge(length);
    if (error === null && wait === false && this.framed.wouldWait(length)) {
      error = new BackpressureError(`${this.framed.socket.writableLength} bytes are already queued for a peer that is not reading`);
    }
    if (error !== null) this.discard(body);
    return error;
  }

  /** @internal Sends a request and resolves to `decode` of its answer. */
  sendRequest<T>(endpoint: Channel, kind: Header_Kind, method: MethodRef | undefined, body: OutgoingBody, decode: (answer: Body) => T, options?: CallOptions): Promise<T> {
    if (this.endError !== null) {
      this.discard(body);
      return Promise.reject(this.endError);
    }
    if (options?.signal?.aborted) {
      this.discard(body);
      return Promise.reject(new CancelledError("the call was cancelled before it was sent"));
    }
    const refused = this.refusal(body, options?.wait);
    if (refused !== null) return Promise.reject(refused);
    const id = this.nextId;
    const bytes = this.frame(endpoint.id, kind, 0, body, method);
    return new Promise<T>((resolve, reject) => {
      const call = new PendingCall(this, endpoint.id, id, resolve as (value: unknown) => void, reject, decode);
      this.pending.set(id, call);
      if (options !== undefined) call.watch(options);
      void this.framed.send(bytes);
    });
  }

  /** @internal A call given up on (timeout, cancel): forget it and tell the peer. */
  giveUp(call: PendingCall, error: Error): void {
    if (this.pending.get(call.id) !== call) return;
    this.pending.delete(call.id);
    this.sendFrame(call.channel, Header_Kind.CANCEL, call.id, null);
    call.reject(error);
  }

  /** @internal */
  async sendOneWay(endpoint: Channel, method: MethodRef, body: OutgoingBody, wait: boolean): Promise<void> {
    if (this.endError !== null) {
      this.discard(body);
      throw this.endError;
    }
    const refused = this.refusal(body, wait);
    if (refused !== null) throw refused;
    const queued = this.framed.send(this.frame(endpoint.id, Header_Kind.ONE_WAY, 0, body, method));
    if (queued !== null) await queued;
  }

  // ---- ending ----

  /** Ends the session: tells the peer, flushes, closes the socket. Resolves when the socket is closed. */
  async close(reason = "closed by the application"): Promise<void> {
    if (this.endError === null) {
      this.sendFrame(0, Header_Kind.END, 0, End.encode({ reason }));
      this.end("closed-locally", `the session was closed here: ${reason}`);
      this.framed.socket.end();
    }
    if (!this.framed.closed) await new Promise<void>((resolve) => this.framed.socket.once("close", () => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Ends the session because of something the peer did (or did not do), and drops the connection. */
  fail(cause: EndCause, message: string): void {
    this.end(cause, message);
    this.framed.socket.destroy();
  }

  /** Reports the end, once; rejects everything pending. */
  end(cause: EndCause, message: string): void {
    if (this.endError !== null) return;
    const error = new SessionEndedError(cause, message);
    this.endError = error;
    if (this.keepAlive !== null) clearInterval(this.keepAlive);
    for (const r of this.running.values()) r.abort(error);
    this.running.clear();
    for (const endpoint of this.endpoints.values()) endpoint.markClosed();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(error);
    this.zeroCopyPool?.close();
    this.descriptors?.close();
    for (const listener of this.endListeners) listener(error);
    this.endListeners = [];
  }

  // ---- receiving ----

  private receive(frame: Frame): void {
    // Frames read together with the peer's end (or after this side ended) are not for anyone: no handler
    // may start once the session is over.
    if (this.endError !== null) return;
    const h = frame.header;
    this.heard = true;
    if (h.id !== this.expectedId) {
      this.fail("protocol-violation", `frame id ${h.id} where ${this.expectedId} was due`);
      return;
    }
    this.expectedId++;
    if (this.token === 0n) {
      if (this.loginHandler === null) this.fail("protocol-violation", "a frame arrived before log-in");
      else this.loginHandler(frame);
      return;
    }
    if (h.token !== this.token) {
      this.fail("protocol-violation", "a frame carried the wrong session token");
      return;
    }
    if (h.placed && h.kind !== Header_Kind.REQUEST && h.kind !== Header_Kind.RESPONSE && h.kind !== Header_Kind.ONE_WAY) {
      this.fail("protocol-violation", `a frame of kind ${h.kind as number} marked placed`);
      return;
    }
    switch (h.kind) {
      case Header_Kind.RESPONSE: {
        const body = this.bodyOf(frame);
        if (body !== null) this.settle(h.answers, h.kind, body);
        return;
      }
      case Header_Kind.ERROR:
      case Header_Kind.CHANNEL_OPENED:
        this.settle(h.answers, h.kind, frame.body);
        return;
      case Header_Kind.PING:
        // A peer that does not read gets no pong queued behind what it has not read: those frames reach it
        // first and tell it this side lives (a pong only says that). So pings cannot grow the queue.
        if (!this.framed.congested) this.sendFrame(0, Header_Kind.PONG, h.id, null);
        return;
      case Header_Kind.PONG:
        return;
      case Header_Kind.END:
        this.endByPeer(frame.body);
        return;
      case Header_Kind.JOINED: {
        const joined = this.onJoined;
        this.onJoined = null;
        if (joined === null || this.role !== "client") this.fail("protocol-violation", "a joined frame nobody waited for");
        else joined();
        return;
      }
      case Header_Kind.POOL_EXTENT: {
        if (this.zeroCopyPool === null || this.descriptors === null) {
          this.fail("protocol-violation", "the peer announced a zero-copy pool extent, but this side takes no placed messages");
          return;
        }
        try {
          const [fd] = this.descriptors.receive(1);
          this.zeroCopyPool.mapPeerExtent(frame.body, fd);
        } catch (err) {
          this.fail("protocol-violation", `the peer's zero-copy pool extent cannot be mapped: ${(err as Error).message}`);
          return;
        }
        return;
      }
      case Header_Kind.RELEASE:
        if (this.zeroCopyPool?.released(h.answers) !== true) this.fail("protocol-violation", `the peer released frame ${h.answers}, which placed nothing it holds`);
        return;
      case Header_Kind.OPEN_CHANNEL:
        this.acceptChannel(h.channel, h.id, frame.borrowed ? new Uint8Array(frame.body) : frame.body);
        return;
      default:
        break;
    }
    const endpoint = h.channel === 0 ? this.main : this.endpoints.get(h.channel);
    if (endpoint === undefined) {
      // Frames already on their way when this side closed the channel are dropped (their placed messages released).
      if (!this.closedChannels.has(h.channel)) this.fail("protocol-violation", `a frame for channel ${h.channel}, which is not open`);
      else if (h.placed) this.openPlaced(h.id, frame.body, false)?.release();
      return;
    }
    switch (h.kind) {
      // Handlers may keep a body past this call (async handlers do): a borrowed one is copied for them.
      case Header_Kind.REQUEST: {
        const body = this.bodyOf(frame);
        if (body !== null) this.answer(endpoint, h.id, h.interfaceId, h.methodId, body);
        return;
      }
      case Header_Kind.ONE_WAY: {
        const body = this.bodyOf(frame);
        if (body !== null) this.handleOneWay(endpoint, h.id, h.interfaceId, h.methodId, body);
        return;
      }
      case Header_Kind.CANCEL:
        this.running.get(h.answers)?.abort(new CancelledError("the caller cancelled the request"));
        return;
      case Header_Kind.SIGNAL: {
        let count: number;
        try {
          count = Signal.decode(frame.body).count;
        } catch {
          this.fail("protocol-violation", "a signal with a malformed body");
          return;
        }
        endpoint.signalHandler?.(h.interfaceId, h.methodId, Math.max(1, count));
        return;
      }
      case Header_Kind.CLOSE_CHANNEL:
        if (endpoint.id === 0) {
          this.fail("protocol-violation", "the peer tried to close the main channel");
          return;
        }
        this.forget(endpoint);
        return;
      default:
        this.fail("protocol-violation", `a frame of unknown kind ${h.kind as number}`);
    }
  }

  /**
   * The body of a request, response or one-way frame as a handler may keep it: a copy of a borrowed one,
   * or the placed message its handle names. Null when the handle is bad: the session is then over.
   */
  private bodyOf(frame: Frame): Body | null {
    if (frame.header.placed) return this.openPlaced(frame.header.id, frame.body, frame.header.kind === Header_Kind.RESPONSE);
    return frame.borrowed ? new Uint8Array(frame.body) : frame.body;
  }

  private openPlaced(id: number, handle: Uint8Array, collectable: boolean): PlacedMessage | null {
    if (this.zeroCopyPool === null) {
      this.fail("protocol-violation", "the peer sent a placed message, but this side takes none");
      return null;
    }
    try {
      return this.zeroCopyPool.open(id, handle, collectable);
    } catch (err) {
      this.fail("protocol-violation", `the peer sent a placed message with a bad handle: ${(err as Error).message}`);
      return null;
    }
  }

  private endByPeer(body: Uint8Array): void {
    let reason = "";
    try {
      reason = End.decode(body).reason;
    } catch {
      // The peer is leaving anyway: a garbled reason does not matter.
    }
    this.end("closed-by-peer", `the peer ended the session${reason === "" ? "" : `: ${reason}`}`);
    this.framed.socket.end();
  }

  private acceptChannel(id: number, frameId: number, metadata: Uint8Array): void {
    const reject = (message: string): void => {
      this.sendAnswer(id, Header_Kind.ERROR, frameId, Failure.encode({ kind: Failure_Kind.REJECTED, message }));
    };
    // The peer's channel ids have the other parity: anything else (or an id in use) breaks the protocol.
    const peerParity = this.role === "client" ? 0 : 1;
    if (id === 0 || id % 2 !== peerParity || this.endpoints.has(id) || this.closedChannels.has(id)) {
      this.fail("protocol-violation", `the peer opened channel ${id}, which it may not`);
      return;
    }
    if (this.passiveOpen === null) {
      reject("the peer accepts no channels");
      return;
    }
    // Each channel costs this side an endpoint and its handlers: the peer's are capped (those being opened count).
    let open = 0;
    for (const endpoint of this.endpoints.values()) if (endpoint.id % 2 === peerParity) open++;
    if (open >= this.options.maxChannels) {
      reject(`the peer has ${open} channels open, the most this side allows (maxChannels)`);
      return;
    }
    const endpoint = new Channel(this, id, metadata);
    this.endpoints.set(id, endpoint);
    const handler = this.passiveOpen;
    // The handler may take its time (setting the channel up); frames for the channel wait in its endpoint.
    Promise.resolve()
      .then(() => handler(endpoint, metadata))
      .then(
        (accepted) => accepted !== false,
        () => false,
      )
      .then((accepted) => {
        if (this.endError !== null) return;
        if (accepted) {
          this.sendAnswer(id, Header_Kind.CHANNEL_OPENED, frameId, null);
          return;
        }
        this.forget(endpoint);
        reject("the peer refused the channel");
      });
  }

  private settle(id: number, kind: Header_Kind, body: Body): void {
    const p = this.pending.get(id);
    if (p !== undefined) this.pending.delete(id);
    if (p === undefined) {
      if (body instanceof PlacedMessage) body.release();
      // Answers to requests given up on (timeout, cancel) are expected now and then: report, do not fail.
      this.droppedAnswers++;
      this.onDroppedAnswer?.(id, kind);
      return;
    }
    if (kind !== Header_Kind.ERROR) {
      p.resolve(body);
      return;
    }
    let failure: Failure.Plain;
    try {
      failure = Failure.decode(body as Uint8Array);
    } catch {
      p.reject(new RemoteError("malformed", "", "the peer sent a malformed error answer"));
      return;
    }
    p.reject(remoteError(failure));
  }

  private answer(endpoint: Channel, id: number, interfaceId: bigint, methodId: number, body: Body): void {
    const running = new Running(this, endpoint, id);
    const handler = endpoint.requestHandler;
    // A placed request is the handler's until it settles: then its memory goes back to the peer.
    const placed = body instanceof PlacedMessage ? body : null;
    if (handler === null) {
      placed?.release();
      running.failWith({ kind: Failure_Kind.UNKNOWN_METHOD, message: "this side serves no requests on this channel" });
      return;
    }
    // Each running request holds a handler's state here: a peer may not start them without bound.
    if (this.running.size >= this.options.maxRunningRequests) {
      placed?.release();
      running.failWith({ kind: Failure_Kind.REJECTED, message: `overloaded: ${this.running.size} requests of this session are running, the most this side allows (maxRunningRequests)` });
      return;
    }
    // A handler that answers synchronously is answered in the same turn (no promise hops on the hot path).
    let result: OutgoingBody | Promise<OutgoingBody>;
    try {
      result = handler(interfaceId, methodId, body, running);
    } catch (err) {
      placed?.release();
      running.failed(err);
      return;
    }
    if (!(result instanceof Promise)) {
      placed?.release();
      running.done(result);
      return;
    }
    // Only a request still running can be cancelled: registered here, after a synchronous answer could not be.
    this.running.set(id, running);
    result.then(
      (r) => {
        placed?.release();
        running.done(r);
      },
      (e: unknown) => {
        placed?.release();
        running.failed(e);
      },
    );
  }

  /**
   * A one-way message to its handler, which gets a context like a request's: tracked while its promise is
   * pending, so that the session's end (or the channel's close) fires its signal.
   */
  private handleOneWay(endpoint: Channel, id: number, interfaceId: bigint, methodId: number, body: Body): void {
    const placed = body instanceof PlacedMessage ? body : null;
    const handler = endpoint.oneWayHandler;
    if (handler === null || this.running.size >= this.options.maxRunningRequests) {
      if (handler !== null) this.droppedOneWays++;
      placed?.release();
      return;
    }
    const running = new Running(this, endpoint, id);
    let settled: unknown;
    try {
      settled = handler(interfaceId, methodId, body, endpoint, running);
    } catch {
      settled = undefined;
    }
    if (!(settled instanceof Promise)) {
      placed?.release();
      return;
    }
    this.running.set(id, running);
    const finish = (): void => {
      placed?.release();
      if (this.running.get(id) === running) this.running.delete(id);
    };
    settled.then(finish, finish);
  }

  /** Sends an answer to the peer (see `FramedSocket.sendAnswer`: past the queue limit it waits, and the peer is not read). */
  private sendAnswer(channel: number, kind: Header_Kind, answers: number, body: OutgoingBody | null): void {
    if (this.endError !== null) {
      this.discard(body);
      return;
    }
    this.framed.sendAnswer(this.frame(channel, kind, answers, body));
  }

  /** @internal Sends a request's answer, once, unless the session has ended. */
  reply(running: Running, kind: Header_Kind, body: OutgoingBody): void {
    if (running.replied || this.endError !== null || running.channel.closed) {
      this.discard(body);
      return;
    }
    running.replied = true;
    this.running.delete(running.id);
    // An answer the caller would refuse to read becomes an error it can read.
    const tooLarge = this.tooLarge(this.frameLength(body));
    if (tooLarge !== null) {
      this.discard(body);
      kind = Header_Kind.ERROR;
      body = Failure.encode({ kind: Failure_Kind.INTERNAL, message: `the answer could not be sent: ${tooLarge.message}` });
    }
    // Past the queue limit the answer waits its turn, and the peer is not read until it leaves.
    this.sendAnswer(running.channel.id, kind, running.id, body);
  }
}

/**
 * A request being answered, and its handler's context. Its AbortSignal is made only if the handler reads
 * it: most never do, and an AbortController is the costliest object on the answering path.
 */
class Running implements RequestContext {
  private controller: AbortController | null = null;
  private reason: unknown = undefined;
  aborted = false;
  replied = false;

  constructor(
    readonly session: Session,
    readonly channel: Channel,
    readonly id: number,
  ) {}

  get remote(): unknown {
    return this.channel.remote;
  }

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }

  failWith(failure: Failure.Init): void {
    this.session.reply(this, Header_Kind.ERROR, Failure.encode(failure));
  }

  done(result: OutgoingBody): void {
    if (this.aborted) {
      this.session.discard(result);
      this.failWith({ kind: Failure_Kind.CANCELLED, message: "the request was cancelled" });
    } else this.session.reply(this, Header_Kind.RESPONSE, result);
  }

  failed(err: unknown): void {
    this.failWith(handlerFailure(err, this.aborted));
  }
}

/**
 * What answers a request whose handler threw `err`: a `RequestFailure`'s failure as it is; else
 * "cancelled" if the request was, else "internal", with neither stack nor message (they may tell the peer
 * about this side's insides). Every carrier answers alike.
 */
export function handlerFailure(err: unknown, cancelled: boolean): Failure.Init {
  if (err instanceof RequestFailure) return err.failure;
  if (cancelled) return { kind: Failure_Kind.CANCELLED, message: "the request was cancelled" };
  return { kind: Failure_Kind.INTERNAL, message: `the handler failed (${err instanceof Error ? err.name : typeof err})` };
}

const REMOTE_KINDS: Record<number, RemoteError["kind"]> = {
  [Failure_Kind.APPLICATION]: "application",
  [Failure_Kind.INTERNAL]: "internal",
  [Failure_Kind.UNKNOWN_METHOD]: "unknown-method",
  [Failure_Kind.MALFORMED]: "malformed",
  [Failure_Kind.CANCELLED]: "cancelled",
  [Failure_Kind.REJECTED]: "rejected",
};

/** An error answer as the caller receives it. */
export function remoteError(f: Failure.Plain): RemoteError {
  return new RemoteError(REMOTE_KINDS[f.kind] ?? "internal", f.code, f.message, f.data.length === 0 ? null : f.data);
}
