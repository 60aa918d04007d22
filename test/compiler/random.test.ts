/**
 * Differential test over random schemas: at least 1,000 seeded schema projects (see
 * test/support/random-schema.ts) are compiled by capnp 0.9.2 (in batches) and by ipcgen (in-process), and
 * every file's model must be equal, and so must its nodes' and source infos' bytes. Failures name their
 * seeds.
 *
 *   IPCGEN_RANDOM_SEED=N   first seed (default 1)
 *   IPCGEN_RANDOM_COUNT=K  number of seeds (default 1000)
 *
 * A longer run (10,000 seeds, several minutes): `npm run test:random`; with another range, e.g.
 * `IPCGEN_RANDOM_SEED=1001 npm run test:random` (the script sets the count).
 *
 * Replay one seed: `IPCGEN_RANDOM_SEED=123 IPCGEN_RANDOM_COUNT=1 npx vitest run test/compiler/random.test.ts`;
 * look at its files: `node --import tsx test/support/random-schema.ts 123`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeRequest, encodeRequest } from "../../generator/model/request.js";
import type { CodeGeneratorRequest } from "../../generator/model/schema.js";
import { type RequestEntries, diffRequestBytes, diffRequests, formatDiff, requestEntries, restrictToFiles } from "../support/compare.js";
import { ipcgenCompile } from "../support/ipcgen.js";
import { type CapnpRun, type CompileArgs, capnpCompileBatch, noteIfOracleMissing, oracle } from "../support/oracle.js";
import { type GeneratedSchema, generateSchema, writeSchema } from "../support/random-schema.js";

const FIRST_SEED = Number(process.env.IPCGEN_RANDOM_SEED ?? 1);
const COUNT = Number(process.env.IPCGEN_RANDOM_COUNT ?? 1000);
const SEEDS_PER_TEST = 50;
/** capnp 0.9.2's refusal of some unions in unions (capnproto issue 344); not a formatted error. */
const BAD_NEWS = "Bad news: Cap'n Proto 0.5.x and previous contained a bug";

noteIfOracleMissing("random-schema differential test");

const replay = (seed: number): string =>
  `replay: IPCGEN_RANDOM_SEED=${seed} IPCGEN_RANDOM_COUNT=1 npx vitest run test/compiler/random.test.ts; ` +
  `files: node --import tsx test/support/random-schema.ts ${seed}`;

/** What capnp made of each generated file: the request of the run that compiled it. */
interface OracleResult {
  run: CapnpRun;
  request: CodeGeneratorRequest | null;
  /** The request's bytes, entry by entry (for the byte comparison), once asked for. */
  entries?: RequestEntries;
}

