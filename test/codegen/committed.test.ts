/**
 * The generated code this repository commits (the runtime's protocol, the stubs' fixture, every example) is
 * what ipcgen generates from its schema today.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generate, REPO, targets } from "../../scripts/generate.js";

describe("committed generated code", () => {
  for (const target of targets()) {
    it(`${target.dir}/${target.schema} -> ${target.out} is current (run node --import tsx scripts/generate.ts)`, () => {
      for (const file of generate(target)) expect(readFileSync(join(REPO, file.path), "utf8"), file.path).toBe(file.content);
    });
  }
});
