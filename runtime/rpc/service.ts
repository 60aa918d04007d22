/**
 * RPC over a session's main channel: a service is a list of methods, and a method's number is its
 * position in that list (the schema's method ordinal; inherited interfaces append, so numbers never change).
 * Parameters and results are Cap'n Proto structs, read and written by their generated plain views.
 */
import { Failure_Kind } from "../protocol/protocol.capnp.js";
import type { ServiceIdentity } from "../session/server.js";
import { type CallOptions, type Endpoint, RequestFailure, type RequestContext, Session } from "../session/session.js";
import { MessageDecodeError } from "../codec/wire.js";

/** Reads and writes one struct: what `X.encode` / `X.decode` of generated code provide. */
export interface StructCodec<T, I = T> {
  encode(value: I): Uint8Array;
  decode(bytes: Uint8Array): T;
}

export interface MethodDefinition<P = unknown, R = unknown, PI = P, RI = R> {
  name: string;
  params: StructCodec<P, PI>;
  results: StructCodec<R, RI>;
}

export interface ServiceDefinition extends ServiceIdentity {
  name: string;
  /** By method ordinal. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- methods differ in their types
  methods: readonly MethodDefinition<any, any, any, any>[];
}

/**
 * An error a handler throws on purpose, as the schema declares it: the caller receives a `RemoteError` of
 * kind "application" with this `code` and `data`.
 */
export class ApplicationError extends Error {
  override name = "ApplicationError";
  constructor(
    readonly code: string,
    message: string,
    readonly data: Uint8Array | null = null,
  ) {
    super(message);
  }
}

/** What a method's handler gets besides its parameters: the session's request context. */
export type HandlerContext = RequestContext;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- implementations are checked by generated types
export type Implementation = Record<string, (params: any, context: HandlerContext) => unknown>;

/** The signal of one-way handlers: nobody can cancel what nobody waits for. */
const NEVER = new AbortController().signal;

/** Answers `service`'s requests on a session's main channel, or another channel, with `impl` (a handler per method name). */
export function serve(target: Session | Endpoint, service: ServiceDefinition, impl: Implementation): void {
  const endpoint = target instanceof Session ? target.main : target;
  const session = endpoint.session;
  const applicationFailure = (err: unknown): never => {
    if (err instanceof ApplicationError) {
      throw new RequestFailure({ kind: Failure_Kind.APPLICATION, code: err.code, message: err.message, data: err.data ?? new Uint8Array(0) });
    }
    throw err;
  };
  /** The handler of the method numbered `code`, if the service has that method and `impl` handles it. */
  const handlerOf = (code: number): Implementation[string] | undefined => {
    const method = service.methods[code];
    return method === undefined ? undefined : impl[method.name];
  };
  endpoint.requestHandler = (code, body, context) => {
    const handler = handlerOf(code);
    if (handler === undefined) {
      throw new RequestFailure({ kind: Failure_Kind.UNKNOWN_METHOD, message: `${service.name} has no method ${code}` });
    }
    const method = service.methods[code];
    let params: unknown;
    try {
      params = method.params.decode(body);
    } catch (err) {
      if (err instanceof MessageDecodeError) throw new RequestFailure({ kind: Failure_Kind.MALFORMED, message: `${method.name}: ${err.message}` });
      throw err;
    }
    let results: unknown;
    try {
      results = handler.call(impl, params, context);
    } catch (err) {
      return applicationFailure(err);
    }
    // Synchronous handlers are answered without a promise; async ones when they settle.
    if (results instanceof Promise) return results.then((r: unknown) => method.results.encode(r ?? {}), applicationFailure);
    return method.results.encode(results ?? {});
  };
  endpoint.oneWayHandler = (code, body) => {
    const handler = handlerOf(code);
    if (handler === undefined) return;
    const method = service.methods[code];
    let params: unknown;
    try {
      params = method.params.decode(body);
    } catch {
      return; // nothing answers a one-way message: a malformed one is dropped
    }
    void Promise.resolve()
      .then(() => handler.call(impl, params, { session, channel: endpoint, signal: NEVER }))
      .catch(() => {});
  };
}

/** Calls `service`'s methods on a session's main channel, or another channel. */
export class Client {
  private readonly byName: Map<string, number>;
  readonly endpoint: Endpoint;

  constructor(
    target: Session | Endpoint,
    readonly service: ServiceDefinition,
  ) {
    this.endpoint = target instanceof Session ? target.main : target;
    this.byName = new Map(service.methods.map((m, i) => [m.name, i]));
    this.decoders = service.methods.map((m) => (answer: Uint8Array) => m.results.decode(answer));
  }

  /** Each method's results decoder, made once: it runs as the answer arrives. */
  private readonly decoders: ((answer: Uint8Array) => unknown)[];

  private index(name: string): number {
    const index = this.byName.get(name);
    if (index === undefined) throw new TypeError(`${this.service.name} has no method ${name}`);
    return index;
  }

  call(name: string, params: unknown, options?: CallOptions): Promise<unknown> {
    let index: number;
    let body: Uint8Array;
    try {
      index = this.index(name);
      body = this.service.methods[index].params.encode(params);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.endpoint.call(index, body, this.decoders[index], options);
  }

  async oneWay(name: string, params: unknown): Promise<void> {
    const index = this.index(name);
    await this.endpoint.oneWay(index, this.service.methods[index].params.encode(params));
  }
}
