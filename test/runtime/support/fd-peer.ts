// The other process of test/runtime/fd-passing.test.ts: connects to the test's Unix socket with
// fdChannelConnect and plays one part, named by argv[2]; argv[3] is the socket's path. Reports go back as
// JSON over the same channel.
import { ftruncateSync } from "node:fs";
import { loadNativeAddon } from "../../../runtime/native/index.js";

const native = loadNativeAddon();
const [mode, path] = process.argv.slice(2);
const channel = native.fdChannelConnect(path!);

/** The next message, waiting for it (nothing here may block the loop, so it polls). */
async function receive(maxBytes = 4096, maxFds = 16): Promise<{ bytes: Buffer; fds: number[] }> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    const got = native.fdRecv(channel, maxBytes, maxFds);
    if (got) return got;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error("fd-peer: nothing came within 20 s");
}

/** Waits for the test to close its end, so that what this side sent is read before it goes. */
async function untilEnd(): Promise<void> {
  for (;;) if ((await receive()).bytes.length === 0) return;
}

const send = (value: unknown, fds: number[] = []) => native.fdSend(channel, Buffer.from(JSON.stringify(value)), fds);

/** A sealed memfd of `size` bytes whose first bytes say `text`. */
function memfd(size: number, text: string): number {
  const { mapping, fd } = native.memfdCreate(size);
  mapping.data.write(text);
  return fd;
}

switch (mode) {
  case "map": {
    // Receives { size, text } with [memfd, doorbell end]; tries to shrink the memfd, maps it, answers in
    // it, rings.
    const { bytes, fds } = await receive();
    const { size, text } = JSON.parse(bytes.toString()) as { size: number; text: string };
    const [memfdFd, bell] = fds as [number, number];
    let truncate = "allowed";
    try {
      ftruncateSync(memfdFd, 0);
    } catch (error) {
      truncate = (error as NodeJS.ErrnoException).code ?? String(error);
    }
    const mapping = native.memfdMap(memfdFd, size);
    const saw = mapping.data.toString("utf8", 0, text.length);
    mapping.data.write(`answer from ${process.pid}`, 1024);
    native.doorbellCheck(bell);
    native.doorbellRing(bell);
    native.closeFd(bell);
    send({ truncate, saw, uid: process.getuid!() });
    await untilEnd();
    break;
  }
  case "order": {
    // Four messages carrying 1, 2, 0 and 1 memfds, numbered in the order sent.
    const plan = [[0], [1, 2], [], [3]];
    for (const [i, numbers] of plan.entries()) {
      const fds = numbers.map((n) => memfd(4096 * (n + 1), `fd-${n}`));
      send({ message: i, fds: numbers.length }, fds);
      for (const fd of fds) native.closeFd(fd);
    }
    await untilEnd();
    break;
  }
  case "too-many": {
    // One message with three descriptors, then one with one: the test allows two.
    const three = [memfd(4096, "x"), memfd(4096, "y"), memfd(4096, "z")];
    native.fdSend(channel, Buffer.from("three"), three);
    const one = memfd(4096, "after");
    native.fdSend(channel, Buffer.from("one"), [one]);
    for (const fd of [...three, one]) native.closeFd(fd);
    await untilEnd();
    break;
  }
  case "ring": {
    // Receives a doorbell end and rings it `count` times (given in the message), then says so.
    const { bytes, fds } = await receive();
    native.doorbellCheck(fds[0]!);
    for (let i = 0; i < Number(bytes.toString()); i++) native.doorbellRing(fds[0]!);
    send({ rang: true });
    await untilEnd();
    break;
  }
  case "exit":
    break;
  default:
    throw new Error(`fd-peer: no mode ${mode}`);
}
native.closeFd(channel);
