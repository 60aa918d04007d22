/**
 * The Desk server for the stubs' tests: `node --import tsx desk-server.ts SOCKET`. Prints "listening",
 * then serves Desk (test/fixtures/stubs.capnp) through its generated stubs until killed.
 */
import { Counter, type CounterHandler, type CounterRemote, Desk, Desk_ClosedError, Desk_DuplicateError, type DeskHandler, type DeskRemote } from "../gen/stubs.capnp.js";

const [path] = process.argv.slice(2);

const queue: string[] = [];
const notes: string[] = [];
let rings = 0;
let cancelled = 0;
/** What other sessions need to know of each: its remote, to signal it (the pool, not the session table). */
const desks = new Set<DeskRemote>();

/** A counter channel: `add` totals and signals `changed` to the channel's other end. */
function counter(remote: CounterRemote): CounterHandler {
  let total = 0n;
  return {
    add({ n }) {
      total += BigInt(n);
      remote.changed();
      return { total };
    },
  };
}

function desk(remote: DeskRemote): DeskHandler {
  desks.add(remote);
  void remote.session.closed.then(() => desks.delete(remote));
  return {
    version: () => ({ version: "desk 1" }),
    take({ name }) {
      if (name === "closed") throw new Desk_ClosedError({ reopensAt: "9:00" }, "the desk is closed");
      if (queue.includes(name)) throw new Desk_DuplicateError({}, `${name} already has a ticket`);
      queue.push(name);
      for (const other of desks) other.queueChanged();
      return { ticket: queue.length, queue };
    },
    note({ text }) {
      notes.push(text);
    },
    ring(count) {
      rings += count;
    },
    stall({ ms }, { signal }) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          cancelled++;
          reject(signal.reason);
        });
      });
    },
    stats: () => ({ rings, notes, cancelled }),
    echo: ({ data }) => ({ data }),
    close_: ({ text }) => ({ text: `closed ${text}` }),
    async callback({ n }, context) {
      const channel = await context.remote.openCounter();
      try {
        return { total: (await channel.add({ n })).total };
      } finally {
        await channel.close();
      }
    },
    channels: {
      counter: (remote) => counter(remote),
      worker: ({ name }, remote) => ({ whoami: () => ({ name, channel: remote.channel.id }) }),
    },
  };
}

await Desk.listen(path, desk);
// A Counter served on its own socket too: a channel's interface is a service like any other.
await Counter.listen(`${path}.counter`, counter);
process.stdout.write("listening\n");
