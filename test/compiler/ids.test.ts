import { describe, expect, it } from "vitest";
import { childId, formatId, groupId, methodParamsId, randomFileId } from "../../generator/compiler/ids.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { capnpCompile } from "./support/capnp-oracle.js";
import { CORPUS } from "../support/ipcgen.js";

const CAPNP_SRC = join(CORPUS, "src/capnp");

describe("ids", () => {
  it("matches capnp's own type-id test vectors", () => {
    expect(childId(0xa93fc509624c72d9n, "Node")).toBe(0xe682ab4cf923a417n);
    expect(childId(0xe682ab4cf923a417n, "NestedNode")).toBe(0xdebf55bbfa0fc242n);
    expect(groupId(0xe682ab4cf923a417n, 7)).toBe(0x9ea0b19b37fb4435n);
    expect(methodParamsId(0x88eb12a0e0af92b2n, 0, false)).toBe(0xb874edc0d559b391n);
    expect(methodParamsId(0x88eb12a0e0af92b2n, 0, true)).toBe(0xb04fcaddab714ba4n);
    expect(methodParamsId(0x88eb12a0e0af92b2n, 1, false)).toBe(0xd044893357b42568n);
    expect(methodParamsId(0x88eb12a0e0af92b2n, 1, true)).toBe(0x9bf141df4247d52fn);
  });

  it("hashes non-ASCII names as UTF-8", () => {
    // Different code units but a UTF-8 encoder must be used: "é" is two bytes.
    expect(childId(0x8000000000000000n, "é")).not.toBe(childId(0x8000000000000000n, "\u00e9\u0000"));
    expect(childId(1n, "a")).toBeGreaterThanOrEqual(1n << 63n);
  });

  it("formats ids as capnp prints them", () => {
    expect(formatId(0xe682ab4cf923a417n)).toBe("0xe682ab4cf923a417");
    expect(formatId(0x8000000000000001n)).toBe("0x8000000000000001");
  });

  it("makes random file ids with the top bit set", () => {
    const seen = new Set<bigint>();
    for (let i = 0; i < 100; i++) {
      const id = randomFileId();
      expect(id >> 63n).toBe(1n);
      expect(id < 1n << 64n).toBe(true);
      seen.add(id);
    }
    expect(seen.size).toBe(100);
    expect(formatId(randomFileId())).toMatch(/^0x[89a-f][0-9a-f]{15}$/);
  });

  describe("against capnp on the corpus", () => {
    for (const file of ["test.capnp", "schema.capnp", "rpc.capnp", "persistent.capnp", "compat/json.capnp"]) {
      it(`derives every id of ${file}`, () => {
        const run = capnpCompile(["-I", "..", "--no-standard-import", file], CAPNP_SRC);
        expect(run.status).toBe(0);
        const nodes: any[] = run.request.nodes;
        // Declarations with an explicit `@0x...` id keep it; only the others have derived ids.
        const explicit = new Set<bigint>();
        for (const m of readFileSync(join(CAPNP_SRC, file), "utf8").matchAll(/@(0x[0-9a-fA-F]+)/g)) explicit.add(BigInt(m[1]));
        const byId = new Map<string, any>(nodes.map((n) => [n.id, n]));
        let nested = 0;
        let groups = 0;
        let params = 0;
        for (const node of nodes) {
          // Imported files have their own explicit ids; check only this file's nodes.
          if (node.displayName !== file && !node.displayName.startsWith(`${file}:`)) continue;
          for (const child of node.nestedNodes ?? []) {
            if (explicit.has(BigInt(child.id))) continue;
            expect(formatId(childId(BigInt(node.id), child.name))).toBe(formatId(BigInt(child.id)));
            nested++;
          }
          if (node.struct) {
            (node.struct.fields ?? []).forEach((field: any, index: number) => {
              if (!field.group) return;
              expect(groupId(BigInt(node.id), index)).toBe(BigInt(field.group.typeId));
              groups++;
            });
          }
          if (node.interface) {
            (node.interface.methods ?? []).forEach((method: any, ordinal: number) => {
              for (const [key, isResults] of [["paramStructType", false], ["resultStructType", true]] as const) {
                const target = byId.get(method[key]);
                // Only synthesized structs (scope 0, named `$Params`/`$Results`) have derived ids.
                if (!target || target.scopeId !== "0" || !/\$(Params|Results)$/.test(target.displayName)) continue;
                expect(methodParamsId(BigInt(node.id), ordinal, isResults)).toBe(BigInt(method[key]));
                params++;
              }
            });
          }
        }
        expect(nested).toBeGreaterThan(0);
        if (file === "test.capnp") {
          expect(groups).toBeGreaterThan(10);
          expect(params).toBeGreaterThan(10);
        }
      });
    }
  });
});
