/**
 * The Soak client of the kill -9 soak test: `node --import tsx soak-client.ts`. Commands on stdin:
 *   trial ID SOCKET SEED  opens two sessions to SOCKET, one with zero-copy and one without (its large
 *                         messages cross the socket, so a kill can cut one in half), and keeps them busy
 *                         with everything at once: small calls, 1 to 16 MiB calls, large answers, calls
 *                         held by the server, one-way messages and packets both ways. Prints `active ID`
 *                         once both answered; when both have ended (the server was killed), waits for what
 *                         was in flight to settle (up to SETTLE_MS), checks that a new call fails at once
 *                         with the session's end and that close() returns, and prints
 *                         `report ID {sessions: SessionReport[], problems}`;
 *   (end of stdin)        prints `final {running, problems}` once the trials running are done, and exits by
 *                         itself (anything left holding the event loop shows as a hang).
 * A client the test kills just gets one trial and dies in it.
 */
import { createInterface } from "node:readline";
import { SessionEndedError } from "ipcgen";
import { prng } from "../../runtime/support/packets.js";
import { Soak, type SoakClient } from "../gen/soak.capnp.js";
import { type SessionReport, describe, sleep, Tracker, watchProcess } from "./tracker.js";

const MiB = 1024 * 1024;
const unhandled = watchProcess();

/** Resolves with `promise`'s outcome, or with "timeout" after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<{ value: T } | { error: unknown } | "timeout"> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.then((value) => ({ value }), (error: unknown) => ({ error })),
    new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** Keeps `soak` busy until its session ends; resolves with the session's report. */
async function exercise(soak: SoakClient, seed: number): Promise<SessionReport> {
  const random = prng(seed);
  const session = soak.session;
  const t = new Tracker(() => session.ended);
  const live = (): boolean => !session.ended;
  const ended = session.closed.then((error) => {
    t.end(error);
    return error;
  });

  const loops: Record<string, () => Promise<void>> = {
    async ping() {
      for (let n = 0; live(); n++) {
        const r = await t.op("ping", () => soak.ping({ n }));
        if (r.ok && r.value.n !== n) t.problem(`ping ${n} answered ${r.value.n}`);
        await sleep(1);
      }
    },
    async sum() {
      while (live()) {
        const size = MiB + (random() % (15 * MiB + 1));
        const byte = 1 + (random() % 255);
        // Zero-copy: written in place in a block of the pool; otherwise an ordinary buffer, sent whole.
        let data: Uint8Array;
        const block = soak.zeroCopy ? soak.allocate(size) : null;
        if (block !== null) (data = block.bytes).fill(byte);
        else data = Buffer.alloc(size, byte);
        const r = await t.op("sum", () => soak.sum({ data }));
        if (r.ok) {
          if (r.value.sum !== BigInt(size * byte) || r.value.length !== BigInt(size)) t.problem(`sum of ${size} bytes of ${byte} answered ${r.value.sum}`);
          r.value[Symbol.dispose]();
        }
        block?.free();
      }
    },
    async fill() {
      while (live()) {
        const size = [64 * 1024, 256 * 1024, MiB][random() % 3];
        const byte = random() % 256;
        const r = await t.op("fill", () => soak.fill({ size, byte }));
        if (r.ok) {
          const { data } = r.value;
          if (data.length !== size || data[0] !== byte || data[size - 1] !== byte) t.problem(`fill ${size} of ${byte} answered otherwise`);
          r.value[Symbol.dispose]();
        }
      }
    },
    async hold() {
      while (live()) await t.op("hold", () => soak.hold({ ms: random() % 100 }));
    },
    async note() {
      for (let n = 0; live(); n++) {
        // Every fourth is large (placed, or a large frame on the socket).
        const data = n % 4 === 3 ? Buffer.alloc(100_000 + (random() % 100_000), n & 0xff) : Buffer.alloc(0);
        await t.op("note", () => soak.note({ n, data }));
        await sleep(1);
      }
    },
    async up() {
      for (let seq = 0; live(); seq++) {
        const size = random() % 65_536;
        const packet = await t.op("up.alloc", () => soak.up.alloc(size));
        if (!packet.ok) return;
        packet.value.data.fill(seq & 0xff);
        if (!(await t.op("up.submit", () => soak.up.submit(packet.value, { seq }))).ok) return;
      }
    },
    async upAcks() {
      for await (const packet of soak.up.acknowledged()) soak.up.release(packet);
    },
    async down() {
      let next = 0;
      for await (const packet of soak.down) {
        const { seq } = soak.down.descriptor(packet);
        if (seq !== next || (packet.size > 0 && packet.data[packet.size - 1] !== (seq & 0xff))) t.problem(`down: packet ${seq} where ${next} was due, or changed`);
        next = seq + 1;
        if (!(await t.op("down.ack", () => soak.down.ack(packet))).ok) return;
      }
    },
  };
  for (const [name, loop] of Object.entries(loops)) void t.op(`loop:${name}`, loop);

  const end = await ended;
  const report = await t.report();
  // Later calls fail at once with the same end; close() returns.
  const later = await within(soak.ping({ n: 0 }), 1_000);
  if (later === "timeout") report.hung.push("a call after the end");
  else if (!("error" in later) || !(later.error instanceof SessionEndedError) || later.error.cause !== end.cause) report.problems.push(`a call after the end: ${"error" in later ? describe(later.error) : "resolved"}`);
  if ((await within(soak.close(), 1_000)) === "timeout") report.hung.push("close() after the end");
  return report;
}

async function trial(id: string, path: string, seed: number): Promise<void> {
  const problems: string[] = [];
  const sessions = await Promise.all([Soak.connect(path), Soak.connect(path, { zeroCopy: false })]);
  // Active once the server has answered on both: it holds both sessions.
  await Promise.all(sessions.map((s) => s.ping({ n: 1 })));
  const reports = sessions.map((s, i) => exercise(s, seed + i));
  console.log(`active ${id}`);
  const done = await Promise.all(reports);
  problems.push(...unhandled.take());
  console.log(`report ${id} ${JSON.stringify({ sessions: done, problems })}`);
}

const trials: Promise<void>[] = [];
const commands = createInterface({ input: process.stdin });
commands.on("line", (line) => {
  const [command, id, path, seed] = line.split(" ");
  if (command === "trial") {
    trials.push(
      trial(id, path, Number(seed)).catch((err: unknown) => console.log(`report ${id} ${JSON.stringify({ sessions: [], problems: [`the trial failed: ${describe(err)}`] })}`)),
    );
  }
});
commands.on("close", () => {
  void Promise.all(trials).then(() => console.log(`final ${JSON.stringify({ trials: trials.length, problems: unhandled.take() })}`));
});
