/**
 * The runtime without its native addon, as on a platform other than Linux: turned off with
 * IPCGEN_NATIVE_ADDON=off, in child processes (their whole life) and in this one (around a `listen` or a
 * `connect`, which decide then what they can do). Sessions, RPC, signals and channels work over the socket;
 * zero-copy falls back to the socket; shared buffers and packet streams throw SharedMemoryUnavailableError
 * on both ends; a server says at `listen` that it reads no credentials; a peer with the addon and one
 * without negotiate down, whichever is which. docs/platforms.md describes it.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LoginError, NativeAddonError, SharedMemoryUnavailableError } from "../../runtime/index.js";
import { loadNativeAddon, NATIVE_ADDON_ENV, nativeAddonAvailable } from "../../runtime/native/index.js";
import { isNamedPipe, NO_NATIVE_ADDON_WARNING } from "../../runtime/session/platform.js";
import { connect } from "../../runtime/session/client.js";
import { listen } from "../../runtime/session/server.js";
import { Desk, Desk_ClosedError } from "../stubs/gen/stubs.capnp.js";
import { Blobs } from "../zero-copy/gen/blobs.capnp.js";
import { Terminal, type TerminalRemote } from "../../examples/terminal/gen/terminal.capnp.js";
import { Soak, type SoakRemote } from "../hardening/gen/soak.capnp.js";
import { echoService, loadEcho, REPO } from "./support/echo.js";
import { ECHO_CLIENT, ECHO_SERVER, killAll, line, NOBODY, run } from "./support/processes.js";
import { itAsOtherUser } from "../support/other-user.js";
import type { ServiceDefinition } from "../../runtime/rpc/service.js";

const OFF = { [NATIVE_ADDON_ENV]: "off" };
const DESK_SERVER = join(REPO, "test/stubs/support/desk-server.ts");
const BLOBS_SERVER = join(REPO, "test/zero-copy/support/blobs-server.ts");
const MiB = 1024 * 1024;
const isRoot = process.getuid?.() === 0;

let dir: string;
/** Warnings this process got (the one about the addon comes once). */
const warnings: Error[] = [];
const onWarning = (w: Error): void => void warnings.push(w);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ipcgen-no-addon-"));
  chmodSync(dir, 0o755); // processes of another user must reach the sockets of "another uid"
  process.on("warning", onWarning);
});

afterAll(() => {
  process.off("warning", onWarning);
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `fn` with the addon turned off in this process (a listen or connect decides at its start). */
async function withoutAddon<T>(fn: () => Promise<T>): Promise<T> {
  const before = process.env[NATIVE_ADDON_ENV];
  process.env[NATIVE_ADDON_ENV] = "off";
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env[NATIVE_ADDON_ENV];
    else process.env[NATIVE_ADDON_ENV] = before;
  }
}

/** A server script in a child process, once it listens; `stderr` collects what it says there. */
async function start(script: string, path: string, env: Record<string, string> = {}, args: string[] = []): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = run(script, [path, ...args], { env });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  await line(child, /listening/);
  return { child, stderr: () => err };
}

describe("turning the addon off", () => {
  it("IPCGEN_NATIVE_ADDON=off makes loading it fail with NativeAddonError, and nativeAddonAvailable() false", async () => {
    expect(nativeAddonAvailable()).toBe(true);
    await withoutAddon(async () => {
      expect(() => loadNativeAddon()).toThrow(NativeAddonError);
      expect(() => loadNativeAddon()).toThrow(`ipcgen's native addon is disabled (${NATIVE_ADDON_ENV}=off)`);
      expect(nativeAddonAvailable()).toBe(false);
    });
    // `none` too, and in any case; and it comes back once the variable is gone.
    process.env[NATIVE_ADDON_ENV] = "None";
    try {
      expect(nativeAddonAvailable()).toBe(false);
    } finally {
      delete process.env[NATIVE_ADDON_ENV];
    }
    expect(nativeAddonAvailable()).toBe(true);
  });
});

