/**
 * Generated session stubs between real processes: a Desk server (test/stubs/support/desk-server.ts, a child
 * process) and typed clients here, over a real socket. Every convention of /ipcgen/ipc.capnp is exercised:
 * calls, typed errors, bounds, timeouts, one-way methods, signals both ways, inherited methods, and channels
 * opened by either side.
 */
import { describe, expect, it } from "vitest";
import { LoginError, RemoteError, TimeoutError, CancelledError, connect } from "../../runtime/index.js";
import * as capnp from "capnp-ts";
import { Counter, Desk, DeskClient, Desk_ClosedError, Desk_DuplicateError, Desk_EchoParams, Worker } from "./gen/stubs.capnp.js";
import { sharedDeskServer } from "./support/desk.js";

const path = sharedDeskServer("ipcgen-desk-");

describe("calls", () => {
  it("answers typed calls, inherited ones first in the method list", async () => {
    await using desk = await Desk.connect(path);
    expect(desk).toBeInstanceOf(DeskClient);
    expect(await desk.version()).toEqual({ version: "desk 1" });
    const first = await desk.take({ name: "ann" });
    expect(first.queue).toContain("ann");
    expect(first.ticket).toBe(first.queue.length);
    expect(await desk.echo({ data: new Uint8Array([1, 2, 3]) })).toEqual({ data: new Uint8Array([1, 2, 3]) });
    expect(await desk.close_({ text: "x" })).toEqual({ text: "closed x" });
    // version is inherited from Base: number 0; take is Desk's own first method: number 1.
    expect(Desk.methods.map((m) => m.name).slice(0, 2)).toEqual(["version", "take"]);
  });

  it("sends a message built with the generated classes as it is", async () => {
    await using desk = await Desk.connect(path);
    const message = new capnp.Message();
    const params = message.initRoot(Desk_EchoParams);
    params.initData(3).copyBuffer(new Uint8Array([7, 8, 9]));
    expect(await desk.echo(params)).toEqual({ data: new Uint8Array([7, 8, 9]) });
    // Only a message's root can be sent: the message goes whole.
    const notRoot = new Desk_EchoParams(params.segment, 8);
    await expect(desk.echo(notRoot)).rejects.toThrow(TypeError);
  });

  it("raises the errors a method declares as their own classes, with their data", async () => {
    await using desk = await Desk.connect(path);
    const closed = await desk.take({ name: "closed" }).catch((e: unknown) => e);
    expect(closed).toBeInstanceOf(Desk_ClosedError);
    expect((closed as Desk_ClosedError).details).toEqual({ reopensAt: "9:00" });
    expect((closed as Desk_ClosedError).message).toBe("the desk is closed");
    await desk.take({ name: "bob" });
    const dup = await desk.take({ name: "bob" }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(Desk_DuplicateError);
    expect((dup as Error).message).toBe("bob already has a ticket");
  });

  it("refuses parameters over their $maxSize before sending, and the server refuses them too", async () => {
    await using desk = await Desk.connect(path);
    await expect(desk.take({ name: "x".repeat(17) })).rejects.toThrow(/name holds 17 bytes, more than its bound of 16/);
    await expect(desk.echo({ data: new Uint8Array(1025) })).rejects.toThrow(RangeError);
    // A peer that skips the check (here: the raw runtime) gets a malformed-request error; the session goes on.
    const raw = await connect(path, { service: Desk });
    const body = Desk.methods[1].params.encode({ name: "y".repeat(40) });
    const error = await raw.request(Desk.methods[1], body).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).kind).toBe("malformed");
    expect((await new DeskClient(raw).version()).version).toBe("desk 1");
    await raw.close();
  });

  it("applies a method's $timeoutMs, which a call's own option overrides; the handler sees the cancel", async () => {
    await using desk = await Desk.connect(path);
    const before = (await desk.stats()).cancelled;
    await expect(desk.stall({ ms: 10_000 })).rejects.toThrow(TimeoutError);
    await expect(desk.stall({ ms: 150 }, { timeoutMs: 2000 })).resolves.toBeUndefined();
    const controller = new AbortController();
    const call = desk.stall({ ms: 10_000 }, { signal: controller.signal, timeoutMs: 5000 });
    setTimeout(() => controller.abort(), 20);
    await expect(call).rejects.toThrow(CancelledError);
    await expect.poll(async () => (await desk.stats()).cancelled).toBe(before + 2);
  });

  it("sends one-way methods and signals to the server", async () => {
    await using desk = await Desk.connect(path);
    const before = await desk.stats();
    await desk.note({ text: "hello" });
    desk.ring();
    desk.ring();
    desk.ring();
    await expect.poll(async () => (await desk.stats()).notes).toContain("hello");
    // Three submits in one turn coalesce into one delivery counting three.
    await expect.poll(async () => (await desk.stats()).rings).toBe(before.rings + 3);
  });
});

