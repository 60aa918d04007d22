/**
 * A hostile client against a real Blobs server (support/blobs-server.ts): it speaks the protocol through
 * the runtime's own session, but says things about shared memory that are not so (placed handles naming
 * memory it never shared, extents that are not what it claims, releases of what it never had). Each must
 * end that client's session with a clear protocol violation on the server, which goes on serving others;
 * a message that lies in the pool but is not a valid message is only a malformed request.
 */
import { randomInt } from "node:crypto";
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, listen, type ZeroCopyMemory, type OutgoingBody, RemoteError, type Session, SessionEndedError } from "../../runtime/index.js";
import { Header_Kind, Placed, Region, Region_Purpose } from "../../runtime/protocol/protocol.capnp.js";
import { loadNativeAddon, type SharedMapping } from "../../runtime/native/index.js";
import { splitSegments } from "../../runtime/codec/wire.js";
import { Blobs, Blobs_EchoParams } from "./gen/blobs.capnp.js";
import { killAll, Program } from "../examples/support.js";

const dir = mkdtempSync(join(tmpdir(), "ipcgen-zero-copy-hostile-"));
const path = join(dir, "blobs.sock");
let server: Program;
const native = loadNativeAddon();

/**
 * The hostile side's "memory": it keeps nothing and checks nothing, so that the session sends whatever
 * handle it is given. (The server's pool is the one under test.)
 */
const careless: ZeroCopyMemory = {
  sent: () => {},
  discard: () => {},
  released: () => true,
  mapPeerExtent: () => {},
  open: () => {
    throw new Error("the hostile client reads nothing");
  },
  place: (encode) => encode(),
  close: () => {},
};

async function hostile(): Promise<Session> {
  return connect(path, { service: Blobs, zeroCopyPool: () => careless });
}

/** A handle naming `segments`. */
const handle = (segments: { extent: number; offset: bigint; words: number }[]): OutgoingBody => ({ handle: Placed.encode({ segments }) });

/**
 * Announces an extent of `size` bytes (index `index`, `claimed` bytes) on `session`, passing a memfd with
 * `seals` (the runtime's own: sealed against shrinking); answers this side's mapping and, when `keep`, the
 * descriptor (for the test to try to shrink).
 */
function announce(session: Session, size: number, options: { index?: number; claimed?: number | bigint; seals?: number; purpose?: Region_Purpose } = {}): { mapping: SharedMapping; fd: number } {
  const { mapping, fd } = native.memfdCreate(size, options.seals);
  session.descriptors!.send([fd]);
  const { index = 0, claimed = size, purpose = Region_Purpose.ZERO_COPY_POOL } = options;
  session.sendFrame(0, Header_Kind.POOL_EXTENT, 0, Region.encode({ size: BigInt(claimed), purpose, index }));
  return { mapping, fd };
}

/** Expects the server to end `session` with a protocol violation saying `why`, and to go on serving. */
async function expectViolation(session: Session, why: RegExp): Promise<void> {
  const line = await server.waitFor(new RegExp(`ended protocol-violation: .*${why.source}`));
  expect(line).toMatch(why);
  const end = await session.closed;
  expect(["peer-died", "closed-by-peer"]).toContain(end.cause);
  await using other = await Blobs.connect(path);
  using answer = await other.echo({ data: new Uint8Array(200_000).fill(1) });
  expect(answer.data.length).toBe(200_000);
}

beforeAll(async () => {
  server = new Program("test/zero-copy/support/blobs-server.ts", [path]);
  await server.waitFor(/listening/);
});

afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("placed handles", () => {
  it("naming an extent never announced", async () => {
    const s = await hostile();
    s.sendFrame(0, Header_Kind.REQUEST, 0, handle([{ extent: 5, offset: 0n, words: 4 }]));
    await expectViolation(s, /segment 0 lies in extent 5, which the peer never announced/);
  });

  it("a segment running past its extent's end, at an offset past 2^63, or not on a word", async () => {
    for (const [offset, words] of [
      [1024n * 1024n - 8n, 2],
      [1n << 63n, 1],
      [4n, 1],
    ] as const) {
      const s = await hostile();
      announce(s, 1024 * 1024);
      s.sendFrame(0, Header_Kind.REQUEST, 0, handle([{ extent: 0, offset, words }]));
      await expectViolation(s, new RegExp(`segment 0 \\(${words * 8} bytes at ${offset}\\) does not lie within extent 0`));
    }
  });

  it("no segments, too many segments, and bytes that are not a handle at all", async () => {
    const none = await hostile();
    none.sendFrame(0, Header_Kind.REQUEST, 0, handle([]));
    await expectViolation(none, /0 segments/);

    const many = await hostile();
    announce(many, 64 * 1024);
    many.sendFrame(0, Header_Kind.REQUEST, 0, handle(Array.from({ length: 1025 }, () => ({ extent: 0, offset: 0n, words: 1 }))));
    await expectViolation(many, /1025 segments/);

    const garbage = await hostile();
    garbage.sendFrame(0, Header_Kind.REQUEST, 0, { handle: new Uint8Array([0, 0, 0, 0, 200, 0, 0, 0, 1, 2, 3]) });
    await expectViolation(garbage, /bad handle: message truncated/);
  });

  it("a frame that cannot be placed marked placed", async () => {
    const s = await hostile();
    // A signal frame carrying a handle: only requests, responses and one-way messages may be placed.
    s.sendFrame(0, Header_Kind.SIGNAL, 0, handle([{ extent: 0, offset: 0n, words: 1 }]));
    await expectViolation(s, /a frame of kind 8 marked placed/);
  });

  it("a placed message that is no valid message is a malformed request; the session goes on", async () => {
    const s = await hostile();
    // Extent 0 is all zeros but the first word: a root pointer far out of its one-word segment.
    const { mapping } = announce(s, 64 * 1024);
    mapping.data.writeUInt32LE(0x7ffffff0, 0);
    mapping.data.writeUInt32LE(0x00010001, 4);
    const error = await s.request(Blobs.methods[0], handle([{ extent: 0, offset: 0n, words: 1 }])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).kind).toBe("malformed");
    // The same session still gets answers (over the socket).
    const answer = await s.request(Blobs.methods[0], Blobs_EchoParams.encode({ data: new Uint8Array([1, 2, 3]) }));
    expect(answer.length).toBeGreaterThan(0);
    await s.close();
  });
});

describe("a sender that keeps writing into what it sent", () => {
  it("changes what the server reads, never where: every call is answered or refused as malformed", async () => {
    const s = await hostile();
    const { mapping } = announce(s, 64 * 1024);
    const message = splitSegments(Blobs_EchoParams.encode({ data: new Uint8Array(4000).fill(1) }))[0];
    const words = message.length / 8;
    let answered = 0;
    let malformed = 0;
    for (let round = 0; round < 200; round++) {
      mapping.data.set(message, 0);
      const call = s.request(Blobs.methods[0], handle([{ extent: 0, offset: 0n, words }]));
      // While the server reads, scribble over the message: pointers, lengths, bytes.
      for (let i = 0; i < 64; i++) mapping.data.writeUInt32LE(randomInt(0, 2 ** 32), randomInt(0, words * 2) * 4);
      const outcome = await call.catch((e: unknown) => e);
      if (outcome instanceof Uint8Array) answered++;
      else if (outcome instanceof RemoteError && outcome.kind === "malformed") malformed++;
      else throw outcome;
    }
    expect(answered + malformed).toBe(200);
    expect(s.ended).toBe(false);
    await s.close();
  });
});

