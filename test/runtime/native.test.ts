// The native addon (runtime/native/): peer credentials over real sockets, its errors, and what a user
// without a compiler gets. Needs the addon built (`npm install` builds it; CI installs the toolchain).
import { spawn } from "node:child_process";
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NativeAddonError, loadNativeAddon, peerCredentials } from "../../runtime/native/index.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const nativeDir = join(root, "runtime", "native");
const me = { uid: process.getuid!(), gid: process.getgid!() };

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "ipcgen-native-"));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs a command to its end; resolves with its exit code and output (no time limit of its own). */
function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; pid: number }>((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr, pid: child.pid! }));
  });
}

function listen(server: net.Server, where: string | { port: number; host: string }) {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(where, () => resolve());
  });
}

function closeServer(server: net.Server) {
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Throws whatever fn throws, or fails the test if it returns. */
function thrown(fn: () => unknown): Error & { code?: string; errno?: number; syscall?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a throw");
}

describe("peerCredentials over a real Unix socket", () => {
  it("each end reads the other process's pid, uid and gid", async () => {
    // The client is another process, so pids differ; it reports, over the socket, what it read of us.
    const client = `
      import net from "node:net";
      import { pathToFileURL } from "node:url";
      const [path, index] = process.argv.slice(1);
      const { peerCredentials } = await import(pathToFileURL(index).href);
      const socket = net.connect(path, () => {
        const server = peerCredentials(socket);
        socket.end(JSON.stringify({ pid: process.pid, uid: process.getuid(), gid: process.getgid(), server }));
      });`;
    const path = join(scratch, "peer.sock");
    const server = net.createServer();
    const accepted = new Promise<{ socket: net.Socket; fromServer: unknown; byFd: unknown; report: Promise<string> }>((resolve) => {
      server.once("connection", (socket) => {
        // Read while connected; the kernel keeps them for the socket's life anyway.
        const fromServer = peerCredentials(socket);
        const byFd = peerCredentials((socket as unknown as { _handle: { fd: number } })._handle.fd);
        let text = "";
        socket.setEncoding("utf8").on("data", (chunk) => (text += chunk));
        const report = new Promise<string>((done) => socket.on("end", () => done(text)));
        resolve({ socket, fromServer, byFd, report });
      });
    });
    await listen(server, path);
    try {
      const child = run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", client, path, join(nativeDir, "index.ts")], { cwd: root });
      const { fromServer, byFd, report } = await accepted;
      const done = await child;
      expect(done.code, done.stderr).toBe(0);
      const childSaw = JSON.parse(await report);

      expect(fromServer).toEqual({ pid: done.pid, ...me });
      expect(byFd).toEqual(fromServer);
      expect(childSaw).toEqual({ pid: done.pid, ...me, server: { pid: process.pid, ...me } });
    } finally {
      await closeServer(server);
    }
  });
});

describe("peerCredentials refuses what is not a connected Unix socket", () => {
  it("a closed descriptor: EBADF", () => {
    // Nothing in this test file opens a descriptor between the close and the call, so the number stays free.
    const fd = openSync(join(root, "package.json"), "r");
    closeSync(fd);
    const error = thrown(() => peerCredentials(fd));
    expect(error.message).toBe(`peerCredentials: fd ${fd} is not an open file descriptor (EBADF)`);
    expect(error).toMatchObject({ code: "EBADF", errno: -9, syscall: "getsockopt" });
  });

  it("a file: ENOTSOCK", () => {
    const fd = openSync(join(root, "package.json"), "r");
    try {
      const error = thrown(() => peerCredentials(fd));
      expect(error.message).toBe(`peerCredentials: fd ${fd} is not a Unix socket (ENOTSOCK)`);
      expect(error).toMatchObject({ code: "ENOTSOCK", errno: -88, syscall: "getsockopt" });
    } finally {
      closeSync(fd);
    }
  });

  it("a TCP socket, both ends: EAFNOSUPPORT (Linux itself answers pid 0, uid and gid 4294967295)", async () => {
    const server = net.createServer();
    const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
    await listen(server, { port: 0, host: "127.0.0.1" });
    try {
      const { port } = server.address() as net.AddressInfo;
      const client = net.connect(port, "127.0.0.1");
      await new Promise((resolve, reject) => client.once("connect", resolve).once("error", reject));
      const serverSide = await accepted;
      for (const socket of [client, serverSide]) {
        const error = thrown(() => peerCredentials(socket));
        expect(error.message).toMatch(/^peerCredentials: fd \d+ is an AF_INET \(TCP\/UDP over IPv4\) socket, not a Unix socket; only Unix sockets carry peer credentials \(EAFNOSUPPORT\)$/);
        expect(error).toMatchObject({ code: "EAFNOSUPPORT", syscall: "getsockopt" });
      }
      client.destroy();
      serverSide.destroy();
    } finally {
      await closeServer(server);
    }
  });

  it("numbers that are not descriptors", () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, 2 ** 32 + 3]) {
      const error = thrown(() => peerCredentials(bad));
      expect(error, String(bad)).toBeInstanceOf(RangeError);
      expect(error.message).toMatch(/^peerCredentials: fd must be an integer from 0 to 2147483647, got /);
      expect(error.code).toBe("ERR_OUT_OF_RANGE");
    }
    // In range but above any descriptor limit.
    expect(thrown(() => peerCredentials(2 ** 31 - 1)).code).toBe("EBADF");
  });

  it("values that are neither a socket nor a number", () => {
    expect(() => peerCredentials("3" as never)).toThrow(new TypeError("peerCredentials: expected a net.Socket or a file descriptor, got string"));
    const direct = thrown(() => loadNativeAddon().peerCredentials("3" as never));
    expect(direct).toBeInstanceOf(TypeError);
    expect(direct.message).toBe("peerCredentials: fd must be a number, got string");
    expect(direct.code).toBe("ERR_INVALID_ARG_TYPE");
  });

  it("a net.Socket without a descriptor", async () => {
    const fresh = new net.Socket();
    expect(thrown(() => peerCredentials(fresh))).toMatchObject({
      message: "peerCredentials: the socket has no file descriptor: it is not connected, or has no descriptor of its own",
      code: "ERR_IPCGEN_SOCKET_NO_FD",
    });
    fresh.destroy();
    expect(thrown(() => peerCredentials(fresh)).message).toBe("peerCredentials: the socket has no file descriptor: it is destroyed");
  });
});

