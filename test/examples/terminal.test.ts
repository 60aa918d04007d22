/**
 * examples/terminal: a session's shared buffer between real processes. Bytes go through the buffer both
 * ways, sizes from the client are clamped, the `readAvail` signal announces input, the buffer's name is
 * gone from /dev/shm once the client has mapped it, and a killed client or server leaves nothing behind.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SessionEndedError } from "ipcgen";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Terminal } from "../../examples/terminal/gen/terminal.capnp.js";
import { openRegion, sweepRegions } from "../../runtime/shm/region.js";
import { killAll, Program, shmObjectsOf } from "./support.js";

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
    // Once connect has resolved the client has mapped the buffer; the server then removes its name.
    await expect.poll(() => shmObjectsOf(server.pid)).toEqual([]);
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
    expect(shmObjectsOf(server.pid)).toEqual([]);
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
    expect(shmObjectsOf(doomed.pid)).toEqual([]);
    expect(shmObjectsOf(process.pid)).toEqual([]);
  });

  it("runs as a demo: npm run example:terminal exits 0", async () => {
    const demo = new Program("examples/terminal/demo.ts");
    expect(await demo.exited).toBe(0);
    expect(demo.out.join("\n")).toMatch(/client \| echo: THROUGH SHARED MEMORY/);
  });
});

describe("shared-memory names", () => {
  it("a starting server removes what dead ipcgen processes left, and nothing else", () => {
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!;
    const left = `ipcgen-${dead}-0123456789ab-1-sharedBuffer0`;
    const live = `ipcgen-${process.pid}-0123456789ab-1-sharedBuffer0`;
    const other = `not-ipcgen-${dead}`;
    for (const name of [left, live, other]) writeFileSync(`/dev/shm/${name}`, "");
    try {
      expect(sweepRegions()).toContain(`/${left}`);
      const remaining = readdirSync("/dev/shm");
      expect(remaining).not.toContain(left);
      expect(remaining).toContain(live);
      expect(remaining).toContain(other);
    } finally {
      for (const name of [left, live, other]) rmSync(`/dev/shm/${name}`, { force: true });
    }
  });

  it("a client maps only ipcgen's region names, of the size it expects", () => {
    expect(() => openRegion("/etc-passwd", 4096)).toThrow(/not the name of an ipcgen region/);
    expect(() => openRegion("/ipcgen-1-0123456789ab-1-sharedBuffer0/../x", 4096)).toThrow(/not the name/);
    const name = `/ipcgen-${process.pid}-0123456789ab-9-sharedBuffer0`;
    writeFileSync(`/dev/shm${name}`, Buffer.alloc(100));
    try {
      expect(() => openRegion(name, 4096)).toThrow(/holds 100 bytes, not the 4096 expected/);
    } finally {
      rmSync(`/dev/shm${name}`, { force: true });
    }
  });
});
