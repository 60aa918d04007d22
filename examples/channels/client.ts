/**
 * A Primes client: counts the primes below N on several worker channels at once, printing the control
 * channel's status while they run. With --stop-after, it stops them through the control channel after
 * that long and prints how far each got.
 *
 * Run: npx tsx examples/channels/client.ts [SOCKET] [--below N] [--workers K] [--stop-after MS]
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Primes, type WorkerStatus, WorkerStatus_State as State } from "./gen/channels.capnp.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    below: { type: "string", default: "5000000" },
    workers: { type: "string", default: "4" },
    "stop-after": { type: "string" },
  },
});
const path = positionals[0] ?? join(tmpdir(), "ipcgen-channels.sock");
const below = Number(values.below);
const count = Number(values.workers);
if (!(Number.isInteger(below) && Number.isInteger(count) && count >= 1 && count <= below && below < 2 ** 32)) {
  console.error("usage: client.ts [SOCKET] [--below N] [--workers K] [--stop-after MS], with 1 <= K <= N < 2^32");
  process.exit(2);
}

await using primes = await Primes.connect(path).catch((err: Error) => {
  console.error(`channels: ${err.message}`);
  process.exit(1);
});

// One control channel, and one worker channel per slice of [0, below), each with its own range.
await using control = await primes.openControl();
const at = (i: number): number => Math.floor((i * below) / count);
const ranges = Array.from({ length: count }, (_, i) => ({ name: `w${i}`, from: at(i), to: at(i + 1) }));
const workers = await Promise.all(ranges.map((range) => primes.openWorker(range)));

const progress = (w: WorkerStatus.Plain): string =>
  `${w.name} ${Math.floor((100 * w.checked) / w.total)}% (${w.primes} primes${w.state === State.STOPPED ? ", stopped" : ""})`;

const results = Promise.all(workers.map((worker) => worker.run()));
const stopAfter = values["stop-after"];
const stopper =
  stopAfter === undefined
    ? undefined
    : setTimeout(() => void control.stop().then(({ stopped }) => console.log(`stopped: ${stopped.join(", ")}`)), Number(stopAfter));
while ((await Promise.race([results, sleep(250)])) === undefined) {
  console.log(`status: ${(await control.status()).workers.map(progress).join("  ")}`);
}
clearTimeout(stopper);

let total = 0;
let complete = true;
for (const [i, { primes, checked, stopped }] of (await results).entries()) {
  const { name, from, to } = ranges[i];
  console.log(`${name} [${from}, ${to}): ${primes} primes${stopped ? ` in the first ${checked} numbers (stopped)` : ""}`);
  total += primes;
  complete &&= !stopped;
}
console.log(complete ? `total: ${total} primes below ${below}` : `total so far: ${total} primes (stopped before the end)`);