describe("without a C toolchain", () => {
  it("the install script warns and succeeds, and the first call names what is missing", async () => {
    // A copy of runtime/native/ built with a PATH that has no compiler, make or python (and beside it
    // runtime/errors.ts, which index.ts imports: NativeAddonError extends IpcgenError).
    const copy = join(scratch, "no-toolchain", "native");
    for (const name of ["binding.gyp", "install.mjs", "index.ts", "src"]) cpSync(join(nativeDir, name), join(copy, name), { recursive: true });
    cpSync(join(nativeDir, "..", "errors.ts"), join(copy, "..", "errors.ts"));
    const emptyBin = join(scratch, "no-toolchain", "bin");
    mkdirSync(emptyBin);
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: emptyBin };
    for (const name of ["CC", "CXX", "PYTHON", "npm_config_python"]) delete env[name];

    const install = await run(process.execPath, [join(copy, "install.mjs")], { env });
    expect(install.code).toBe(0);
    // One line, saying what is missing and that code generation still works.
    const platform = `${process.platform}-${process.arch}`;
    expect(install.stderr).toBe(
      `ipcgen: warning: native addon not built: there is no prebuilt binary for ${platform}, and it cannot be built from source ` +
        "(cc, g++, make, python3 not found); code generation works without it; the runtime's native functions (peer credentials, " +
        "shared memory, descriptor passing) need it: install build-essential and python3 (Debian/Ubuntu: apt-get install " +
        "build-essential python3), then run npm rebuild ipcgen.\n",
    );
    expect(install.stdout).toBe("");

    const copied = (await import(pathToFileURL(join(copy, "index.ts")).href)) as typeof import("../../runtime/native/index.js");
    // Under npm run test:sanitize, IPCGEN_NATIVE_ADDON names a build that exists; this copy has none.
    const override = process.env[copied.NATIVE_ADDON_ENV];
    delete process.env[copied.NATIVE_ADDON_ENV];
    let error: ReturnType<typeof thrown>;
    try {
      error = thrown(() => copied.peerCredentials(0));
    } finally {
      if (override !== undefined) process.env[copied.NATIVE_ADDON_ENV] = override;
    }
    expect(error.name).toBe("NativeAddonError");
    expect(error.code).toBe("ERR_IPCGEN_NATIVE_ADDON");
    expect(error).toBeInstanceOf(copied.NativeAddonError);
    expect(error.message).toBe(
      `ipcgen's native addon is not built (there is no prebuilt binary for ${platform}): cc/g++/make/python3 not found; install build-essential and python3 ` +
        "(Debian/Ubuntu: apt-get install build-essential python3), then run npm rebuild ipcgen (in ipcgen's own checkout: npm run build:native)",
    );
    expect((error as NativeAddonError).missing).toEqual(["cc", "g++", "make", "python3"]);
  });
});
