/**
 * `npm run bench:codec` runs in a checkout: it generates its module with the built CLI and loads it against
 * this checkout's runtime, whatever package subpaths the generated code imports. A run with tiny batches
 * checks that it completes and that every codec builds the same bytes; the figures are not looked at.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliBuilt, REPO } from "../support/ipcgen.js";

describe.skipIf(!cliBuilt())("bench:codec", () => {
  it("runs to its table with every codec loaded", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", join(REPO, "bench/codec.ts")], {
      cwd: REPO,
      encoding: "utf8",
      env: { ...process.env, BENCH_BATCHES: "1", BENCH_BATCH_MS: "1" },
      timeout: 180_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/\| ipcgen plain \(encode\/decode\) \| [\d.]+ \|/);
    expect(run.stdout).toMatch(/bytes identical: .*ipcgen plain, ipcgen builder classes build the same \d+-byte message/);
  }, 200_000);
});
