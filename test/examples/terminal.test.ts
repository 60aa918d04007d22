/**
 * examples/terminal: a session's shared buffer between real processes. Bytes go through the buffer both
 * ways, sizes from the client are clamped, the `readAvail` signal announces input, the buffer is a sealed
 * memfd with no name, and a killed client or server leaves nothing behind.
 */
import { fstatSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SessionEndedError } from "ipcgen";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Terminal } from "../../examples/terminal/gen/terminal.capnp.js";
import { loadNativeAddon } from "../../runtime/native/index.js";
import { createRegion, mapRegion } from "../../runtime/shm/region.js";
import { killAll, Program, shmLeftovers } from "./support.js";

const dir = mkdtempSync(join(tmpdir(), "ipcgen-terminal-test-"));
const path = join(dir, "terminal.sock");
let server: Program;


beforeAll(async () => {
  server = new Program("examples/terminal/server.ts", [path]);
  await server.waitFor(/listening/);
});

afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("the terminal example", () => {
  it("moves bytes through the shared buffer both ways, announcing input with readAvail", async () => {
    await using terminal = await Terminal.connect(path);
    expect(terminal.buffer.size).toBe(4096);
    // The buffer has no name: nothing of it is in /dev/shm.
    expect(shmLeftovers()).toEqual([]);
    const announced = new Promise<number>((resolve) => terminal.once("readAvail", resolve));
    const written = await terminal.buffer.use(async (buffer) => {
      const n = buffer.write("shared memory\n");
      return (await terminal.write({ size: n })).written;
    });
    expect(written).toBe(14);
    expect(await announced).toBeGreaterThanOrEqual(1);
    expect((await terminal.avail()).bytes).toBe(14);
    const echoed = await terminal.buffer.use(async (buffer) => {
      const { read } = await terminal.read({ size: 100 });
      return buffer.toString("utf8", 0, read);
    });
    expect(echoed).toBe("SHARED MEMORY\n");
    await server.waitFor(/\] shared memory$/);
  });

  it("clamps the sizes a client says to the buffer's size", async () => {
    await using terminal = await Terminal.connect(path);
    terminal.buffer.bytes.fill(0x61);
    expect((await terminal.write({ size: 0xffffffff })).written).toBe(4096);
    await expect.poll(async () => (await terminal.avail()).bytes).toBe(4096);
    // Reading asks for more than the buffer holds: the server puts in no more than fits.
    expect((await terminal.read({ size: 0xffffffff })).read).toBe(4096);
    expect(terminal.buffer.bytes.toString("latin1", 0, 3)).toBe("AAA");
  });

  it("runs the client program on its standard input, lines longer than the buffer included", async () => {
    const client = new Program("examples/terminal/client.ts", [path]);
    client.write("first");
    client.write("y".repeat(6000));
    expect(await client.end()).toBe(0);
    expect(client.out).toEqual(["echo: FIRST", "echo: YYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYY... (6000 bytes)"]);
  });

  it("a client killed with SIGKILL ends only its own session, and leaves no shared memory", async () => {
    const victim = new Program("examples/terminal/client.ts", [path]);
    victim.write("before the kill");
    await victim.waitFor(/echo: BEFORE THE KILL/);
    victim.child.kill("SIGKILL");
    await victim.exited;
    await using other = await Terminal.connect(path);
    expect((await other.avail()).bytes).toBe(0);
    expect(shmLeftovers()).toEqual([]);
  });

  it("a server killed with SIGKILL: its client sees one end of the session, and /dev/shm holds nothing of either", async () => {
    const local = join(dir, "killed.sock");
    const doomed = new Program("examples/terminal/server.ts", [local]);
    await doomed.waitFor(/listening/);
    const terminal = await Terminal.connect(local);
    const pending = terminal.buffer.use(() => terminal.read({ size: 10 }).then(() => terminal.write({ size: 1 })));
    doomed.child.kill("SIGKILL");
    const ended = await terminal.session.closed;
    expect(ended.cause).toBe("peer-died");
    await pending.catch((err: unknown) => expect(err).toBeInstanceOf(SessionEndedError));
    expect(shmLeftovers()).toEqual([]);
  });

  it("runs as a demo: npm run example:terminal exits 0", async () => {
    const demo = new Program("examples/terminal/demo.ts");
    expect(await demo.exited).toBe(0);
    expect(demo.out.join("\n")).toMatch(/client \| echo: THROUGH SHARED MEMORY/);
  });
});

describe("regions", () => {
  it("a client maps only a memfd sealed against shrinking, of the size it expects, and closes what it refuses", () => {
    const native = loadNativeAddon();
    const file = join(dir, "region-file");
    writeFileSync(file, Buffer.alloc(4096));
    const fd = openSync(file, "r+");
    expect(() => mapRegion(fd, 4096)).toThrow(/memfd/);
    // Refused, and closed: the descriptor is no longer open.
    expect(() => fstatSync(fd)).toThrow(/EBADF/);
    const small = createRegion(100);
    expect(() => mapRegion(small.fd, 4096)).toThrow(/holds 100 bytes, not the 4096 expected/);
    const unsealed = native.memfdCreate(4096, 0);
    expect(() => mapRegion(unsealed.fd, 4096)).toThrow(/seal/);
    const good = createRegion(4096);
    good.mapping.data[7] = 42;
    expect(mapRegion(good.fd, 4096).data[7]).toBe(42);
  });
});
