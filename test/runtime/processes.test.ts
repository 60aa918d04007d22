/**
 * The runtime between many processes: clients killed with SIGKILL, clients running as another user (when
 * the tests run as root, as CI does), and load from several processes at once.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, type ServiceDefinition } from "../../runtime/rpc/service.js";
import { connect } from "../../runtime/session/client.js";
import { type EchoModule, REPO, echoService, loadEcho } from "./support/echo.js";
import { ECHO_CLIENT, killAll, line, run, startEchoServer } from "./support/processes.js";

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

/** Whether another user can reach the checkout (every folder down to it searchable by others). */
function othersCanReach(path: string): boolean {
  for (let dir = path; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o005) !== 0o005) return false;
    if (dirname(dir) === dir) return true;
  }
}
const otherUser = isRoot && othersCanReach(REPO);
if (isRoot && !otherUser) console.log(`skipped: the tests with a client running as uid ${NOBODY} need ${REPO} readable by other users`);

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

describe.skipIf(!otherUser)("a client running as another user (tests run as root, in a checkout others can read)", () => {
  it("is refused by the socket's mode (user only)", async () => {
    const path = join(dir, "mode", "echo.sock");
    mkdirSync(join(dir, "mode"), { mode: 0o755 });
    await startEchoServer(path);
    const out = JSON.parse(await line(run(ECHO_CLIENT, [path, "connect"], { uid: NOBODY, gid: NOBODY }), /^\{/)) as { error?: string; message?: string };
    expect(out.error).toBe("ConnectError");
    expect(out.message).toMatch(/EACCES/);
  }, 30_000);

  it("with an open mode, is refused by the credential policy at log-in", async () => {
    const path = join(dir, "open", "echo.sock");
    mkdirSync(join(dir, "open"), { mode: 0o755 });
    await startEchoServer(path, { permissions: "anyone" });
    const out = JSON.parse(await line(run(ECHO_CLIENT, [path, "connect"], { uid: NOBODY, gid: NOBODY }), /^\{/)) as { error?: string; kind?: string; message?: string };
    expect(out).toMatchObject({ error: "LoginError", kind: "not-allowed" });
    expect(out.message).toMatch(new RegExp(`uid ${NOBODY}`));
    // And a policy that allows that uid lets it in.
    const allowed = join(dir, "allowed", "echo.sock");
    mkdirSync(join(dir, "allowed"), { mode: 0o755 });
    await startEchoServer(allowed, { permissions: "anyone", allowUid: NOBODY });
    expect(JSON.parse(await line(run(ECHO_CLIENT, [allowed, "connect"], { uid: NOBODY, gid: NOBODY }), /^\{/))).toEqual({ ok: true });
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
