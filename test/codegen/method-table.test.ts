/**
 * A service definition's method table comes out of a template (method.hbs), like every other line of
 * generated code: a user's override of it changes what the runtime does with every method. Here the
 * override gives every call without a `$Ipc.timeoutMs` a default timeout of 300 ms, and a real session
 * shows it: a handler that never answers makes the call fail with `TimeoutError`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateInto, typecheck } from "../support/generated.js";
import { PROJECT_ARGS, REPO, ipcgenCompile } from "../support/ipcgen.js";
import { TimeoutError } from "../../runtime/index.js";

const OUT = join(REPO, "test/.gen/method-table");
const work = mkdtempSync(join(tmpdir(), "ipcgen-method-table-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The bundled method.hbs with `timeoutMs` printed for every call (300 where the schema gives none). */
function overrideTemplate(dir: string): void {
  const bundled = readFileSync(join(REPO, "templates/typescript/method.hbs"), "utf8");
  const edited = bundled.replace("{{#if timeoutMs}}, timeoutMs: {{timeoutMs}}{{/if}}", '{{#if timeoutMs}}, timeoutMs: {{timeoutMs}}{{else if (eq kind "call")}}, timeoutMs: 300{{/if}}');
  expect(edited).not.toBe(bundled);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "method.hbs"), edited);
}

describe("method.hbs", () => {
  it("an override changes the method table, and the runtime follows it", async () => {
    const templates = join(work, "templates");
    overrideTemplate(templates);
    const result = await ipcgenCompile(["examples/log/log.capnp"], PROJECT_ARGS);
    expect(result.messages).toEqual([]);
    rmSync(OUT, { recursive: true, force: true });
    const helpers = { eq: (a: unknown, b: unknown) => a === b };
    const files = generateInto(result.request, OUT, { templateDirs: [templates], helpers });
    const path = files.find((f) => f.endsWith("log.capnp.ts"))!;
    expect(typecheck([path])).toEqual([]);
    expect(readFileSync(path, "utf8")).toMatch(/\{ name: "write", interfaceId: 0x[0-9a-f]{16}n, methodId: 0, kind: "call", .*timeoutMs: 300/);

    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- imported at run time
    const { Log, LogClient } = (await import(path)) as Record<string, any>;
    expect(Log.methods[0]).toMatchObject({ name: "write", methodId: 0, kind: "call", timeoutMs: 300 });

    const socket = join(work, "log.sock");
    const server = await Log.listen(socket, { write: () => new Promise(() => {}) });
    try {
      const client = await Log.connect(socket);
      try {
        expect(client).toBeInstanceOf(LogClient);
        // Without the override the call would wait for ever: the schema gives `write` no timeout.
        await expect(client.write({ text: "never answered" })).rejects.toThrow(TimeoutError);
      } finally {
        await client.close();
      }
    } finally {
      await server.close();
    }
  });
});
