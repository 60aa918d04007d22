/**
 * The Primes server. A session does its work on channels the client opens: workers, each counting the
 * primes of its own range with its own progress, and one control channel that reports on the session's
 * workers and stops them. Workers count in slices and give way between slices, so a session's workers (and
 * other sessions) advance side by side, and a stop arrives while they run.
 *
 * Run: npx tsx examples/channels/server.ts [SOCKET]
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as yieldToOthers } from "node:timers/promises";
import {
  type ControlHandler,
  type ControlRemote,
  Primes,
  type PrimesHandler,
  type PrimesRemote,
  Worker_BusyError,
  type Worker_RunResults,
  type WorkerStatus,
  WorkerStatus_State as State,
} from "./gen/channels.capnp.js";

/** Numbers checked between two turns of the event loop. */
const SLICE = 20_000;

function isPrime(n: number): boolean {
  if (n < 4) return n >= 2;
  if (n % 2 === 0) return false;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** One worker channel's state: its range and how far it got. */
class Job {
  next: number;
  primes = 0;
  private running = false;
  private stopping = false;

  constructor(
    readonly name: string,
    readonly from: number,
    readonly to: number,
  ) {
    this.next = from;
  }

  status(): WorkerStatus.Init {
    const state = this.running ? State.RUNNING : this.next === this.to ? State.DONE : this.next > this.from ? State.STOPPED : State.IDLE;
    return { name: this.name, checked: this.next - this.from, total: this.to - this.from, primes: this.primes, state };
  }

  /** Counts on from where it got to, until the end, a stop, or the caller giving up (or closing the channel). */
  async run(signal: AbortSignal): Promise<Worker_RunResults.Init> {
    if (this.running) throw new Worker_BusyError({}, `${this.name} is running already`);
    this.running = true;
    this.stopping = false;
    try {
      while (this.next < this.to && !this.stopping && !signal.aborted) {
        for (const end = Math.min(this.next + SLICE, this.to); this.next < end; this.next++) if (isPrime(this.next)) this.primes++;
        await yieldToOthers();
      }
    } finally {
      this.running = false;
    }
    return { primes: this.primes, checked: this.next - this.from, stopped: this.next < this.to };
  }

  /** Asks a running job to stop after its slice; answers whether it was running. */
  stop(): boolean {
    if (!this.running) return false;
    this.stopping = true;
    return true;
  }
}

/** One session: its workers by name and its control channel, known to this session only. */
function session(peer: PrimesRemote): PrimesHandler {
  const pid = peer.credentials?.pid;
  const jobs = new Map<string, Job>();
  let control: ControlRemote | null = null;

  /** The workers whose channels are open. */
  const open = (): Job[] => [...jobs.values()];

  const controlHandler: ControlHandler = {
    status: () => ({ workers: open().map((job) => job.status()) }),
    stop() {
      const stopped = open().filter((job) => job.stop()).map((job) => job.name);
      console.log(`pid ${pid}: stopped ${stopped.join(", ") || "nothing"}`);
      return { stopped };
    },
  };

  return {
    channels: {
      control(remote) {
        if (control !== null) return false; // one control channel at a time
        control = remote;
        void remote.closed.then(() => (control = null));
        return controlHandler;
      },
      worker({ name, from, to }, remote) {
        if (from >= to || open().some((job) => job.name === name)) return false;
        const job = new Job(name, from, to);
        jobs.set(name, job);
        // Closing the channel cancels its running call (its signal fires) and forgets the job.
        void remote.closed.then(() => jobs.delete(name));
        console.log(`pid ${pid}: worker ${name} counts primes in [${from}, ${to})`);
        return { run: (_, { signal }) => job.run(signal) };
      },
    },
  };
}

const path = process.argv[2] ?? join(tmpdir(), "ipcgen-channels.sock");
const server = await Primes.listen(path, session);
console.log(`channels: listening on ${path}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void server.close());
}