describe.skipIf(oracle === null)(`random schemas (seeds ${FIRST_SEED}..${FIRST_SEED + COUNT - 1})`, () => {
  let dir: string;
  let args: CompileArgs;
  const schemas: GeneratedSchema[] = [];
  const byFile = new Map<string, OracleResult>();
  let oracleMs = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ipcgen-random-"));
    args = { cwd: dir, standardImport: false };
    for (let seed = FIRST_SEED; seed < FIRST_SEED + COUNT; seed++) {
      const schema = generateSchema(seed);
      writeSchema(schema, dir);
      schemas.push(schema);
    }
    const started = performance.now();
    const runs = await capnpCompileBatch(
      schemas.flatMap((s) => s.schemas),
      args,
      { chunkSize: 60, concurrency: 2 },
    );
    for (const run of runs) {
      const result = { run, request: run.ok ? decodeRequest(run.stdout) : null };
      for (const f of run.files) byFile.set(f, result);
    }
    oracleMs = performance.now() - started;
  });

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    if (schemas.length > 0) console.log(`random schemas: ${schemas.length} seeds, capnp (batched, decoded) ${oracleMs.toFixed(0)} ms`);
  });

  /** capnp's refusals of one seed's files: none, or only "Bad news". */
  const refusals = (schema: GeneratedSchema): CapnpRun[] => schema.schemas.map((f) => byFile.get(f)!.run).filter((r) => !r.ok);

  it(`generates at least 1,000 schemas that capnp accepts (or refuses only with "Bad news")`, () => {
    if (process.env.IPCGEN_RANDOM_COUNT === undefined) expect(schemas.length).toBeGreaterThanOrEqual(1000);
    const wrong = schemas.flatMap((s) =>
      refusals(s)
        .filter((r) => !r.stderr.includes(BAD_NEWS))
        .map((r) => `seed ${s.seed}: capnp rejected ${r.files.join(" ")}:\n${r.stderr.slice(0, 600)}\n${replay(s.seed)}`),
    );
    if (wrong.length > 0) throw new Error(`${wrong.length} generated schemas rejected by capnp:\n\n${wrong.slice(0, 3).join("\n\n")}`);
    // The "Bad news" schemas are a small minority: the others carry the test.
    const badNews = schemas.filter((s) => refusals(s).length > 0).length;
    expect(badNews).toBeLessThanOrEqual(Math.max(1, schemas.length * 0.05));
  });

  const chunks: number[][] = [];
  for (let i = 0; i < COUNT; i += SEEDS_PER_TEST) {
    chunks.push(Array.from({ length: Math.min(SEEDS_PER_TEST, COUNT - i) }, (_, j) => FIRST_SEED + i + j));
  }

  it.each(chunks.map((seeds) => [`${seeds[0]}..${seeds[seeds.length - 1]}`, seeds] as const))(
    "seeds %s: ipcgen's model equals capnp's",
    async (_label, seeds) => {
      const failures: string[] = [];
      for (const seed of seeds) {
        const schema = schemas[seed - FIRST_SEED];
        const problem = await compareSeed(schema);
        if (problem !== null) failures.push(`seed ${seed} (${schema.schemas.join(", ")}): ${problem}\n  ${replay(seed)}`);
      }
      const summary = `${failures.length} of ${seeds.length} seeds differ (seeds ${failures.map((f) => f.split(" ")[1]).join(", ")})`;
      // Thrown rather than compared with toEqual([]), which would print every failure twice.
      if (failures.length > 0) throw new Error(`${summary}\n\n${failures.slice(0, 3).join("\n\n")}`);
    },
  );

  /** Null when ipcgen agrees with capnp on every file of the seed, else what differs. */
  async function compareSeed(schema: GeneratedSchema): Promise<string | null> {
    let result;
    try {
      result = await ipcgenCompile(schema.schemas, args);
    } catch (e) {
      const err = e as Error;
      return `ipcgen threw ${err.name}: ${err.message}\n  ${(err.stack ?? "").split("\n").slice(1, 4).join("\n  ")}`;
    }
    const refused = refusals(schema);
    if (refused.length > 0) {
      // capnp refuses the project ("Bad news"): ipcgen must refuse it too, for the same reason.
      if (result.ok) return `capnp refused it ("Bad news", capnproto issue 344) but ipcgen accepted it`;
      if (!result.messages.some((m) => m.includes("Bad news"))) {
        return `capnp refused it with "Bad news" (capnproto issue 344), ipcgen with:\n    ${result.messages.slice(0, 5).join("\n    ")}`;
      }
      return null;
    }
    if (!result.ok) return `capnp accepted it, ipcgen reported:\n    ${result.messages.slice(0, 8).join("\n    ")}`;
    const problems: string[] = [];
    let ours: RequestEntries | undefined;
    for (const file of schema.schemas) {
      const oracleResult = byFile.get(file)!;
      const expected = restrictToFiles(oracleResult.request!, [file]);
      const diff = diffRequests(expected, restrictToFiles(result.request, [file]), 6);
      if (diff.total > 0) {
        problems.push(`${file}: ${formatDiff(diff)}`);
        continue;
      }
      // What the model does not show (null Text against empty, layouts): the file's entries byte for byte.
      oracleResult.entries ??= requestEntries(oracleResult.run.stdout);
      ours ??= requestEntries(encodeRequest(result.request));
      const bytes = diffRequestBytes(oracleResult.entries, ours, { only: new Set(expected.nodes.map((n) => n.id)), limit: 6 });
      if (bytes.total > 0) problems.push(`${file}: ${formatDiff(bytes)}`);
    }
    return problems.length === 0 ? null : problems.join("\n  ");
  }
});
