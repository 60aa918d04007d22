/**
 * The runtime's errors as the package exports them: one base, `IpcgenError`, a stable and distinct `code`
 * per class, every class exported by `ipcgen` (docs/runtime.md, "Errors", lists them all); and real
 * failures, between this process and a Desk server in a child process (test/stubs/support/desk-server.ts)
 * over a real socket, arriving as the right class with the right code.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import * as ipcgen from "ipcgen";
import * as codec from "ipcgen/codec";
import { Desk, Desk_ClosedError, Desk_EchoParams } from "../stubs/gen/stubs.capnp.js";
import { REPO } from "../support/ipcgen.js";
import { sharedDeskServer } from "../stubs/support/desk.js";

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * One error of each class, by code. Typed as a record over `IpcgenErrorCode`, so that a code without a
 * class here, or a class whose code is not in the union, does not compile.
 */
const samples: Record<ipcgen.IpcgenErrorCode, () => ipcgen.IpcgenError> = {
  ERR_IPCGEN_SESSION_ENDED: () => new ipcgen.SessionEndedError("peer-died", "the peer died"),
  ERR_IPCGEN_TIMEOUT: () => new ipcgen.TimeoutError("no answer within 5 ms"),
  ERR_IPCGEN_CANCELLED: () => new ipcgen.CancelledError("the call was cancelled"),
  ERR_IPCGEN_LOGIN: () => new ipcgen.LoginError("not-allowed", "refused"),
  ERR_IPCGEN_CONNECT: () => new ipcgen.ConnectError("no server listens"),
  ERR_IPCGEN_ADDRESS_IN_USE: () => new ipcgen.AddressInUseError("taken"),
  ERR_IPCGEN_SOCKET_PATH: () => new ipcgen.SocketPathError("too-long", "too long"),
  ERR_IPCGEN_REMOTE: () => new ipcgen.RemoteError("application", "Desk.Closed", "closed", new Uint8Array([1])),
  ERR_IPCGEN_MESSAGE_TOO_LARGE: () => new ipcgen.MessageTooLargeError("too large"),
  ERR_IPCGEN_BACKPRESSURE: () => new ipcgen.BackpressureError("queued"),
  ERR_IPCGEN_POOL_BLOCK: () => new ipcgen.PoolBlockError("freed", "freed"),
  ERR_IPCGEN_CHANNEL_CLOSED: () => new ipcgen.ChannelClosedError("closed"),
  ERR_IPCGEN_NO_SESSION: () => new ipcgen.NoSessionError("no session"),
  ERR_IPCGEN_SHARED_MEMORY_UNAVAILABLE: () => new ipcgen.SharedMemoryUnavailableError("peer", "none"),
  ERR_IPCGEN_APPLICATION: () => new ipcgen.ApplicationError("Desk.Closed", "closed"),
  ERR_IPCGEN_REQUEST_FAILURE: () => new ipcgen.RequestFailure({ message: "refused" }),
  ERR_IPCGEN_MESSAGE_DECODE: () => new ipcgen.MessageDecodeError("truncated"),
  ERR_IPCGEN_RUNTIME_API: () => new ipcgen.RuntimeApiError(99, "desk.capnp"),
  ERR_IPCGEN_FRAME: () => new ipcgen.FrameError("bad frame"),
  ERR_IPCGEN_DESCRIPTOR_CHANNEL: () => new ipcgen.DescriptorChannelError("closed"),
  ERR_IPCGEN_PACKET_STREAM: () => new ipcgen.PacketStreamError("closed", "closed"),
  ERR_IPCGEN_NATIVE_ADDON: () => new ipcgen.NativeAddonError("missing", { missing: ["cc"] }),
};

/** Every class the package entry exports whose name says it is an error (and `RequestFailure`), but the base. */
const exported = Object.entries(ipcgen as Record<string, unknown>).filter(
  (entry): entry is [string, ErrorClass] => typeof entry[1] === "function" && (entry[0].endsWith("Error") || entry[0] === "RequestFailure") && entry[1] !== ipcgen.IpcgenError,
);

const codeOf = (cls: ErrorClass): unknown => (cls as unknown as { code?: unknown }).code;

