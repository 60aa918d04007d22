/**
 * `ipcgen compile -o-` against `capnp compile -o-` on the 0.9.2 corpus, end to end through the CLI: the two
 * binary requests decode to the same model.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { decodeRequest } from "../../generator/model/request.js";
import { assertSameRequest, assertSameRequestBytes } from "../support/compare.js";
import { CAPNP, CORPUS, NO_CAPNP, NO_CORPUS, capnp, ensureBuilt, ipcgen } from "./helpers.js";

beforeAll(ensureBuilt);

const CASES: { name: string; args: string[] }[] = [
  { name: "test.capnp", args: ["-I", "src", "--no-standard-import", "src/capnp/test.capnp"] },
  {
    name: "two files at once, with --src-prefix and glued short options",
    args: ["-Isrc", "--no-standard-import", "--src-prefix=src", "src/capnp/test.capnp", "src/capnp/test-import.capnp"],
  },
  { name: "the samples", args: ["-I", "src", "--no-standard-import", "samples/addressbook.capnp", "samples/calculator.capnp"] },
];

describe.skipIf(CAPNP === null || NO_CORPUS !== "")(`ipcgen compile -o- decodes to capnp's request${NO_CAPNP}${NO_CORPUS}`, () => {
  for (const { name, args } of CASES) {
    it(name, () => {
      const ours = ipcgen(["compile", "-o-", ...args], { cwd: CORPUS });
      expect(ours.status, ours.stderr).toBe(0);
      const theirs = capnp(["compile", "-o-", ...args], { cwd: CORPUS });
      expect(theirs.status, theirs.stderr).toBe(0);

      const expected = decodeRequest(theirs.stdout);
      const actual = decodeRequest(ours.stdout);
      // Nodes and sourceInfo compared in id order (capnp's own order comes from a hash map).
      assertSameRequest(expected, actual, name);
      // And byte for byte, entry by entry: layouts, null against empty, Text bytes.
      assertSameRequestBytes(theirs.stdout, ours.stdout, name);
    });
  }
});
