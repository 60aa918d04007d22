/**
 * The runtime between many processes: clients killed with SIGKILL, clients running as another user (which
 * needs root, as CI has: test/support/other-user.ts decides), and load from several processes at once.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, type ServiceDefinition } from "../../runtime/rpc/service.js";
import { connect } from "../../runtime/session/client.js";
import { itAsOtherUser } from "../support/other-user.js";
import { type EchoModule, echoService, generateEcho, loadEcho } from "./support/echo.js";
import { ECHO_CLIENT, killAll, line, run, startEchoServer } from "./support/processes.js";

let dir: string;
let m: EchoModule;
let service: ServiceDefinition;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ipcgen-processes-"));
  chmodSync(dir, 0o755); // other users' clients must reach the sockets inside
  m = await loadEcho();
  service = echoService(m);
}, 60_000);

afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("other sessions", () => {
  it("a killed client's session and pool entries are released; the others stay", async () => {
    const path = join(dir, "pool", "echo.sock");
    await startEchoServer(path);
    await using session = await connect(path, { service });
    const client = new Client(session, service);
    await client.oneWay("note", { text: "join:here" });
    const other = run(ECHO_CLIENT, [path, "join", "there"]);
    await line(other, /joined/);
    await expect.poll(async () => ((await client.call("stats", {})) as { members: string[] }).members).toEqual(["here", "there"]);
    expect(((await client.call("stats", {})) as { sessions: number }).sessions).toBe(2);
    other.kill("SIGKILL");
    await expect.poll(async () => ((await client.call("stats", {})) as { members: string[] }).members).toEqual(["here"]);
    expect(((await client.call("stats", {})) as { sessions: number }).sessions).toBe(1);
  }, 30_000);
});

describe("a client running as another user", () => {
  // What the client process reads: its script and the generated Echo module (written by beforeAll).
  const reads = (): string[] => [ECHO_CLIENT, generateEcho()];

  itAsOtherUser("is refused by the socket's mode (user only)", reads, async (other) => {
    const path = join(dir, "mode", "echo.sock");
    mkdirSync(join(dir, "mode"), { mode: 0o755 });
    await startEchoServer(path);
    const out = JSON.parse(await line(run(ECHO_CLIENT, [path, "connect"], { uid: other.uid, gid: other.gid }), /^\{/)) as { error?: string; message?: string };
    expect(out.error).toBe("ConnectError");
    expect(out.message).toMatch(/EACCES/);
  }, 30_000);

  itAsOtherUser("with an open mode, is refused by the credential policy at log-in", reads, async (other) => {
    const path = join(dir, "open", "echo.sock");
    mkdirSync(join(dir, "open"), { mode: 0o755 });
    await startEchoServer(path, { permissions: "anyone" });
    const out = JSON.parse(await line(run(ECHO_CLIENT, [path, "connect"], { uid: other.uid, gid: other.gid }), /^\{/)) as { error?: string; kind?: string; message?: string };
    expect(out).toMatchObject({ error: "LoginError", kind: "not-allowed" });
    expect(out.message).toMatch(new RegExp(`uid ${other.uid}`));
    // And a policy that allows that uid lets it in.
    const allowed = join(dir, "allowed", "echo.sock");
    mkdirSync(join(dir, "allowed"), { mode: 0o755 });
    await startEchoServer(allowed, { permissions: "anyone", allowUid: other.uid });
    expect(JSON.parse(await line(run(ECHO_CLIENT, [allowed, "connect"], { uid: other.uid, gid: other.gid }), /^\{/))).toEqual({ ok: true });
  }, 30_000);
});

describe("load", () => {
  it("100 sessions from 4 processes, 1,000 calls each: every answer matches its request", async () => {
    const path = join(dir, "load", "echo.sock");
    await startEchoServer(path);
    const results = await Promise.all(
      Array.from({ length: 4 }, async () => JSON.parse(await line(run(ECHO_CLIENT, [path, "load", "25", "1000"]), /^\{/)) as { calls: number; mismatches: number; errors: number }),
    );
    for (const r of results) expect(r).toEqual({ calls: 25_000, mismatches: 0, errors: 0 });
  }, 120_000);
});
