/**
 * The schema conventions of /ipcgen/ipc.capnp: the file compiles identically with the official capnp (so
 * C++ and Rust peers can share ipcgen schemas), every convention lands in the model, every misuse is an
 * error at its position, and the fingerprint changes exactly when the wire format does.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compile } from "../../generator/compiler/index.js";
import { IPC, ipcModel } from "../../generator/model/ipc.js";
import { decodeRequest } from "../../generator/model/request.js";
import { assertSameRequest } from "../support/compare.js";
import { REPO } from "../support/ipcgen.js";
import { capnpCompileSync, noteIfOracleMissing, oracle } from "../support/oracle.js";

const STD = join(REPO, "generator/std");
const dir = mkdtempSync(join(tmpdir(), "ipcgen-ipc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
/** Writes `body` as a schema file (with a fresh id and the ipc import) and compiles it; returns the result. */
function schema(body: string, id = 0xe000000000000000n + BigInt(counter)): { file: string; result: ReturnType<typeof compile> } {
  const file = join(dir, `s${counter++}.capnp`);
  writeFileSync(file, `@0x${id.toString(16)};\nusing Ipc = import "/ipcgen/ipc.capnp";\n${body}`);
  return { file, result: compile([file]) };
}

/** The misuse errors of `body`, formatted with positions as the CLI prints them. */
function problems(body: string): string[] {
  const { file, result } = schema(body);
  expect(result.messages).toEqual([]);
  return ipcModel(result.request).problems.map((p) => result.locations.error(p.target, p.message).replace(`${file}:`, ""));
}

describe("ipc.capnp", () => {
  it("is found without -I, and its ids are the ones the model knows", () => {
    const result = compile([join(STD, "ipcgen/ipc.capnp")], { standardImport: false });
    expect(result.messages).toEqual([]);
    const byName = new Map(result.request.nodes.map((n) => [n.displayName.replace(/^.*ipc\.capnp:?/, ""), n.id]));
    expect(byName.get("")).toBe(IPC.file);
    const expected: Record<string, bigint> = {
      session: IPC.session, oneway: IPC.oneway, signal: IPC.signal, Direction: IPC.direction, timeoutMs: IPC.timeoutMs,
      raises: IPC.raises, error: IPC.error, maxSize: IPC.maxSize, channels: IPC.channels, Channel: IPC.channel,
      ChannelWith: IPC.channelWith, sharedBuffer: IPC.sharedBuffer, packetStream: IPC.packetStream, PacketStream: IPC.packetStreamConfig,
    };
    for (const [name, id] of Object.entries(expected)) expect(byName.get(name), name).toBe(id);
    expect(schema("struct A {}").result.ok).toBe(true);
  });

  it.skipIf(oracle === null)("compiles with the official capnp, to the same request as ipcgen's, for every schema that uses it", () => {
    for (const file of ["test/fixtures/stubs.capnp"]) {
      const theirs = capnpCompileSync([file], { cwd: REPO, importPath: ["generator/std"] });
      expect(theirs.messages).toEqual([]);
      const previous = process.cwd();
      process.chdir(REPO);
      try {
        const ours = compile([file], { importPath: ["generator/std"] });
        assertSameRequest(decodeRequest(theirs.stdout), ours.request, file);
      } finally {
        process.chdir(previous);
      }
    }
  });
  noteIfOracleMissing("ipc.capnp against the official compiler");
});

