/**
 * The seam between stubs and protocol (the `Capability` of runtime/session/session.ts): the generated Desk
 * stubs of test/fixtures/stubs.capnp, unchanged, over two carriers. The same scenario runs over a session
 * of ipcgen's local protocol (a real Unix socket) and over an in-process pair (runtime/rpc/in-process.ts,
 * no socket), and must give the same results: calls (one a superclass's method, named on the wire by Base's
 * interface id), declared errors, bounds, one-way messages, signals both ways, timeouts and cancellation.
 * What only a session has throws NoSessionError in-process.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CancelledError, ChannelClosedError, NoSessionError, RemoteError, TimeoutError, inProcessPair, type Server } from "../../runtime/index.js";
import { Desk, Desk_ClosedError, DeskClient, type DeskHandler, type DeskRemote } from "./gen/stubs.capnp.js";

const dir = mkdtempSync(join(tmpdir(), "ipcgen-in-process-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A Desk handler kept small: what the scenario checks, and what it saw. */
function deskHandler(remote: DeskRemote) {
  const seen = { notes: [] as string[], rings: 0, stallAborted: 0 };
  const handler: DeskHandler = {
    version: () => ({ version: "base 1" }),
    take: ({ name }) => {
      if (name === "closed") throw new Desk_ClosedError({ reopensAt: "9:00" }, "the desk is closed");
      if (name === "boom") throw new Error("not a declared error");
      remote.queueChanged();
      return { ticket: name.length, queue: [name, "next"] };
    },
    stall: ({ ms }, ctx) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          seen.stallAborted++;
          resolve();
        });
      }),
    stats: () => ({ rings: seen.rings, notes: seen.notes, cancelled: seen.stallAborted }),
    echo: ({ data }) => ({ data }),
    close_: ({ text }) => ({ text }),
    callback: ({ n }) => ({ total: BigInt(n) * 2n }),
    note: ({ text }) => void seen.notes.push(text),
    ring: (count) => void (seen.rings += count),
  };
  return handler;
}

/** The scenario, the same for every carrier: what the client sees. */
async function scenario(client: DeskClient): Promise<unknown[]> {
  const out: unknown[] = [];
  const changes = client.queueChanged();
  out.push((await client.version()).version);
  const taken = await client.take({ name: "ada" });
  out.push(taken.ticket, taken.queue);
  out.push((await changes.next()).value);
  await changes.return!();
  const closed = await client.take({ name: "closed" }).catch((e: unknown) => e);
  out.push(closed instanceof Desk_ClosedError, (closed as Desk_ClosedError).errorName, (closed as Desk_ClosedError).details);
  const boom = await client.take({ name: "boom" }).catch((e: unknown) => e);
  out.push(boom instanceof RemoteError && boom.kind, (boom as Error).message);
  await expect(client.take({ name: "x".repeat(17) })).rejects.toThrow(RangeError);
  out.push((await client.echo({ data: new Uint8Array([1, 2, 3]) })).data);
  out.push((await client.callback({ n: 21 })).total);
  await client.note({ text: "first" });
  await client.note({ text: "second" });
  client.ring();
  client.ring();
  // The stall's own $timeoutMs(100): a TimeoutError, and the handler's signal fires.
  out.push(await client.stall({ ms: 10_000 }).catch((e: unknown) => e instanceof TimeoutError));
  const abort = new AbortController();
  const cancelled = client.stall({ ms: 10_000 }, { signal: abort.signal, timeoutMs: 5000 }).catch((e: unknown) => e instanceof CancelledError);
  setTimeout(() => abort.abort(), 20);
  out.push(await cancelled);
  await expect.poll(async () => (await client.stats()).cancelled).toBe(2);
  const stats = await client.stats();
  out.push(stats.notes, stats.rings);
  return out;
}

const expected = ["base 1", 3, ["ada", "next"], 1, true, "Desk.Closed", { reopensAt: "9:00" }, "internal", "the handler failed (Error)", new Uint8Array([1, 2, 3]), 42n, true, true, ["first", "second"], 2];

describe("the generated stubs over two carriers", () => {
  it("over a session of ipcgen's local protocol (a Unix socket)", async () => {
    const path = join(dir, "desk.sock");
    const server: Server = await Desk.listen(path, deskHandler);
    try {
      await using client = await Desk.connect(path);
      expect(await scenario(client)).toEqual(expected);
    } finally {
      await server.close();
    }
  });

  it("over an in-process pair: the same results, with no socket and no session", async () => {
    const [clientEnd, serverEnd] = inProcessPair();
    const remote = Desk.serve(serverEnd, deskHandler);
    const client = new DeskClient(clientEnd);
    expect(await scenario(client)).toEqual(expected);

    // What only a session has.
    expect(() => client.session).toThrow(NoSessionError);
    expect(() => remote.session).toThrow(NoSessionError);
    expect(client.zeroCopy).toBe(false);
    expect(remote.credentials).toBe(null);
    await expect(client.openCounter()).rejects.toThrow(NoSessionError);
    expect(() => client.allocate(64)).toThrow(NoSessionError);

    // Closing either end closes both: a waiting call rejects, later ones too, and the handler's signal fires.
    const waiting = client.stall({ ms: 10_000 }, { timeoutMs: 5000 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 10));
    await remote.close();
    expect(await waiting).toBeInstanceOf(ChannelClosedError);
    await expect(client.version()).rejects.toThrow(ChannelClosedError);
    await client.closed;
  });
});
