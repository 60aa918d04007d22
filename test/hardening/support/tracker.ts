/**
 * What one side of a soak session has in flight, and what became of it: the survivor of a kill -9 checks
 * with it that its session ended once, with one cause, and that nothing it was waiting for is left waiting.
 */
import { PacketStreamError, SessionEndedError } from "../../../runtime/index.js";

/** How long anything pending may take to settle once its session has ended. */
export const SETTLE_MS = 5_000;

export type Outcome<T> = { ok: true; value: T } | { ok: false };

export interface SessionReport {
  /** Every cause this session's end was reported with (from `closed`, rejections, abort reasons): one, once. */
  causes: string[];
  /** Operations completed per kind, before the end. */
  done: Record<string, number>;
  /** Kinds of the operations in flight at the moment the session ended. */
  inFlightAtEnd: string[];
  /** Kinds still pending SETTLE_MS after the end: hung. */
  hung: string[];
  problems: string[];
}

export class Tracker {
  private nextId = 0;
  private readonly pending = new Map<number, { kind: string; settled: Promise<unknown> }>();
  private readonly done: Record<string, number> = {};
  private readonly causes = new Set<string>();
  private readonly problems: string[] = [];
  private inFlightAtEnd: string[] = [];
  private endCause: string | null = null;

  /** `ended()` says whether the session has ended (the runtime knows before `closed` resolves). */
  constructor(private readonly ended: () => boolean) {}

  problem(text: string): void {
    if (this.problems.length < 20) this.problems.push(text);
  }

  /**
   * Follows `start()`'s promise (a synchronous throw counts as a rejection). While the session lives any
   * failure is a problem; once it has ended, the only acceptable ones are its SessionEndedError and a
   * packet stream's "closed".
   */
  async op<T>(kind: string, start: () => Promise<T>): Promise<Outcome<T>> {
    const id = this.nextId++;
    let promise: Promise<T>;
    try {
      promise = start();
    } catch (err) {
      promise = Promise.reject(err);
    }
    const settled = promise.then(
      (value): Outcome<T> => {
        this.done[kind] = (this.done[kind] ?? 0) + 1;
        return { ok: true, value };
      },
      (err: unknown): Outcome<T> => {
        this.failure(kind, err);
        return { ok: false };
      },
    );
    this.pending.set(id, { kind, settled });
    try {
      return await settled;
    } finally {
      this.pending.delete(id);
    }
  }

  /**
   * A failure, or the end reported through it: calls must fail with the session's SessionEndedError;
   * waits on a packet stream ("up.*", "down.*") and loops may also fail with the stream's "closed".
   */
  failure(kind: string, err: unknown): void {
    const stream = /^(up|down|loop:(up|down))/.test(kind);
    if (err instanceof SessionEndedError) {
      this.causes.add(err.cause);
      if (!this.ended()) this.problem(`${kind}: a SessionEndedError while the session lived`);
    } else if (stream && err instanceof PacketStreamError && err.reason === "closed") {
      if (!this.ended()) this.problem(`${kind}: the stream closed while the session lived`);
    } else this.problem(`${kind}: ${describe(err)}`);
  }

  /** An end reported by other means (`closed`, an AbortSignal's reason). */
  cause(kind: string, reason: unknown): void {
    if (reason instanceof SessionEndedError) this.causes.add(reason.cause);
    else this.problem(`${kind}: ended with ${describe(reason)}, not a SessionEndedError`);
  }

  /** Called when `closed` resolves: notes what was in flight then. */
  end(error: SessionEndedError): void {
    if (this.endCause !== null) this.problem("the session's end was reported twice");
    this.endCause = error.cause;
    this.cause("closed", error);
    // Loops ("loop:...") are always running; what they were waiting on is what counts.
    this.inFlightAtEnd = [...this.pending.values()].map((p) => p.kind).filter((k) => !k.startsWith("loop:"));
  }

  /** Waits, up to SETTLE_MS, for everything pending to settle; then the report. */
  async report(): Promise<SessionReport> {
    const hung: string[] = [];
    const deadline = Date.now() + SETTLE_MS;
    while (this.pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const p of this.pending.values()) hung.push(p.kind);
    if (this.endCause === null) this.problem("the session never reported its end");
    return { causes: [...this.causes], done: { ...this.done }, inFlightAtEnd: this.inFlightAtEnd, hung, problems: [...this.problems] };
  }
}

export function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}${"reason" in err ? `(${String(err.reason)})` : ""}: ${err.message}` : String(err);
}

/** Errors nobody handled, in this process: each is a problem of whatever report comes next. */
export function watchProcess(): { take(): string[] } {
  let seen: string[] = [];
  process.on("unhandledRejection", (err) => seen.push(`unhandled rejection: ${describe(err)}`));
  process.on("uncaughtException", (err) => seen.push(`uncaught exception: ${describe(err)}`));
  return {
    take() {
      const out = seen;
      seen = [];
      return out;
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
