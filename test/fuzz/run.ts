/**
 * The long fuzzing run: `npm run fuzz [-- [--seconds N] [--seed N] [--no-save] [TARGET...]]`.
 *
 * Runs each target (all by default) for N seconds (FUZZ_SECONDS, default 60) from its committed corpus,
 * then prints a table: executions, executions per second, blocks and functions covered of the target's
 * modules, new corpus entries, findings. Unless --no-save, the corpus is merged (old and new entries,
 * smallest first, each kept only if it adds blocks) and written back to test/fuzz/corpus/TARGET/, and each
 * finding's minimized input goes to test/fuzz/findings/TARGET/, where fuzz.test.ts replays it.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { corpusDir, findingsDir, fuzz, type FuzzResult, mergeCorpus, readDir, REPO, writeEntry } from "./engine.js";
import { targets } from "./targets/index.js";

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  args.splice(i, 2);
  return value;
};
const seconds = Number(flag("--seconds") ?? process.env.FUZZ_SECONDS ?? 60);
const seedArg = flag("--seed") ?? process.env.FUZZ_SEED;
const save = !args.includes("--no-save");
const names = args.filter((a) => !a.startsWith("--"));
const chosen = names.length === 0 ? targets : targets.filter((t) => names.includes(t.name));
const unknown = names.filter((n) => !targets.some((t) => t.name === n));
if (unknown.length > 0) {
  console.error(`unknown target ${unknown.join(", ")}; targets: ${targets.map((t) => t.name).join(", ")}`);
  process.exit(2);
}

const rows: { result: FuzzResult; merged: number }[] = [];
for (const target of chosen) {
  const committed = readDir(corpusDir(target.name)).map((e) => e.bytes);
  const regressions = readDir(findingsDir(target.name)).map((e) => e.bytes);
  const seed = seedArg === undefined ? undefined : Number(seedArg);
  const result = await fuzz(target, {
    durationMs: seconds * 1000,
    ...(seed === undefined ? {} : { seed }),
    corpus: [...committed, ...regressions],
    log: (line) => console.error(line),
  });
  let merged = committed.length;
  if (save) {
    const keep = await mergeCorpus(target, [...committed, ...result.newEntries]);
    rmSync(corpusDir(target.name), { recursive: true, force: true });
    for (const bytes of keep) writeEntry(corpusDir(target.name), bytes);
    merged = keep.length;
    for (const f of result.findings) {
      const name = writeEntry(findingsDir(target.name), f.minimized);
      console.error(`${target.name}: finding kept as ${join("test/fuzz/findings", target.name, name)}`);
    }
  }
  for (const f of result.findings) {
    console.error(`\n${target.name}: ${f.kind}\n  input (minimized, hex): ${Buffer.from(f.minimized).toString("hex")}\n  ${f.error instanceof Error ? (f.error.stack ?? f.error.message).split("\n").slice(0, 8).join("\n  ") : String(f.error)}`);
  }
  rows.push({ result, merged });
}

const pct = (a: number, b: number): string => (b === 0 ? "-" : `${((100 * a) / b).toFixed(1)}%`);
const table = [
  ["target", "execs", "exec/s", "blocks covered", "functions covered", "new entries", "corpus", "findings", "seed"],
  ...rows.map(({ result: r, merged }) => [
    r.target,
    String(r.execs),
    String(Math.round(r.execs / (r.ms / 1000))),
    `${r.coverage.blocks}/${r.coverage.blocksKnown} (${pct(r.coverage.blocks, r.coverage.blocksKnown)})`,
    `${r.coverage.functions}/${r.coverage.functionsKnown} (${pct(r.coverage.functions, r.coverage.functionsKnown)})`,
    String(r.newEntries.length),
    String(merged),
    String(r.findings.length),
    String(r.seed),
  ]),
];
const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
console.log(line(table[0]));
console.log(`| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`);
for (const row of table.slice(1)) console.log(line(row));
console.log(`\n${seconds} s per target; coverage is of each target's modules (${REPO}), blocks as V8 reports them.`);
process.exitCode = rows.some((r) => r.result.findings.length > 0) ? 1 : 0;
