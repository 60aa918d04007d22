/**
 * Log-in, decoder level: the first frame's body as the server reads a hello and the client a welcome or
 * a refusal (runtime/session/server.ts, client.ts: the same calls with the same limits), and what each then
 * checks (version, service, token, the regions a welcome offers). Only MessageDecodeError may
 * come out of decoding; the checks must not throw at all. The whole receive path over a real socket is the
 * "session" target.
 */
import { MessageDecodeError } from "../../../runtime/codec/wire.js";
import { Failure, Failure_Kind, Hello, protocolVersion, Region_Purpose, Welcome } from "../../../runtime/protocol/protocol.capnp.js";
import { regionKey } from "../../../runtime/shm/region.js";
import { concat, type FuzzTarget, PropertyViolation } from "../engine.js";

const decodes = <T>(read: () => T): T | null => {
  try {
    return read();
  } catch (e) {
    if (e instanceof MessageDecodeError) return null;
    throw e;
  }
};

const SERVICE = 0x8f3c_2a61_0b9d_e417n;
const FINGERPRINT = 0x1111_2222_3333_4444n;

export const loginTarget: FuzzTarget = {
  name: "login",
  describe: "hello (server), welcome and refused (client) bodies decoded and checked as log-in does",
  modules: ["runtime/protocol/protocol.capnp.ts", "runtime/codec/plain.ts", "runtime/codec/wire.ts", "runtime/shm/region.ts"],
  maxLen: 512,
  seeds() {
    return [
      concat(new Uint8Array([0]), Hello.encode({ version: protocolVersion, service: SERVICE, fingerprint: FINGERPRINT, zeroCopy: true, maxFrameBytes: 65536 })),
      concat(new Uint8Array([1]), Welcome.encode({ version: protocolVersion, token: 0xfeedn, regions: [{ size: 4096n, purpose: Region_Purpose.PACKET_STREAM, index: 3 }], zeroCopy: true, maxFrameBytes: 1 << 20, descriptors: true })),
      concat(new Uint8Array([2]), Failure.encode({ kind: Failure_Kind.SERVICE_MISMATCH, message: "this server serves Desk, not 0x1" })),
    ];
  },
  run(input) {
    if (input.length === 0) return;
    const body = input.subarray(1);
    switch (input[0] % 3) {
      case 0: {
        // server.ts: Hello.decode(frame.body, { traversalLimitInWords: 64 }), then version, service, limits.
        const hello = decodes(() => Hello.decode(body, { traversalLimitInWords: 64 }));
        if (hello === null) return;
        const accepted = hello.version === protocolVersion && hello.service === SERVICE && hello.fingerprint === FINGERPRINT;
        void `0x${hello.service.toString(16)} 0x${hello.fingerprint.toString(16)} ${accepted}`;
        if (typeof hello.zeroCopy !== "boolean" || !Number.isInteger(hello.maxFrameBytes) || hello.maxFrameBytes < 0 || hello.maxFrameBytes > 0xffffffff) {
          throw new PropertyViolation(`a hello decoded to fields out of their types' ranges: ${JSON.stringify({ ...hello, service: 0, fingerprint: 0 })}`);
        }
        return;
      }
      case 1: {
        // client.ts: Welcome.decode(frame.body, { traversalLimitInWords: 1024 }); the stubs' attachRegions checks.
        const welcome = decodes(() => Welcome.decode(body, { traversalLimitInWords: 1024 }));
        if (welcome === null) return;
        if (welcome.token < 0n || welcome.token >= 1n << 64n) throw new PropertyViolation(`token ${welcome.token} is not a UInt64`);
        const offered = new Set<string>();
        for (const r of welcome.regions) {
          const purpose = ["sharedBuffer", "packetStream", "zeroCopyPool"][r.purpose] as "sharedBuffer" | "packetStream" | "zeroCopyPool" | undefined;
          if (purpose !== undefined) offered.add(regionKey(purpose, r.interfaceId, r.index));
          if (r.size < 0n) throw new PropertyViolation("a region decoded to fields out of their types' ranges");
        }
        // 1024 words of traversal bound what a welcome can make the client build (a region's object costs 11).
        if (welcome.regions.length > 1024 / 11) throw new PropertyViolation(`${welcome.regions.length} regions from a welcome read within 1024 words`);
        return;
      }
      default: {
        // client.ts: Failure.decode(frame.body) of a refusal, default limits.
        const failure = decodes(() => Failure.decode(body));
        if (failure !== null) void `${failure.kind} ${failure.message}`;
      }
    }
  },
};
