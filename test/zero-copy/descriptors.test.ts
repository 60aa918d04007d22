/**
 * The descriptor channel between real processes (docs/runtime.md, "The descriptor channel"): a session's
 * shared memory passed as sealed memfds, also to a client of another user; joins by a client that behaves
 * (and by one that does not: an unknown token, a token used by another process, a second join, no join at
 * all); and a server that passes the client memory it could shrink.
 */
import { spawn } from "node:child_process";
import { chmodSync, ftruncateSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectError, listen, Session } from "../../runtime/index.js";
import { loadNativeAddon } from "../../runtime/native/index.js";
import { Header_Kind, Hello, protocolVersion, Region_Purpose, Welcome } from "../../runtime/protocol/protocol.capnp.js";
import { DescriptorChannel } from "../../runtime/transport/descriptor-channel.js";
import { encodeFrame } from "../../runtime/transport/frames.js";
import { Nic } from "../../examples/nic/gen/nic.capnp.js";
import { Terminal } from "../../examples/terminal/gen/terminal.capnp.js";
import { Blobs } from "./gen/blobs.capnp.js";
import { killAll, Program, REPO } from "../examples/support.js";
import { itAsOtherUser } from "../support/other-user.js";

const native = loadNativeAddon();
const dir = mkdtempSync(join(tmpdir(), "ipcgen-descriptors-"));
chmodSync(dir, 0o755); // a client of another user must reach the sockets inside
const path = join(dir, "blobs.sock");
let server: Program;

beforeAll(async () => {
  // A long log-in time: the tests that join by hand start other processes first.
  server = new Program("test/zero-copy/support/blobs-server.ts", [path, JSON.stringify({ loginTimeoutMs: 30_000 })]);
  await server.waitFor(/listening/);
});

afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Logs in by hand to `service` on `at`, asking for zero-copy (so that a Blobs session passes descriptors),
 * and stops before joining.
 */
async function loggedIn(at = path, service: { id: bigint; fingerprint: bigint } = Blobs): Promise<{ session: Session; welcome: Welcome.Plain }> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = createConnection(at, () => resolve(s));
    s.once("error", reject);
  });
  const session = new Session(socket, "client");
  const welcome = await new Promise<Welcome.Plain>((resolve, reject) => {
    session.loginHandler = (frame) => {
      if (frame.header.kind !== Header_Kind.WELCOME) return reject(new Error(`kind ${frame.header.kind}`));
      const welcome = Welcome.decode(frame.body);
      session.open(welcome.token);
      resolve(welcome);
    };
    session.sendFrame(0, Header_Kind.HELLO, 0, Hello.encode({ version: protocolVersion, service: service.id, fingerprint: service.fingerprint, zeroCopy: true, maxFrameBytes: 0 }));
  });
  return { session, welcome };
}

/** Sends `join` with `token` on a new descriptor channel to the server on `at`. */
function join_(token: bigint, at = path): DescriptorChannel {
  const channel = DescriptorChannel.connect(at);
  channel.write(encodeFrame({ token, channel: 0, id: 1, answers: 0, kind: Header_Kind.JOIN }, null));
  return channel;
}

