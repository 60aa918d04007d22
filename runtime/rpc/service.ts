/**
 * RPC over a session's main channel, or another channel: a service is a list of methods (runtime/contract.ts),
 * each named on the wire by `interfaceId` and `methodId`. Parameters and results are Cap'n Proto structs,
 * read and written by their generated plain views.
 */
import { Failure_Kind } from "../protocol/protocol.capnp.js";
import { type Body, type CallOptions, type Capability, type OutgoingBody, PlacedMessage, RequestFailure, type RequestContext, Session } from "../session/session.js";
import { builtMessage } from "../codec/capnp-ts.js";
import { DEFAULT_TRAVERSAL_LIMIT_WORDS, MessageDecodeError, type MessageReader, type ReaderOptions } from "../codec/wire.js";
import { IpcgenError, RemoteError } from "../errors.js";
import type { MethodDefinition, MethodKind, ServiceDefinition, SizeLimit } from "../contract.js";

export type { Direction, MethodDefinition, MethodKind, RaisedErrorClass, ServiceDefinition, SizeLimit, StructCodec } from "../contract.js";

/**
 * A call's results as the caller gets them. Disposing of them (`using`, or `[Symbol.dispose]()`) hands a
 * placed answer's memory back to the peer at once, after which its Data values read as empty; results
 * that are not disposed of hand it back when they (and their Data values) are garbage collected.
 */
export type Received<T> = T extends object ? T & Disposable : T;

/** What a body decodes from: its bytes, or a placed message's reader. */
const messageOf = (body: Body): Uint8Array | MessageReader => (body instanceof PlacedMessage ? body.reader : body);

/** Bodies up to this size are read with the default traversal limit (no options object per call). */
const LARGE_BODY_BYTES = 1024 * 1024;

/**
 * The reader options for a body: its own size on top of the default traversal limit (8 Mi words). The
 * limit counts what reading builds (docs/codegen.md): a large message may cost its own size, its values'
 * objects within the default. It stops a message from standing for more than it holds; the frame limit
 * bounds the size. (A placed message's reader has its limit set the same way.)
 */
function limitsOf(body: Body): ReaderOptions | undefined {
  if (body instanceof PlacedMessage || body.length <= LARGE_BODY_BYTES) return undefined;
  return { traversalLimitInWords: DEFAULT_TRAVERSAL_LIMIT_WORDS + Math.ceil(body.length / 8) };
}

/** The dispose of results that hold no placed memory. */
function releaseNothing(): void {}

/** Makes decoded results disposable: releasing `placed` (if any) is what disposing does. */
function received(results: unknown, placed: PlacedMessage | null): unknown {
  if (results === null || typeof results !== "object") {
    placed?.release();
    return results;
  }
  const dispose = placed === null ? releaseNothing : () => placed.release();
  Object.defineProperty(results, Symbol.dispose, { value: dispose, enumerable: false, configurable: true });
  return results;
}

/** The size of a bounded field's value: bytes of a Text (UTF-8) or Data, elements of a List. */
function sizeOf(value: unknown): number {
  if (typeof value === "string") return Buffer.byteLength(value);
  if (value !== null && typeof value === "object" && "length" in value) return Number((value as { length: unknown }).length);
  return 0;
}

/** The first `$maxSize` bound `value` breaks, described; null when it keeps them all. */
export function brokenLimit(value: unknown, limits: readonly SizeLimit[] | undefined): string | null {
  if (limits === undefined || value === null || typeof value !== "object") return null;
  for (const { field, max } of limits) {
    const v = (value as Record<string, unknown>)[field];
    const size = sizeOf(v);
    if (size > max) return `${field} holds ${size} ${typeof v === "string" || v instanceof Uint8Array ? "bytes" : "elements"}, more than its bound of ${max}`;
  }
  return null;
}

/**
 * An error a handler throws on purpose, as the schema declares it: its `errorName` (the error's name in its
 * schema, `"Chat.NotJoined"`) and `data` cross the wire, and the caller's stub rebuilds it as the same
 * generated class (a `RemoteError` of kind "application" where the method does not declare it). Generated
 * error classes extend it; all of them have the code `"ERR_IPCGEN_APPLICATION"` and tell themselves apart
 * by class and `errorName`.
 */
