/**
 * Where and how `listen` makes its socket: a directory in which another user could replace the socket is
 * refused; the socket gets its mode without the process's umask being touched (other code in the process
 * would see it); nothing is left behind, also when binding fails.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AddressInUseError, SocketPathError } from "../../runtime/errors.js";
import { peerCredentials } from "../../runtime/native/index.js";
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

describe("binding the socket", () => {
  /** The native reader, given directly: `listen` then has nothing to wait for before it binds. */
  const credentials = (socket: Parameters<typeof peerCredentials>[0]) => peerCredentials(socket);

  it("leaves the umask alone: files other code makes meanwhile get their usual mode; the socket gets its own", async () => {
    const previous = process.umask(0o022);
    try {
      const d = directory("umask", 0o700);
      const path = join(d, "x.sock");
      const modes: number[] = [];
      const make = (): void => {
        const file = join(d, `other${modes.length}`);
        writeFileSync(file, "");
        modes.push(statSync(file).mode & 0o777);
      };
      const listening = listen(path, { ...options, credentials, permissions: "group" });
      // This runs while `listen` waits for its socket; so do the turns after it, until it is done.
      make();
      let done = false;
      void listening.finally(() => (done = true));
      while (!done) {
        await Promise.resolve();
        make();
        await new Promise((resolve) => setImmediate(resolve));
        make();
      }
      const server = await listening;
      expect(new Set(modes)).toEqual(new Set([0o644]));
      expect(statSync(path).mode & 0o777).toBe(0o660);
      // The private directory it bound in is gone.
      expect(readdirSync(d).filter((name) => !name.startsWith("other"))).toEqual(["x.sock"]);
      await (await connect(path, { service })).close();
      await server.close();
      expect(existsSync(path)).toBe(false);
    } finally {
      process.umask(previous);
    }
  });

  it("refuses a path longer than a socket address holds, where Node would cut it", async () => {
    const long = directory("l".repeat(100 - dir.length - 1), 0o700);
    expect(long.length).toBe(100);
    for (const path of [join(long, "x".repeat(20)), join(long, "x")]) {
      const err = (await listen(path, options).catch((e: unknown) => e)) as SocketPathError;
      expect(err).toBeInstanceOf(SocketPathError);
      expect(err.reason).toBe("too-long");
    }
    expect(readdirSync(long)).toEqual([]);
  });

  it("leaves nothing behind when binding fails, and does not replace a file put at the path meanwhile", async () => {
    const d = directory("taken", 0o700);
    const path = join(d, "x.sock");
    const listening = listen(path, { ...options, credentials });
    writeFileSync(path, "someone else's");
    const err = await listening.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AddressInUseError);
    expect(readFileSync(path, "utf8")).toBe("someone else's");
    expect(readdirSync(d)).toEqual(["x.sock"]);
  });
});
