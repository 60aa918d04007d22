/**
 * What generated session stubs stand on. For each service (a `$session` interface, or an interface a
 * channel arm names) the generator emits a client class (one line per method), a remote class (the
 * server's view of one client: it submits that client's signals), a handler interface, and a definition
 * made by `defineService`; everything that is not a type or a name lives here, once.
 */
import { EventEmitter } from "node:events";
import type { ConnectOptions } from "../session/client.js";
import { connect } from "../session/client.js";
import { listen, type Server, type ServerOptions } from "../session/server.js";
import { type CallOptions, type Capability, type PeerCredentials, type RequestContext, Session } from "../session/session.js";
import { Client, methodTable, serve, type Implementation, type MethodDefinition, type ServiceDefinition, type StructCodec } from "../rpc/service.js";
import { signalsOf } from "../rpc/signals.js";
import { closeAll, descriptorsFor } from "../transport/descriptor-channel.js";
import { createRegion, mapRegion, type RegionSpec, regionKey } from "../shm/region.js";
import { SharedBuffer } from "../shm/shared-buffer.js";
import { Doorbell } from "../shm/doorbell.js";
import { PacketSink, PacketSource, packetStreamLayout, type PacketStreamConfig, type StreamRegion } from "../shm/packet-stream.js";
import { allocateBlock, type PoolBlock, zeroCopy, type ZeroCopyOptions } from "../shm/messages.js";
import { DescriptorCodec, StreamSink, StreamSource } from "./streams.js";
import type { Region, Region_Purpose } from "../protocol/protocol.capnp.js";
import { NoSessionError, SharedMemoryUnavailableError } from "../errors.js";

/** The error for shared memory `what` of a session that has none because an end cannot share it, or null. */
function unavailable(session: Session, service: StubDefinition, what: string): SharedMemoryUnavailableError | null {
  const why = session.noSharedMemory;
  if (why === null) return null;
  return new SharedMemoryUnavailableError(why.side, `this ${service.name} session has no ${what}: ${why.reason}; its calls, signals and channels work over the socket`);
}

/** What a handler's method gets besides its parameters: the session, the channel, the remote and an AbortSignal. */
export type ServiceContext<R> = RequestContext & { remote: R };

/**
 * What a handler's signal method gets besides the count: a call's context without the AbortSignal (a
 * signal delivery is not cancelled). Its `session` throws `NoSessionError` where the capability has none.
 */
export type SignalContext<R> = Omit<ServiceContext<R>, "signal">;

/** Opens a channel of `service`'s metadata union `arm` on the session of `channel` (rejects where it has none). */
function openOn<C>(channel: Capability, service: StubDefinition, arm: string, metadata: unknown, options: OpenOptions): Promise<C> {
  let session: Session;
  try {
    session = sessionOf(channel, "opening a channel");
  } catch (err) {
    return Promise.reject(err);
  }
  return openTyped<C>(session, service, arm, metadata, options);
}

/** A session's main channel: it closes with its session, and it alone answers channel opens. */
const isMainChannel = (channel: Capability): channel is Capability & { session: Session } => channel.session !== null && channel.id === 0;

/** The session a capability belongs to; `NoSessionError` saying what needed it where there is none. */
function sessionOf(channel: Capability, what: string): Session {
  if (channel.session === null) throw new NoSessionError(`${what} needs a session of ipcgen's local protocol; this capability is carried otherwise (in-process)`);
  return channel.session;
}

/** One arm of a session's channel metadata union. */
export interface ChannelArm {
  /** The service the channel speaks (a function: services may refer to each other in any order). */
  service: () => StubDefinition;
  /** Whether the open request carries parameters (`ChannelWith`). */
  params: boolean;
}

export interface ChannelsDefinition {
  /** The metadata union's codec. */
  metadata: StructCodec<{ which: string | number }, unknown>;
  arms: Readonly<Record<string, ChannelArm>>;
}