describe("the model", () => {
  it("holds every convention: kinds, directions, timeouts, errors, bounds, channels, shared buffer, streams", () => {
    const { result } = schema(`
interface S $Ipc.session $Ipc.timeoutMs(900) $Ipc.sharedBuffer(4096) {
  call @0 (name :Text $Ipc.maxSize(8)) -> (items :List(Text) $Ipc.maxSize(3)) $Ipc.raises(["Bad", ".Other"]);
  fire @1 (x :UInt8) -> () $Ipc.oneway;
  tick @2 () -> () $Ipc.signal(toClient);
  bell @3 () -> () $Ipc.signal(toServer);
  quick @4 () -> () $Ipc.timeoutMs(5);
  tx @5 Packet -> () $Ipc.packetStream(direction = toServer, ringSize = 256, bufferSize = 65536);
  rx @6 Packet -> () $Ipc.packetStream(direction = toClient);
  struct Bad $Ipc.error { why @0 :Text; }
  struct Channels $Ipc.channels { union { a @0 :Ipc.Channel(T); b @1 :Ipc.ChannelWith(T, P); } }
}
interface T { t @0 () -> (); }
struct P { core @0 :UInt32; }
struct Other $Ipc.error {}
struct Packet { offset @0 :UInt64; size @1 :UInt32; block @2 :UInt64; }
`);
    const { model, problems: found } = ipcModel(result.request);
    expect(found).toEqual([]);
    const id = (name: string) => result.request.nodes.find((n) => n.displayName.endsWith(`:${name}`))!.id;
    const s = model.services.find((x) => x.id === id("S"))!;
    expect(s.isSession).toBe(true);
    expect(s.sharedBuffer).toBe(4096);
    expect(s.methods.every((m) => m.interfaceId === id("S"))).toBe(true);
    expect(s.methods.map((m) => [m.name, m.methodId, m.kind, m.direction, m.timeoutMs])).toEqual([
      ["call", 0, "call", null, 900],
      ["fire", 1, "oneway", null, null],
      ["tick", 2, "signal", "toClient", null],
      ["bell", 3, "signal", "toServer", null],
      ["quick", 4, "call", null, 5],
      ["tx", 5, "packetStream", "toServer", null],
      ["rx", 6, "packetStream", "toClient", null],
    ]);
    expect(s.methods[0].raises).toEqual([id("S.Bad"), id("Other")]);
    expect(s.methods[0].paramLimits).toEqual([{ field: "name", max: 8 }]);
    expect(s.methods[0].resultLimits).toEqual([{ field: "items", max: 3 }]);
    // Packet: offset @0 :UInt64 (bytes 0-7), size @1 :UInt32 (bytes 8-11), block @2 :UInt64 (bytes 16-23).
    const layout = { dataWords: 3, offsetAt: 0, offsetBytes: 8, sizeAt: 8, sizeBytes: 4 };
    expect(s.methods[5].stream).toEqual({ direction: "toServer", ringSize: 256, bufferSize: 65536, descriptor: id("Packet"), layout });
    expect(s.methods[6].stream).toEqual({ direction: "toClient", ringSize: 64, bufferSize: 1048576, descriptor: id("Packet"), layout });
    expect(s.channels!.arms).toEqual([
      { name: "a", discriminant: 0, interface: id("T"), params: null },
      { name: "b", discriminant: 1, interface: id("T"), params: id("P") },
    ]);
    // T is a service because a channel arm names it.
    expect(model.services.find((x) => x.id === id("T"))?.isSession).toBe(false);
    expect(model.errors.map((e) => e.code).sort()).toEqual(["Other", "S.Bad"]);
    // Calls and one-way methods get their parameter and result structs generated; signals and streams do not.
    expect(model.methodStructs.map((m) => `${m.method}.${m.side}`)).toEqual(["call.params", "call.results", "fire.params", "fire.results", "quick.params", "quick.results", "t.params", "t.results"]);
  });

  it("names each method by the interface that declares it and its ordinal there; superclasses' come first, each once", () => {
    const { result } = schema(`
interface A { a @0 () -> (); }
interface B extends(A) { b @0 () -> (); }
interface C extends(A) { c @0 () -> (); }
interface D extends(B, C) $Ipc.session { e @1 () -> (); d @0 () -> (); }
`);
    const d = ipcModel(result.request).model.services[0];
    const declaring = (m: { interfaceId: bigint }) => result.request.nodes.find((n) => n.id === m.interfaceId)!.displayName.replace(/.*:/, "");
    expect(d.methods.map((m) => `${m.name}=${declaring(m)}.${m.methodId}`)).toEqual(["a=A.0", "b=B.0", "c=C.0", "d=D.0", "e=D.1"]);
  });
});

