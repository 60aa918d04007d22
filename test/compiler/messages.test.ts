/**
 * Coverage of capnp 0.9.2's error messages by the negative cases (list: messages.ts). Each listed message
 * names the case whose capnp output shows it, or says why none can; every message capnp prints for the
 * cases must be one of the list. (errors.test.ts compares ipcgen's output for the same cases with capnp's.)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CapnpRun, capnpCompile, mapLimit, noteIfOracleMissing, oracle } from "../support/oracle.js";
import { ipcgenCompile } from "../support/ipcgen.js";
import { ALL_BROKEN, FAKE_STREAM_CAPNP, FAKE_STREAM_SCHEMA, INTERNAL_CHECKS, MESSAGES } from "./messages.js";

noteIfOracleMissing("error-message coverage");

/** The message part of capnp's `file:LINE:COL-COL: error: MSG` line. */
const messageOf = (line: string) => line.slice(line.indexOf(" error: ") + " error: ".length);

describe("the list of capnp's error messages", () => {
  it("names a known case or gives a reason, for every message", () => {
    for (const m of MESSAGES) {
      const ways = [m.case, m.reason, m.elsewhere].filter((x) => x !== undefined);
      expect(ways.length, `${m.message}: exactly one of case, reason, elsewhere`).toBe(1);
      if (m.case !== undefined) expect(Object.keys(ALL_BROKEN), `${m.message}`).toContain(m.case);
    }
  });
});

describe.skipIf(oracle === null)("capnp's error messages are covered by the negative cases", () => {
  let dir: string;
  const live = new Map<string, CapnpRun>();
  const names = Object.keys(ALL_BROKEN);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ipcgen-messages-"));
    for (const [name, text] of Object.entries(ALL_BROKEN)) writeFileSync(join(dir, `${name}.capnp`), text);
    const runs = await mapLimit(names, 2, (name) => capnpCompile([`${name}.capnp`], { cwd: dir, standardImport: false }));
    for (const run of runs) live.set(run.files[0].replace(/[.]capnp$/, ""), run);
  });
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("each listed message appears in capnp's output for its case", () => {
    const missing: string[] = [];
    for (const m of MESSAGES) {
      if (m.case === undefined) continue;
      const lines = live.get(m.case)!.messages;
      if (!lines.some((line) => m.message.test(messageOf(line)))) missing.push(`${m.message} (${m.source}) not in ${m.case}:\n    ${lines.join("\n    ")}`);
    }
    expect(missing, missing.join("\n  ")).toEqual([]);
    const covered = MESSAGES.filter((m) => m.case !== undefined || m.elsewhere !== undefined).length;
    const uncovered = MESSAGES.filter((m) => m.reason !== undefined);
    console.log(
      `${covered} of ${MESSAGES.length} capnp 0.9.2 compiler messages covered by negative schemas; ` +
        `${INTERNAL_CHECKS.length} internal checks listed apart as unreachable; not covered (${uncovered.length}):\n  ${uncovered.map((m) => `${m.message} (${m.source}): ${m.reason}`).join("\n  ")}`,
    );
  });

  it("every message capnp prints for the cases is in the list", () => {
    const unknown = new Set<string>();
    for (const run of live.values()) {
      for (const line of run.messages) {
        const text = messageOf(line);
        if (!MESSAGES.some((m) => m.message.test(text))) unknown.add(text);
      }
    }
    expect([...unknown]).toEqual([]);
  });

  it("fake stream.capnp: a capnp/stream.capnp without StreamResult in the import path, as capnp reports it", async () => {
    mkdirSync(join(dir, "inc", "capnp"), { recursive: true });
    writeFileSync(join(dir, "inc", "capnp", "stream.capnp"), FAKE_STREAM_CAPNP);
    writeFileSync(join(dir, "fake-stream.capnp"), FAKE_STREAM_SCHEMA);
    const args = { cwd: dir, standardImport: false, importPath: ["inc"] };
    const theirs = await capnpCompile(["fake-stream.capnp"], args);
    expect(theirs.status).toBe(1);
    expect(theirs.messages.map(messageOf).every((text) => /^The version of '\/capnp\/stream[.]capnp' found/.test(text))).toBe(true);
    const ours = await ipcgenCompile(["fake-stream.capnp"], args);
    expect(ours.ok).toBe(false);
    expect([...ours.messages].sort()).toEqual([...theirs.messages].sort());
  });
});
