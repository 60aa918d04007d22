/**
 * The Soak server of the kill -9 soak test: `node --import tsx soak-server.ts SOCKET`. Prints "listening",
 * then serves Soak (test/fixtures/soak.capnp): `up` packets come back on `down`, `hold` waits, `fill`
 * answers from a block of its pool. It tracks every session (by the client's pid) and what is in flight in
 * it. Commands on stdin, when it is the side that survives:
 *   report PID K   once the K sessions of process PID have ended and what they had in flight has settled
 *                  (or SETTLE_MS passed), prints `report PID {sessions: SessionReport[], problems}`;
 *   (end of stdin) closes the server, prints `final {live, unreported, problems}` and exits by itself
 *                  (so anything left holding the event loop, a watch or a timer, shows as a hang).
 */
import { createInterface } from "node:readline";
import type { PoolBlock } from "ipcgen";
import { Soak, type SoakHandler, type SoakRemote } from "../gen/soak.capnp.js";
import { SETTLE_MS, type SessionReport, sleep, Tracker, watchProcess } from "./tracker.js";

const [path] = process.argv.slice(2);
const unhandled = watchProcess();

interface Tracked {
  tracker: Tracker;
  ended: boolean;
}
const byPid = new Map<number, Tracked[]>();

function soak(remote: SoakRemote): SoakHandler {
  const session = remote.session;
  const t = new Tracker(() => session.ended);
  const entry: Tracked = { tracker: t, ended: false };
  const pid = remote.credentials?.pid ?? 0;
  byPid.set(pid, [...(byPid.get(pid) ?? []), entry]);
  void session.closed.then((error) => {
    t.end(error);
    entry.ended = true;
  });

  // The loopback: every `up` packet is copied into a `down` packet with its seq, then acknowledged.
  void t.op("loop:up", async () => {
    for await (const packet of remote.up) {
      const { seq } = remote.up.descriptor(packet);
      const copy = await t.op("down.alloc", () => remote.down.alloc(packet.size));
      if (!copy.ok) return;
      packet.data.copy(copy.value.data);
      if (!(await t.op("down.submit", () => remote.down.submit(copy.value, { seq }))).ok) return;
      if (!(await t.op("up.ack", () => remote.up.ack(packet))).ok) return;
    }
  });
  void t.op("loop:down.acks", async () => {
    for await (const packet of remote.down.acknowledged()) remote.down.release(packet);
  });

  let block: PoolBlock | null = null;
  return {
    // The synchronous handlers cannot be left pending; they check what they read.
    ping: ({ n }) => ({ n }),
    sum({ data }) {
      let sum = 0;
      for (let i = 0; i < data.length; i++) sum += data[i];
      return { sum: BigInt(sum), length: BigInt(data.length) };
    },
    note({ n, data }) {
      if (data.length > 0 && (data[0] !== (n & 0xff) || data[data.length - 1] !== (n & 0xff))) t.problem(`note ${n}: its data reads otherwise`);
    },
    // The asynchronous ones are followed: when the session ends they must settle (hold through its AbortSignal).
    hold({ ms }, { signal }) {
      return settle(
        t.op("hold", () => new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, ms);
          signal.addEventListener("abort", () => {
            clearTimeout(timer);
            t.cause("hold's AbortSignal", signal.reason);
            reject(signal.reason);
          }, { once: true });
        })),
        signal,
      );
    },
    fill({ size, byte }, { signal }) {
      return settle(
        t.op("fill", async () => {
          // One block per session, written again once the client has given it back.
          if (block === null || block.size !== size) {
            block?.free();
            block = remote.allocate(size);
          }
          const back = await t.op("fill.whenReturned", () => block!.whenReturned());
          if (!back.ok) throw signal.reason;
          const bytes = block.bytes;
          bytes.fill(byte);
          return { data: bytes };
        }),
        signal,
      );
    },
  };
}

/** A followed handler's result for the runtime: its value, or (it failed) the session's end. */
async function settle<T>(outcome: Promise<{ ok: true; value: T } | { ok: false }>, signal: AbortSignal): Promise<T> {
  const o = await outcome;
  if (o.ok) return o.value;
  throw signal.reason ?? new Error("the handler failed");
}

async function report(pid: number, count: number): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  const all = (): Tracked[] => byPid.get(pid) ?? [];
  while ((all().length < count || all().some((e) => !e.ended)) && Date.now() < deadline) await sleep(10);
  const list = all();
  byPid.delete(pid);
  const problems = unhandled.take();
  if (list.length !== count) problems.push(`${list.length} sessions of process ${pid} here, not ${count}`);
  const sessions: SessionReport[] = await Promise.all(list.map((e) => e.tracker.report()));
  console.log(`report ${pid} ${JSON.stringify({ sessions, problems })}`);
}

const server = await Soak.listen(path, soak);
console.log("listening");

const reports: Promise<void>[] = [];
const commands = createInterface({ input: process.stdin });
commands.on("line", (line) => {
  const [command, ...args] = line.split(" ");
  if (command === "report") reports.push(report(Number(args[0]), Number(args[1])));
});
commands.on("close", () => {
  void (async () => {
    await Promise.all(reports);
    const live = server.sessions.size;
    await server.close();
    const unreported = [...byPid.values()].reduce((n, list) => n + list.length, 0);
    console.log(`final ${JSON.stringify({ live, unreported, problems: unhandled.take() })}`);
  })();
});