describe("the error classes", () => {
  it("are all exported, all extend IpcgenError, and each has a code of its own", () => {
    expect(exported.length).toBe(Object.keys(samples).length);
    const codes = new Set<unknown>();
    for (const [name, cls] of exported) {
      expect(cls.prototype, name).toBeInstanceOf(ipcgen.IpcgenError);
      expect(cls.name).toBe(name);
      const code = codeOf(cls);
      expect(code, name).toMatch(/^ERR_IPCGEN_[A-Z_]+$/);
      expect(codes.has(code), `${name}'s code ${String(code)} is another class's too`).toBe(false);
      codes.add(code);
      expect(Object.keys(samples), name).toContain(code);
    }
  });

  it("give their instances the class's code and name", () => {
    for (const [code, make] of Object.entries(samples)) {
      const error = make();
      expect(error).toBeInstanceOf(ipcgen.IpcgenError);
      expect(error).toBeInstanceOf(Error);
      expect(error.code).toBe(code);
      expect(codeOf(error.constructor as ErrorClass)).toBe(code);
      expect(error.name).toBe(error.constructor.name);
      expect(String(error)).toMatch(new RegExp(`^${error.constructor.name}: `));
    }
  });

  it("keep their own fields", () => {
    expect(samples.ERR_IPCGEN_SESSION_ENDED()).toMatchObject({ cause: "peer-died", message: "the peer died" });
    expect(samples.ERR_IPCGEN_LOGIN()).toMatchObject({ kind: "not-allowed" });
    expect(samples.ERR_IPCGEN_SOCKET_PATH()).toMatchObject({ reason: "too-long" });
    expect(samples.ERR_IPCGEN_REMOTE()).toMatchObject({ kind: "application", errorName: "Desk.Closed", data: new Uint8Array([1]) });
    expect(samples.ERR_IPCGEN_POOL_BLOCK()).toMatchObject({ reason: "freed" });
    expect(samples.ERR_IPCGEN_SHARED_MEMORY_UNAVAILABLE()).toMatchObject({ side: "peer" });
    expect(samples.ERR_IPCGEN_APPLICATION()).toMatchObject({ errorName: "Desk.Closed", data: null });
    expect(samples.ERR_IPCGEN_REQUEST_FAILURE()).toMatchObject({ failure: { message: "refused" } });
    expect(samples.ERR_IPCGEN_RUNTIME_API()).toMatchObject({ required: 99, schema: "desk.capnp" });
    expect(samples.ERR_IPCGEN_PACKET_STREAM()).toMatchObject({ reason: "closed", violation: false });
    expect(samples.ERR_IPCGEN_NATIVE_ADDON()).toMatchObject({ missing: ["cc"] });
  });

  it("are the same classes in ipcgen/codec", () => {
    expect(codec.IpcgenError).toBe(ipcgen.IpcgenError);
    expect(codec.MessageDecodeError).toBe(ipcgen.MessageDecodeError);
    expect(codec.RuntimeApiError).toBe(ipcgen.RuntimeApiError);
  });

  it("are listed, each with its code, in docs/runtime.md's Errors table", () => {
    const doc = readFileSync(join(REPO, "docs/runtime.md"), "utf8");
    const section = doc.slice(doc.indexOf("\n## Errors\n"));
    const rows = new Map([...section.matchAll(/^\| `(\w+)` \| `(ERR_IPCGEN_\w+)` \|/gm)].map((m) => [m[1], m[2]]));
    expect(new Map(exported.map(([name, cls]) => [name, codeOf(cls)]))).toEqual(rows);
  });
});

describe("real failures", () => {
  const path = sharedDeskServer("ipcgen-errors-");

  it("a call past its timeout: TimeoutError, and the session goes on", async () => {
    await using desk = await Desk.connect(path);
    // stall's $timeoutMs is 100.
    const error = await desk.stall({ ms: 5000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ipcgen.TimeoutError);
    expect(error).toMatchObject({ code: "ERR_IPCGEN_TIMEOUT", name: "TimeoutError" });
    expect(await desk.version()).toEqual({ version: "desk 1" });
  });

  it("an error the handler raises: the generated class, with its errorName and details", async () => {
    await using desk = await Desk.connect(path);
    const error = await desk.take({ name: "closed" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Desk_ClosedError);
    expect(error).toBeInstanceOf(ipcgen.ApplicationError);
    expect(error).toBeInstanceOf(ipcgen.IpcgenError);
    expect(error).toMatchObject({ code: "ERR_IPCGEN_APPLICATION", errorName: "Desk.Closed", name: "Desk_ClosedError", message: "the desk is closed", details: { reopensAt: "9:00" } });
    expect(Desk_ClosedError.errorName).toBe("Desk.Closed");
    expect(Desk_ClosedError.code).toBe("ERR_IPCGEN_APPLICATION");
  });

  it("the same error through the untyped runtime: a RemoteError of kind application, with its errorName", async () => {
    await using session = await ipcgen.connect(path, { service: Desk });
    const take = Desk.methods.find((m) => m.name === "take")!;
    const error = await session.request(take, take.params.encode({ name: "closed" })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ipcgen.RemoteError);
    expect(error).toMatchObject({ code: "ERR_IPCGEN_REMOTE", kind: "application", errorName: "Desk.Closed", message: "the desk is closed" });
  });

  it("connecting to a path nobody listens on: ConnectError", async () => {
    const error = await Desk.connect(join(dirname(path), "nobody.sock")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ipcgen.ConnectError);
    expect(error).toMatchObject({ code: "ERR_IPCGEN_CONNECT", message: expect.stringContaining("nobody.sock") });
  });

  it("listening where a live server listens: AddressInUseError", async () => {
    const error = await Desk.listen(path, {} as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ipcgen.AddressInUseError);
    expect(error).toMatchObject({ code: "ERR_IPCGEN_ADDRESS_IN_USE" });
  });

  it("decoding garbage with a generated struct's decode: MessageDecodeError", () => {
    for (const garbage of [new Uint8Array([1, 2, 3]), new Uint8Array([0, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])]) {
      let error: unknown;
      try {
        Desk_EchoParams.decode(garbage);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ipcgen.MessageDecodeError);
      expect(error).toMatchObject({ code: "ERR_IPCGEN_MESSAGE_DECODE", name: "MessageDecodeError" });
    }
  });

  it("a call on a closed channel: ChannelClosedError; on a closed session: SessionEndedError", async () => {
    const desk = await Desk.connect(path);
    const counter = await desk.openCounter();
    expect(await counter.add({ n: 2 })).toEqual({ total: 2n });
    await counter.close();
    await expect(counter.add({ n: 1 })).rejects.toMatchObject({ name: "ChannelClosedError", code: "ERR_IPCGEN_CHANNEL_CLOSED" });
    await desk.close();
    const error = await desk.version().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ipcgen.SessionEndedError);
    expect(error).toMatchObject({ code: "ERR_IPCGEN_SESSION_ENDED", cause: "closed-locally" });
  });

  it("misuse that is a wrong argument stays a TypeError: closing a session's main channel", async () => {
    await using desk = await Desk.connect(path);
    expect(() => desk.channel.close()).toThrow(TypeError);
    expect(() => desk.channel.close()).toThrow(/use session.close\(\)/);
    expect(await desk.version()).toEqual({ version: "desk 1" });
  });
});
