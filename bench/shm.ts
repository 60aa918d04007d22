/**
 * Packet-stream benchmark: one-way throughput between two Node processes on this machine, of
 *   - a packet stream (runtime/shm/packet-stream.ts, with the schema's defaults: ringSize 64, a 1 MiB bulk
 *     buffer): the sender is the source and fills each packet with `Buffer.fill`; the receiver is the sink
 *     and checks the first and last byte of each packet in place ("checks"), or also copies the packet out
 *     into a buffer of its own ("copies out", what a sink that keeps the data pays);
 *   - the same bytes over a Unix socket between the same two processes: one write per message of a 4-byte
 *     length and the payload (a new Buffer, filled with `Buffer.fill`), waiting for 'drain' when `write`
 *     says so; the receiver is the connecting side and reads with `onread` into one reused 256 KiB buffer,
 *     parsing the frames and checking the first and last payload byte of each.
 * at 4 KiB and 64 KiB messages. Time runs from the sender's start to the receiver's last message, on
 * process.hrtime (the same monotonic clock in both processes). GB/s is 10^9 bytes of payload per second.
 * Each row is the median of BENCH_ROUNDS runs, the kinds interleaved so that drift hits them alike; the
 * ratios are of medians from the same run. The doorbell words count their rings, so the table also says
 * how many futex wake-ups the stream needed (both directions) per 1000 packets. Both settings of the
 * stream's `wake` option are measured: "operation" (the default: edges looked for after each operation)
 * and "turn" (once per turn of the event loop).
 *
 * The hot code runs in plain `node`, not under tsx (which rewrites classes into slower code, see
 * bench/codec.ts): this file compiles runtime/shm/, runtime/native/index.ts and bench/shm/peer.ts with
 * TypeScript's transpileModule into a private temporary directory (with the built addon), and forks
 * peer.js twice (sender and receiver), which it drives over the fork IPC channel.
 *
 * Run: `node --import tsx bench/shm.ts`. Options through the environment: BENCH_ROUNDS (default 5),
 * BENCH_BYTES (payload bytes per run, default 1 GiB), BENCH_RING (default 64), BENCH_BUFFER (bulk buffer
 * bytes, default 1048576).
 */
import { type ChildProcess, fork } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadNativeAddon } from "../runtime/native/index.js";
import type { PacketStreamConfig } from "../runtime/shm/packet-stream.js";
import type { Command, Reply, Wake } from "./shm/peer.js";
import { machine, machineLines, markdownTable, median, textTable } from "./support.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BYTES = Number(process.env.BENCH_BYTES ?? 2 ** 30);
const CONFIG: PacketStreamConfig = {
  ringSize: Number(process.env.BENCH_RING ?? 64),
  bufferSize: Number(process.env.BENCH_BUFFER ?? 1 << 20),
  // The schema's descriptor: `offset :UInt64`, `size :UInt32`, nothing else.
  descriptor: { dataWords: 2, offsetAt: 0, offsetBytes: 8, sizeAt: 8, sizeBytes: 4 },
};
const SIZES = [4096, 65536] as const;
const SOCKET_READ_BUFFER = 256 * 1024;
const TARGET_GBPS = 15;
const TARGET_RATIO = 4;
const SHM_PREFIX = `ipcgen-bench-${process.pid}-`;

type Kind = "check" | "copy" | "socket";
/** The packet stream's `wake` option: the default first. */
const WAKES: readonly Wake[] = ["operation", "turn"];

