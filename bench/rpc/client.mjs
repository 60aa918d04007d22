// The measuring side of bench/rpc.ts, in plain JavaScript run by `node` (no tsx, which would rewrite hot
// code). bench/rpc.ts starts one of these per placement (under `taskset -c N` for "same core"); it starts the
// servers itself, so that they inherit its CPU affinity, then for each row: checks the replies, warms up, and
// measures in rounds that go round the rows in turn (so that drift falls on every row alike):
//   - latency: sequential calls, one in flight, each timed with performance.now();
//   - throughput: calls per second with a fixed number in flight, replies matched to calls by number.
// Every call carries 64 bytes whose first 4 (little-endian) are the call's number.
//
// Argument: a JSON object (see bench/rpc.ts's ClientConfig). Prints one JSON line (ClientReport) on stdout;
// progress goes to stderr. Exits, taking its servers with it, when its stdin closes.
import { fork, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import net from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { allowedCpus, exitWithParent, firstLine, PAYLOAD_BYTES } from "./common.mjs";
import { open as openIpcgen } from "./ipcgen.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const config = JSON.parse(process.argv[2]);
const log = (s) => process.stderr.write(`  [${config.placement}] ${s}\n`);

// ---------------------------------------------------------------------------------------------------------
// Servers: started here, killed on any exit

const servers = new Set();
const spawnedPids = [];
process.on("exit", () => {
  for (const child of servers) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});
exitWithParent();

function track(child) {
  servers.add(child);
  if (child.pid !== undefined) spawnedPids.push(child.pid);
  child.on("exit", () => servers.delete(child));
  return child;
}

/** The server's first stdout line, parsed; rejects if it exits or says nothing within `ms`. */
function readyLine(child, ms) {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => finish(new Error(`no answer within ${ms} ms`)), ms);
    const onData = (chunk) => {
      text += chunk;
      const nl = text.indexOf("\n");
      if (nl < 0) return;
      try {
        finish(null, JSON.parse(text.slice(0, nl)));
      } catch (e) {
        finish(e);
      }
    };
    const onExit = (code, signal) => finish(new Error(`exited (${signal ?? `status ${code}`}) before listening`));
    const finish = (err, value) => {
      clearTimeout(timer);
      child.stdout.off("data", onData);
      child.off("exit", onExit);
      if (err) reject(err);
      else resolve(value);
    };
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", onData);
    child.on("exit", onExit);
  });
}

async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------------------
// Transports: send(payload) sends one call; each reply comes to onreply(bytes, offset) with its 64 bytes at
// `offset` (valid only during the call). onfail(error) reports a broken transport. Between measurements
// (`idle`), a reply or a failure is kept in `broken` and fails the next measurement at once.

/** A transport's fields before `send` and `close` are set. */
function newTransport(serverPid, serverCpus) {
  const t = { onreply: null, onfail: null, send: null, close: null, broken: null, serverPid, serverCpus };
  idle(t);
  return t;
}

function idle(t) {
  t.onfail = (e) => {
    t.broken ??= e;
  };
  t.onreply = (bytes, at) => t.onfail(new Error(`a reply (to call ${idAt(bytes, at)}) with no call waiting`));
}

/**
 * raw: `net.connect` with `onread` (one reused read buffer); frames are a 4-byte length and the payload.
 * `perFrame` false: the calls of one turn of the event loop go out in one write, and so do the server's
 * replies to one read; true: every call and every reply goes out with its own `socket.write`.
 */
