/**
 * The kill -9 soak: a Soak server and client (test/fixtures/soak.capnp, generated stubs), each a real
 * process, keep two sessions busy with everything at once (small calls, 1 to 16 MiB calls through shared
 * memory or the socket, large answers, held calls, one-way messages, packets both ways), and one of them is
 * killed with SIGKILL after a random delay. The survivor must see each session end once, as "peer-died",
 * and everything it had pending settle within SETTLE_MS (a call rejecting with that end); afterwards
 * /dev/shm holds nothing of either process, and the survivor, told to stop, exits by itself.
 *
 * Trials are cheap because the survivor is one long-lived process that hosts every trial's sessions: a
 * server that outlives SOAK_TRIALS (default 50) killed clients, then a client that outlives as many killed
 * servers (each on a socket of its own). The survivors check themselves and report over stdout; this file
 * only asserts on their reports. SOAK_SEED repeats a run's delays and activity (not its exact timing).
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { killAll, Program } from "../examples/support.js";
import { prng } from "../runtime/support/packets.js";
import { Soak } from "./gen/soak.capnp.js";
import type { SessionReport } from "./support/tracker.js";

const SERVER = "test/hardening/support/soak-server.ts";
const CLIENT = "test/hardening/support/soak-client.ts";
const SEED = Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 0x7fffffff));
const TRIALS = Number(process.env.SOAK_TRIALS ?? 50);
/** Trials at once: process start-up overlaps with other trials' activity. */
const PARALLEL = 3;
/** The longest random delay between "active" and the kill. */
const MAX_DELAY_MS = 300;
/** Bounds for things that must happen, generous for two busy cores: past them, something hangs. */
const REPORT_MS = 30_000;
const EXIT_MS = 15_000;

const dir = mkdtempSync(join(tmpdir(), "ipcgen-kill-soak-"));
/** Trial `i` of `batch`'s activity seed and kill delay: from SEED alone, whatever order trials start in. */
function draw(batch: number, i: number): { seed: number; delay: number } {
  const random = prng(SEED ^ Math.imul(batch * 1000 + i + 1, 0x9e3779b1));
  return { seed: random(), delay: random() % (MAX_DELAY_MS + 1) };
}
console.log(`kill soak: seed ${SEED} (SOAK_SEED=${SEED} repeats it)`);

const stats = { trials: 0, clientsKilled: 0, serversKilled: 0, sessions: 0, endsReported: 0, hung: 0, leaks: 0, inFlight: new Map<string, number>(), done: new Map<string, number>() };

afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
  const list = (counts: Map<string, number>): string => [...counts].filter(([k]) => !k.startsWith("loop:")).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ");
  const inFlight = list(stats.inFlight);
  console.log(
    `kill soak summary: seed ${SEED}, ${stats.trials} trials (${stats.clientsKilled} clients and ${stats.serversKilled} servers killed), ` +
      `${stats.endsReported} ends reported for ${stats.sessions} sessions, ${stats.hung} hung, ${stats.leaks} left in /dev/shm; in flight at the kills: ${inFlight}`,
  );
  console.log(`kill soak: done by the survivors before the kills: ${list(stats.done)}`);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `promise`, or a rejection saying what did not happen within `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** Runs `count` trials, `parallel` at a time. */
async function trials(count: number, parallel: number, trial: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) await trial(next++);
  }));
}

/** Names in /dev/shm that are ipcgen's and carry `pid` (as their creator: `ipcgen-<pid>-...`). */
function shmOf(pid: number): string[] {
  return readdirSync("/dev/shm").filter((n) => n.includes("ipcgen") && n.includes(`-${pid}-`));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * What is wrong with a survivor's report of a trial whose peer was killed: each of its `sessions` ended
 * once, as "peer-died", nothing hung, no problem. Counts it into the summary.
 */
function faults(trial: string, line: string, sessions: number): string[] {
  const report = JSON.parse(line.slice(line.indexOf("{"))) as { sessions: SessionReport[]; problems: string[] };
  const out = report.problems.map((p) => `${trial}: ${p}`);
  if (report.sessions.length !== sessions) out.push(`${trial}: ${report.sessions.length} sessions reported, not ${sessions}`);
  stats.sessions += sessions;
  report.sessions.forEach((s, i) => {
    stats.endsReported += s.causes.length;
    stats.hung += s.hung.length;
    for (const kind of s.inFlightAtEnd) stats.inFlight.set(kind, (stats.inFlight.get(kind) ?? 0) + 1);
    for (const [kind, n] of Object.entries(s.done)) stats.done.set(kind, (stats.done.get(kind) ?? 0) + n);
    if (s.causes.length !== 1 || s.causes[0] !== "peer-died") out.push(`${trial} session ${i}: ended as ${JSON.stringify(s.causes)}, not once as peer-died`);
    if (s.hung.length > 0) out.push(`${trial} session ${i}: still pending after the end: ${s.hung.join(", ")}`);
    out.push(...s.problems.map((p) => `${trial} session ${i}: ${p}`));
  });
  return out;
}

/** What the killed process and the survivor left: processes, /dev/shm names. */
function leftovers(trial: string, killed: Program): string[] {
  const out: string[] = [];
  if (alive(killed.pid)) out.push(`${trial}: process ${killed.pid} still runs`);
  const names = shmOf(killed.pid);
  if (names.length > 0) out.push(`${trial}: /dev/shm holds ${names.join(", ")} of the killed process ${killed.pid}`);
  stats.leaks += names.length;
  return out;
}

/** Stops a survivor (end of stdin): it must exit by itself, with 0, and report no problem. */
async function stop(survivor: Program): Promise<string[]> {
  const out: string[] = [];
  const code = await within(survivor.end(), EXIT_MS, `the survivor ${survivor.pid} exiting by itself`).catch((err: Error) => {
    out.push(err.message);
    return null;
  });
  if (code !== 0) out.push(`the survivor exited with ${code}: ${survivor.err.slice(-2000)}`);
  const final = survivor.out.find((l) => l.startsWith("final "));
  if (final === undefined) out.push("the survivor printed no final report");
  else out.push(...(JSON.parse(final.slice(6)) as { problems: string[] }).problems.map((p) => `survivor: ${p}`));
  const names = shmOf(survivor.pid);
  if (names.length > 0) out.push(`/dev/shm holds ${names.join(", ")} of the survivor ${survivor.pid}`);
  stats.leaks += names.length;
  return out;
}

describe("kill -9 at random moments, over many trials", () => {
  it(`a server outlives ${TRIALS} clients killed mid-call, mid-stream, mid-message`, async () => {
    const path = join(dir, "server.sock");
    const server = new Program(SERVER, [path]);
    await server.waitFor(/^listening$/);
    const problems: string[] = [];
    await trials(TRIALS, PARALLEL, async (i) => {
      const { seed, delay } = draw(1, i);
      const client = new Program(CLIENT);
      client.write(`trial ${i} ${path} ${seed}`);
      await client.waitFor(new RegExp(`^active ${i}$`), REPORT_MS);
      await sleep(delay);
      client.child.kill("SIGKILL");
      await client.exited;
      stats.clientsKilled++;
      server.write(`report ${client.pid} 2`);
      const line = await server.waitFor(new RegExp(`^report ${client.pid} `), REPORT_MS);
      problems.push(...faults(`client trial ${i} (killed after ${delay} ms)`, line, 2), ...leftovers(`client trial ${i}`, client));
      stats.trials++;
    });
    // The server goes on serving.
    const soak = await Soak.connect(path);
    expect((await soak.ping({ n: 7 })).n).toBe(7);
    await soak.close();
    problems.push(...(await stop(server)));
    expect(problems).toEqual([]);
  }, 300_000);

  it(`a client outlives ${TRIALS} servers killed mid-call, mid-stream, mid-message`, async () => {
    const client = new Program(CLIENT);
    const problems: string[] = [];
    await trials(TRIALS, PARALLEL, async (i) => {
      const { seed, delay } = draw(2, i);
      const path = join(dir, `server-${i}.sock`);
      const server = new Program(SERVER, [path]);
      await server.waitFor(/^listening$/, REPORT_MS);
      client.write(`trial ${i} ${path} ${seed}`);
      await client.waitFor(new RegExp(`^active ${i}$`), REPORT_MS);
      await sleep(delay);
      server.child.kill("SIGKILL");
      await server.exited;
      stats.serversKilled++;
      const line = await client.waitFor(new RegExp(`^report ${i} `), REPORT_MS);
      problems.push(...faults(`server trial ${i} (killed after ${delay} ms)`, line, 2), ...leftovers(`server trial ${i}`, server));
      stats.trials++;
    });
    problems.push(...(await stop(client)));
    expect(problems).toEqual([]);
  }, 300_000);
});
