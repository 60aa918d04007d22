/**
 * The native addon's shared memory and wake-ups: sealed memfds, two views of one mapping seen by another
 * process that was passed the descriptor, doorbells (socket pair ends) across processes that run callbacks
 * on the event loop, and every bad argument refused with a clear error.
 */
import { spawn } from "node:child_process";
import { ftruncateSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { loadNativeAddon } from "../../runtime/native/index.js";
import { Doorbell } from "../../runtime/shm/doorbell.js";

const native = loadNativeAddon();
/** Runs a short script in another Node process, given `fds` as its descriptors 3, 4, ...; resolves with its exit code. */
function child(script: string, fds: number[] = []): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", "tsx", "-e", script], { stdio: ["ignore", "inherit", "inherit", ...fds] });
    p.on("error", reject);
    p.on("exit", (code) => resolve(code));
  });
}

describe("shared memory", () => {
  it("creates a zero-filled sealed memfd of the size asked, with a SharedArrayBuffer and a Buffer over the same memory", () => {
    const { mapping: m, fd } = native.memfdCreate(8192);
    expect(m.size).toBe(8192);
    expect(m.control).toBeInstanceOf(SharedArrayBuffer);
    expect(m.control.byteLength).toBe(8192);
    expect(Buffer.isBuffer(m.data)).toBe(true);
    expect(m.data.every((b) => b === 0)).toBe(true);
    new Int32Array(m.control)[3] = 0x01020304;
    expect(m.data.readInt32LE(12)).toBe(0x01020304);
    // Nobody can shrink or grow it, its maker included.
    expect(() => ftruncateSync(fd, 0)).toThrow(/EPERM/);
    expect(() => ftruncateSync(fd, 16384)).toThrow(/EPERM/);
    native.closeFd(fd);
    // The mapping outlives the descriptor.
    m.data[0] = 7;
    expect(new Uint8Array(m.control)[0]).toBe(7);
  });

  it("another process maps the same memory from the descriptor it was passed and sees and makes changes", async () => {
    const { mapping: m, fd } = native.memfdCreate(4096);
    m.data.write("from the parent", 100);
    const code = await child(
      `import { loadNativeAddon } from "${process.cwd()}/runtime/native/index.ts";
       const m = loadNativeAddon().memfdMap(3, 4096);
       if (m.data.toString("utf8", 100, 115) !== "from the parent") process.exit(2);
       Atomics.store(new Int32Array(m.control), 0, 42);
       m.data.write("from the child", 200);`,
      [fd],
    );
    native.closeFd(fd);
    expect(code).toBe(0);
    expect(Atomics.load(new Int32Array(m.control), 0)).toBe(42);
    expect(m.data.toString("utf8", 200, 214)).toBe("from the child");
  });

  it("refuses bad sizes", () => {
    for (const size of [0, -1, 1.5, Number.NaN, 2 ** 41]) expect(() => native.memfdCreate(size), String(size)).toThrow(RangeError);
  });
});