async function rawTransport(path, perFrame) {
  const mode = perFrame ? "per-frame" : "batched";
  const child = track(spawn(process.execPath, [join(HERE, "raw-server.mjs"), path, mode], { stdio: ["pipe", "pipe", "inherit"] }));
  const ready = await readyLine(child, 5000);
  const FRAME = 4 + PAYLOAD_BYTES;
  const readBuffer = Buffer.allocUnsafe(1 << 16);
  const carry = Buffer.allocUnsafe((1 << 16) + FRAME); // a frame split between reads
  let carryLength = 0;
  const t = newTransport(ready.pid, ready.cpus);
  const socket = net.connect({
    path,
    onread: {
      buffer: readBuffer,
      callback(nread, buf) {
        let data = buf;
        let end = nread;
        if (carryLength > 0) {
          buf.copy(carry, carryLength, 0, nread);
          data = carry;
          end = carryLength + nread;
          carryLength = 0;
        }
        let at = 0;
        while (end - at >= 4) {
          const length = data.readUInt32LE(at);
          if (length !== PAYLOAD_BYTES) {
            t.onfail(new Error(`reply frame of ${length} bytes`));
            return;
          }
          if (end - at < FRAME) break;
          t.onreply(data, at + 4);
          at += FRAME;
        }
        if (at < end) {
          data.copy(carry, 0, at, end);
          carryLength = end - at;
        }
      },
    },
  });
  await once(socket, "connect");
  socket.on("error", (e) => t.onfail(e));
  socket.on("close", () => t.onfail(new Error("the server closed the socket")));

  if (perFrame) {
    // Each call's frame in its own buffer (the caller reuses its payloads), written at once on its own.
    t.send = (payload) => {
      const out = Buffer.allocUnsafe(FRAME);
      out.writeUInt32LE(PAYLOAD_BYTES, 0);
      payload.copy(out, 4);
      socket.write(out);
    };
  } else {
    // The calls sent in one turn of the event loop go out in one write (a queued microtask flushes them).
    let queue = [];
    const flush = () => {
      const out = Buffer.allocUnsafe(queue.length * FRAME);
      for (let i = 0; i < queue.length; i++) {
        out.writeUInt32LE(PAYLOAD_BYTES, i * FRAME);
        queue[i].copy(out, i * FRAME + 4);
      }
      queue = [];
      socket.write(out);
    };
    t.send = (payload) => {
      if (queue.length === 0) queueMicrotask(flush);
      queue.push(payload);
    };
  }
  t.close = async () => {
    socket.removeAllListeners("close");
    socket.on("error", () => {});
    socket.end();
    await once(socket, "close");
    await stopServer(child);
  };
  return t;
}

/** child_process IPC: fork, JSON serialization, each payload sent as its base64 string (88 characters). */
async function ipcTransport() {
  const child = track(fork(join(HERE, "ipc-server.mjs"), [], { stdio: ["pipe", "inherit", "inherit", "ipc"], serialization: "json", execArgv: [] }));
  const t = newTransport(0, "");
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no answer within 5000 ms")), 5000);
    child.once("message", (m) => {
      clearTimeout(timer);
      resolve(m);
    });
    child.once("exit", (code) => reject(new Error(`exited (status ${code}) before answering`)));
  });
  t.serverPid = ready.pid;
  t.serverCpus = ready.cpus;
  child.on("message", (m) => {
    if (typeof m !== "string") {
      t.onfail(new Error(`unexpected message ${JSON.stringify(m).slice(0, 80)}`));
      return;
    }
    const bytes = Buffer.from(m, "base64");
    t.onreply(bytes, 0);
  });
  child.on("exit", () => t.onfail(new Error("the server exited")));
  t.send = (payload) => {
    child.send(payload.toString("base64"));
  };
  t.close = async () => {
    child.removeAllListeners("exit");
    await stopServer(child);
  };
  return t;
}

/** ipcgen: the runtime's own client (bench/rpc/ipcgen.mjs), one promise per call. */
async function ipcgenTransport(path, files) {
  const runtime = await import(pathToFileURL(files.runtime).href);
  const generated = await import(pathToFileURL(files.generated).href);
  const child = track(
    spawn(process.execPath, [join(HERE, "ipcgen-server.mjs"), JSON.stringify(files), path], { stdio: ["pipe", "pipe", "inherit"] }),
  );
  let client;
  let ready;
  try {
    ready = await readyLine(child, 10000);
    if (!ready.ready) throw new Error(`its server failed: ${ready.reason}`);
    client = await openIpcgen({ runtime, generated, echoId: files.echoId }, path);
  } catch (e) {
    await stopServer(child);
    throw e;
  }
  const t = newTransport(ready.pid, ready.cpus);
  const deliver = (payload) => {
    if (!(payload instanceof Uint8Array)) {
      t.onfail(new Error("echo's result payload is not a Uint8Array"));
      return;
    }
    t.onreply(payload, 0);
  };
  const fail = (e) => t.onfail(e);
  child.on("exit", () => t.onfail(new Error("the server exited")));
  t.send = (payload) => {
    client.call(payload).then(deliver, fail);
  };
  t.close = async () => {
    child.removeAllListeners("exit");
    await client.close();
    await stopServer(child);
  };
  return t;
}

// ---------------------------------------------------------------------------------------------------------
// Calls

const SLOTS = 1024; // calls in flight are kept in slots by number; must be a power of two above IN_FLIGHT
const MASK = SLOTS - 1;
const STALL_MS = 10000;

