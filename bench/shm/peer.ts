/**
 * One of the two processes of bench/shm.ts, compiled to JavaScript and forked by it: `peer.js sender` or
 * `peer.js receiver`. The parent drives both over the fork IPC channel, one run at a time, with the messages
 * of `Command`; each run moves `count` messages of `size` bytes from the sender to the receiver, either
 * through a packet stream (the sender is its source: it made the region and the doorbell pair, and passed
 * the region and one end to the receiver over a descriptor channel as sessions pass them; the receiver is
 * its sink) or through a Unix socket (length-prefixed writes; the receiver reads with `onread` into one reused buffer). Time is
 * process.hrtime (CLOCK_MONOTONIC, the same clock in both processes): from the sender's start to the
 * receiver's last byte.
 */
import { once } from "node:events";
import net from "node:net";
import { loadNativeAddon, type SharedMapping } from "../../runtime/native/index.js";
import { Doorbell } from "../../runtime/shm/doorbell.js";
import { PacketSink, PacketSource, type PacketStreamConfig, type PacketStreamOptions, packetStreamLayout } from "../../runtime/shm/packet-stream.js";
import { DescriptorChannel } from "../../runtime/transport/descriptor-channel.js";

export type Wake = NonNullable<PacketStreamOptions["wake"]>;

export type Command =
  | { cmd: "shm-listen"; path: string }
  | { cmd: "shm-create"; path: string; config: PacketStreamConfig; wake: Wake }
  | { cmd: "shm-open"; config: PacketStreamConfig; wake: Wake; size: number; count: number; copy: boolean }
  | { cmd: "shm-go"; size: number; count: number }
  | { cmd: "socket-listen"; path: string }
  | { cmd: "socket-connect"; path: string; size: number; count: number; readBuffer: number }
  | { cmd: "socket-go"; size: number; count: number }
  | { cmd: "close" };

export type Reply =
  | { ok: true; what: string; start?: string; end?: string; rings?: number }
  | { ok: false; what: string; error: string };

const role = process.argv[2];
const native = loadNativeAddon();
const send = (reply: Reply): void => void process.send!(reply);
const now = (): string => process.hrtime.bigint().toString();

let mapping: SharedMapping | null = null;
/** The receiver's end of the descriptor channel the sender passes the region on. */
let channel: Promise<DescriptorChannel> | null = null;
let source: PacketSource | null = null;
let sink: PacketSink | null = null;
let server: net.Server | null = null;
let socket: net.Socket | null = null;

/** Bytes of the payload expected in message `i`: all of them are `i & 0xff`, the receiver checks the first and last. */
const tag = (i: number): number => i & 0xff;

/**
 * The sender's side of a packet-stream run: fill, submit; acknowledged packets are released when the bulk
 * buffer runs out of room.
 */
async function sendPackets(size: number, count: number): Promise<string> {
  const s = source!;
  const start = now();
  let acked = 0;
  for (let i = 0; i < count; i++) {
    let packet = s.tryAlloc(size);
    while (packet === null) {
      s.release(s.tryGetAck() ?? (await s.getAck()));
      acked++;
      packet = s.tryAlloc(size);
    }
    packet.data.fill(tag(i));
    if (!s.trySubmit(packet)) await s.submit(packet);
  }
  while (acked < count) {
    s.release(s.tryGetAck() ?? (await s.getAck()));
    acked++;
  }
  return start;
}

/** The receiver's side: check (and copy out) each packet, acknowledge it. */
async function receivePackets(size: number, count: number, copy: boolean): Promise<string> {
  const s = sink!;
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < count; i++) {
    const packet = s.tryGet() ?? (await s.get());
    const data = packet.data;
    if (data.length !== size || data[0] !== tag(i) || data[size - 1] !== tag(i)) throw new Error(`packet ${i} is not what was sent`);
    if (copy) data.copy(out);
    if (!s.tryAck(packet)) await s.ack(packet);
  }
  const end = now();
  s.flush();
  return end;
}

/** The sender's side of a socket run: one write of a 4-byte length and the payload per message. */
async function sendFrames(size: number, count: number): Promise<string> {
  const s = socket!;
  const start = now();
  for (let i = 0; i < count; i++) {
    const frame = Buffer.allocUnsafe(4 + size);
    frame.writeUInt32LE(size, 0);
    frame.fill(tag(i), 4);
    if (!s.write(frame)) await once(s, "drain");
  }
  return start;
}

