/**
 * The other process of the packet-stream tests: `packet-peer.ts MODE OPTIONS_JSON` maps the region the test
 * made (CONFIG of packets.ts), passed as descriptor 3 with its end of the stream's doorbell pair as 4, and
 * plays one end of its stream:
 *   - sink: takes options.count packets, checks them, acknowledges out of order (options.window);
 *   - source: sends options.count packets (options.seed, options.maxSize) and checks their acknowledgements;
 *   - flood: a hostile source that writes the ring indices by hand for options.ms milliseconds, keeping the
 *     submit ring full of valid descriptors and taking every acknowledgement at once, as fast as it can.
 * Prints "ready" once mapped, then "done " and a JSON report.
 */
import { loadNativeAddon } from "../../../runtime/native/index.js";
import { Doorbell } from "../../../runtime/shm/doorbell.js";
import { PacketSink, PacketSource, packetStreamLayout, type StreamRegion } from "../../../runtime/shm/packet-stream.js";
import { CONFIG, consume, produce } from "./packets.js";

const [mode, json] = process.argv.slice(2);
const options = JSON.parse(json ?? "{}") as { count?: number; seed?: number; maxSize?: number; window?: number; ms?: number };
const layout = packetStreamLayout(CONFIG);
const native = loadNativeAddon();
const mapping = native.memfdMap(3, layout.regionSize);
const region: StreamRegion = { mapping, bell: Doorbell.adopt(4) };

if (mode === "sink") {
  const sink = PacketSink.open(region, CONFIG);
  console.log("ready");
  const totals = await consume(sink, { count: options.count ?? 0, seed: options.seed ?? 1, window: options.window ?? 1 });
  sink.close();
  console.log(`done ${JSON.stringify(totals)}`);
} else if (mode === "source") {
  const source = PacketSource.open(region, CONFIG);
  console.log("ready");
  const totals = await produce(source, { count: options.count ?? 0, seed: options.seed ?? 1, maxSize: options.maxSize ?? 4096 });
  source.close();
  console.log(`done ${JSON.stringify(totals)}`);
} else if (mode === "flood") {
  const words = new Int32Array(mapping.control);
  const n = layout.ringSize;
  for (let i = 0; i < n; i++) {
    const at = layout.submitSlots + i * layout.slotBytes;
    mapping.data.fill(0, at, at + layout.slotBytes);
    mapping.data.writeUInt32LE(64, at + CONFIG.descriptor.sizeAt);
  }
  console.log("ready");
  const end = Date.now() + (options.ms ?? 500);
  let loops = 0;
  while (Date.now() < end) {
    const tail = Atomics.load(words, layout.submitTail / 4);
    Atomics.store(words, layout.submitHead / 4, (((tail - 1) % n) + n) % n);
    Atomics.store(words, layout.ackTail / 4, Atomics.load(words, layout.ackHead / 4));
    region.bell.ring();
    loops++;
  }
  console.log(`done ${JSON.stringify({ loops })}`);
} else {
  throw new Error(`packet-peer: unknown mode ${mode}`);
}
