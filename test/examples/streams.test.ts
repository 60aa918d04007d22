/**
 * examples/nic and examples/block: packet streams between real processes through generated stubs. Frames
 * loop back intact and in order; block requests are acknowledged out of order with the server's success
 * flag; a client or server killed with SIGKILL mid-stream leaves the survivor one error and /dev/shm
 * nothing; a client that writes a hostile descriptor into the shared ring has its session ended, and only
 * its own.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Block, Request_Operation as Operation } from "../../examples/block/gen/block.capnp.js";
import { Nic } from "../../examples/nic/gen/nic.capnp.js";
import { killAll, Program, shmLeftovers } from "./support.js";

const dir = mkdtempSync(join(tmpdir(), "ipcgen-streams-test-"));
let nicServer: Program;
let blockServer: Program;
const nicPath = join(dir, "nic.sock");
const blockPath = join(dir, "block.sock");


beforeAll(async () => {
  nicServer = new Program("examples/nic/server.ts", [nicPath]);
  blockServer = new Program("examples/block/server.ts", [blockPath, "256"]);
  await Promise.all([nicServer.waitFor(/listening/), blockServer.waitFor(/listening/)]);
});

afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("the NIC example", () => {
  it("loops frames back through the tx and rx streams, intact and in order (client program)", async () => {
    const client = new Program("examples/nic/client.ts", [nicPath, "5000", "1500"]);
    expect(await client.exited).toBe(0);
    expect(client.out.join("\n")).toMatch(/5000 frames of 1500 bytes came back intact/);
  });

  it("typed descriptors both ways, backpressure through a full ring, nothing dropped", async () => {
    await using nic = await Nic.connect(nicPath);
    // 1,000 frames submitted before reading any back: rx fills (255 usable slots) and the loopback waits.
    const frames = 1000;
    const sending = (async () => {
      void (async () => {
        for await (const f of nic.tx.acknowledged()) nic.tx.release(f);
      })().catch(() => {});
      for (let n = 0; n < frames; n++) {
        const frame = await nic.tx.alloc(64 + (n % 7) * 100);
        frame.data.fill(n & 0xff);
        await nic.tx.submit(frame, { sequence: n });
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    const seen: number[] = [];
    for await (const frame of nic.rx) {
      const { sequence } = nic.rx.descriptor(frame);
      expect(frame.size).toBe(64 + (sequence % 7) * 100);
      expect(frame.data.every((b) => b === (sequence & 0xff))).toBe(true);
      seen.push(sequence);
      await nic.rx.ack(frame);
      if (seen.length === frames) break;
    }
    await sending;
    expect(seen).toEqual(Array.from({ length: frames }, (_, i) => i));
  });

  it("a client killed with SIGKILL mid-stream: the server goes on, /dev/shm holds nothing of either", async () => {
    const victim = new Program("examples/nic/client.ts", [nicPath, "100000000", "60000"]);
    await victim.waitFor(/^interface /);
    await new Promise((r) => setTimeout(r, 200)); // streaming now
    victim.child.kill("SIGKILL");
    await victim.exited;
    await using nic = await Nic.connect(nicPath);
    expect((await nic.macAddress()).mac).toHaveLength(6);
    expect(shmLeftovers()).toEqual([]);
  });

  it("a server killed with SIGKILL mid-stream: the client gets one end of the session, its waits fail, /dev/shm is clean", async () => {
    const path = join(dir, "doomed-nic.sock");
    const doomed = new Program("examples/nic/server.ts", [path]);
    await doomed.waitFor(/listening/);
    const nic = await Nic.connect(path);
    const ends: string[] = [];
    void nic.session.closed.then((e) => ends.push(e.cause));
    const streaming = (async () => {
      for (let n = 0; ; n++) {
        const frame = await nic.tx.alloc(60000);
        await nic.tx.submit(frame, { sequence: n });
        const back = await nic.rx.get();
        await nic.rx.ack(back);
        for (let ack = nic.tx.tryGetAck(); ack !== null; ack = nic.tx.tryGetAck()) nic.tx.release(ack);
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    doomed.child.kill("SIGKILL");
    await expect(streaming).rejects.toThrow(/closed/);
    await nic.session.closed;
    await new Promise((r) => setTimeout(r, 50));
    expect(ends).toEqual(["peer-died"]);
    expect(shmLeftovers()).toEqual([]);
  });

  it("runs as a demo: npm run example:nic exits 0", async () => {
    expect(await new Program("examples/nic/demo.ts").exited).toBe(0);
  });
});

describe("the block example", () => {
  it("writes and reads back the whole device, acknowledged out of order, and refuses a read past the end", async () => {
    const client = new Program("examples/block/client.ts", [blockPath]);
    expect(await client.exited).toBe(0);
    const out = client.out.join("\n");
    expect(out).toMatch(/wrote and read back 256 blocks in \d+ requests; [1-9]\d* acknowledgements overtook an earlier request/);
    expect(out).toMatch(/a read past the end: success false/);
  });

  it("the server sets success in the descriptor it acknowledges", async () => {
    await using block = await Block.connect(blockPath);
    const { requests } = block;
    const good = await requests.alloc(512);
    good.data.fill(9);
    await requests.submit(good, { operation: Operation.WRITE, blockNumber: 3n, count: 1, tag: 1 });
    const bad = await requests.alloc(512);
    await requests.submit(bad, { operation: Operation.WRITE, blockNumber: 3n, count: 2, tag: 2 }); // size is not 2 blocks
    const results = new Map<number, boolean>();
    for await (const packet of requests.acknowledged()) {
      const { tag, success } = requests.descriptor(packet);
      results.set(tag, success);
      requests.release(packet);
      if (results.size === 2) break;
    }
    expect(results).toEqual(new Map([[1, true], [2, false]]));
  });

  it("a client writing a descriptor outside the bulk buffer into the ring has its session ended; others go on", async () => {
    const hostile = await Block.connect(blockPath);
    const ended = hostile.session.closed;
    const raw = hostile.requests.raw;
    const { layout } = raw;
    const words = new Int32Array(raw.mapping.control);
    // Slot 0 of the submit ring: offset far outside the bulk buffer, then publish it by moving head.
    raw.mapping.data.writeBigUInt64LE(2n ** 40n, layout.submitSlots + layout.descriptor.offsetAt);
    raw.mapping.data.writeUInt32LE(512, layout.submitSlots + layout.descriptor.sizeAt);
    Atomics.store(words, layout.submitHead / 4, 1);
    // The server checks the descriptor when woken, finds it outside, and ends this session. (The stream
    // rings only on edges it crossed itself, so the test rings the server by hand, with its own end of
    // the stream's doorbell pair.)
    (raw as unknown as { bell: { ring(): void } }).bell.ring();
    const error = await ended;
    expect(["closed-by-peer", "peer-died"]).toContain(error.cause);
    await using other = await Block.connect(blockPath);
    expect((await other.info()).blockCount).toBe(256n);
  });

  it("runs as a demo: npm run example:block exits 0", async () => {
    expect(await new Program("examples/block/demo.ts").exited).toBe(0);
  });
});
