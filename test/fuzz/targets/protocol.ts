/**
 * Every protocol message body through its generated `decode`, in every encoding a reader accepts (framed
 * or flat, packed or not, default or tight limits). Refusals must be MessageDecodeError; values must
 * survive encode and decode again unchanged.
 */
import { End, Failure, Failure_Kind, Header, Header_Kind, Hello, Placed, PlacedSegment, Region, Region_Purpose, Signal, Welcome } from "../../../runtime/protocol/protocol.capnp.js";
import { concat, type FuzzTarget } from "../engine.js";
import { decodeRoundTrip, optionsOf, type PlainStruct } from "./messages.js";

export const MESSAGES: [string, PlainStruct][] = [
  ["Header", Header],
  ["Hello", Hello],
  ["Welcome", Welcome],
  ["Region", Region],
  ["Placed", Placed],
  ["PlacedSegment", PlacedSegment],
  ["Failure", Failure],
  ["Signal", Signal],
  ["End", End],
];

/** One valid message of each type, each prefixed with its selector byte. */
export function protocolSeeds(): Uint8Array[] {
  const region = { name: "/ipcgen-1-0123456789ab-1-zeroCopyPool0", size: 8n << 20n, purpose: Region_Purpose.ZERO_COPY_POOL, index: 0 };
  const bodies = [
    Header.encode({ token: 7n, channel: 3, id: 9, answers: 8, kind: Header_Kind.RESPONSE, interfaceId: 9n, methodId: 2, placed: true }),
    Hello.encode({ version: 3, service: 0xabcdn, fingerprint: 0x1234n, zeroCopy: true, maxFrameBytes: 1 << 20 }),
    Welcome.encode({ version: 3, token: 99n, regions: [region, { ...region, purpose: Region_Purpose.PACKET_STREAM, index: 2 }], zeroCopy: true, maxFrameBytes: 4096 }),
    Region.encode(region),
    Placed.encode({ segments: [{ extent: 0, offset: 64n, words: 3 }, { extent: 1, offset: 0n, words: 100 }] }),
    PlacedSegment.encode({ extent: 2, offset: 8n, words: 1 }),
    Failure.encode({ kind: Failure_Kind.APPLICATION, code: "Closed", message: "the desk is closed", data: new Uint8Array([1, 2, 3, 4, 5]) }),
    Signal.encode({ count: 5 }),
    End.encode({ reason: "bye" }),
  ];
  return bodies.map((b, i) => concat(new Uint8Array([i << 4]), b));
}

export const protocolTarget: FuzzTarget = {
  name: "protocol",
  describe: "every protocol.capnp message's generated decode (framed/flat, packed, limits) + round trip",
  modules: ["runtime/protocol/protocol.capnp.ts", "runtime/codec/plain.ts", "runtime/codec/wire.ts"],
  maxLen: 512,
  seeds: protocolSeeds,
  dictionary: [new TextEncoder().encode("/ipcgen-1-0123456789ab-1-zeroCopyPool0\0")],
  run(input) {
    if (input.length === 0) return;
    const selector = input[0];
    const [name, type] = MESSAGES[(selector >> 4) % MESSAGES.length];
    decodeRoundTrip(name, type, input.subarray(1), optionsOf(selector));
  },
};
