/**
 * One of the two processes of bench/shm.ts's round-trip rows, compiled to JavaScript and forked by it:
 * `messages-peer.js server` or `messages-peer.js client`. The parent drives both over the fork IPC channel
 * with the messages of `MessagesCommand`. The server serves bench/shm/messages.capnp's `Bounce` on two
 * sockets, one with zero-copy messages (the default) and one with `zeroCopy: false`; the client connects to
 * both and makes the round trips, timed on process.hrtime.
 *
 * Both sides send a block of their own, allocated and filled once per size and reused once it is back
 * (`whenReturned`), so that a round trip measures the transport, not the filling of memory: the client the
 * request's bytes, the server the answer's. Each call writes only the block's first and last byte (the
 * call's tag); each side checks the length and those two bytes of what it got, read in place. With zero-copy
 * off the blocks are ordinary memory, copied into every message.
 *
 * The code generated for messages.capnp lies next to this file once compiled (bench/shm.ts puts it there):
 * it is imported by URL, with the few types used here spelled out, since it is not part of the repository.
 */
import type { ConnectServiceOptions, ListenServiceOptions, PoolBlock, Received, Server, Service, ServiceClient, ServiceRemote } from "../../runtime/index.js";

export type Mode = "zero-copy" | "socket";
const MODES: readonly Mode[] = ["zero-copy", "socket"];

export type MessagesCommand =
  | { cmd: "listen"; paths: Record<Mode, string>; maxFrameBytes: number }
  | { cmd: "connect"; paths: Record<Mode, string>; maxFrameBytes: number }
  /** One round trip whose bytes are all checked, on both sides; says which ways went through the pool. */
  | { cmd: "check"; mode: Mode; size: number }
  /** Sequential round trips for at least `ms` milliseconds and at least `minTrips` of them. */
  | { cmd: "run"; mode: Mode; size: number; ms: number; minTrips: number }
  | { cmd: "close" };

export type MessagesReply =
  | { ok: true; what: string; placed?: { request: boolean; answer: boolean }; trips?: number; ns?: number }
  | { ok: false; what: string; error: string };

type Data = { data: Uint8Array };
type BounceClient = ServiceClient<Record<never, never>> & { bounce(params: Data): Promise<Received<Data>> };
type BounceHandler = { bounce(params: Data): Data | Promise<Data> };
type BounceModule = { Bounce: Service<BounceClient, ServiceRemote, BounceHandler> };

const role = process.argv[2];
const { Bounce } = (await import(new URL("./messages.capnp.js", import.meta.url).href)) as BounceModule;
const send = (reply: MessagesReply): void => void process.send!(reply);

/** What fills the blocks (but their first and last byte): client and server differ, so that an echo shows. */
const CLIENT_SEED = 1;
const SERVER_SEED = 2;
const patternByte = (i: number, seed: number): number => (i * seed + seed) % 251;

function fill(bytes: Uint8Array, seed: number): void {
  for (let i = 0; i < bytes.length; i++) bytes[i] = patternByte(i, seed);
}

/** Whether `bytes` are a block of `seed`'s with `tag` at both ends: every byte looked at (checks only). */
function whole(bytes: Uint8Array, size: number, seed: number, tag: number): boolean {
  if (bytes.length !== size || bytes[0] !== tag || bytes[size - 1] !== tag) return false;
  for (let i = 1; i < size - 1; i++) if (bytes[i] !== patternByte(i, seed)) return false;
  return true;
}

/** The block's bytes with the call's tag at both ends (the only bytes written per call). */
function tagged(block: PoolBlock, tag: number): Uint8Array {
  const bytes = block.bytes;
  bytes[0] = tag;
  bytes[bytes.length - 1] = tag;
  return bytes;
}

// ---- server ----

const servers: Server[] = [];

/** One session's handler: its own answer block per size, and a full check of the first request of each size. */
function bounceHandler(remote: ServiceRemote): BounceHandler {
  const blocks = new Map<number, PoolBlock>();
  const checked = new Set<number>();
  const answer = (block: PoolBlock, tag: number): Data => ({ data: tagged(block, tag) });
  return {
    bounce({ data }) {
      const size = data.length;
      const tag = data[0];
      if (size === 0 || data[size - 1] !== tag) throw new Error("the request is not what was sent");
      if (!checked.has(size)) {
        if (!whole(data, size, CLIENT_SEED, tag)) throw new Error(`the request of ${size} bytes is not what was sent`);
        checked.add(size);
      }
      let block = blocks.get(size);
      if (block === undefined) {
        block = remote.allocate(size);
        fill(block.bytes, SERVER_SEED);
        blocks.set(size, block);
      }
      // The client's release of the last answer comes before its next request on the same socket, so the
      // block is normally back and the answer synchronous (no promise on the path).
      if (block.inFlight) return block.whenReturned().then(() => answer(block, tag));
      return answer(block, tag);
    },
  };
}