describe("misuse is an error at its position", () => {
  it.each([
    ["a signal with results", "interface S $Ipc.session {\n  s @0 () -> (x :UInt8) $Ipc.signal(toClient);\n}", "4:25-46: error: signal s carries no payload"],
    ["a signal with parameters", "interface S $Ipc.session {\n  s @0 (x :UInt8) -> () $Ipc.signal(toServer);\n}", "4:25-46: error: signal s carries no payload"],
    ["a one-way method with results", "interface S $Ipc.session {\n  m @0 () -> (x :UInt8) $Ipc.oneway;\n}", "4:25-36: error: one-way method m cannot have results"],
    ["a method of two kinds", "interface S $Ipc.session {\n  m @0 () -> () $Ipc.oneway $Ipc.signal(toClient);\n}", "4:29-50: error: m cannot be both oneway and signal"],
    ["a packet stream without a descriptor", "interface S $Ipc.session {\n  tx @0 (a :UInt32) -> () $Ipc.packetStream(direction = toServer);\n}", "4:27-66: error: packet stream tx needs a descriptor struct"],
    ["a descriptor without offset", "interface S $Ipc.session {\n  tx @0 P -> () $Ipc.packetStream(direction = toServer);\n}\nstruct P { size @0 :UInt32; }", "4:17-56: error: the descriptor P of packet stream tx needs a field `offset :UInt64`"],
    ["a descriptor with a pointer", "interface S $Ipc.session {\n  tx @0 P -> () $Ipc.packetStream(direction = toServer);\n}\nstruct P { offset @0 :UInt64; size @1 :UInt32; name @2 :Text; }", "4:17-56: error: the descriptor P of packet stream tx may hold only numbers, Bools and enums"],
    ["a packet stream with results", "interface S $Ipc.session {\n  tx @0 P -> (x :UInt8) $Ipc.packetStream(direction = toServer);\n}\nstruct P { offset @0 :UInt64; size @1 :UInt32; }", "error: packet stream tx cannot have results"],
    ["a ring of one slot", "interface S $Ipc.session {\n  tx @0 P -> () $Ipc.packetStream(direction = toServer, ringSize = 1);\n}\nstruct P { offset @0 :UInt64; size @1 :UInt32; }", "error: ringSize of tx must be between 2 and 65536, not 1"],
    ["a metadata arm naming no interface", "interface S $Ipc.session {\n  struct C $Ipc.channels { union {\n    a @0 :Void;\n    b @1 :Ipc.Channel(T);\n  } }\n}\ninterface T {}", "5:5-6: error: channel arm a names no interface"],
    ["a metadata arm bound to a struct", "interface S $Ipc.session {\n  struct C $Ipc.channels { union {\n    a @0 :Ipc.Channel(P);\n    b @1 :Ipc.Channel(T);\n  } }\n}\ninterface T {}\nstruct P {}", "5:5-6: error: channel arm a names no interface: bind the first parameter to an interface"],
    ["arm parameters that are not a struct", "interface S $Ipc.session {\n  struct C $Ipc.channels { union {\n    a @0 :Ipc.ChannelWith(T, Text);\n    b @1 :Ipc.Channel(T);\n  } }\n}\ninterface T {}", "5:5-6: error: the parameters of channel arm a must be a struct"],
    ["channels outside a session", "struct C $Ipc.channels { union { a @0 :Ipc.Channel(T); b @1 :Ipc.Channel(T); } }\ninterface T {}", "3:10-23: error: $channels struct C must be nested in the session interface"],
    ["channels with a field outside the union", "interface S $Ipc.session {\n  struct C $Ipc.channels { x @0 :UInt8; union { a @1 :Ipc.Channel(T); b @2 :Ipc.Channel(T); } }\n}\ninterface T {}", "4:12-25: error: $channels struct S.C must hold only an unnamed union"],
    ["two channel structs", "interface S $Ipc.session {\n  struct C $Ipc.channels { union { a @0 :Ipc.Channel(T); b @1 :Ipc.Channel(T); } }\n  struct D $Ipc.channels { union { a @0 :Ipc.Channel(T); b @1 :Ipc.Channel(T); } }\n}\ninterface T {}", "5:12-25: error: S already has a $channels struct"],
    ["$raises naming nothing", "interface S $Ipc.session {\n  m @0 () -> () $Ipc.raises([\"Nope\"]);\n}", "4:17-38: error: $raises names Nope, but no struct of that name is in scope"],
    ["$raises naming a struct that is no error", "interface S $Ipc.session {\n  m @0 () -> () $Ipc.raises([\"P\"]);\n}\nstruct P {}", "4:17-35: error: $raises names P, which is not a struct marked $error"],
    ["$raises on a one-way method", "interface S $Ipc.session {\n  m @0 () -> () $Ipc.oneway $Ipc.raises([\"E\"]);\n}\nstruct E $Ipc.error {}", "error: only calls that wait for an answer can raise errors; m is a oneway"],
    ["$maxSize on a number", "interface S $Ipc.session {\n  m @0 (n :UInt32 $Ipc.maxSize(3)) -> ();\n}", "4:19-34: error: $maxSize bounds Text, Data and List fields; n is a UInt32"],
    ["$maxSize on a struct's number", "struct P {\n  n @0 :Int8 $Ipc.maxSize(3);\n}", "4:14-29: error: $maxSize bounds Text, Data and List fields; n is an Int8"],
    ["a zero timeout", "interface S $Ipc.session {\n  m @0 () -> () $Ipc.timeoutMs(0);\n}", "4:17-34: error: $timeoutMs must be more than 0"],
    ["a timeout on a signal", "interface S $Ipc.session {\n  m @0 () -> () $Ipc.signal(toClient) $Ipc.timeoutMs(5);\n}", "error: $timeoutMs applies to calls that wait for an answer; m is a signal"],
    ["a generic session", "interface S(T) $Ipc.session {\n  m @0 () -> ();\n}", "3:16-28: error: S cannot be generic"],
    ["a signal on a plain interface", "interface S {\n  s @0 () -> () $Ipc.signal(toClient);\n}", "4:17-38: error: $signal on S.s, but S is neither a $session nor a channel's interface"],
    ["a shared buffer on a plain interface", "interface S $Ipc.sharedBuffer(16) {}", "3:13-34: error: $sharedBuffer belongs on a $session interface"],
    ["generic parameters", "interface S $Ipc.session {\n  m @0 B(Text) -> ();\n}\nstruct B(T) { t @0 :T; }", "4:3-4: error: the params of m are a generic struct"],
  ])("%s", (_what, body, expected) => {
    const found = problems(body);
    expect(found.length, found.join("\n")).toBeGreaterThan(0);
    expect(found.some((p) => p.includes(expected)), `${found.join("\n")}\nexpected: ${expected}`).toBe(true);
  });

  it("reports nothing for a correct schema", () => {
    expect(problems("interface S $Ipc.session {\n  m @0 () -> ();\n}")).toEqual([]);
  });
});