describe("signals from the server", () => {
  it("arrive as events with their coalesced count", async () => {
    await using watcher = await Desk.connect(path);
    await using taker = await Desk.connect(path);
    const counts: number[] = [];
    watcher.on("queueChanged", (count) => counts.push(count));
    await taker.take({ name: "carl" });
    await expect.poll(() => counts.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it("arrive through an async iterator, which the session's end finishes and an AbortSignal stops", async () => {
    const watcher = await Desk.connect(path);
    await using taker = await Desk.connect(path);
    const seen: number[] = [];
    const done = (async () => {
      for await (const count of watcher.queueChanged()) seen.push(count);
    })();
    await taker.take({ name: "dora" });
    await taker.take({ name: "ed" });
    await expect.poll(() => seen.reduce((a, b) => a + b, 0)).toBe(2);
    await watcher.close();
    await done; // ended by the session's end, not left hanging

    await using again = await Desk.connect(path);
    const controller = new AbortController();
    const iterator = again.queueChanged({ signal: controller.signal });
    const next = iterator.next();
    controller.abort(new Error("stop"));
    await expect(next).rejects.toThrow("stop");
  });

  it("that arrived before anyone listened are delivered to the first listener", async () => {
    await using watcher = await Desk.connect(path);
    await using taker = await Desk.connect(path);
    await taker.take({ name: "fay" });
    await new Promise((r) => setTimeout(r, 50));
    const iterator = watcher.queueChanged();
    expect((await iterator.next()).value).toBeGreaterThanOrEqual(1);
    await iterator.return!();
  });
});

describe("channels", () => {
  it("opens a typed channel per metadata arm, each answered by its own handler", async () => {
    await using desk = await Desk.connect(path);
    const counter = await desk.openCounter();
    const worker = await desk.openWorker({ name: "w1" });
    const changes: number[] = [];
    counter.on("changed", (n) => changes.push(n));
    expect((await counter.add({ n: 5 })).total).toBe(5n);
    expect((await counter.add({ n: -2 })).total).toBe(3n);
    const me = await worker.whoami();
    expect(me.name).toBe("w1");
    expect(me.channel).toBe(worker.channel.id);
    await expect.poll(() => changes.reduce((a, b) => a + b, 0)).toBe(2);
    // Each counter channel has its own state.
    const other = await desk.openCounter();
    expect((await other.add({ n: 1 })).total).toBe(1n);
    await counter.close();
    expect((await desk.version()).version).toBe("desk 1");
  });

  it("refuses an arm the server has no handler for, without ending the session", async () => {
    await using desk = await Desk.connect(path);
    const error = await desk.openRefused().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).kind).toBe("rejected");
    expect((await desk.version()).version).toBe("desk 1");
  });

  it("lets the server open a channel toward the client, answered by the handler given to connect", async () => {
    let total = 0n;
    await using desk = await Desk.connect(path, {
      channels: {
        counter: () => ({
          add({ n }) {
            total += BigInt(n);
            return { total };
          },
        }),
      },
    });
    expect((await desk.callback({ n: 7 })).total).toBe(7n);
    expect(total).toBe(7n);
    // Without a handler the client refuses, and the server's call fails.
    await using plain = await Desk.connect(path);
    await expect(plain.callback({ n: 1 })).rejects.toThrow(RemoteError);
  });
});

describe("identity", () => {
  it("refuses a client of another service, or of another build of the schema", async () => {
    await expect(Worker.connect(path)).rejects.toThrow(LoginError);
    await expect(connect(path, { service: { ...Desk, fingerprint: Desk.fingerprint ^ 1n } })).rejects.toMatchObject({ kind: "service-mismatch" });
    // The same socket path plus ".counter" serves Counter: a channel's interface is a service too.
    await using counter = await Counter.connect(`${path}.counter`);
    expect((await counter.add({ n: 2 })).total).toBe(2n);
  });
});
