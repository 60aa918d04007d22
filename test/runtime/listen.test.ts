/** Where `listen` makes its socket: a directory in which another user could replace the socket is refused. */
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SocketPathError } from "../../runtime/errors.js";
import type { ServiceDefinition } from "../../runtime/rpc/service.js";
import { connect } from "../../runtime/session/client.js";
import { listen, type ServerOptions } from "../../runtime/session/server.js";
import { echoService, loadEcho } from "./support/echo.js";
import { killAll, NOBODY, startEchoServer } from "./support/processes.js";

const isRoot = process.getuid?.() === 0;
let dir: string;
let service: ServiceDefinition;
let options: ServerOptions;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ipcgen-listen-"));
  service = echoService(await loadEcho());
  options = { service, onSession: () => {} };
}, 60_000);

afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** A new directory under the test's with exactly `mode` (mkdir's mode goes through the umask). */
function directory(name: string, mode: number): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  chmodSync(d, mode);
  return d;
}

async function refusal(path: string): Promise<SocketPathError> {
  const err = (await listen(path, options).catch((e: unknown) => e)) as SocketPathError;
  expect(err).toBeInstanceOf(SocketPathError);
  expect(err.reason).toBe("unsafe-directory");
  return err;
}

describe("the socket's directory", () => {
  it("is refused when everyone or its group may write it and it is not sticky, or when a directory above is", async () => {
    for (const [mode, who] of [
      [0o777, "everyone"],
      [0o703, "everyone"],
      [0o770, "its group"],
    ] as const) {
      const d = directory(`m${mode.toString(8)}`, mode);
      expect((await refusal(join(d, "x.sock"))).message).toContain(`${d} is writable by ${who} and not sticky`);
      expect(readdirSync(d)).toEqual([]);
    }
    const open = directory("open", 0o777);
    mkdirSync(join(open, "mine"), { mode: 0o700 });
    expect((await refusal(join(open, "mine", "x.sock"))).message).toContain(`${open} is writable by everyone`);
    // A missing directory is not made under an unsafe one.
    await refusal(join(open, "new", "x.sock"));
    expect(existsSync(join(open, "new"))).toBe(false);
  });

  it.skipIf(!isRoot)("is refused when it belongs to another user than this process's or root", async () => {
    const d = directory("theirs", 0o700);
    chownSync(d, NOBODY, NOBODY);
    expect((await refusal(join(d, "x.sock"))).message).toContain(`${d} belongs to uid ${NOBODY}`);
  });

  it("is accepted when sticky, as /tmp is (nobody else may remove or rename the socket there)", async () => {
    const d = directory("sticky", 0o1777);
    const server = await listen(join(d, "x.sock"), options);
    await (await connect(join(d, "x.sock"), { service })).close();
    await server.close();
    const inTmp = await listen(`/tmp/ipcgen-listen-${process.pid}.sock`, options);
    await (await connect(inTmp.path, { service })).close();
    await inTmp.close();
    expect(existsSync(inTmp.path)).toBe(false);
  });

  it("keeps a server process from starting, saying why", async () => {
    const d = directory("process", 0o777);
    await expect(startEchoServer(join(d, "echo.sock"))).rejects.toThrow(/is writable by everyone and not sticky/);
    expect(readdirSync(d)).toEqual([]);
  }, 30_000);
});