const idAt = (bytes, at) => (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;

function putId(payload, id) {
  payload[0] = id & 0xff;
  payload[1] = (id >>> 8) & 0xff;
  payload[2] = (id >>> 16) & 0xff;
  payload[3] = id >>> 24;
}

/** The payload's other 60 bytes in the checks: different for every call. */
const patternByte = (id, j) => (Math.imul(id, 31) + j * 7 + 1) & 0xff;

function fillPattern(payload, id) {
  putId(payload, id);
  for (let j = 4; j < PAYLOAD_BYTES; j++) payload[j] = patternByte(id, j);
}

function patternDiffers(bytes, at, id) {
  for (let j = 4; j < PAYLOAD_BYTES; j++) if (bytes[at + j] !== patternByte(id, j)) return j;
  return -1;
}

let nextId = 1;

/**
 * `calls` sequential calls (the next sent when the last one's reply is in), fewer if `maxMs` pass first.
 * With `samples`, the round trip of each is stored there (ms); with `verify`, every reply's 64 bytes are
 * compared with its call's. Resolves to the number of calls made.
 */
function sequential(t, calls, samples, verify, maxMs = Infinity) {
  return new Promise((resolve, reject) => {
    const deadline = performance.now() + maxMs;
    const payload = Buffer.alloc(PAYLOAD_BYTES);
    let done = 0;
    let id = 0;
    let start = 0;
    const watchdog = setTimeout(stalled, STALL_MS);
    function stalled() {
      fail(new Error(`no reply to a call within ${STALL_MS} ms`));
    }
    function fail(e) {
      clearTimeout(watchdog);
      idle(t);
      reject(e);
    }
    function next() {
      id = nextId++ >>> 0;
      if (verify) fillPattern(payload, id);
      else putId(payload, id);
      start = performance.now();
      t.send(payload);
    }
    if (t.broken !== null) return fail(t.broken);
    t.onfail = fail;
    t.onreply = (bytes, at) => {
      const end = performance.now();
      const got = idAt(bytes, at);
      if (got !== id) return fail(new Error(`reply to call ${got} while waiting for ${id}`));
      if (verify) {
        const j = patternDiffers(bytes, at, id);
        if (j >= 0) return fail(new Error(`reply to call ${id} differs at byte ${j}`));
      }
      if (samples !== null) samples[done] = end - start;
      if (++done === calls || end > deadline) {
        clearTimeout(watchdog);
        idle(t);
        resolve(done);
        return;
      }
      if ((done & 1023) === 0) watchdog.refresh();
      next();
    };
    next();
  });
}

/**
 * Calls with `inFlight` outstanding, matched to replies by the number in their first 4 bytes: a new call is
 * sent for each reply until `calls` have been sent (if given) or `ms` have passed. Resolves to the number of
 * calls and the time from the first send to the last reply (ms).
 */
function pipelined(t, inFlight, { calls = Infinity, ms = Infinity, verify = false }) {
  return new Promise((resolve, reject) => {
    const payloads = Array.from({ length: SLOTS }, () => Buffer.alloc(PAYLOAD_BYTES));
    const waiting = new Uint32Array(SLOTS); // the number of the call in each slot, 0 when free
    let sent = 0;
    let done = 0;
    let outstanding = 0;
    let start = 0;
    let deadline = 0;
    const watchdog = setInterval(() => {
      if (done === lastDone) fail(new Error(`no reply within ${STALL_MS} ms (${outstanding} calls outstanding)`));
      lastDone = done;
    }, STALL_MS);
    let lastDone = -1;
    function fail(e) {
      clearInterval(watchdog);
      idle(t);
      reject(e);
    }
    function send() {
      const id = nextId++ >>> 0;
      const slot = id & MASK;
      if (waiting[slot] !== 0) throw new Error(`call ${waiting[slot]} still outstanding after ${SLOTS} later calls`);
      waiting[slot] = id;
      const payload = payloads[slot];
      if (verify) fillPattern(payload, id);
      else putId(payload, id);
      sent++;
      outstanding++;
      t.send(payload);
    }
    if (t.broken !== null) return fail(t.broken);
    t.onfail = fail;
    t.onreply = (bytes, at) => {
      const id = idAt(bytes, at);
      const slot = id & MASK;
      if (id === 0 || waiting[slot] !== id) return fail(new Error(`reply to call ${id}, which is not outstanding`));
      if (verify) {
        const j = patternDiffers(bytes, at, id);
        if (j >= 0) return fail(new Error(`reply to call ${id} differs at byte ${j}`));
      }
      waiting[slot] = 0;
      done++;
      outstanding--;
      if (sent < calls && performance.now() < deadline) {
        try {
          send();
        } catch (e) {
          return fail(e);
        }
      } else if (outstanding === 0) {
        const elapsed = performance.now() - start;
        clearInterval(watchdog);
        idle(t);
        resolve({ calls: done, ms: elapsed });
      }
    };
    start = performance.now();
    deadline = start + ms;
    try {
      for (let i = 0; i < inFlight && sent < calls; i++) send();
    } catch (e) {
      fail(e);
    }
  });
}

const SAMPLE_MS = 20;

/** The CPU a process last ran on (field 39 of /proc/PID/stat), or null. */
function lastCpu(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[36] ?? null;
  } catch {
    return null;
  }
}

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---------------------------------------------------------------------------------------------------------
// The run