describe("detachable views (zero-copy messages)", () => {
  it("views part of a mapping, in place; detach empties the view and every typed array over it", () => {
    const m = native.memfdCreate(65536).mapping;
    const view = native.shmView(m.handle, 4096, 100);
    expect(view.byteLength).toBe(100);
    const bytes = new Uint8Array(view, 10, 5);
    bytes.fill(9);
    expect([...m.data.subarray(4106, 4111)]).toEqual([9, 9, 9, 9, 9]);
    m.data[4096] = 42;
    expect(new Uint8Array(view)[0]).toBe(42);
    native.detach(view);
    expect(view.byteLength).toBe(0);
    expect(bytes.length).toBe(0);
    expect(bytes[0]).toBeUndefined();
    // The mapping itself is untouched, and a new view of the same bytes sees them.
    expect(new Uint8Array(native.shmView(m.handle, 4096, 100))[14]).toBe(9);
  });

  it("refuses ranges outside the mapping, and handles that are not a mapping's", () => {
    const m = native.memfdCreate(4096).mapping;
    expect(native.shmView(m.handle, 4096, 0).byteLength).toBe(0);
    for (const [offset, length] of [[4096, 1], [0, 4097], [4000, 97], [-1, 1], [2 ** 53, 1], [1.5, 1], [0, Number.NaN]]) {
      expect(() => native.shmView(m.handle, offset, length), `${offset}+${length}`).toThrow(RangeError);
    }
    expect(() => native.shmView({}, 0, 1)).toThrow(TypeError);
    expect(() => native.detach(new Uint8Array(4) as unknown as ArrayBuffer)).toThrow(TypeError);
  });

  it("a view transferred to a worker stays readable there after this side let go of everything", async () => {
    let m: ReturnType<typeof native.memfdCreate>["mapping"] | null = native.memfdCreate(1 << 20).mapping;
    const view = native.shmView(m.handle, 512, 64);
    new Uint8Array(view).fill(3);
    const worker = new Worker(
      `const { parentPort } = require("node:worker_threads");
       parentPort.once("message", (view) => parentPort.once("message", () => parentPort.postMessage(new Uint8Array(view).reduce((a, b) => a + b, 0))));`,
      { eval: true },
    );
    worker.postMessage(view, [view]);
    expect(view.byteLength).toBe(0);
    m = null;
    const { setFlagsFromString } = await import("node:v8");
    const { runInNewContext } = await import("node:vm");
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    const sum = await new Promise<number>((resolve) => {
      worker.once("message", resolve);
      worker.postMessage("read");
    });
    expect(sum).toBe(3 * 64);
    await worker.terminate();
  });
});

describe("doorbells", () => {
  it("a ring from another process runs the watcher's callback on the event loop", async () => {
    const [bell, theirs] = Doorbell.pair();
    let calls = 0;
    const rung = new Promise<void>((resolve) => {
      bell.watch(() => {
        calls++;
        resolve();
      });
    });
    // The child gets the other end as its descriptor 3, as a peer gets it over the descriptor channel.
    const code = await child(`import { Doorbell } from "${process.cwd()}/runtime/shm/doorbell.ts"; Doorbell.adopt(3).ring();`, [theirs.descriptor]);
    theirs.close();
    expect(code).toBe(0);
    await rung;
    expect(calls).toBe(1);
    bell.close();
  });

  it("one end both rings the other and is woken by it", async () => {
    const [a, b] = Doorbell.pair();
    const woken: string[] = [];
    a.watch(() => woken.push("a"));
    b.watch(() => woken.push("b"));
    a.ring();
    await new Promise((r) => setTimeout(r, 50));
    expect(woken).toEqual(["b"]);
    b.ring();
    await new Promise((r) => setTimeout(r, 50));
    expect(woken).toEqual(["b", "a"]);
    a.close();
    b.close();
  });

  it("rings coalesce while the callback is queued, and a closed doorbell calls nothing more", async () => {
    const [bell, peer] = Doorbell.pair();
    let calls = 0;
    bell.watch(() => calls++);
    for (let i = 0; i < 100; i++) peer.ring();
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(1);
    bell.close();
    bell.close(); // twice is fine
    peer.ring(); // to a closed end: ignored
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(1);
    peer.close();
  });

  it("adopts only a doorbell's end, and closes what it refuses", () => {
    const { fd } = native.memfdCreate(4096);
    expect(() => Doorbell.adopt(fd)).toThrow(expect.objectContaining({ code: "ERR_IPCGEN_BAD_DESCRIPTOR" }));
    expect(() => native.closeFd(fd)).toThrow(expect.objectContaining({ code: "EBADF" }));
    const [bell, other] = Doorbell.pair();
    const adopted = Doorbell.adopt(native.dupFd(other.descriptor));
    expect(() => bell.watch(() => {})).not.toThrow();
    expect(() => bell.watch(() => {})).toThrow(/watched already/);
    for (const end of [bell, other, adopted]) end.close();
  });
});
