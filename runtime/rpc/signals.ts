/**
 * Signals: payload-free notifications that coalesce. Submitting never blocks: submits are counted and sent
 * as one delivery per turn of the event loop. On the receiving side deliveries add up until the handler
 * runs, and a handler that registers while a signal is pending gets it at once.
 */
import { type Capability, type MethodRef, Session } from "../session/session.js";

export type SignalHandler = (count: number) => void;

const byChannel = new WeakMap<Capability, Signals>();

/** The signals of a channel: one `Signals` per channel, shared by whoever sends or receives on it. */
export function signalsOf(channel: Capability): Signals {
  let signals = byChannel.get(channel);
  if (signals === undefined) byChannel.set(channel, (signals = new Signals(channel)));
  return signals;
}

/** A signal as a map key: its `interfaceId` and `methodId`. */
const keyOf = (interfaceId: bigint, methodId: number): string => `${interfaceId}/${methodId}`;

export class Signals {
  /** Submits counted this turn, by signal (a generated method definition: one object per signal). */
  private readonly outgoing = new Map<MethodRef, number>();
  private flushScheduled = false;
  private readonly incoming = new Map<string, number>();
  private readonly handlers = new Map<string, SignalHandler>();
  private deliveryScheduled = false;

  private readonly channel: Capability;

  /** Signals on a session's main channel, or another channel. */
  constructor(target: Session | Capability) {
    this.channel = target instanceof Session ? target.main : target;
    this.channel.signalHandler = (interfaceId, methodId, count) => {
      const key = keyOf(interfaceId, methodId);
      this.incoming.set(key, (this.incoming.get(key) ?? 0) + count);
      this.scheduleDelivery();
    };
  }

  /** Counts a submit of `signal`; it leaves with the others of this turn. */
  submit(signal: MethodRef): void {
    this.outgoing.set(signal, (this.outgoing.get(signal) ?? 0) + 1);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const [signal, count] of this.outgoing) this.channel.sendSignal(signal, count);
      this.outgoing.clear();
    });
  }

  /** Sets the handler of `signal` (one per signal); a pending delivery comes at once. */
  on(signal: MethodRef, handler: SignalHandler | null): void {
    const key = keyOf(signal.interfaceId, signal.methodId);
    if (handler === null) this.handlers.delete(key);
    else this.handlers.set(key, handler);
    if (handler !== null && this.incoming.has(key)) this.scheduleDelivery();
  }

  private scheduleDelivery(): void {
    if (this.deliveryScheduled) return;
    this.deliveryScheduled = true;
    queueMicrotask(() => {
      this.deliveryScheduled = false;
      for (const [key, count] of [...this.incoming]) {
        const handler = this.handlers.get(key);
        if (handler === undefined) continue;
        this.incoming.delete(key);
        handler(count);
      }
    });
  }
}
