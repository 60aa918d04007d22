/**
 * examples/log: the LOG server and its clients as real processes. Lines arrive in order, each with the pid
 * of the process that wrote it; a line over the bound is refused (by the client before sending, and by the
 * server from a client that skips the check) while the server goes on serving.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, RemoteError } from "ipcgen";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Log, LogClient } from "../../examples/log/gen/log.capnp.js";
import { killAll, Program } from "./support.js";

const dir = mkdtempSync(join(tmpdir(), "ipcgen-log-test-"));
const path = join(dir, "log.sock");
const CLIENT = "examples/log/client.ts";
let server: Program;

/** The lines the server printed for process `pid`, without the prefix. */
const linesOf = (pid: number): string[] => server.out.filter((l) => l.startsWith(`[${pid}] `)).map((l) => l.slice(`[${pid}] `.length));

beforeAll(async () => {
  server = new Program("examples/log/server.ts", [path]);
  await server.waitFor(/listening/);
});

afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("the LOG example", () => {
  it("prints each client's lines in order, prefixed with the writing process's pid", async () => {
    const a = new Program(CLIENT, [path]);
    const b = new Program(CLIENT, [path]);
    const linesA = Array.from({ length: 30 }, (_, i) => `a says ${i}`);
    const linesB = Array.from({ length: 30 }, (_, i) => `b says ${i}`);
    for (let i = 0; i < 30; i++) {
      a.write(linesA[i]);
      b.write(linesB[i]);
    }
    expect(await Promise.all([a.end(), b.end()])).toEqual([0, 0]);
    await server.waitFor(new RegExp(`^\\[${b.pid}\\] b says 29$`));
    await server.waitFor(new RegExp(`^\\[${a.pid}\\] a says 29$`));
    expect(linesOf(a.pid)).toEqual(linesA);
    expect(linesOf(b.pid)).toEqual(linesB);

    const args = new Program(CLIENT, [path, "hello", "from", "argv"]);
    expect(await args.end()).toBe(0);
    expect(await server.waitFor(/hello from argv/)).toBe(`[${args.pid}] hello from argv`);
  });

  it("refuses a line over 4096 bytes, counted in bytes, and goes on serving", async () => {
    const long = new Program(CLIENT, [path, "x".repeat(5000)]);
    expect(await long.end()).toBe(1);
    expect(long.err).toMatch(/not written: .*text holds 5000 bytes, more than its bound of 4096/);
    expect(linesOf(long.pid)).toEqual([]);

    // 2048 two-byte characters fill the bound exactly; one more is over it.
    const edge = new Program(CLIENT, [path]);
    edge.write("é".repeat(2048));
    edge.write("é".repeat(2049));
    edge.write("after the refused line");
    expect(await edge.end()).toBe(1);
    await server.waitFor(new RegExp(`^\\[${edge.pid}\\] after the refused line$`));
    expect(linesOf(edge.pid)).toEqual(["é".repeat(2048), "after the refused line"]);

    // A client that skips the check (the raw runtime): the server refuses the request, the session goes on.
    await using raw = await connect(path, { service: Log });
    const error = await raw.request(Log.methods[0], Log.methods[0].params.encode({ text: "y".repeat(5000) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).kind).toBe("malformed");
    await new LogClient(raw).write({ text: "the raw client is still here" });
    expect(await server.waitFor(/the raw client is still here/)).toBe(`[${process.pid}] the raw client is still here`);
    expect(server.out.some((l) => l.includes("yyyy"))).toBe(false);

    const next = new Program(CLIENT, [path, "next client"]);
    expect(await next.end()).toBe(0);
    await server.waitFor(new RegExp(`^\\[${next.pid}\\] next client$`));
  });

  it("runs as a demo: node --import tsx examples/log/demo.ts exits 0", async () => {
    const demo = new Program("examples/log/demo.ts");
    expect(await demo.end()).toBe(0);
    expect(demo.out.join("\n")).toMatch(/server \| \[\d+\] hello from the command line/);
  });

  it("closes on SIGTERM, ending its sessions and removing its socket", async () => {
    await using client = await Log.connect(path);
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect((await client.session.closed).cause).toBe("closed-by-peer");
    expect(existsSync(path)).toBe(false);
  });
});