/** Resolves true once the server has closed `channel`, false if it is still open after `ms`. */
async function droppedWithin(channel: DescriptorChannel, ms = 2000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const got = native.fdRecv(channel.descriptor, 1, 3);
    if (got !== null && got.bytes.length === 0) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

/** Resolves once `session` receives `joined` (rejects if it ends first). */
function joined(session: Session): Promise<void> {
  return new Promise((resolve, reject) => {
    session.onJoined = resolve;
    void session.closed.then(reject);
  });
}

describe("a session's memory is passed, never named", () => {
  it("zero-copy both ways with nothing in /dev/shm while it runs", async () => {
    await using blobs = await Blobs.connect(path);
    expect(blobs.zeroCopy).toBe(true);
    using filled = await blobs.fill({ size: 1 << 20, byte: 9 });
    expect(filled.data.length).toBe(1 << 20);
    using echoed = await blobs.echo({ data: new Uint8Array(4 << 20).fill(3) });
    expect(echoed.data[4 << 20 - 1]).toBe(3);
    expect(readdirSync("/dev/shm").filter((n) => n.startsWith("ipcgen"))).toEqual([]);
  });

  itAsOtherUser(
    "a client of another user that allow admits shares memory with the server both ways",
    [join(REPO, "test/zero-copy/support/blobs-other.ts")],
    async (user) => {
      const at = join(dir, "other.sock");
      const server = new Program("test/zero-copy/support/blobs-server.ts", [at, JSON.stringify({ allowUid: user.uid, permissions: "anyone" })]);
      await server.waitFor(/listening/);
      const child = spawn(process.execPath, ["--import", "tsx", join(REPO, "test/zero-copy/support/blobs-other.ts"), at, String(4 << 20)], { cwd: REPO, uid: user.uid, gid: user.gid, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      const code = await new Promise((resolve) => child.once("close", resolve));
      expect(err).toBe("");
      expect(code).toBe(0);
      expect(JSON.parse(out)).toEqual({ uid: user.uid, zeroCopy: true, echoed: true, filled: true });
    },
    60_000,
  );
});

describe("joins", () => {
  it("a join naming no session is dropped; the session's own join is then taken", async () => {
    const { session, welcome } = await loggedIn();
    expect(welcome.descriptors).toBe(true);
    expect(await droppedWithin(join_(welcome.token ^ 1n))).toBe(true);
    const done = joined(session);
    const channel = join_(welcome.token);
    await done;
    expect(await droppedWithin(channel, 100)).toBe(false);
    // The session goes on: a call is answered.
    expect((await session.request(Blobs.methods[7], new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0, 0xfc, 0xff, 0xff, 0xff, 0, 0, 0, 0]))).length).toBeGreaterThan(0);
    channel.close();
    await session.close();
  });

  it("another process with the session's token is dropped; a second join is dropped too", async () => {
    const { session, welcome } = await loggedIn();
    const thief = new Program("test/zero-copy/support/joiner.ts", [path, String(welcome.token)]);
    expect(await thief.waitFor(/^(dropped|kept)$/)).toBe("dropped");
    const done = joined(session);
    const channel = join_(welcome.token);
    await done;
    expect(await droppedWithin(join_(welcome.token))).toBe(true);
    expect(session.ended).toBe(false);
    channel.close();
    await session.close();
  });

  it("a client that never joins: the server ends its session after loginTimeoutMs", async () => {
    const at = join(dir, "impatient.sock");
    const impatient = new Program("test/zero-copy/support/blobs-server.ts", [at, JSON.stringify({ loginTimeoutMs: 1000 })]);
    await impatient.waitFor(/listening/);
    const { session } = await loggedIn(at);
    const end = await session.closed;
    expect(["peer-died", "closed-by-peer"]).toContain(end.cause);
    await impatient.waitFor(/ended refused: the client did not join its descriptor channel within 1000 ms/);
  });
});

describe("a hostile server's regions", () => {
  it("a shared buffer that is not sealed against shrinking is refused by the client, which never maps it", async () => {
    const at = join(dir, "hostile-terminal.sock");
    const shrinkable: number[] = [];
    const hostile = await listen(at, {
      service: Terminal,
      onSession: () => {},
      attach: () => {
        const { fd } = native.memfdCreate(4096, 0);
        shrinkable.push(fd);
        return { regions: [{ size: 4096n, purpose: Region_Purpose.SHARED_BUFFER, index: 0 }], descriptors: [[fd]], release: () => {} };
      },
    });
    const error = await Terminal.connect(at).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as Error).message).toMatch(/could not be mapped: .*seal/);
    for (const fd of shrinkable) native.closeFd(fd);
    await hostile.close();
  });

  it("a server that names a region but passes no descriptor for it: the client refuses the session", async () => {
    const at = join(dir, "silent.sock");
    const hostile = await listen(at, {
      service: Terminal,
      onSession: () => {},
      attach: () => ({ regions: [{ size: 4096n, purpose: Region_Purpose.SHARED_BUFFER, index: 0 }], descriptors: [], release: () => {} }),
    });
    const error = await Terminal.connect(at).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as Error).message).toMatch(/does not hold/);
    await hostile.close();
  });
});

describe("packet-stream regions a client tries to shrink", () => {
  it("cannot be shrunk: 30 clients try on every descriptor and vanish, the server goes on serving and ending sessions", async () => {
    const at = join(dir, "nic.sock");
    const nic = new Program("examples/nic/server.ts", [at]);
    await nic.waitFor(/listening/);
    for (let i = 0; i < 30; i++) {
      const { session, welcome } = await loggedIn(at, Nic);
      expect(welcome.regions.map((r) => r.purpose)).toEqual([Region_Purpose.PACKET_STREAM, Region_Purpose.PACKET_STREAM]);
      const done = joined(session);
      const channel = join_(welcome.token, at);
      await done;
      for (const region of welcome.regions) {
        const [memfd, ...bells] = channel.receive(2);
        expect(() => ftruncateSync(memfd, 0), "the region").toThrow(/EPERM/);
        expect(() => ftruncateSync(memfd, Number(region.size) - 4096), "the region").toThrow(/EPERM/);
        for (const bell of bells) expect(() => ftruncateSync(bell, 0), "a doorbell").toThrow(/EINVAL/);
        for (const fd of [memfd, ...bells]) native.closeFd(fd);
      }
      // Gone without a word: the server ends the session and closes its ends of both streams' doorbells.
      channel.close();
      session.framed.socket.destroy();
    }
    await using client = await Nic.connect(at);
    expect((await client.macAddress()).mac.length).toBe(6);
    const frame = await client.tx.alloc(1500);
    frame.data.fill(1);
    await client.tx.submit(frame, { sequence: 1 });
    for await (const received of client.rx) {
      expect(received.size).toBe(1500);
      break;
    }
    expect(nic.child.exitCode).toBe(null);
    nic.child.kill("SIGTERM");
    expect(await nic.exited).toBe(0);
  });
});