describe("the fingerprint", () => {
  /** The same file id every time: ids are part of what crosses the wire. */
  const fingerprint = (body: string, name = "S"): bigint => {
    const { result } = schema(body, 0xe0000000000000ffn);
    const id = result.request.nodes.find((n) => n.displayName.endsWith(`:${name}`))!.id;
    return ipcModel(result.request).model.services.find((s) => s.id === id)!.fingerprint;
  };
  const base = "interface S $Ipc.session {\n  m @0 (a :Text) -> (b :P);\n}\nstruct P { x @0 :UInt32; }\n";

  it("ignores doc comments and the file's path, and is stable", () => {
    const a = fingerprint(base);
    expect(fingerprint(base)).toBe(a);
    expect(fingerprint(`# A doc comment.\n${base.replace("-> (b :P);", "-> (b :P);\n  # the method")}`)).toBe(a);
  });

  it("changes when what crosses the wire changes: a field's type, a method, a nested struct, an annotation", () => {
    const a = fingerprint(base);
    expect(fingerprint(base.replace("x @0 :UInt32", "x @0 :UInt64"))).not.toBe(a);
    expect(fingerprint(base.replace("struct P { x @0 :UInt32; }", "struct P { x @0 :UInt32; y @1 :Text; }"))).not.toBe(a);
    expect(fingerprint(base.replace("m @0 (a :Text) -> (b :P);", "m @0 (a :Text) -> (b :P);\n  n @1 () -> ();"))).not.toBe(a);
    expect(fingerprint(base.replace("m @0 (a :Text) -> (b :P);", "m @0 (a :Text) -> (b :P) $Ipc.timeoutMs(5);"))).not.toBe(a);
  });
});