describe("pool extents", () => {
  it("of another purpose, out of order, or larger than the server maps", async () => {
    const purpose = await hostile();
    announce(purpose, 4096, { purpose: Region_Purpose.SHARED_BUFFER });
    await expectViolation(purpose, /not a zero-copy pool extent/);

    const order = await hostile();
    announce(order, 4096, { index: 3 });
    await expectViolation(order, /extent 3 where 0 was due/);

    const huge = await hostile();
    announce(huge, 4096, { claimed: 1n << 60n });
    await expectViolation(huge, /past this side's limit/);
  });

  it("whose descriptor is missing, of another size, or not a memfd sealed against shrinking", async () => {
    const missing = await hostile();
    missing.sendFrame(0, Header_Kind.POOL_EXTENT, 0, Region.encode({ size: 4096n, purpose: Region_Purpose.ZERO_COPY_POOL, index: 0 }));
    await expectViolation(missing, /announced descriptors that the descriptor channel does not hold/);

    const size = await hostile();
    announce(size, 4096, { claimed: 8192 });
    await expectViolation(size, /4096 bytes, not the 8192 expected/);

    // The object the peer could shrink under the server's reads (SIGBUS, every session gone): refused.
    const unsealed = await hostile();
    const { fd } = announce(unsealed, 64 * 1024, { seals: 0 });
    await expectViolation(unsealed, /seal/);
    ftruncateSync(fd, 0);
    closeSync(fd);

    const file = await hostile();
    const tmp = openSync(join(dir, "not-memory"), "w+");
    file.descriptors!.send([tmp]);
    closeSync(tmp);
    file.sendFrame(0, Header_Kind.POOL_EXTENT, 0, Region.encode({ size: 4096n, purpose: Region_Purpose.ZERO_COPY_POOL, index: 0 }));
    await expectViolation(file, /memfd/);

    const doorbell = await hostile();
    const bell = native.doorbellPair();
    doorbell.descriptors!.send([bell[1]]);
    for (const end of bell) native.closeFd(end);
    doorbell.sendFrame(0, Header_Kind.POOL_EXTENT, 0, Region.encode({ size: 4096n, purpose: Region_Purpose.ZERO_COPY_POOL, index: 0 }));
    await expectViolation(doorbell, /memfd/);

    const two = await hostile();
    const a = native.memfdCreate(4096);
    const b = native.memfdCreate(4096);
    two.descriptors!.send([a.fd, b.fd]);
    native.closeFd(a.fd);
    native.closeFd(b.fd);
    two.sendFrame(0, Header_Kind.POOL_EXTENT, 0, Region.encode({ size: 4096n, purpose: Region_Purpose.ZERO_COPY_POOL, index: 0 }));
    await expectViolation(two, /carried 2 descriptors where 1 were announced/);
  });

  it("a sealed extent cannot be shrunk by its maker: the server reads placed messages from it to the end", async () => {
    const s = await hostile();
    const { mapping, fd } = announce(s, 64 * 1024);
    expect(() => ftruncateSync(fd, 0)).toThrow(/EPERM/);
    native.closeFd(fd);
    // A valid message, placed at the start of the extent, is answered in full.
    const framed = Blobs_EchoParams.encode({ data: new Uint8Array(1000).fill(7) });
    const [segment] = splitSegments(framed);
    mapping.data.set(segment, 0);
    const answer = await s.request(Blobs.methods[0], handle([{ extent: 0, offset: 0n, words: segment.length / 8 }]));
    expect(answer.length).toBeGreaterThan(1000);
    await s.close();
  });

  it("releases of what the server never placed, and log-in frames out of place", async () => {
    const release = await hostile();
    release.sendFrame(0, Header_Kind.RELEASE, 1, null);
    await expectViolation(release, /released frame 1, which placed nothing it holds/);

    const joined = await hostile();
    joined.sendFrame(0, Header_Kind.JOINED, 0, null);
    await expectViolation(joined, /a joined frame nobody waited for/);

    const join = await hostile();
    join.sendFrame(0, Header_Kind.JOIN, 0, null);
    await expectViolation(join, /unknown kind 18/);
  });
});

describe("a hostile server's answers", () => {
  it("a placed answer naming memory the server never shared ends the client's session, and the call fails once", async () => {
    const at = join(dir, "hostile-server.sock");
    const server = await listen(at, {
      service: Blobs,
      zeroCopyPool: () => careless,
      onSession(session) {
        // Every request is answered with a handle to an extent that was never announced.
        session.setRequestHandler(() => handle([{ extent: 7, offset: 0n, words: 8 }]));
      },
    });
    const blobs = await Blobs.connect(at);
    expect(blobs.zeroCopy).toBe(true);
    const error = await blobs.echo({ data: new Uint8Array(10) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionEndedError);
    expect((error as SessionEndedError).cause).toBe("protocol-violation");
    expect((error as SessionEndedError).message).toMatch(/bad handle: segment 0 lies in extent 7, which the peer never announced/);
    await server.close();
  });
});

