/**
 * A server process for the runtime's tests: `node --import tsx echo-server.ts SOCKET [options JSON]`.
 * Prints "listening" when ready, then serves Echo until killed; with `logRefused`, prints "refused: REASON"
 * for each connection refused or dropped before log-in.
 */
import { listen } from "../../../runtime/session/server.js";
import { ApplicationError, serve } from "../../../runtime/rpc/service.js";
import { Signals } from "../../../runtime/rpc/signals.js";
import { echoService, loadEcho } from "./echo.js";

const [path, json] = process.argv.slice(2);
const options = JSON.parse(json ?? "{}") as {
  keepAliveIntervalMs?: number;
  keepAliveTimeoutMs?: number;
  permissions?: "user" | "group" | "anyone";
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

const server = await listen(path, {
  service,
  permissions: options.permissions,
  keepAliveIntervalMs: options.keepAliveIntervalMs,
  keepAliveTimeoutMs: options.keepAliveTimeoutMs,
  allow: options.allowUid === undefined ? undefined : (peer) => peer.uid === options.allowUid,
  loginTimeoutMs: options.loginTimeoutMs,
  maxLoginFrameBytes: options.maxLoginFrameBytes,
  maxPendingLogins: options.maxPendingLogins,
  maxSessions: options.maxSessions,
  onRefused: options.logRefused === true ? (reason) => process.stdout.write(`refused: ${reason}\n`) : undefined,
  onSession(session) {
    const signals = new Signals(session);
    // Signal 0 from a client is echoed back as signal 1 with the count it arrived with, that many times over.
    signals.on(0, (count) => {
      for (let i = 0; i < count; i++) signals.submit(1);
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
        return { cancelled, lastNote, sessions: server.sessions.size, members: server.pool<string>("members").list().sort() };
      },
      note(p: { text: string }) {
        lastNote = p.text;
        if (p.text.startsWith("join:")) server.pool<string>("members").publish(session, p.text.slice(5));
      },
    };
    serve(session, service, implementation);
  },
});
process.stdout.write("listening\n");
