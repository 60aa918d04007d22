/**
 * A block client: writes a pattern to every block of the device in requests of 1 to 8 blocks, all in
 * flight at once as far as the rings allow, reads it all back the same way, and checks it. Also asks for a
 * block past the end, which must come back with `success` false. Prints what the acknowledgements' order was.
 *
 * Run: npx tsx examples/block/client.ts [SOCKET]
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Packet } from "ipcgen";
import { Block, type Request, Request_Operation as Operation } from "./gen/block.capnp.js";

const path = process.argv[2] ?? join(tmpdir(), "ipcgen-block.sock");
await using block = await Block.connect(path);
const { blockSize, blockCount } = await block.info();
const { requests } = block;
console.log(`device: ${blockCount} blocks of ${blockSize} bytes`);

/** The byte at `offset` of block `n` in the pattern. */
const pattern = (n: bigint, offset: number): number => Number((n * 7n + BigInt(offset)) % 251n);

/** Acknowledged requests by tag, and the order their acknowledgements came in. */
const done = new Map<number, (result: { request: Request.Plain; packet: Packet }) => void>();
const order: number[] = [];
void (async () => {
  for await (const packet of requests.acknowledged()) {
    const request = requests.descriptor(packet);
    order.push(request.tag);
    done.get(request.tag)!({ request, packet });
  }
})().catch(() => {});

let nextTag = 0;
/** Submits one request and resolves when it is acknowledged; `fill` writes the data of a write. */
async function submit(operation: Operation, blockNumber: bigint, count: number, use: (data: Buffer) => void): Promise<boolean> {
  const tag = nextTag++;
  const packet = await requests.alloc(count * blockSize);
  if (operation === Operation.WRITE) use(packet.data);
  const acknowledged = new Promise<{ request: Request.Plain; packet: Packet }>((resolve) => done.set(tag, resolve));
  await requests.submit(packet, { operation, blockNumber, count, tag });
  const answer = await acknowledged;
  done.delete(tag);
  if (operation === Operation.READ && answer.request.success) use(answer.packet.data);
  requests.release(answer.packet);
  return answer.request.success;
}

/** Runs `operation` over the whole device in requests of 1 to 8 blocks, all submitted at once. */
async function sweep(operation: Operation): Promise<void> {
  const jobs: Promise<boolean>[] = [];
  for (let n = 0n, size = 1; n < blockCount; n += BigInt(size), size = (size % 8) + 1) {
    const first = n;
    const count = Math.min(size, Number(blockCount - n));
    jobs.push(
      submit(operation, first, count, (data) => {
        for (let b = 0; b < count; b++) {
          for (let i = 0; i < blockSize; i++) {
            const expected = pattern(first + BigInt(b), i);
            if (operation === Operation.WRITE) data[b * blockSize + i] = expected;
            else if (data[b * blockSize + i] !== expected) throw new Error(`block ${first + BigInt(b)} byte ${i} reads ${data[b * blockSize + i]}, not ${expected}`);
          }
        }
      }),
    );
  }
  const results = await Promise.all(jobs);
  if (!results.every(Boolean)) throw new Error(`a ${operation === Operation.WRITE ? "write" : "read"} failed`);
}

await sweep(Operation.WRITE);
await sweep(Operation.READ);
const outOfOrder = order.filter((tag, i) => i > 0 && tag < order[i - 1]).length;
console.log(`wrote and read back ${blockCount} blocks in ${nextTag} requests; ${outOfOrder} acknowledgements overtook an earlier request`);

const past = await submit(Operation.READ, blockCount, 1, () => {});
console.log(`a read past the end: success ${past}`);
if (past) process.exitCode = 1;