/** A passive-open handler: gets the open request's parameters (when the arm has some) and the remote of the new channel. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- arms differ in their types; generated code types them
type PassiveOpen = (...args: any[]) => unknown;

export interface StubDefinition extends ServiceDefinition {
  channels?: ChannelsDefinition;
  /** `$sharedBuffer`: bytes of the buffer each session shares. */
  sharedBuffer?: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each service's own classes
  Client: new (target: Session | Capability, options?: any) => ServiceClient<any>;
  Remote: new (channel: Capability) => ServiceRemote;
}

export interface ClientOptions<CH = Record<string, PassiveOpen>> {
  /** The client owns its session: closing the client closes the session. */
  ownsSession?: boolean;
  /** Handlers of channels the server opens toward this client, per metadata arm. */
  channels?: CH;
}

export interface OpenOptions {
  /** Fail with `TimeoutError` if the peer has not accepted within this long. */
  timeoutMs?: number;
}

/** A signal's waiting iterators: each adds up the deliveries it has not yet yielded. */
interface SignalQueue {
  pending: number;
  wake: ((result: IteratorResult<number>) => void) | null;
  fail: ((error: unknown) => void) | null;
  done: boolean;
}

async function openTyped<C>(session: Session, service: StubDefinition, arm: string, metadata: unknown, options: OpenOptions): Promise<C> {
  const channels = service.channels!;
  const channel = await session.openChannel(channels.metadata.encode(metadata), options);
  return new (channels.arms[arm].service().Client)(channel) as C;
}

/** Takes the channels the peer opens on `session`, typed by `service`'s metadata union, with one handler per arm. */
function acceptChannels(session: Session, service: StubDefinition, handlers: Readonly<Record<string, PassiveOpen | undefined>>): void {
  const channels = service.channels!;
  session.onChannel(async (channel, bytes) => {
    let metadata: { which: string | number } & Record<string, unknown>;
    try {
      metadata = channels.metadata.decode(bytes) as typeof metadata;
    } catch {
      return false; // malformed metadata: the opener gets a rejection, the session goes on
    }
    if (typeof metadata.which !== "string") return false; // an arm this build does not know
    const arm = channels.arms[metadata.which];
    const open = handlers[metadata.which];
    if (arm === undefined || open === undefined) return false;
    const target = arm.service();
    const remote = new target.Remote(channel);
    const handler = arm.params ? await open((metadata[metadata.which] as { params: unknown }).params, remote) : await open(remote);
    if (handler === false || handler === null || handler === undefined) return false;
    bindHandler(channel, target, remote, handler as object);
    return true;
  });
}

/** Answers `service` on `channel` with `handler`: calls, one-way messages, signals to the server, and (on a session's main channel) channel opens. */
function bindHandler(channel: Capability, service: StubDefinition, remote: ServiceRemote, handler: object): void {
  channel.remote = remote;
  serve(channel, service, handler as Implementation);
  const impl = handler as Record<string, unknown>;
  service.methods.forEach((m) => {
    if (m.kind !== "signal" || m.direction !== "toServer") return;
    const method = impl[m.name];
    if (typeof method !== "function") return;
    const context: SignalContext<ServiceRemote> = {
      // Read when asked: a capability without a session throws then, not before.
      get session() {
        return sessionOf(channel, "the signal context's session");
      },
      channel,
      remote,
    };
    signalsOf(channel).on(m, (count) => {
      try {
        void Promise.resolve(method.call(handler, count, context)).catch(() => {});
      } catch {
        // a failing signal handler has nobody to report to: the session goes on
      }
    });
  });
  if (isMainChannel(channel) && service.channels !== undefined) {
    acceptChannels(channel.session, service, (impl.channels ?? {}) as Record<string, PassiveOpen | undefined>);
  }
}

const buffers = new WeakMap<Session, SharedBuffer>();

/** The shared buffer of a session of `service`, made on first use from the region mapped at log-in. */
function sharedBufferOf(session: Session, service: StubDefinition): SharedBuffer {
  let buffer = buffers.get(session);
  if (buffer === undefined) {
    const mapping = session.regions.get(regionKey("sharedBuffer", 0n, 0));
    if (mapping === undefined) throw (service.sharedBuffer !== undefined ? unavailable(session, service, "shared buffer") : null) ?? new TypeError(`${service.name} sessions have no shared buffer`);
    buffers.set(session, (buffer = new SharedBuffer(mapping)));
  }
  return buffer;
}