/** The receiver's side: frames parsed out of each read, first and last payload bytes checked. */
function receiveFrames(path: string, size: number, count: number, readBuffer: number, done: (end: string) => void, failed: (e: Error) => void): Promise<void> {
  let header = 0;
  let headerBytes = 0;
  let left = 0;
  let at = 0;
  let received = 0;
  return new Promise((resolve, reject) => {
    socket = net.connect({
      path,
      onread: {
        buffer: Buffer.allocUnsafe(readBuffer),
        callback: (n: number, buf: Uint8Array): boolean => {
          let i = 0;
          while (i < n) {
            if (left === 0) {
              header |= buf[i++] << (8 * headerBytes);
              if (++headerBytes === 4) {
                if (header !== size) failed(new Error(`frame ${received} says ${header} bytes`));
                left = header;
                at = 0;
                header = headerBytes = 0;
              }
              continue;
            }
            const take = Math.min(left, n - i);
            const want = tag(received);
            if ((at === 0 && buf[i] !== want) || (take === left && buf[i + take - 1] !== want)) failed(new Error(`frame ${received} is not what was sent`));
            i += take;
            at += take;
            left -= take;
            if (left === 0 && ++received === count) done(now());
          }
          return true;
        },
      },
    });
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
}

async function handle(command: Command): Promise<void> {
  switch (command.cmd) {
    case "shm-listen": {
      server = net.createServer();
      channel = new Promise((resolve) =>
        server!.once("connection", (s) => {
          resolve(DescriptorChannel.adopt(s));
          s.destroy();
        }),
      );
      server.listen(command.path);
      await once(server, "listening");
      return send({ ok: true, what: "listening" });
    }
    case "shm-create": {
      const made = native.memfdCreate(packetStreamLayout(command.config).regionSize);
      mapping = made.mapping;
      const [bell, theirs] = Doorbell.pair();
      const passing = DescriptorChannel.connect(command.path);
      passing.send([made.fd, theirs.descriptor]);
      passing.close();
      native.closeFd(made.fd);
      theirs.close();
      source = PacketSource.create({ mapping, bell }, command.config, { wake: command.wake });
      return send({ ok: true, what: "created" });
    }
    case "shm-open": {
      const passing = await channel!;
      const [fd, bell] = passing.receive(2);
      passing.close();
      mapping = native.memfdMap(fd, packetStreamLayout(command.config).regionSize);
      sink = PacketSink.open({ mapping, bell: Doorbell.adopt(bell) }, command.config, { wake: command.wake });
      send({ ok: true, what: "opened" });
      const end = await receivePackets(command.size, command.count, command.copy);
      return send({ ok: true, what: "received", end, rings: sink.rings });
    }
    case "shm-go": {
      const start = await sendPackets(command.size, command.count);
      return send({ ok: true, what: "sent", start, rings: source!.rings });
    }
    case "socket-listen": {
      server = net.createServer((s) => {
        socket = s;
      });
      server.listen(command.path);
      await once(server, "listening");
      return send({ ok: true, what: "listening" });
    }
    case "socket-connect": {
      let settle: (reply: Reply) => void = () => {};
      const finished = new Promise<Reply>((resolve) => (settle = resolve));
      await receiveFrames(
        command.path,
        command.size,
        command.count,
        command.readBuffer,
        (end) => settle({ ok: true, what: "received", end }),
        (e) => settle({ ok: false, what: "received", error: e.message }),
      );
      send({ ok: true, what: "connected" });
      return send(await finished);
    }
    case "socket-go": {
      while (socket === null) await new Promise((resolve) => setImmediate(resolve));
      return send({ ok: true, what: "sent", start: await sendFrames(command.size, command.count) });
    }
    case "close": {
      source?.close();
      sink?.close();
      socket?.destroy();
      server?.close();
      source = sink = null;
      socket = null;
      server = null;
      mapping = null;
      return send({ ok: true, what: "closed" });
    }
  }
}

process.on("message", (command: Command) => {
  handle(command).catch((e: unknown) => send({ ok: false, what: command.cmd, error: e instanceof Error ? e.stack ?? e.message : String(e) }));
});
send({ ok: true, what: `${role} ready` });
