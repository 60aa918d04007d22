/**
 * examples/capture: zero-copy messages between real processes. Frames are drawn in the capture process's
 * pool and read in place by the encoder, whose previews come back the same way: every frame is checked and
 * next to nothing crosses the socket (everything does with --no-zero-copy). The hand-over rules hold from
 * the client's side, and a capture process or encoder killed with SIGKILL mid-stream leaves the survivor one
 * error and /dev/shm nothing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PoolBlockError } from "ipcgen";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Encoder, Encoder_BadFrameError } from "../../examples/capture/gen/capture.capnp.js";
import { killAll, Program, shmLeftovers } from "./support.js";

const dir = mkdtempSync(join(tmpdir(), "ipcgen-capture-test-"));
const path = join(dir, "capture.sock");
const FRAME = 1280 * 720 * 4;
let server: Program;

/** The numbers of the client's `socket:` line: bytes out, bytes in, bytes of frames. */
function socketLine(client: Program): { out: number; in: number; frames: number } {
  const line = client.out.find((l) => l.startsWith("socket: "));
  const m = /^socket: ([\d,]+) bytes out, ([\d,]+) in, for ([\d,]+) bytes of frames/.exec(line ?? "");
  if (m === null) throw new Error(`no socket line in:\n${client.out.join("\n")}`);
  const [out, inward, frames] = m.slice(1).map((n) => Number(n.replaceAll(",", "")));
  return { out, in: inward, frames };
}

beforeAll(async () => {
  server = new Program("examples/capture/server.ts", [path]);
  await server.waitFor(/listening/);
});

afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("the capture example", () => {
  it("checks every frame, and the frames do not cross the socket (client program)", async () => {
    const client = new Program("examples/capture/client.ts", [path, "30"]);
    expect(await client.exited).toBe(0);
    expect(client.out[0]).toMatch(/capturing 30 frames of 1280x720, 3 at a time, through shared memory/);
    expect(client.out).toContainEqual(expect.stringMatching(/^30 frames encoded and checked: 110\.6 MB/));
    const socket = socketLine(client);
    expect(socket.frames).toBe(30 * FRAME);
    expect(socket.out + socket.in).toBeLessThan(socket.frames / 100);
    await server.waitFor(new RegExp(`\\[${client.pid}\\] 30 frames encoded; the session ended: closed-by-peer`));
    expect(shmLeftovers()).toEqual([]);
  });

  it("with --no-zero-copy the same frames go through the socket", async () => {
    const client = new Program("examples/capture/client.ts", [path, "6", "--no-zero-copy"]);
    expect(await client.exited).toBe(0);
    expect(client.out[0]).toMatch(/through the socket/);
    const socket = socketLine(client);
    expect(socket.out).toBeGreaterThan(socket.frames);
    expect(socket.in).toBeGreaterThan(socket.frames / 4);
  });

  it("a frame sent from a block is handed over until the call resolves; the preview until the answer is disposed of", async () => {
    await using encoder = await Encoder.connect(path);
    const block = encoder.allocate(16 * 8 * 4);
    const pixels = block.bytes;
    new Uint32Array(pixels.buffer).forEach((_, i, words) => (words[i] = i));
    const call = encoder.encode({ seq: 7, width: 16, height: 8, pixels });
    // Handed over: the view is empty, and the block cannot be touched until the encoder is done with it.
    expect(pixels).toHaveLength(0);
    expect(() => block.bytes).toThrow(PoolBlockError);
    const answer = await call;
    expect(block.bytes).toHaveLength(16 * 8 * 4); // released before the answer was sent
    expect(answer.seq).toBe(7);
    const preview = answer.preview; // a block of the encoder's pool, read in place
    expect([...new Uint32Array(preview.buffer, preview.byteOffset, 9)]).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 32]);
    answer[Symbol.dispose]();
    expect(preview).toHaveLength(0); // the encoder's again

    // A frame in ordinary memory (not a block) is copied into the pool: the sender's own copy stays.
    const frame = new Uint8Array(FRAME).fill(1);
    using large = await encoder.encode({ seq: 8, width: 1280, height: 720, pixels: frame });
    expect(frame[0]).toBe(1);
    expect(large.preview).toHaveLength(FRAME / 4);
    expect(large.preview.every((b) => b === 1)).toBe(true);
  });

  it("a frame that is not width x height pixels is refused with BadFrame, and the session goes on", async () => {
    await using encoder = await Encoder.connect(path);
    const error = await encoder.encode({ seq: 1, width: 1280, height: 720, pixels: new Uint8Array(100_000) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Encoder_BadFrameError);
    expect((error as Encoder_BadFrameError).details.bytes).toBe(100_000n);
    using answer = await encoder.encode({ seq: 2, width: 2, height: 2, pixels: new Uint8Array(16) });
    expect(answer.preview).toHaveLength(4);
  });

  it("a capture process killed with SIGKILL mid-stream: the encoder serves the next one, /dev/shm holds nothing of either", async () => {
    const victim = new Program("examples/capture/client.ts", [path, "1000000"]);
    await victim.waitFor(/^frame 20:/);
    victim.child.kill("SIGKILL");
    await victim.exited;
    await server.waitFor(new RegExp(`\\[${victim.pid}\\] \\d+ frames encoded; the session ended: peer-died`));
    const next = new Program("examples/capture/client.ts", [path, "5"]);
    expect(await next.exited).toBe(0);
    expect(next.out).toContainEqual(expect.stringMatching(/^5 frames encoded and checked/));
    expect(shmLeftovers()).toEqual([]);
  });

  it("an encoder killed with SIGKILL mid-stream: the capture process reports one error and exits 1, /dev/shm is clean", async () => {
    const local = join(dir, "doomed.sock");
    const doomed = new Program("examples/capture/server.ts", [local]);
    await doomed.waitFor(/listening/);
    const client = new Program("examples/capture/client.ts", [local, "1000000"]);
    await client.waitFor(/^frame 20:/);
    doomed.child.kill("SIGKILL");
    expect(await client.exited).toBe(1);
    expect(client.err.trim().split("\n")).toEqual([expect.stringMatching(/^capture: the encoder's session ended \(peer-died\)/)]);
    expect(shmLeftovers()).toEqual([]);
  });

  it("runs as a demo: npm run example:capture exits 0", async () => {
    const demo = new Program("examples/capture/demo.ts");
    expect(await demo.exited).toBe(0);
    const out = demo.out.join("\n");
    expect(out).toMatch(/client \| 60 frames encoded and checked/);
    expect(out).toMatch(/through shared memory[\s\S]*through the socket/);
  });
});