export class ApplicationError extends IpcgenError {
  static readonly code = "ERR_IPCGEN_APPLICATION";
  override readonly code = ApplicationError.code;
  override name = "ApplicationError";
  constructor(
    /** The error's name in its schema: what crosses the wire. */
    readonly errorName: string,
    message: string,
    readonly data: Uint8Array | null = null,
  ) {
    super(message);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- implementations are checked by generated types
export type Implementation = Record<string, (params: any, context: RequestContext) => unknown>;

/**
 * Which kinds of method each kind of frame may invoke (no kind: a hand-written definition's method). A
 * one-way frame naming a declared call is dropped: its results would go nowhere, and work nobody waits
 * for would escape the limits that answers are under (see "Backpressure" in docs/runtime.md).
 */
const CALLS = [undefined, "call"] as const;
const ONE_WAY = [undefined, "oneway"] as const;

/** Answers `service`'s requests on a session's main channel, or another channel, with `impl` (a handler per method name). */
export function serve(target: Session | Capability, service: ServiceDefinition, impl: Implementation): void {
  const channel = target instanceof Session ? target.main : target;
  const session = channel.session;
  const applicationFailure = (err: unknown): never => {
    if (err instanceof ApplicationError) {
      throw new RequestFailure({ kind: Failure_Kind.APPLICATION, code: err.errorName, message: err.message, data: err.data ?? new Uint8Array(0) });
    }
    throw err;
  };
  const methods = methodTable(service);
  // Most calls are to the service's own interface: found without hashing the id.
  const own = methods.get(service.id);
  /** The method the wire names, if the service has it, of one of `kinds`, and `impl` handles it. */
  const methodOf = (interfaceId: bigint, methodId: number, kinds: readonly (MethodKind | undefined)[]): MethodDefinition | undefined => {
    const method = (interfaceId === service.id ? own : methods.get(interfaceId))?.[methodId];
    return method === undefined || !kinds.includes(method.kind) || impl[method.name] === undefined ? undefined : method;
  };
  channel.requestHandler = (interfaceId, methodId, body, context) => {
    const method = methodOf(interfaceId, methodId, CALLS);
    if (method === undefined) {
      throw new RequestFailure({ kind: Failure_Kind.UNKNOWN_METHOD, message: `${service.name} has no method ${methodId} of interface 0x${interfaceId.toString(16)}` });
    }
    const handler = impl[method.name];
    let params: unknown;
    try {
      params = method.params.decode(messageOf(body), limitsOf(body));
    } catch (err) {
      if (err instanceof MessageDecodeError) throw new RequestFailure({ kind: Failure_Kind.MALFORMED, message: `${method.name}: ${err.message}` });
      throw err;
    }
    if (method.paramLimits !== undefined) {
      const broken = brokenLimit(params, method.paramLimits);
      if (broken !== null) throw new RequestFailure({ kind: Failure_Kind.MALFORMED, message: `${method.name}: ${broken}` });
    }
    const encode = (r: unknown): OutgoingBody => encodeBounded(channel, method, r ?? {});
    let results: unknown;
    try {
      results = handler.call(impl, params, context);
    } catch (err) {
      return applicationFailure(err);
    }
    // Synchronous handlers are answered without a promise; async ones when they settle.
    if (results instanceof Promise) return results.then(encode, applicationFailure);
    return encode(results);
  };
  channel.oneWayHandler = (interfaceId, methodId, body, _channel, context) => {
    const method = methodOf(interfaceId, methodId, ONE_WAY);
    // Nothing answers a one-way message: one for no one-way method, a malformed one, or one over its bounds is dropped.
    const drop = (): void => {
      if (session !== null) session.droppedOneWays++;
    };
    if (method === undefined) return drop();
    const handler = impl[method.name];
    let params: unknown;
    try {
      params = method.params.decode(messageOf(body), limitsOf(body));
    } catch {
      return drop();
    }
    if (brokenLimit(params, method.paramLimits) !== null) return drop();
    // Started here, in the turn the frame arrived (never after the session ended); its context's signal
    // fires at the session's end. The session releases a placed message when this settles.
    let result: unknown;
    try {
      result = handler.call(impl, params, context);
    } catch {
      return;
    }
    return result instanceof Promise ? result.catch(() => {}) : result;
  };
}

const tables = new WeakMap<ServiceDefinition, ReadonlyMap<bigint, readonly MethodDefinition[]>>();

/** A service's methods as the wire names them: by `interfaceId`, then `methodId` (made once per service). */
export function methodTable(service: ServiceDefinition): ReadonlyMap<bigint, readonly MethodDefinition[]> {
  let table = tables.get(service);
  if (table === undefined) {
    const byInterface = new Map<bigint, MethodDefinition[]>();
    for (const m of service.methods) {
      let list = byInterface.get(m.interfaceId);
      if (list === undefined) byInterface.set(m.interfaceId, (list = []));
      list[m.methodId] = m;
    }
    tables.set(service, (table = byInterface));
  }
  return table;
}

/** Results over their bounds are the server's mistake: the caller gets an internal error, not the data. */
function encodeBounded(channel: Capability, method: MethodDefinition, results: unknown): OutgoingBody {
  const built = builtMessage(results);
  if (built !== null) return channel.encodeBody(() => built);
  const broken = brokenLimit(results, method.resultLimits);
  if (broken !== null) throw new RequestFailure({ kind: Failure_Kind.INTERNAL, message: `${method.name}: the results broke a bound (${broken})` });
  return channel.encodeBody(() => method.results.encode(results));
}

/** Calls `service`'s methods on a session's main channel, or another channel. */
export class Client {
  private readonly byName: Map<string, number>;
  readonly channel: Capability;

  constructor(
    target: Session | Capability,
    readonly service: ServiceDefinition,
  ) {
    this.channel = target instanceof Session ? target.main : target;
    this.byName = new Map(service.methods.map((m, i) => [m.name, i]));
    this.decoders = service.methods.map((m) => (answer: Body) => {
      const placed = answer instanceof PlacedMessage ? answer : null;
      if (m.voidResults) {
        placed?.release();
        return undefined;
      }
      let results: unknown;
      try {
        results = m.results.decode(messageOf(answer), limitsOf(answer));
        const broken = m.resultLimits === undefined ? null : brokenLimit(results, m.resultLimits);
        if (broken !== null) throw new RemoteError("malformed", "", `${service.name}.${m.name}: the answer broke a bound (${broken})`);
      } catch (err) {
        placed?.release();
        throw err;
      }
      return received(results, placed);
    });
  }

  /** Each method's results decoder, made once: it runs as the answer arrives. */
  private readonly decoders: ((answer: Body) => unknown)[];

  private index(name: string): number {
    const index = this.byName.get(name);
    if (index === undefined) throw new TypeError(`${this.service.name} has no method ${name}`);
    return index;
  }

  call(name: string, params: unknown, options?: CallOptions): Promise<unknown> {
    let index: number;
    try {
      index = this.index(name);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.callMethod(index, params, options);
  }

  /**
   * Calls the method at `index` in the service's definition: checks the parameters' bounds, applies the method's default timeout, and
   * turns the errors it declares into their own classes.
   */
  callMethod(index: number, params: unknown, options?: CallOptions): Promise<unknown> {
    const method = this.service.methods[index];
    let body: OutgoingBody;
    try {
      body = this.encodeParams(method, params);
    } catch (err) {
      return Promise.reject(err);
    }
    if (method.timeoutMs !== undefined && options?.timeoutMs === undefined) options = { ...options, timeoutMs: method.timeoutMs };
    const answer = this.channel.call(method, body, this.decoders[index], options);
    if (method.raises === undefined || method.raises.length === 0) return answer;
    return answer.catch((err: unknown) => {
      if (err instanceof RemoteError && err.kind === "application") {
        const raised = method.raises!.find((e) => e.errorName === err.errorName);
        if (raised !== undefined) throw raised.fromRemote(err.data, err.message);
      }
      throw err;
    });
  }

  async oneWay(name: string, params: unknown): Promise<void> {
    await this.sendMethod(this.index(name), params);
  }

  /** Sends the method at `index` in the service's definition one-way: resolves once it is sent. */
  async sendMethod(index: number, params: unknown): Promise<void> {
    const method = this.service.methods[index];
    // The server drops a one-way frame naming a declared call (see ONE_WAY): say so here instead.
    if (method.kind === "call") throw new TypeError(`${this.service.name}.${method.name} is a call, not a one-way method: use call()`);
    await this.channel.oneWay(method, this.encodeParams(method, params));
  }

  private encodeParams(method: MethodDefinition, params: unknown): OutgoingBody {
    // A message built with the capnp-ts classes goes as it is; its bounds are checked by the receiver.
    const built = builtMessage(params);
    if (built !== null) return this.channel.encodeBody(() => built);
    const broken = brokenLimit(params, method.paramLimits);
    if (broken !== null) throw new RangeError(`${this.service.name}.${method.name}: ${broken}`);
    return this.channel.encodeBody(() => method.params.encode(params));
  }
}