// ---- client ----

const clients = new Map<Mode, BounceClient>();
const clientBlocks = new Map<string, PoolBlock>();

function clientBlock(mode: Mode, size: number): PoolBlock {
  const key = `${mode}:${size}`;
  let block = clientBlocks.get(key);
  if (block === undefined) {
    block = clients.get(mode)!.allocate(size);
    fill(block.bytes, CLIENT_SEED);
    clientBlocks.set(key, block);
  }
  return block;
}

/**
 * One round trip with every byte checked. A request went through the pool if its block was lent to the
 * message as it was sent; an answer did if its bytes read as empty once disposed (released memory).
 */
async function check(mode: Mode, size: number): Promise<{ request: boolean; answer: boolean }> {
  const client = clients.get(mode)!;
  const block = clientBlock(mode, size);
  await block.whenReturned();
  const tag = 0x5a;
  const call = client.bounce({ data: tagged(block, tag) });
  const request = block.inFlight;
  const results = await call;
  if (!whole(results.data, size, SERVER_SEED, tag)) throw new Error(`the answer of ${size} bytes is not what the server sent`);
  const data = results.data;
  results[Symbol.dispose]();
  return { request, answer: data.length === 0 };
}

async function run(mode: Mode, size: number, ms: number, minTrips: number): Promise<{ trips: number; ns: number }> {
  const client = clients.get(mode)!;
  const block = clientBlock(mode, size);
  const until = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
  const start = process.hrtime.bigint();
  let trips = 0;
  let end = start;
  while (trips < minTrips || end < until) {
    // The server released the request before it answered: the block is back by now (checked, not assumed).
    if (block.inFlight) await block.whenReturned();
    const tag = trips & 0xff;
    const results = await client.bounce({ data: tagged(block, tag) });
    const data = results.data;
    if (data.length !== size || data[0] !== tag || data[size - 1] !== tag) throw new Error(`answer ${trips} is not what the server sent`);
    // Hands a placed answer back to the server at once (its block is then free for the next call).
    results[Symbol.dispose]();
    trips++;
    end = process.hrtime.bigint();
  }
  return { trips, ns: Number(end - start) };
}

// ---- commands ----

async function handle(command: MessagesCommand): Promise<void> {
  switch (command.cmd) {
    case "listen": {
      for (const mode of MODES) {
        const options: ListenServiceOptions<ServiceRemote> = { maxFrameBytes: command.maxFrameBytes, ...(mode === "socket" ? { zeroCopy: false } : {}) };
        servers.push(await Bounce.listen(command.paths[mode], bounceHandler, options));
      }
      return send({ ok: true, what: "listening" });
    }
    case "connect": {
      for (const mode of MODES) {
        const options: ConnectServiceOptions<never> = { maxFrameBytes: command.maxFrameBytes, ...(mode === "socket" ? { zeroCopy: false } : {}) };
        const client = await Bounce.connect(command.paths[mode], options);
        // Zero-copy needs the native addon on both sides: without it the rows would measure the socket twice.
        if (client.session.peerTakesPlaced !== (mode === "zero-copy")) throw new Error(`the ${mode} session ${client.session.peerTakesPlaced ? "takes" : "does not take"} placed messages`);
        clients.set(mode, client);
      }
      return send({ ok: true, what: "connected" });
    }
    case "check":
      return send({ ok: true, what: "checked", placed: await check(command.mode, command.size) });
    case "run":
      return send({ ok: true, what: "ran", ...(await run(command.mode, command.size, command.ms, command.minTrips)) });
    case "close": {
      for (const block of clientBlocks.values()) block.free();
      clientBlocks.clear();
      for (const client of clients.values()) await client.close();
      clients.clear();
      for (const server of servers.splice(0)) await server.close();
      return send({ ok: true, what: "closed" });
    }
  }
}

process.on("message", (command: MessagesCommand) => {
  handle(command).catch((e: unknown) => send({ ok: false, what: command.cmd, error: e instanceof Error ? e.message : String(e) }));
});
send({ ok: true, what: `${role} ready` });
