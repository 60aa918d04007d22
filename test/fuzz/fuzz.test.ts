/**
 * The fuzz targets, briefly: each replays its committed corpus and its kept findings (test/fuzz/corpus,
 * test/fuzz/findings), then fuzzes for a few seconds (FUZZ_TEST_MS per target, default 2,500; the session
 * target, which waits on a socket, 4,000). Any finding fails the test with its minimized input (hex) and
 * the seed that found it (FUZZ_SEED replays the same choices). `npm run fuzz` is the long run.
 */
import { describe, expect, it } from "vitest";
import { corpusDir, findingsDir, fuzz, readDir } from "./engine.js";
import { targets } from "./targets/index.js";
import { plantedTarget } from "./targets/planted.js";

const MS = Number(process.env.FUZZ_TEST_MS ?? 2500);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

describe("fuzz targets", () => {
  it("the engine finds a planted bug behind nested byte comparisons, and minimizes it", async () => {
    // Seeded, and bounded by executions rather than time: the same runs find it whatever the machine's load.
    const result = await fuzz(plantedTarget, { durationMs: 60_000, maxExecs: 400_000, stopOnFinding: true, seed: 1 });
    expect(result.findings.map((f) => f.kind)).toEqual(["TypeError: planted"]);
    const minimized = result.findings[0].minimized;
    expect(minimized.length).toBe(6);
    expect([...minimized]).toEqual([0, 0, 0, 0x46, 0, 0x55]);
  });

  for (const target of targets) {
    it(`${target.name}: ${target.describe}`, async () => {
      const committed = readDir(corpusDir(target.name));
      const regressions = readDir(findingsDir(target.name));
      // Kept findings first, each alone: a regression names its file.
      await target.setup?.();
      try {
        for (const { name, bytes } of regressions) {
          await expect(Promise.resolve().then(() => target.run(bytes)), `findings/${target.name}/${name}`).resolves.toBeUndefined();
        }
      } finally {
        await target.teardown?.();
      }
      const result = await fuzz(target, {
        durationMs: target.name === "session" ? MS * 1.6 : MS,
        stopOnFinding: true,
        ...(SEED === undefined ? {} : { seed: SEED }),
        corpus: [...committed.map((e) => e.bytes), ...regressions.map((e) => e.bytes)],
      });
      const report = result.findings.map((f) => `${f.kind}\n  input (hex): ${Buffer.from(f.minimized).toString("hex")}\n  ${f.error instanceof Error ? f.error.stack : String(f.error)}`);
      expect(report, `seed ${result.seed}`).toEqual([]);
      // Mutants ran, besides the starting corpus (how many depends on the machine's load).
      expect(result.execs).toBeGreaterThan(committed.length + regressions.length + 1);
      expect(result.coverage.blocks).toBeGreaterThan(0);
    });
  }
});
