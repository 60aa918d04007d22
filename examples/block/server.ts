/**
 * The block server: a RAM disk of BLOCKS blocks of 512 bytes (default 2048: 1 MiB), shared by all sessions.
 * Requests are served as they come and acknowledged when done; each waits a little, longer for larger
 * ones, so acknowledgements come out of order, as a real device's do. A request outside the device, or
 * whose size is not its block count, is acknowledged with `success` false; the bulk buffer's bytes are
 * copied once, in or out.
 *
 * Run: npx tsx examples/block/server.ts [SOCKET [BLOCKS]]
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Block, type BlockHandler, type BlockRemote, Request_Operation as Operation } from "./gen/block.capnp.js";

const BLOCK_SIZE = 512;
const path = process.argv[2] ?? join(tmpdir(), "ipcgen-block.sock");
const blockCount = BigInt(process.argv[3] ?? 2048);
const disk = Buffer.alloc(Number(blockCount) * BLOCK_SIZE);

function session(remote: BlockRemote): BlockHandler {
  const { requests } = remote;
  void (async () => {
    for await (const packet of requests) {
      const request = requests.descriptor(packet);
      const fits = request.blockNumber + BigInt(request.count) <= blockCount && packet.size === request.count * BLOCK_SIZE;
      // Served concurrently: a small request overtakes a large one submitted before it.
      void sleep(request.count % 4).then(() => {
        if (fits) {
          const at = Number(request.blockNumber) * BLOCK_SIZE;
          if (request.operation === Operation.WRITE) packet.data.copy(disk, at);
          else disk.copy(packet.data, 0, at, at + packet.size);
        }
        return requests.ack(packet, { ...request, success: fits });
      }).catch(() => {}); // the stream closed with the session
    }
  })().catch(() => {});
  return { info: () => ({ blockSize: BLOCK_SIZE, blockCount }) };
}

const server = await Block.listen(path, session);
console.log(`block: listening on ${path} (${blockCount} blocks of ${BLOCK_SIZE} bytes)`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void server.close());
}