/** The files the two processes run, compiled to JavaScript under `dir` (their relative imports unchanged). */
async function compile(dir: string): Promise<string> {
  const { default: ts } = await import("typescript");
  const options = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext };
  for (const file of ["runtime/shm/packet-stream.ts", "runtime/shm/ring.ts", "runtime/shm/doorbell.ts", "runtime/native/index.ts", "bench/shm/peer.ts"]) {
    const out = ts.transpileModule(readFileSync(join(REPO, file), "utf8"), { compilerOptions: options, fileName: file });
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file.replace(/\.ts$/, ".js")), out.outputText);
  }
  // runtime/native/index.js finds the addon next to binding.gyp.
  copyFileSync(join(REPO, "runtime/native/binding.gyp"), join(dir, "runtime/native/binding.gyp"));
  mkdirSync(join(dir, "runtime/native/build/Release"), { recursive: true });
  copyFileSync(join(REPO, "runtime/native/build/Release/ipcgen_native.node"), join(dir, "runtime/native/build/Release/ipcgen_native.node"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  return join(dir, "bench/shm/peer.js");
}

/** A forked peer and the replies it sent that nobody has taken yet. */
class Peer {
  private readonly replies: Reply[] = [];
  private readonly takers: ((reply: Reply) => void)[] = [];
  readonly child: ChildProcess;

  constructor(script: string, role: "sender" | "receiver") {
    this.child = fork(script, [role], { execArgv: [], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.child.on("message", (reply: Reply) => {
      const take = this.takers.shift();
      if (take) take(reply);
      else this.replies.push(reply);
    });
    this.child.once("exit", (code, signal) => {
      for (const take of this.takers.splice(0)) take({ ok: false, what: "exit", error: `the ${role} exited (${signal ?? code})` });
    });
  }

  /** The next reply, which must be `what`. */
  async next(what: string): Promise<Reply & { ok: true }> {
    const reply = this.replies.shift() ?? (await new Promise<Reply>((resolve) => this.takers.push(resolve)));
    if (!reply.ok) throw new Error(`${reply.what}: ${reply.error}`);
    if (reply.what !== what) throw new Error(`expected "${what}", got "${reply.what}"`);
    return reply;
  }

  ask(command: Command, what: string): Promise<Reply & { ok: true }> {
    this.child.send(command);
    return this.next(what);
  }
}

interface RunResult {
  gbps: number;
  rings?: number;
}

let runs = 0;

async function runOnce(sender: Peer, receiver: Peer, kind: Kind, size: number, wake: Wake, socketDir: string): Promise<RunResult> {
  const count = Math.max(1, Math.round(BYTES / size));
  let start: string;
  let end: string;
  let rings: number | undefined;
  if (kind === "socket") {
    const path = join(socketDir, `s${++runs}.sock`);
    await sender.ask({ cmd: "socket-listen", path }, "listening");
    await receiver.ask({ cmd: "socket-connect", path, size, count, readBuffer: SOCKET_READ_BUFFER }, "connected");
    const received = receiver.next("received");
    start = (await sender.ask({ cmd: "socket-go", size, count }, "sent")).start!;
    end = (await received).end!;
  } else {
    const name = `/${SHM_PREFIX}${++runs}`;
    await sender.ask({ cmd: "shm-create", name, config: CONFIG, wake }, "created");
    try {
      await receiver.ask({ cmd: "shm-open", name, config: CONFIG, wake, size, count, copy: kind === "copy" }, "opened");
    } finally {
      loadNativeAddon().shmUnlink(name);
    }
    const received = receiver.next("received");
    start = (await sender.ask({ cmd: "shm-go", size, count }, "sent")).start!;
    const reply = await received;
    end = reply.end!;
    rings = reply.rings;
  }
  await Promise.all([sender.ask({ cmd: "close" }, "closed"), receiver.ask({ cmd: "close" }, "closed")]);
  const ns = Number(BigInt(end) - BigInt(start));
  return { gbps: (count * size) / ns, rings: rings === undefined ? undefined : (rings / count) * 1000 };
}

const fmt = (n: number, digits = 2): string => n.toFixed(digits);

async function main(): Promise<void> {
  const m = machine();
  const dir = mkdtempSync(join(tmpdir(), "ipcgen-bench-shm-"));
  chmodSync(dir, 0o700);
  let sender: Peer | null = null;
  let receiver: Peer | null = null;
  try {
    const script = await compile(dir);
    sender = new Peer(script, "sender");
    receiver = new Peer(script, "receiver");
    await Promise.all([sender.next("sender ready"), receiver.next("receiver ready")]);

    const results = new Map<string, RunResult[]>();
    const runs: [Kind, Wake][] = [...WAKES.flatMap((w): [Kind, Wake][] => [["check", w], ["copy", w]]), ["socket", "operation"]];
    // One unmeasured round first: JIT warm-up of both processes.
    for (const size of SIZES) for (const [kind, wake] of runs) await runOnce(sender, receiver, kind, size, wake, dir);
    for (let round = 0; round < ROUNDS; round++) {
      for (const size of SIZES) {
        for (const [kind, wake] of runs) {
          const key = `${kind}:${wake}:${size}`;
          const r = await runOnce(sender, receiver, kind, size, wake, dir);
          results.set(key, [...(results.get(key) ?? []), r]);
        }
      }
    }

    const med = (kind: Kind, size: number, wake: Wake = "operation"): number => median(results.get(`${kind}:${wake}:${size}`)!.map((r) => r.gbps));
    const ringsPer1000 = (kind: Kind, size: number, wake: Wake): number => median(results.get(`${kind}:${wake}:${size}`)!.map((r) => r.rings ?? 0));
    const header = ["message", "wake", "shm, sink checks (GB/s)", "shm, sink copies out (GB/s)", "Unix socket (GB/s)", "checks / socket", "copies out / socket", "rings per 1000 packets"];
    const rows = SIZES.flatMap((size) =>
      WAKES.map((wake) => {
        const socket = med("socket", size);
        return [
          `${size / 1024} KiB`,
          wake === "operation" ? `${wake} (default)` : wake,
          fmt(med("check", size, wake)),
          fmt(med("copy", size, wake)),
          fmt(socket),
          `${fmt(med("check", size, wake) / socket, 1)}x`,
          `${fmt(med("copy", size, wake) / socket, 1)}x`,
          `${fmt(ringsPer1000("check", size, wake), 0)} / ${fmt(ringsPer1000("copy", size, wake), 0)}`,
        ];
      }),
    );
    const big = SIZES[SIZES.length - 1];
    // The targets are for the default settings, the sink checking bytes in place (zero copy).
    const bigGbps = med("check", big);
    const bigRatio = bigGbps / med("socket", big);
    const setup = `ringSize ${CONFIG.ringSize}, bulk buffer ${CONFIG.bufferSize} bytes, ${fmt(BYTES / 2 ** 30, 2)} GiB per run, median of ${ROUNDS} runs`;
    const targets = [
      `target at 64 KiB: >= ${TARGET_GBPS} GB/s: ${fmt(bigGbps)} GB/s, ${bigGbps >= TARGET_GBPS ? "met" : "NOT met"}`,
      `target at 64 KiB: >= ${TARGET_RATIO}x the socket: ${fmt(bigRatio, 1)}x, ${bigRatio >= TARGET_RATIO ? "met" : "NOT met"}`,
    ];

    console.log(`\nPacket stream vs Unix socket, one way, between two processes (${setup})`);
    console.log(`CPU: ${m.cpu}, ${m.cores} cores; Node ${m.node}; ${m.os}\n`);
    for (const l of textTable(header, rows)) console.log(l);
    console.log("");
    for (const t of targets) console.log(t);
    console.log("\nAs Markdown:\n");
    console.log(["### Packet streams (bench/shm.ts)", "", ...machineLines(m), `- ${setup}`, "", ...markdownTable(header, rows), "", ...targets.map((t) => `- ${t}`)].join("\n"));
  } finally {
    sender?.child.kill();
    receiver?.child.kill();
    rmSync(dir, { recursive: true, force: true });
    const left = readdirSync("/dev/shm").filter((n) => n.startsWith(SHM_PREFIX));
    for (const n of left) loadNativeAddon().shmUnlink(`/${n}`);
    if (left.length > 0) console.log(`(removed ${left.length} objects left in /dev/shm)`);
  }
}

await main();
