/**
 * Signals: payload-free notifications that coalesce. Submitting never blocks: submits are counted and sent
 * as one delivery per turn of the event loop. On the receiving side deliveries add up until the handler
 * runs, and a handler that registers while a signal is pending gets it at once.
 */
import { type Endpoint, Session } from "../session/session.js";

export type SignalHandler = (count: number) => void;

const byEndpoint = new WeakMap<Endpoint, Signals>();

/** The signals of a channel: one `Signals` per channel, shared by whoever sends or receives on it. */
export function signalsOf(endpoint: Endpoint): Signals {
  let signals = byEndpoint.get(endpoint);
  if (signals === undefined) byEndpoint.set(endpoint, (signals = new Signals(endpoint)));
  return signals;
}

export class Signals {
  private readonly outgoing = new Map<number, number>();
  private flushScheduled = false;
  private readonly incoming = new Map<number, number>();
  private readonly handlers = new Map<number, SignalHandler>();
  private deliveryScheduled = false;

  private readonly endpoint: Endpoint;

  /** Signals on a session's main channel, or another channel. */
  constructor(target: Session | Endpoint) {
    this.endpoint = target instanceof Session ? target.main : target;
    this.endpoint.signalHandler = (code, count) => {
      this.incoming.set(code, (this.incoming.get(code) ?? 0) + count);
      this.scheduleDelivery();
    };
  }

  /** Counts a submit of signal `code`; it leaves with the others of this turn. */
  submit(code: number): void {
    this.outgoing.set(code, (this.outgoing.get(code) ?? 0) + 1);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const [c, count] of this.outgoing) this.endpoint.sendSignal(c, count);
      this.outgoing.clear();
    });
  }

  /** Sets the handler of signal `code` (one per signal); a pending delivery comes at once. */
  on(code: number, handler: SignalHandler | null): void {
    if (handler === null) this.handlers.delete(code);
    else this.handlers.set(code, handler);
    if (handler !== null && this.incoming.has(code)) this.scheduleDelivery();
  }

  private scheduleDelivery(): void {
    if (this.deliveryScheduled) return;
    this.deliveryScheduled = true;
    queueMicrotask(() => {
      this.deliveryScheduled = false;
      for (const [code, count] of [...this.incoming]) {
        const handler = this.handlers.get(code);
        if (handler === undefined) continue;
        this.incoming.delete(code);
        handler(count);
      }
    });
  }
}
