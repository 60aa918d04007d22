/**
 * The native addon's shared memory and wake-ups: objects created, opened and unlinked, two views of one
 * mapping seen by another process, futex wake-ups across processes that run callbacks on the event loop,
 * and every bad argument refused with a clear error.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
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

describe("futex wake-ups", () => {
  it("a ring from another process runs the watcher's callback on the event loop", async () => {
    const name = newName();
    const m = native.shmCreate(name, 4096);
    const bell = new Doorbell(m, 64);
    let calls = 0;
    const rung = new Promise<void>((resolve) => {
      const watch = bell.watch(() => {
        calls++;
        watch.close();
        resolve();
      });
    });
    const code = await child(
      `import { loadNativeAddon } from "${process.cwd()}/runtime/native/index.ts";
       import { Doorbell } from "${process.cwd()}/runtime/shm/doorbell.ts";
       new Doorbell(loadNativeAddon().shmOpen(process.argv[1], 4096), 64).ring();`,
      name,
    );
    expect(code).toBe(0);
    await rung;
    expect(calls).toBe(1);
    expect(Atomics.load(new Int32Array(m.control), 16)).toBe(1);
  });

  it("rings coalesce while the callback is queued, and a closed watch calls nothing more", async () => {
    const m = native.shmCreate(newName(), 4096);
    const bell = new Doorbell(m, 0);
    let calls = 0;
    const watch = bell.watch(() => calls++);
    for (let i = 0; i < 100; i++) bell.ring();
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThan(100);
    watch.close();
    watch.close(); // twice is fine
    const before = calls;
    bell.ring();
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(before);
  });

  it("refuses a handle that is not a mapping's and a word outside the mapping or misaligned", () => {
    const m = native.shmCreate(newName(), 4096);
    expect(() => native.futexWake({}, 0)).toThrow(TypeError);
    expect(() => native.futexWake(m.control, 0)).toThrow(TypeError);
    for (const offset of [4096, 4094, 2, -4, Number.NaN]) expect(() => native.futexWake(m.handle, offset), String(offset)).toThrow(RangeError);
    expect(() => native.futexWatch(m.handle, 0, "not a function" as unknown as () => void)).toThrow(TypeError);
    expect(() => new Doorbell(m, 4096)).toThrow(RangeError);
  });
});