async function main() {
  const rows = [
    { key: "raw", make: () => rawTransport(join(config.socketDir, `raw-${config.placementKey}.sock`), false) },
    { key: "rawPerFrame", make: () => rawTransport(join(config.socketDir, `raw-frame-${config.placementKey}.sock`), true) },
    { key: "ipc", make: () => ipcTransport() },
  ];
  if (config.ipcgen !== null) {
    rows.push({ key: "ipcgen", make: () => ipcgenTransport(join(config.socketDir, `ipcgen-${config.placementKey}.sock`), config.ipcgen) });
  }
  const perRound = Math.ceil(config.latencyCalls / config.rounds);
  const states = [];
  for (const row of rows) {
    const state = {
      key: row.key,
      t: null,
      reason: null,
      samples: new Float64Array(perRound * config.rounds),
      filled: 0,
      rates: [],
      cpuSamples: 0,
      sameCpu: 0,
    };
    states.push(state);
    let phase = "could not start";
    try {
      state.t = await row.make();
      // Correctness first: every reply carries its own call's 64 bytes, one at a time and pipelined.
      phase = "check failed";
      await sequential(state.t, config.checkSequential, null, true);
      await pipelined(state.t, config.inFlight, { calls: config.checkPipelined, verify: true });
      log(`${row.key}: replies checked (${config.checkSequential} sequential, ${config.checkPipelined} pipelined)`);
      // Warm-up, both patterns.
      phase = "failed in warm-up";
      await sequential(state.t, config.warmupCalls, null, false, config.warmupMs);
      await pipelined(state.t, config.inFlight, { ms: config.warmupMs });
    } catch (e) {
      state.reason = `${phase}: ${firstLine(e)}`;
      log(`${row.key}: ${state.reason}`);
      if (state.t !== null) await state.t.close().catch(() => {});
      state.t = null;
    }
  }

  // Where the scheduler runs the two processes while they are measured: the CPU each last ran on, every
  // SAMPLE_MS (what makes unpinned figures differ from run to run).
  let measuring = null;
  const sampler = setInterval(() => {
    if (measuring === null) return;
    const mine = lastCpu("self");
    const theirs = lastCpu(measuring.t.serverPid);
    if (mine === null || theirs === null) return;
    measuring.cpuSamples++;
    if (mine === theirs) measuring.sameCpu++;
  }, SAMPLE_MS);
  for (let round = 0; round < config.rounds; round++) {
    for (const state of states) {
      if (state.t === null) continue;
      measuring = state;
      try {
        const samples = state.samples.subarray(state.filled, state.filled + perRound);
        state.filled += await sequential(state.t, perRound, samples, false, config.latencyRoundMs);
        const r = await pipelined(state.t, config.inFlight, { ms: config.throughputMs });
        state.rates.push((r.calls / r.ms) * 1000);
      } catch (e) {
        state.reason = `failed while measuring: ${firstLine(e)}`;
        log(`${state.key}: ${state.reason}`);
        await state.t.close().catch(() => {});
        state.t = null;
      }
      measuring = null;
    }
  }
  clearInterval(sampler);

  const report = { placement: config.placement, clientCpus: allowedCpus(), rows: [], serverPids: spawnedPids };
  for (const state of states) {
    if (state.t !== null) {
      const serverCpus = state.t.serverCpus;
      await state.t.close();
      const sorted = state.samples.slice(0, state.filled).sort();
      report.rows.push({
        key: state.key,
        ok: true,
        p50: quantile(sorted, 0.5) * 1000,
        p99: quantile(sorted, 0.99) * 1000,
        roundTrips: sorted.length,
        callsPerSecond: median(state.rates),
        serverCpus,
        sameCpuShare: state.cpuSamples === 0 ? null : state.sameCpu / state.cpuSamples,
      });
    } else {
      report.rows.push({ key: state.key, ok: false, reason: state.reason });
    }
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

try {
  await main();
  process.exit(0);
} catch (e) {
  process.stderr.write(`client: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
}