/** The shared memory a session of `service` gets at log-in: its shared buffer, and a region per packet stream. */
function regionSpecs(service: StubDefinition): RegionSpec[] {
  const specs: RegionSpec[] = service.sharedBuffer === undefined ? [] : [{ purpose: "sharedBuffer", interfaceId: 0n, index: 0, size: service.sharedBuffer }];
  for (const m of service.methods) {
    if (m.stream !== undefined) specs.push({ purpose: "packetStream", interfaceId: m.interfaceId, index: m.methodId, size: packetStreamLayout(m.stream).regionSize });
  }
  return specs;
}

/** The packet stream a region spec is for. */
function streamMethod(service: StubDefinition, spec: RegionSpec): MethodDefinition {
  return methodTable(service).get(spec.interfaceId)![spec.index];
}

type StreamEnd = PacketSource | PacketSink;
/** This side's end of each packet stream of a session, by its method. */
const streams = new WeakMap<Session, Map<MethodDefinition, StreamEnd>>();

/**
 * Sets up the end of packet stream `method` that this side of `session` holds, over its region and its end
 * of the stream's doorbell pair: the server makes them and writes the region's header (before the welcome names it), the
 * client checks it. The source is the client for `toServer` streams, the server for `toClient` ones. A
 * peer breaking the stream's rules ends the session.
 */
function startStream(session: Session, method: MethodDefinition, region: StreamRegion, create: boolean): void {
  const config: PacketStreamConfig = method.stream!;
  const source = (method.direction === "toServer") !== (session.role === "server");
  const options = { onViolation: (error: Error) => session.fail("protocol-violation", `packet stream ${method.name}: ${error.message}`) };
  const end = source
    ? create
      ? PacketSource.create(region, config, options)
      : PacketSource.open(region, config, options)
    : create
      ? PacketSink.create(region, config, options)
      : PacketSink.open(region, config, options);
  let ends = streams.get(session);
  if (ends === undefined) {
    streams.set(session, (ends = new Map()));
    const all = ends;
    void session.closed.then(() => all.forEach((e) => e.close()));
  }
  ends.set(method, end);
}

const typedStreams = new WeakMap<StreamEnd, StreamSource<unknown, unknown> | StreamSink<unknown, unknown>>();

/** This side's end of the packet stream at `index` in `service`'s definition, typed by the descriptor's codec. */
function streamOf(session: Session, service: StubDefinition, index: number): StreamSource<unknown, unknown> | StreamSink<unknown, unknown> {
  const method = service.methods[index] as (typeof service.methods)[number] | undefined;
  const end = method === undefined ? undefined : streams.get(session)?.get(method);
  if (end === undefined) {
    throw (method?.stream !== undefined ? unavailable(session, service, `packet stream ${method.name}`) : null) ?? new TypeError(`${service.name} has no packet stream at ${index}`);
  }
  let typed = typedStreams.get(end);
  if (typed === undefined) {
    const fields = new DescriptorCodec(method!.params, method!.stream!.descriptor.dataWords);
    typed = end instanceof PacketSource ? new StreamSource(end, fields) : new StreamSink(end, fields);
    typedStreams.set(end, typed);
  }
  return typed;
}

/** Region purposes by their ordinal in the protocol (a welcome names no zero-copy pool: pools grow mid-session). */
const PURPOSES = ["sharedBuffer", "packetStream", "zeroCopyPool"] as const;

/**
 * Maps the regions a welcome names, after checking they are exactly the ones `specs` expects, from the
 * descriptors that came for each (the region's memfd; for a packet stream, then the client's end of its
 * doorbell pair).
 * Every descriptor is either kept or closed, also when a check fails. What it throws is the server's doing,
 * and never reaches the application as it is: `connect` refuses the session with a `ConnectError` saying it.
 */