describe("a server without credentials", () => {
  let service: ServiceDefinition;
  beforeAll(async () => {
    service = echoService(await loadEcho());
  }, 60_000);

  it("says so at listen: server.credentials is 'unavailable', one warning with its code, the socket private", async () => {
    const path = join(dir, "plain.sock");
    const server = await withoutAddon(() => listen(path, { service, onSession: () => {} }));
    try {
      expect(server.credentials).toBe("unavailable");
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const ours = warnings.filter((w) => (w as NodeJS.ErrnoException).code === NO_NATIVE_ADDON_WARNING);
      expect(ours).toHaveLength(1);
      expect(ours[0].message).toMatch(/^ipcgen's native addon is disabled \(IPCGEN_NATIVE_ADDON=off\)\. Sessions run over their sockets without it: servers cannot read peer credentials/);
      // Once per process: a second server says nothing more.
      const second = await withoutAddon(() => listen(join(dir, "plain2.sock"), { service, onSession: () => {} }));
      await second.close();
      expect(warnings.filter((w) => (w as NodeJS.ErrnoException).code === NO_NATIVE_ADDON_WARNING)).toHaveLength(1);
    } finally {
      await server.close();
    }
    const withAddon = await listen(join(dir, "kernel.sock"), { service, onSession: () => {} });
    expect(withAddon.credentials).toBe("kernel");
    await withAddon.close();
    const custom = await withoutAddon(() => listen(join(dir, "custom.sock"), { service, onSession: () => {}, credentials: () => ({ pid: 1, uid: 0, gid: 0 }) }));
    expect(custom.credentials).toBe("custom");
    await custom.close();
  });

  it("refuses at listen what it could not honour: an `allow` policy, permissions that let other uids connect", async () => {
    const allow = await withoutAddon(() => listen(join(dir, "allow.sock"), { service, onSession: () => {}, allow: () => true }).catch((e: unknown) => e));
    expect(allow).toBeInstanceOf(NativeAddonError);
    expect((allow as Error).message).toMatch(/^listen: `allow` needs peers' credentials, which ipcgen reads with its native addon: ipcgen's native addon is disabled/);
    for (const permissions of ["group", "anyone"] as const) {
      const err = await withoutAddon(() => listen(join(dir, `${permissions}.sock`), { service, onSession: () => {}, permissions }).catch((e: unknown) => e));
      expect(err).toBeInstanceOf(NativeAddonError);
      expect((err as Error).message).toContain(`permissions "${permissions}" let other uids connect`);
      expect((err as Error).message).toContain('`credentials: "none"`');
    }
    // Saying so is the way to admit whoever the socket's mode lets connect.
    const group = await withoutAddon(() => listen(join(dir, "group.sock"), { service, onSession: () => {}, permissions: "group", credentials: "none" }));
    expect(group.credentials).toBe("unavailable");
    expect(statSync(group.path).mode & 0o777).toBe(0o660);
    await group.close();
    await expect(listen(join(dir, "none-allow.sock"), { service, onSession: () => {}, credentials: "none", allow: () => true })).rejects.toThrow(TypeError);
  });
});

describe("another uid, both ends without the addon", () => {
  /** What an Echo client process of `user`, without the addon, says of its log-in to `path`. */
  async function logIn(path: string, user: { uid: number; gid: number }): Promise<{ ok?: boolean; error?: string; message?: string }> {
    return JSON.parse(await line(run(ECHO_CLIENT, [path, "connect"], { ...user, env: OFF }), /^\{/)) as { ok?: boolean; error?: string; message?: string };
  }

  itAsOtherUser(
    "is kept out by the socket's mode alone (0600), and let in where credentials: \"none\" and the mode (0666) say so",
    [ECHO_CLIENT],
    async (user) => {
      const d = join(dir, "uids");
      mkdirSync(d, { mode: 0o755 });
      const private_ = join(d, "private.sock");
      await line(run(ECHO_SERVER, [private_], { env: OFF }), /listening/);
      const kept = await logIn(private_, user);
      expect(kept.error).toBe("ConnectError");
      expect(kept.message).toContain("EACCES");
      // The same user is let in: the server's own.
      expect(await logIn(private_, { uid: process.getuid!(), gid: process.getgid!() })).toEqual({ ok: true });
      const open = join(d, "open.sock");
      await line(run(ECHO_SERVER, [open, JSON.stringify({ permissions: "anyone", credentials: "none" })], { env: OFF }), /listening/);
      // The client checks the file's owner, root, which its default policy trusts.
      expect(await logIn(open, user)).toEqual({ ok: true });
    },
    60_000,
  );
});

describe("both ends without the addon", () => {
  let path: string;
  let server: Awaited<ReturnType<typeof start>>;

  beforeAll(async () => {
    path = join(dir, "desk.sock");
    server = await start(DESK_SERVER, path, OFF);
  }, 60_000);

  it("the server said at listen that it reads no credentials", () => {
    expect(server.stderr()).toContain(`[${NO_NATIVE_ADDON_WARNING}] Warning: ipcgen's native addon is disabled (IPCGEN_NATIVE_ADDON=off)`);
  });

  it("calls, typed errors, one-way messages and signals both ways, over the socket", async () => {
    await withoutAddon(async () => {
      await using desk = await Desk.connect(path);
      expect(desk.session.peer).toBeNull();
      expect(desk.zeroCopy).toBe(false);
      expect(desk.session.noSharedMemory).toMatchObject({ side: "local", reason: expect.stringContaining("this client runs without ipcgen's native addon") });
      expect(await desk.version()).toEqual({ version: "desk 1" });
      await expect(desk.take({ name: "closed" })).rejects.toBeInstanceOf(Desk_ClosedError);
      const changed = new Promise<number>((resolve) => desk.once("queueChanged", resolve));
      expect((await desk.take({ name: "no-addon" })).queue).toContain("no-addon");
      expect(await changed).toBeGreaterThan(0);
      await desk.note({ text: "from a client without the addon" });
      desk.ring();
      desk.ring();
      await expect.poll(async () => (await desk.stats()).rings, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
      expect((await desk.stats()).notes).toContain("from a client without the addon");
    });
  });

  it("channels opened by either side", async () => {
    await withoutAddon(async () => {
      const opened: number[] = [];
      await using desk = await Desk.connect(path, {
        channels: {
          counter: () => {
            let total = 0n;
            return { add: ({ n }: { n: number }) => ((total += BigInt(n)), opened.push(n), { total }) };
          },
        },
      });
      await using counter = await desk.openCounter();
      const changed = new Promise<number>((resolve) => counter.once("changed", resolve));
      expect((await counter.add({ n: 5 })).total).toBe(5n);
      expect((await counter.add({ n: 6 })).total).toBe(11n);
      expect(await changed).toBeGreaterThan(0);
      await using worker = await desk.openWorker({ name: "w" });
      expect((await worker.whoami()).name).toBe("w");
      // The server opens a channel toward this client.
      expect((await desk.callback({ n: 7 })).total).toBe(7n);
      expect(opened).toEqual([7]);
    });
  });
});

describe("zero-copy falls back to the socket", () => {
  it("a client without the addon, a server with it: large values cross the socket, blocks are ordinary memory", async () => {
    const path = join(dir, "blobs-with.sock");
    await start(BLOBS_SERVER, path);
    await withoutAddon(async () => {
      await using blobs = await Blobs.connect(path, { zeroCopy: { threshold: 1024 } });
      expect(blobs.zeroCopy).toBe(false);
      const data = randomBytes(4 * MiB);
      const before = blobs.session.framed.socket.bytesWritten;
      using answer = await blobs.echo({ data });
      expect(Buffer.compare(Buffer.from(answer.data), data)).toBe(0);
      expect(blobs.session.framed.socket.bytesWritten - before).toBeGreaterThan(4 * MiB);
      // allocate still works: a block of this process's memory, sent by copying.
      const block = blobs.allocate(MiB);
      block.bytes.fill(3);
      expect((await blobs.sum({ data: block.bytes, parts: [] })).sum).toBe(3n * BigInt(MiB));
      using filled = await blobs.fill({ size: MiB, byte: 9 });
      expect(filled.data.length).toBe(MiB);
      expect(filled.data.every((b) => b === 9)).toBe(true);
    });
  });

  it("a server without the addon, a client with it: the same, and the client's session says nothing is shared", async () => {
    const path = join(dir, "blobs-without.sock");
    const server = await start(BLOBS_SERVER, path, OFF);
    await using blobs = await Blobs.connect(path);
    expect(blobs.session.peer?.pid).toBe(server.child.pid);
    expect(blobs.zeroCopy).toBe(false);
    const data = randomBytes(4 * MiB);
    const before = blobs.session.framed.socket.bytesRead;
    using answer = await blobs.echo({ data });
    expect(Buffer.compare(Buffer.from(answer.data), data)).toBe(0);
    expect(blobs.session.framed.socket.bytesRead - before).toBeGreaterThan(4 * MiB);
    const block = blobs.allocate(MiB);
    block.bytes.fill(1);
    expect((await blobs.sum({ data: block.bytes, parts: [block.bytes.subarray(0, 8)] })).sum).toBe(BigInt(MiB + 8));
    using filled = await blobs.fill({ size: 100_000, byte: 4 });
    expect(filled.data.every((b) => b === 4)).toBe(true);
  });
});

/** A Terminal handler that answers `avail` and tries its shared buffer in `write`. */
function terminal(remotes: TerminalRemote[]) {
  return (remote: TerminalRemote) => {
    remotes.push(remote);
    return {
      write: ({ size }: { size: number }) => ({ written: remote.buffer.clamp(size) }),
      read: () => ({ read: 0 }),
      avail: () => ({ bytes: 42 }),
    };
  };
}

/** A Soak handler: pings answered, streams left alone. */
function soak(remotes: SoakRemote[]) {
  return (remote: SoakRemote) => {
    remotes.push(remote);
    return {
      ping: ({ n }: { n: number }) => ({ n }),
      sum: ({ data }: { data: Uint8Array }) => ({ sum: BigInt(data.reduce((a, b) => a + b, 0)), length: BigInt(data.length) }),
      fill: ({ size, byte }: { size: number; byte: number }) => ({ data: new Uint8Array(size).fill(byte) }),
      hold: () => {},
      note: () => {},
    };
  };
}

/** Expects `fn` to throw SharedMemoryUnavailableError of `side` naming `what`. */
function expectUnavailable(fn: () => unknown, side: "local" | "peer", what: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(SharedMemoryUnavailableError);
  expect((error as SharedMemoryUnavailableError).side).toBe(side);
  expect((error as Error).message).toMatch(what);
}

describe("shared buffers and packet streams", () => {
  it("a server without the addon logs clients in without them; both ends' accesses throw SharedMemoryUnavailableError", async () => {
    const remotes: TerminalRemote[] = [];
    const server = await withoutAddon(() => Terminal.listen(join(dir, "terminal-without.sock"), terminal(remotes)));
    try {
      await using client = await Terminal.connect(server.path);
      expect(await client.avail()).toEqual({ bytes: 42 });
      expectUnavailable(() => client.buffer, "peer", /^this Terminal session has no shared buffer: the server made it none \(it cannot share memory/);
      // The server's handler finds out the same way, and its caller gets an internal error; the session goes on.
      await expect(client.write({ size: 3 })).rejects.toMatchObject({ name: "RemoteError", kind: "internal" });
      expectUnavailable(() => remotes[0].buffer, "local", /this server runs without ipcgen's native addon \(ipcgen's native addon is disabled/);
      expect(await client.avail()).toEqual({ bytes: 42 });
    } finally {
      await server.close();
    }

    const soaks: SoakRemote[] = [];
    const soakServer = await withoutAddon(() => Soak.listen(join(dir, "soak-without.sock"), soak(soaks)));
    try {
      await using client = await Soak.connect(soakServer.path);
      expect(await client.ping({ n: 3 })).toEqual({ n: 3 });
      expectUnavailable(() => client.up, "peer", /^this Soak session has no packet stream up: /);
      expectUnavailable(() => client.down, "peer", /^this Soak session has no packet stream down: /);
      expectUnavailable(() => soaks[0].up, "local", /^this Soak session has no packet stream up: this server runs without/);
      // Zero-copy is off too: a large call crosses the socket.
      expect(client.zeroCopy).toBe(false);
      expect((await client.sum({ data: new Uint8Array(2 * MiB).fill(1) })).sum).toBe(BigInt(2 * MiB));
    } finally {
      await soakServer.close();
    }
  });

  it("a client without the addon says so in its hello: the server makes it none, and other clients still get theirs", async () => {
    const remotes: TerminalRemote[] = [];
    const server = await Terminal.listen(join(dir, "terminal-with.sock"), terminal(remotes));
    try {
      await using without = await withoutAddon(() => Terminal.connect(server.path));
      expectUnavailable(() => without.buffer, "local", /^this Terminal session has no shared buffer: this client runs without ipcgen's native addon/);
      expectUnavailable(() => remotes[0].buffer, "peer", /the client cannot map shared memory/);
      expect(await without.avail()).toEqual({ bytes: 42 });
      // A client with the addon, meanwhile, has its buffer, shared with the server.
      await using withAddon = await Terminal.connect(server.path);
      expect(withAddon.buffer.size).toBe(4096);
      withAddon.buffer.copyIn(Buffer.from("hello"));
      expect(remotes[1].buffer.copyOut(5).toString()).toBe("hello");
      expect(await withAddon.write({ size: 5 })).toEqual({ written: 5 });
      expect(await without.avail()).toEqual({ bytes: 42 });
    } finally {
      await server.close();
    }

    const soaks: SoakRemote[] = [];
    const soakServer = await Soak.listen(join(dir, "soak-with.sock"), soak(soaks));
    try {
      await using client = await withoutAddon(() => Soak.connect(soakServer.path));
      expectUnavailable(() => client.up, "local", /^this Soak session has no packet stream up: this client runs without/);
      expectUnavailable(() => soaks[0].down, "peer", /^this Soak session has no packet stream down: the client cannot map shared memory/);
      expect(await client.ping({ n: 9 })).toEqual({ n: 9 });
      using filled = await client.fill({ size: 2 * MiB, byte: 7 });
      expect(filled.data.length).toBe(2 * MiB);
    } finally {
      await soakServer.close();
    }
  });
});

describe('credentials: "none" where the addon is', () => {
  it("admits by the socket's mode alone, and makes no shared memory (its descriptor channel checks the peer's pid)", async () => {
    const remotes: TerminalRemote[] = [];
    const server = await Terminal.listen(join(dir, "terminal-none.sock"), terminal(remotes), { credentials: "none" });
    try {
      expect(server.credentials).toBe("unavailable");
      await using client = await Terminal.connect(server.path);
      expect(client.session.peer?.pid).toBe(process.pid);
      expect(remotes[0].credentials).toBeNull();
      expectUnavailable(() => remotes[0].buffer, "local", /this server reads no peer credentials/);
      expectUnavailable(() => client.buffer, "peer", /the server made it none/);
      expect(await client.avail()).toEqual({ bytes: 42 });
    } finally {
      await server.close();
    }
  });
});

describe("a client checks the socket file's owner instead of the server's credentials", () => {
  it("the default policy and allowServer see the file's owner (pid 0); a refusal sends nothing", async () => {
    const service = echoService(await loadEcho());
    const sessions: unknown[] = [];
    const server = await listen(join(dir, "owner.sock"), { service, onSession: (s) => sessions.push(s) });
    try {
      const seen: unknown[] = [];
      const session = await withoutAddon(() => connect(server.path, { service, allowServer: (s) => (seen.push(s), true) }));
      expect(seen).toEqual([{ pid: 0, uid: process.getuid!(), gid: statSync(server.path).gid }]);
      expect(session.peer).toBeNull();
      await session.close();
      const refused = await withoutAddon(() => connect(server.path, { service, allowServer: () => false }).catch((e: unknown) => e));
      expect(refused).toBeInstanceOf(LoginError);
      expect((refused as LoginError).kind).toBe("server-not-trusted");
      expect((refused as Error).message).toContain(`the socket file ${server.path} belongs to uid ${process.getuid!()}`);
      if (isRoot) {
        // A socket file of another uid: the default policy (this uid or root) refuses it.
        chownSync(server.path, NOBODY, NOBODY);
        const theirs = await withoutAddon(() => connect(server.path, { service }).catch((e: unknown) => e));
        expect(theirs).toBeInstanceOf(LoginError);
        expect((theirs as Error).message).toContain(`belongs to uid ${NOBODY}`);
        expect((theirs as Error).message).toContain("by default only uid 0 or root is");
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(sessions).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});

describe("Windows named pipes", () => {
  it("are told from socket paths on Windows only (untested there: Node's net speaks them)", () => {
    expect(isNamedPipe("\\\\.\\pipe\\ipcgen-desk", "win32")).toBe(true);
    expect(isNamedPipe("\\\\?\\pipe\\ipcgen-desk", "win32")).toBe(true);
    expect(isNamedPipe("\\\\.\\PIPE\\x", "win32")).toBe(true);
    expect(isNamedPipe("C:\\Users\\me\\desk.sock", "win32")).toBe(false);
    expect(isNamedPipe("\\\\.\\pipe\\", "win32")).toBe(false);
    expect(isNamedPipe("\\\\.\\pipe\\ipcgen-desk", "linux")).toBe(false);
    expect(isNamedPipe("/tmp/desk.sock", "linux")).toBe(false);
  });
});
