/**
 * The native addon's shared memory and wake-ups: objects created, opened and unlinked, two views of one
 * mapping seen by another process, eventfd doorbells across processes that run callbacks on the event loop,
 * and every bad argument refused with a clear error.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { loadNativeAddon } from "../../runtime/native/index.js";
import { Doorbell } from "../../runtime/shm/doorbell.js";

const native = loadNativeAddon();
let counter = 0;
const made: string[] = [];
const newName = (): string => {
  const name = `/ipcgen-test-${process.pid}-native-${counter++}`;
  made.push(name);
  return name;
};
afterAll(() => {
  for (const name of made) if (existsSync(`/dev/shm${name}`)) native.shmUnlink(name);
});

/** Runs a short script in another Node process; resolves with its exit code. */
function child(script: string, ...args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", "tsx", "-e", script, ...args], { stdio: ["ignore", "inherit", "inherit"] });
    p.on("error", reject);
    p.on("exit", (code) => resolve(code));
  });
}

describe("shared memory", () => {
  it("creates a zero-filled object of the size asked, with a SharedArrayBuffer and a Buffer over the same memory", () => {
    const name = newName();
    const m = native.shmCreate(name, 8192);
    expect(m.size).toBe(8192);
    expect(m.control).toBeInstanceOf(SharedArrayBuffer);
    expect(m.control.byteLength).toBe(8192);
    expect(Buffer.isBuffer(m.data)).toBe(true);
    expect(m.data.every((b) => b === 0)).toBe(true);
    new Int32Array(m.control)[3] = 0x01020304;
    expect(m.data.readInt32LE(12)).toBe(0x01020304);
    native.shmUnlink(name);
    expect(existsSync(`/dev/shm${name}`)).toBe(false);
    // The mapping outlives the name.
    m.data[0] = 7;
    expect(new Uint8Array(m.control)[0]).toBe(7);
  });

  it("another process maps the same object by name and sees and makes changes", async () => {
    const name = newName();
    const m = native.shmCreate(name, 4096);
    m.data.write("from the parent", 100);
    const code = await child(
      `import { loadNativeAddon } from "${process.cwd()}/runtime/native/index.ts";
       const m = loadNativeAddon().shmOpen(process.argv[1], 4096);
       if (m.data.toString("utf8", 100, 115) !== "from the parent") process.exit(2);
       Atomics.store(new Int32Array(m.control), 0, 42);
       m.data.write("from the child", 200);`,
      name,
    );
    expect(code).toBe(0);
    expect(Atomics.load(new Int32Array(m.control), 0)).toBe(42);
    expect(m.data.toString("utf8", 200, 214)).toBe("from the child");
  });

  it("refuses an existing name, a missing one, a size that differs, and bad names and sizes", () => {
    const name = newName();
    native.shmCreate(name, 4096);
    expect(() => native.shmCreate(name, 4096)).toThrow(expect.objectContaining({ code: "EEXIST" }));
    expect(() => native.shmOpen(`${name}-missing`, 4096)).toThrow(expect.objectContaining({ code: "ENOENT" }));
    expect(() => native.shmOpen(name, 8192)).toThrow(/holds 4096 bytes, not the 8192 expected/);
    expect(() => native.shmUnlink(`${name}-missing`)).toThrow(expect.objectContaining({ code: "ENOENT" }));
    for (const bad of ["", "/", "no-slash", "/a/b", `/${"x".repeat(300)}`]) expect(() => native.shmCreate(bad, 10), bad).toThrow(RangeError);
    expect(() => native.shmCreate(42 as unknown as string, 10)).toThrow(TypeError);
    for (const size of [0, -1, 1.5, Number.NaN, 2 ** 41]) expect(() => native.shmCreate(newName(), size), String(size)).toThrow(RangeError);
  });
});

describe("detachable views (zero-copy messages)", () => {
  it("views part of a mapping, in place; detach empties the view and every typed array over it", () => {
    const m = native.shmCreate(newName(), 65536);
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
    const m = native.shmCreate(newName(), 4096);
    expect(native.shmView(m.handle, 4096, 0).byteLength).toBe(0);
    for (const [offset, length] of [[4096, 1], [0, 4097], [4000, 97], [-1, 1], [2 ** 53, 1], [1.5, 1], [0, Number.NaN]]) {
      expect(() => native.shmView(m.handle, offset, length), `${offset}+${length}`).toThrow(RangeError);
    }
    expect(() => native.shmView({}, 0, 1)).toThrow(TypeError);
    expect(() => native.detach(new Uint8Array(4) as unknown as ArrayBuffer)).toThrow(TypeError);
  });

  it("a view transferred to a worker stays readable there after this side let go of everything", async () => {
    let m: ReturnType<typeof native.shmCreate> | null = native.shmCreate(newName(), 1 << 20);
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
    const bell = Doorbell.create();
    let calls = 0;
    const rung = new Promise<void>((resolve) => {
      bell.watch(() => {
        calls++;
        resolve();
      });
    });
    // The child gets the eventfd as its descriptor 3, as a peer gets it over the descriptor channel.
    const code = await new Promise<number | null>((resolve, reject) => {
      const p = spawn(
        process.execPath,
        ["--import", "tsx", "-e", `import { Doorbell } from "${process.cwd()}/runtime/shm/doorbell.ts"; Doorbell.adopt(3).ring();`],
        { stdio: ["ignore", "inherit", "inherit", bell.descriptor] },
      );
      p.on("error", reject);
      p.on("exit", resolve);
    });
    expect(code).toBe(0);
    await rung;
    expect(calls).toBe(1);
    bell.close();
  });

  it("rings coalesce while the callback is queued, and a closed doorbell calls nothing more", async () => {
    const bell = Doorbell.create();
    const peer = Doorbell.adopt(native.dupFd(bell.descriptor));
    let calls = 0;
    bell.watch(() => calls++);
    for (let i = 0; i < 100; i++) peer.ring();
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(1);
    bell.close();
    bell.close(); // twice is fine
    peer.ring();
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(1);
    peer.close();
  });

  it("adopts only an eventfd, and closes what it refuses", () => {
    const { fd } = native.memfdCreate(4096);
    expect(() => Doorbell.adopt(fd)).toThrow(expect.objectContaining({ code: "ERR_IPCGEN_BAD_DESCRIPTOR" }));
    expect(() => native.closeFd(fd)).toThrow(expect.objectContaining({ code: "EBADF" }));
    const bell = Doorbell.create();
    expect(() => bell.watch(() => {})).not.toThrow();
    expect(() => bell.watch(() => {})).toThrow(/watched already/);
    bell.close();
  });
});