function attachRegions(session: Session, service: StubDefinition, specs: readonly RegionSpec[], regions: readonly Region.Plain[], descriptors: readonly (readonly number[])[]): void {
  if (regions.length === 0 && descriptors.length === 0) {
    // None made: this side cannot map them (it said so), or the server cannot make them. The session runs
    // without; its shared buffer and streams throw SharedMemoryUnavailableError, saying why.
    session.noSharedMemory ??= { side: "peer", reason: "the server made it none (it cannot share memory: it runs without ipcgen's native addon)" };
    return;
  }
  const unused = new Set(descriptors.flat());
  /** Hands a descriptor over to whatever keeps or closes it. */
  const take = (fd: number): number => (unused.delete(fd), fd);
  /** Doorbells adopted for streams not started yet (a started stream closes its own). */
  const streamRegions = new Map<MethodDefinition, StreamRegion>();
  try {
    const offered = new Map<string, { region: Region.Plain; fds: readonly number[] }>();
    regions.forEach((r, i) => {
      const purpose = r.purpose < 2 ? PURPOSES[r.purpose as 0 | 1] : undefined;
      if (purpose === undefined || offered.has(regionKey(purpose, r.interfaceId, r.index))) throw new Error("the server offered unknown or duplicate regions");
      offered.set(regionKey(purpose, r.interfaceId, r.index), { region: r, fds: descriptors[i] ?? [] });
    });
    for (const spec of specs) {
      const key = regionKey(spec.purpose, spec.interfaceId, spec.index);
      const found = offered.get(key);
      if (found === undefined) throw new Error(`the server offered no ${spec.purpose} ${spec.index}`);
      const { region, fds } = found;
      if (region.size !== BigInt(spec.size)) throw new Error(`the server's ${spec.purpose} ${spec.index} has ${region.size} bytes, not ${spec.size}`);
      const expected = descriptorsFor(region.purpose);
      if (fds.length !== expected) throw new Error(`the server passed ${fds.length} descriptors for its ${spec.purpose} ${spec.index}, not ${expected}`);
      const mapping = mapRegion(take(fds[0]), spec.size);
      session.regions.set(key, mapping);
      if (spec.purpose === "packetStream") streamRegions.set(streamMethod(service, spec), { mapping, bell: Doorbell.adopt(take(fds[1])) });
      offered.delete(key);
    }
    if (offered.size > 0) throw new Error(`the server offered regions this client does not know: ${[...offered.keys()].join(", ")}`);
    for (const [method, region] of [...streamRegions]) {
      streamRegions.delete(method);
      startStream(session, method, region, false);
    }
  } catch (err) {
    for (const region of streamRegions.values()) region.bell.close();
    throw err;
  } finally {
    closeAll([...unused]);
  }
}

/**
 * Makes the regions of each new session of a server: sealed memfds and, for packet streams, a doorbell
 * pair each. The server's stream keeps one end; the memfds' descriptors and the other ends are closed
 * once passed to the client (the mappings stay), or when the session ends before that.
 */
function regionMaker(service: StubDefinition, specs: readonly RegionSpec[]): NonNullable<ServerOptions["attach"]> {
  return (session) => {
    const made: { spec: RegionSpec; fds: number[] }[] = [];
    const memfds: number[] = [];
    /** The client's ends of the doorbell pairs: this side's copies, closed with the memfds. */
    const passed: Doorbell[] = [];
    const closePassed = (): void => {
      closeAll(memfds);
      for (const bell of passed) bell.close();
    };
    try {
      for (const spec of specs) {
        const { mapping, fd } = createRegion(spec.size);
        memfds.push(fd);
        session.regions.set(regionKey(spec.purpose, spec.interfaceId, spec.index), mapping);
        if (spec.purpose !== "packetStream") {
          made.push({ spec, fds: [fd] });
          continue;
        }
        const [kept, theirs] = Doorbell.pair();
        passed.push(theirs);
        startStream(session, streamMethod(service, spec), { mapping, bell: kept }, true);
        made.push({ spec, fds: [fd, theirs.descriptor] });
      }
    } catch (err) {
      closePassed();
      // Streams already started close their ends of the doorbells: the session will not start.
      streams.get(session)?.forEach((end) => end.close());
      throw err;
    }
    return {
      regions: made.map(({ spec }) => ({ size: BigInt(spec.size), purpose: PURPOSES.indexOf(spec.purpose) as Region_Purpose, interfaceId: spec.interfaceId, index: spec.index })),
      descriptors: made.map(({ fds }) => fds),
      release: closePassed,
    };
  };
}

