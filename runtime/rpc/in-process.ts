/**
 * A second carrier for the stubs, besides ipcgen's local protocol: two linked ends of a capability in one
 * process, with no socket, no session and no frames. What one end calls, the other end's dispatcher
 * answers (and the other way round), through the same `Capability` seam a session's channel implements,
 * so generated clients, remotes and handlers run over it unchanged. Messages are still encoded and
 * decoded (each side gets its own copy of the bytes), failures cross as the wire's `Failure` would, and a
 * call's timeout and AbortSignal work as over a session. Useful for tests of handlers and for services
 * that live in the caller's own process; what only a session has (shared memory, zero-copy blocks,
 * channels, peer credentials) throws `NoSessionError`.
 */
import { Failure, Failure_Kind } from "../protocol/protocol.capnp.js";
import {
  type Body,
  type CallOptions,
  type Capability,
  handlerFailure,
  type MethodRef,
  type OneWayHandler,
  type OutgoingBody,
  type RequestContext,
  type RequestHandler,
  RequestFailure,
  remoteError,
  type Session,
  type SignalHandler,
} from "../session/session.js";
import { CancelledError, ChannelClosedError, NoSessionError, TimeoutError } from "../errors.js";

/** Two linked ends: give one to a client (`new XClient(a)`), serve the service on the other (`X.serve(b, handler)`). */
export function inProcessPair(): [Capability, Capability] {
  const a = new InProcessEnd();
  const b = new InProcessEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** A message as the other end receives it: its own copy, as if it had crossed a socket. */
function copyOf(body: OutgoingBody): Uint8Array {
  if (!(body instanceof Uint8Array)) throw new TypeError("an in-process capability carries encoded messages only (it places none in shared memory)");
  return new Uint8Array(body);
}

/** A handler's failure as the caller receives it: through the wire's `Failure` struct, as over a session. */
function failureOf(err: unknown): Error {
  return remoteError(Failure.decode(Failure.encode(handlerFailure(err, false))));
}

class InProcessEnd implements Capability {
  readonly session: Session | null = null;
  readonly id = 0;
  requestHandler: RequestHandler | null = null;
  oneWayHandler: OneWayHandler | null = null;
  signalHandler: SignalHandler | null = null;
  remote: unknown = null;
  /** @internal The other end, set by `inProcessPair`. */
  peer!: InProcessEnd;
  #closed = false;
  #whenClosed: Promise<void>;
  #resolveClosed!: () => void;
  /** Handlers this end is running for the peer's requests and one-way messages: aborted when it closes. */
  readonly #running = new Set<AbortController>();
  /** This end's calls waiting for an answer (their rejections), for when the ends close under them. */
  readonly #pending = new Set<(error: Error) => void>();

  constructor() {
    this.#whenClosed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  get closed(): boolean {
    return this.#closed;
  }

  whenClosed(): Promise<void> {
    return this.#whenClosed;
  }

  /** Closes both ends: calls waiting on either reject with `ChannelClosedError`, running handlers' signals fire. */
  close(): void {
    this.#shut();
    this.peer.#shut();
  }

  #shut(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const reject of this.#pending) reject(new ChannelClosedError("the in-process capability was closed"));
    this.#pending.clear();
    for (const running of this.#running) running.abort(new ChannelClosedError("the in-process capability was closed"));
    this.#running.clear();
    this.#resolveClosed();
  }

  encodeBody(encode: () => Uint8Array): OutgoingBody {
    return encode();
  }

  /** The context the peer's handler gets for a request or one-way message from this end. */
  #contextFor(controller: AbortController): RequestContext {
    const channel = this.peer;
    return {
      get session(): Session {
        throw new NoSessionError("the context's session: this request came over an in-process capability, which has no session");
      },
      channel,
      remote: channel.remote,
      signal: controller.signal,
    };
  }

  call<T>(method: MethodRef, params: OutgoingBody, decode: (answer: Body) => T, options?: CallOptions): Promise<T> {
    if (this.#closed) return Promise.reject(new ChannelClosedError("the in-process capability is closed"));
    if (options?.signal?.aborted) return Promise.reject(new CancelledError("the call was cancelled before it was sent"));
    const bytes = copyOf(params);
    const peer = this.peer;
    return new Promise<T>((resolve, reject) => {
      const controller = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const settle = (): void => {
        clearTimeout(timer);
        options?.signal?.removeEventListener("abort", cancel);
        this.#pending.delete(fail);
        peer.#running.delete(controller);
      };
      const fail = (error: Error): void => {
        settle();
        controller.abort(error);
        reject(error);
      };
      const cancel = (): void => fail(new CancelledError("the call was cancelled"));
      this.#pending.add(fail);
      peer.#running.add(controller);
      options?.signal?.addEventListener("abort", cancel, { once: true });
      if (options?.timeoutMs !== undefined) timer = setTimeout(() => fail(new TimeoutError(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
      // The handler runs in a later turn, as a request that arrived over a socket would.
      queueMicrotask(async () => {
        if (controller.signal.aborted) return;
        const handler = peer.requestHandler;
        let answer: Uint8Array;
        try {
          if (handler === null) throw new RequestFailure({ kind: Failure_Kind.UNKNOWN_METHOD, message: "nothing answers calls on this capability" });
          answer = copyOf(await handler(method.interfaceId, method.methodId, bytes, this.#contextFor(controller)));
        } catch (err) {
          if (!controller.signal.aborted) fail(failureOf(err));
          return;
        }
        if (controller.signal.aborted) return;
        settle();
        try {
          resolve(decode(answer));
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  async oneWay(method: MethodRef, params: OutgoingBody): Promise<void> {
    if (this.#closed) throw new ChannelClosedError("the in-process capability is closed");
    const bytes = copyOf(params);
    const peer = this.peer;
    queueMicrotask(() => {
      const handler = peer.oneWayHandler;
      if (handler === null || peer.#closed) return;
      const controller = new AbortController();
      peer.#running.add(controller);
      const done = (): void => void peer.#running.delete(controller);
      try {
        const settled = handler(method.interfaceId, method.methodId, bytes, peer, this.#contextFor(controller));
        if (settled instanceof Promise) settled.then(done, done);
        else done();
      } catch {
        done(); // nothing answers a one-way message: a failing handler has nobody to report to
      }
    });
  }

  sendSignal(signal: MethodRef, count: number): void {
    if (this.#closed) return;
    const peer = this.peer;
    queueMicrotask(() => {
      if (!peer.#closed) peer.signalHandler?.(signal.interfaceId, signal.methodId, count);
    });
  }
}
