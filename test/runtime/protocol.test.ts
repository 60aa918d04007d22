/** The runtime's protocol module is generated from protocol.capnp by ipcgen itself, and kept current. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROTOCOL_DIR, protocolModule } from "../../scripts/gen-protocol.js";

describe("runtime/protocol", () => {
  it("protocol.capnp.ts is what scripts/gen-protocol.ts generates (run it after changing protocol.capnp)", () => {
    expect(readFileSync(join(PROTOCOL_DIR, "protocol.capnp.ts"), "utf8")).toBe(protocolModule());
  });
});
