/**
 * A server process for the runtime's tests: `node --import tsx echo-server.ts SOCKET [options JSON]`.
 * Prints "listening" when ready, then serves Echo until killed; prints "ended CAUSE: MESSAGE" when a
 * session ends, and with `logRefused`, "refused: REASON" for each connection refused or dropped before
 * log-in. Options besides its own (`allowUid`, `logRefused`) go to `listen` as they are (limits, keep-alive).
 */
import { listen } from "../../../runtime/session/server.js";
import { ApplicationError, serve } from "../../../runtime/rpc/service.js";
import { Signals } from "../../../runtime/rpc/signals.js";
import { echoMethod, echoService, loadEcho } from "./echo.js";

const [path, json] = process.argv.slice(2);
const { allowUid, logRefused, ...options } = JSON.parse(json ?? "{}") as {
  keepAliveIntervalMs?: number;
  keepAliveTimeoutMs?: number;
  permissions?: "user" | "group" | "anyone";
  credentials?: "none";
  allowUid?: number;
  loginTimeoutMs?: number;
  maxLoginFrameBytes?: number;
  maxPendingLogins?: number;
  maxSessions?: number;
  logRefused?: boolean;
};
const m = await loadEcho();
const service = echoService(m);
let cancelled = 0;
let lastNote = "";
/** What the handlers of `block` and `hang` saw (see Handlers in echo.capnp). */
const handlers = { started: 0, afterEnd: 0, unaborted: 0, running: 0 };

const server = await listen(path, {
  ...options,
  service,
  allow: allowUid === undefined ? undefined : (peer) => peer.uid === allowUid,
  onRefused: logRefused === true ? (reason) => process.stdout.write(`refused: ${reason}\n`) : undefined,
  onSession(session) {
    /** The signals of this session's `block` and `hang` handlers still running. */
    const live = new Set<AbortSignal>();
    void session.closed.then((error) => {
      // Every running handler's signal fires as the session ends, before this runs.
      for (const signal of live) if (!signal.aborted) handlers.unaborted++;
      process.stdout.write(`ended ${error.cause}: ${error.message}\n`);
    });
    /** Runs until `signal` fires. */
    const block = (signal: AbortSignal): Promise<void> => {
      handlers.started++;
      if (session.ended) handlers.afterEnd++;
      handlers.running++;
      live.add(signal);
      return new Promise((resolve) => {
        const done = (): void => {
          handlers.running--;
          live.delete(signal);
          resolve();
        };
        if (signal.aborted) done();
        else signal.addEventListener("abort", done, { once: true });
      });
    };
    const signals = new Signals(session);
    // Signal 0 from a client is echoed back as signal 1 with the count it arrived with, that many times over.
    signals.on(echoMethod(0), (count) => {
      const reply = echoMethod(1);
      for (let i = 0; i < count; i++) signals.submit(reply);
    });
    session.onChannel(async (channel, metadata) => {
      const kind = m.ChannelKind.decode(metadata) as { which: string; slow?: number };
      if (kind.which === "refuse") return false;
      if (kind.which === "slow") await new Promise((r) => setTimeout(r, kind.slow));
      serve(channel, service, implementation);
      return true;
    });
    const implementation = {
      async echo(p: { text: string; delayMs: number; payload: Uint8Array }, ctx: { channel: { id: number } }) {
        if (p.delayMs > 0) await new Promise((r) => setTimeout(r, p.delayMs));
        return { text: p.text, payload: p.payload, session: session.token, channel: ctx.channel.id };
      },
      fail(p: { code: string }) {
        if (p.code === "crash") throw new Error("secret internal detail");
        throw new ApplicationError(p.code, `failed with ${p.code}`, new Uint8Array([1, 2, 3]));
      },
      wait(_p: unknown, ctx: { signal: AbortSignal }) {
        return new Promise((_resolve, reject) => {
          ctx.signal.addEventListener("abort", () => {
            cancelled++;
            reject(new Error("cancelled"));
          });
        });
      },
      stats() {
        return { cancelled, lastNote, sessions: server.sessions.size, members: server.directory<string>("members").list().sort() };
      },
      lists(p: { bools: boolean[]; words: bigint[]; flags: unknown[]; blobs: Uint8Array[] }) {
        return { count: BigInt(p.bools.length + p.words.length + p.flags.length + p.blobs.length) };
      },
      block: (_p: unknown, ctx: { signal: AbortSignal }) => block(ctx.signal),
      hang: (_p: unknown, ctx: { signal: AbortSignal }) => block(ctx.signal),
      handlers: () => ({ ...handlers, droppedOneWays: session.droppedOneWays }),
      note(p: { text: string }) {
        lastNote = p.text;
        if (p.text.startsWith("join:")) server.directory<string>("members").publish(session, p.text.slice(5));
      },
    };
    serve(session, service, implementation);
  },
});
process.stdout.write("listening\n");