/**
 * The base of generated clients: calls, one-way messages and signals to the server on one channel; signals
 * from the server as events (`client.on("posted", (count) => ...)`) and as async iterators; typed channel opens.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- EventEmitter's own constraint
export class ServiceClient<E extends Record<keyof E, any[]> = Record<never, never>> extends EventEmitter<E> implements AsyncDisposable {
  readonly channel: Capability;
  readonly #rpc: Client;
  readonly #ownsSession: boolean;
  readonly #subscribed = new Set<number>();
  readonly #queues = new Map<number, Set<SignalQueue>>();

  constructor(
    target: Session | Capability,
    readonly service: StubDefinition,
    options: ClientOptions<unknown> = {},
  ) {
    super();
    this.channel = target instanceof Session ? target.main : target;
    this.#rpc = new Client(this.channel, service);
    this.#ownsSession = options.ownsSession ?? false;
    // Signals are handed out only once someone listens: until then they wait, coalesced, in the channel's Signals.
    signalsOf(this.channel);
    (this as EventEmitter).on("newListener", (name: string | symbol) => {
      const index = service.methods.findIndex((m) => m.name === name && m.kind === "signal");
      if (index >= 0) this.#subscribe(index);
    });
    if (options.channels !== undefined && service.channels !== undefined && isMainChannel(this.channel)) {
      acceptChannels(this.session, service, options.channels as Record<string, PassiveOpen | undefined>);
    }
    void this.channel.whenClosed().then(() => {
      for (const queues of this.#queues.values()) for (const q of queues) this.#finish(q);
    });
  }

  /** The session this client's channel belongs to (`NoSessionError` for a capability carried otherwise). */
  get session(): Session {
    return sessionOf(this.channel, "`session`");
  }

  /** The session's shared buffer (`$sharedBuffer`); generated clients of services with one expose it as `buffer`. */
  protected get _buffer(): SharedBuffer {
    return sharedBufferOf(sessionOf(this.channel, "the shared buffer"), this.service);
  }

  /** This side's end of the packet stream at `index` in the service's definition (generated clients expose each by the method's name). */
  protected _stream(index: number): StreamSource<unknown, unknown> | StreamSink<unknown, unknown> {
    return streamOf(sessionOf(this.channel, "a packet stream"), this.service, index);
  }

  /**
   * A block of the session's zero-copy pool to fill and send as a Data value without a copy (see
   * `PoolBlock`): sending hands it to the server until the server is done with that message.
   */
  allocate(size: number): PoolBlock {
    return allocateBlock(sessionOf(this.channel, "a zero-copy block"), size);
  }

  /** Whether large messages go through shared memory (both sides can map it, and neither turned it off). */
  get zeroCopy(): boolean {
    return this.channel.session?.zeroCopy ?? false;
  }

  /** Resolves when this client's channel closes, from either side, or its session ends (`session.closed` says why). */
  get closed(): Promise<void> {
    return this.channel.whenClosed();
  }

  /** Calls the method at `index` in the service's definition. */
  protected _call(index: number, params: unknown, options?: CallOptions): Promise<unknown> {
    return this.#rpc.callMethod(index, params, options);
  }

  /** Sends the method at `index` in the service's definition one-way. */
  protected _send(index: number, params: unknown): Promise<void> {
    return this.#rpc.sendMethod(index, params);
  }

  /** Submits the signal at `index` in the service's definition to the server. */
  protected _submit(index: number): void {
    signalsOf(this.channel).submit(this.service.methods[index]);
  }

  /** Opens a channel of the session's metadata union `arm`, answered by the server's handler for that arm. */
  protected _open<C>(arm: string, metadata: unknown, options: OpenOptions = {}): Promise<C> {
    return openOn<C>(this.channel, this.service, arm, metadata, options);
  }

  /**
   * The deliveries of the signal at `index` in the service's definition: each value is how many submits it stands for (deliveries that arrive
   * while the loop body runs add up). Ends when the session ends; rejects with the reason when `signal` aborts.
   */
  protected _watch(index: number, options: { signal?: AbortSignal } = {}): AsyncIterableIterator<number> {
    const queue: SignalQueue = { pending: 0, wake: null, fail: null, done: this.channel.closed };
    let queues = this.#queues.get(index);
    if (queues === undefined) this.#queues.set(index, (queues = new Set()));
    queues.add(queue);
    this.#subscribe(index);
    const abort = (): void => {
      const fail = queue.fail;
      queue.wake = queue.fail = null;
      this.#finish(queue);
      fail?.(options.signal!.reason);
    };
    options.signal?.addEventListener("abort", abort, { once: true });
    const stop = (): void => {
      options.signal?.removeEventListener("abort", abort);
      this.#finish(queue);
    };
    const iterator: AsyncIterableIterator<number> = {
      next: () => {
        if (options.signal?.aborted) {
          stop();
          return Promise.reject(options.signal.reason);
        }
        if (queue.pending > 0) {
          const value = queue.pending;
          queue.pending = 0;
          return Promise.resolve({ value, done: false });
        }
        if (queue.done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          queue.wake = resolve;
          queue.fail = reject;
        });
      },
      return: () => {
        stop();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  #finish(queue: SignalQueue): void {
    queue.done = true;
    for (const queues of this.#queues.values()) queues.delete(queue);
    const wake = queue.wake;
    queue.wake = queue.fail = null;
    wake?.({ value: undefined, done: true });
  }

  #subscribe(index: number): void {
    if (this.#subscribed.has(index)) return;
    this.#subscribed.add(index);
    const signal = this.service.methods[index];
    signalsOf(this.channel).on(signal, (count) => {
      for (const q of this.#queues.get(index) ?? []) {
        if (q.wake !== null) {
          const wake = q.wake;
          q.wake = q.fail = null;
          wake({ value: count, done: false });
        } else {
          q.pending += count;
        }
      }
      (this as EventEmitter).emit(signal.name, count);
    });
  }

  /** Closes the session if this client owns it (it does when `connect` made it), else this channel. */
  async close(): Promise<void> {
    if (this.#ownsSession) await this.session.close();
    else if (!isMainChannel(this.channel)) this.channel.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The base of generated remotes: one client of a service as its server sees it. */
export class ServiceRemote {
  constructor(
    readonly channel: Capability,
    readonly service: StubDefinition,
  ) {}

  /** The session this client's channel belongs to (`NoSessionError` for a capability carried otherwise). */
  get session(): Session {
    return sessionOf(this.channel, "`session`");
  }

  /** The session's shared buffer (`$sharedBuffer`); generated remotes of services with one expose it as `buffer`. */
  protected get _buffer(): SharedBuffer {
    return sharedBufferOf(sessionOf(this.channel, "the shared buffer"), this.service);
  }

  /** This side's end of the packet stream at `index` in the service's definition (generated remotes expose each by the method's name). */
  protected _stream(index: number): StreamSource<unknown, unknown> | StreamSink<unknown, unknown> {
    return streamOf(sessionOf(this.channel, "a packet stream"), this.service, index);
  }

  /** A block of the session's zero-copy pool to fill and return (or send) as a Data value without a copy. */
  allocate(size: number): PoolBlock {
    return allocateBlock(sessionOf(this.channel, "a zero-copy block"), size);
  }

  /** Whether large messages go through shared memory (both sides can map it, and neither turned it off). */
  get zeroCopy(): boolean {
    return this.channel.session?.zeroCopy ?? false;
  }

  /** Resolves when this remote's channel closes, from either side, or its session ends. */
  get closed(): Promise<void> {
    return this.channel.whenClosed();
  }

  /** The client process as the kernel reported it at log-in; null where the server reads no credentials (docs/platforms.md). */
  get credentials(): PeerCredentials | null {
    return this.channel.session?.peer ?? null;
  }

  /** Submits the signal at `index` in the service's definition to the client. */
  protected _submit(index: number): void {
    signalsOf(this.channel).submit(this.service.methods[index]);
  }

  /** Opens a channel toward the client, answered by its handler for `arm` (given to `connect`). */
  protected _open<C>(arm: string, metadata: unknown, options: OpenOptions = {}): Promise<C> {
    return openOn<C>(this.channel, this.service, arm, metadata, options);
  }

  /** Ends the session (for a session's remote) or closes the channel. */
  async close(reason?: string): Promise<void> {
    if (isMainChannel(this.channel)) await this.session.close(reason);
    else this.channel.close();
  }
}

/**
 * Zero-copy messages (runtime/shm/messages.ts): on by default where the native addon is built; `false`
 * sends every message over the socket.
 */
export interface ZeroCopySetting {
  zeroCopy?: ZeroCopyOptions | false;
}

export type ConnectServiceOptions<CH> = Omit<ConnectOptions, "service" | "zeroCopyPool"> &
  ZeroCopySetting & {
    /** Handlers of channels the server opens toward this client, per metadata arm. */
    channels?: CH;
  };

export type ListenServiceOptions<R> = Omit<ServerOptions, "service" | "onSession" | "zeroCopyPool"> &
  ZeroCopySetting & {
    /** Each new session's remote, after its handler is in place. */
    onSession?(remote: R): void;
  };

/** The session option for a `zeroCopy` setting. */
const zeroCopyPoolFor = (setting: ZeroCopyOptions | false | undefined) => (setting === false ? null : zeroCopy(setting));

/** A handler object, or a function making one per session from the session's remote. */
export type HandlerOrFactory<R, H> = H | ((remote: R) => H);

/** A generated service: its definition plus `connect`, `listen` and `serve`. */
export interface Service<C, R, H, CH = never> extends StubDefinition {
  /** Connects to a server of this service on `path` and logs in. */
  connect(path: string, options?: ConnectServiceOptions<CH>): Promise<C>;
  /** Listens on `path`; each session is answered by `handler` (or by what it makes from the session's remote). */
  listen(path: string, handler: HandlerOrFactory<R, H>, options?: ListenServiceOptions<R>): Promise<Server>;
  /** Answers this service on a session's main channel or another channel; returns its remote. */
  serve(target: Session | Capability, handler: HandlerOrFactory<R, H>): R;
}

export function defineService<C, R, H, CH = never>(definition: StubDefinition): Service<C, R, H, CH> {
  const service: Service<C, R, H, CH> = {
    ...definition,
    async connect(path, options = {}) {
      const { channels, zeroCopy: zc, ...rest } = options;
      const specs = regionSpecs(service);
      const attach =
        specs.length === 0
          ? undefined
          : (session: Session, regions: readonly Region.Plain[], descriptors: readonly (readonly number[])[]) => attachRegions(session, service, specs, regions, descriptors);
      const session = await connect(path, { ...rest, service, attach, zeroCopyPool: zeroCopyPoolFor(zc) });
      return new service.Client(session, { ownsSession: true, channels }) as C;
    },
    listen(path, handler, options = {}) {
      const { onSession, zeroCopy: zc, ...rest } = options;
      const specs = regionSpecs(service);
      return listen(path, {
        ...rest,
        service,
        zeroCopyPool: zeroCopyPoolFor(zc),
        attach: specs.length === 0 ? undefined : regionMaker(service, specs),
        onSession(session) {
          let remote: R;
          try {
            remote = service.serve(session, handler);
          } catch (err) {
            void session.close(`the server could not start the session (${err instanceof Error ? err.name : typeof err})`);
            return;
          }
          onSession?.(remote);
        },
      });
    },
    serve(target, handler) {
      const channel = target instanceof Session ? target.main : target;
      const remote = new service.Remote(channel);
      const impl = typeof handler === "function" ? (handler as (remote: R) => H)(remote as R) : handler;
      bindHandler(channel, service, remote, impl as object);
      return remote as R;
    },
  };
  return service;
}

/** An empty struct, framed: the bytes of `() ` parameters and results. */
const EMPTY_STRUCT = new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0, 0xfc, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

/** The codec of what signals carry (nothing): their definitions name it as parameters and results. */
export const emptyStruct: StructCodec<Record<string, never>> = {
  encode: () => EMPTY_STRUCT.slice(),
  decode: () => ({}),
};
