/**
 * examples/channels: the Primes server as a real process, its client program, and typed clients in this
 * process. Workers count side by side on their own channels, each with its own state; the control channel
 * reports on them and stops them; opens the server refuses (or does not know) leave the session going.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RemoteError } from "ipcgen";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Primes, Primes_Channels, Worker_BusyError, type WorkerStatus, WorkerStatus_State as State } from "../../examples/channels/gen/channels.capnp.js";
import { killAll, Program } from "./support.js";

const dir = mkdtempSync(join(tmpdir(), "ipcgen-channels-test-"));
const path = join(dir, "channels.sock");

/** The number of primes in [from, to), by a sieve (not the server's trial division). */
function primesIn(from: number, to: number): number {
  const composite = new Uint8Array(to);
  let count = 0;
  for (let n = 2; n < to; n++) {
    if (composite[n]) continue;
    if (n >= from) count++;
    for (let m = n * n; m < to; m += n) composite[m] = 1;
  }
  return count;
}

/** Rejects with the refusal of a channel open. */
async function refused(open: Promise<unknown>): Promise<void> {
  const error = await open.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RemoteError);
  expect((error as RemoteError).kind).toBe("rejected");
}

beforeAll(async () => {
  await new Program("examples/channels/server.ts", [path]).waitFor(/listening/);
});

afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("the channels example", () => {
  it("runs workers side by side on their own channels, each with its own range and count", async () => {
    await using primes = await Primes.connect(path);
    await using control = await primes.openControl();
    const ranges = [
      { name: "low", from: 0, to: 1_000_000 },
      { name: "mid", from: 1_000_000, to: 2_000_000 },
      { name: "high", from: 2_000_000, to: 3_000_000 },
    ];
    const workers = await Promise.all(ranges.map((r) => primes.openWorker(r)));
    expect(new Set(workers.map((w) => w.channel.id)).size).toBe(3);

    // Another session may use the same names: workers belong to their session.
    await using other = await Primes.connect(path);
    await using otherControl = await other.openControl();
    await other.openWorker({ name: "low", from: 0, to: 10 });
    expect((await otherControl.status()).workers.map((w) => w.name)).toEqual(["low"]);

    const results = Promise.all(workers.map((w) => w.run()));
    const seen: WorkerStatus.Plain[][] = [];
    let finished = false;
    void results.finally(() => (finished = true));
    while (!finished) seen.push((await control.status()).workers);
    // While they ran, more than one had counted part of its range: they take turns, not one after the other.
    expect(seen.some((ws) => ws.filter((w) => w.state === State.RUNNING && w.checked > 0 && w.checked < w.total).length >= 2)).toBe(true);

    expect((await results).map((r) => r.primes)).toEqual(ranges.map((r) => primesIn(r.from, r.to)));
    expect((await results).every((r) => !r.stopped && r.checked === 1_000_000)).toBe(true);
    expect((await control.status()).workers.map((w) => [w.name, w.state, w.primes])).toEqual(
      ranges.map((r) => [r.name, State.DONE, primesIn(r.from, r.to)]),
    );
  });

  it("stops the running workers from the control channel; a stopped worker goes on from where it stopped", async () => {
    await using primes = await Primes.connect(path);
    await using control = await primes.openControl();
    const a = await primes.openWorker({ name: "a", from: 0, to: 2_000_000_000 });
    const b = await primes.openWorker({ name: "b", from: 1_000_000_000, to: 2_000_000_000 });
    const runs = [a.run(), b.run()];
    await expect(a.run()).rejects.toBeInstanceOf(Worker_BusyError);
    await expect.poll(async () => (await control.status()).workers.every((w) => w.checked > 0)).toBe(true);

    expect((await control.stop()).stopped).toEqual(["a", "b"]);
    const [first] = await Promise.all(runs);
    expect(first.stopped).toBe(true);
    expect((await control.status()).workers.map((w) => w.state)).toEqual([State.STOPPED, State.STOPPED]);
    expect((await control.stop()).stopped).toEqual([]);

    const again = a.run();
    await expect.poll(async () => (await control.status()).workers[0].checked).toBeGreaterThan(first.checked);
    expect((await control.stop()).stopped).toEqual(["a"]);
    const second = await again;
    expect(second.stopped).toBe(true);
    expect(second.primes).toBeGreaterThanOrEqual(first.primes);
    expect(second.primes).toBe(primesIn(0, second.checked));
  });

  it("refuses a second control channel, bad workers and an unknown kind of channel, and the session goes on", async () => {
    await using primes = await Primes.connect(path);
    const control = await primes.openControl();
    await refused(primes.openControl());
    await refused(primes.openWorker({ name: "empty", from: 10, to: 10 }));
    await primes.openWorker({ name: "w", from: 0, to: 100 });
    await refused(primes.openWorker({ name: "w", from: 0, to: 100 }));
    // A kind this build of the schema does not know (as a newer client might send): refused too.
    await refused(primes.session.openChannel(Primes_Channels.encode({ which: 7 })));

    expect((await control.status()).workers.map((w) => w.name)).toEqual(["w"]);
    const ok = await primes.openWorker({ name: "ok", from: 0, to: 100 });
    expect(await ok.run()).toEqual({ primes: 25, checked: 100, stopped: false });
    // Once the control channel is closed, another may be opened.
    await control.close();
    await using next = await primes.openControl();
    expect((await next.status()).workers.map((w) => w.name)).toEqual(["w", "ok"]);
  });

  it("has a client program that counts on several workers, or stops them after a while", async () => {
    const count = new Program("examples/channels/client.ts", [path, "--below", "1000000", "--workers", "4"]);
    expect(await count.end()).toBe(0);
    expect(count.out).toContain(`total: ${primesIn(0, 1_000_000)} primes below 1000000`);
    expect(count.out.filter((l) => /^w\d \[/.test(l))).toHaveLength(4);

    const stop = new Program("examples/channels/client.ts", [path, "--below", "2000000000", "--workers", "2", "--stop-after", "300"]);
    expect(await stop.end()).toBe(0);
    expect(stop.out).toContain("stopped: w0, w1");
    expect(stop.out.at(-1)).toMatch(/^total so far: \d+ primes \(stopped before the end\)$/);
  });

  it("runs as a demo: node --import tsx examples/channels/demo.ts exits 0", async () => {
    const demo = new Program("examples/channels/demo.ts");
    expect(await demo.end()).toBe(0);
    expect(demo.out).toContain("full   | total: 216816 primes below 3000000");
  });
});
