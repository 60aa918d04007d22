/**
 * Another process holding a session's token (as if it had leaked): `joiner.ts SOCKET TOKEN` joins the
 * descriptor channel with it and reports whether the server took the connection: "dropped" when the server
 * closed it, "kept" when it was still open 2 s later.
 */
import { Header_Kind } from "../../../runtime/protocol/protocol.capnp.js";
import { loadNativeAddon } from "../../../runtime/native/index.js";
import { DescriptorChannel } from "../../../runtime/transport/descriptor-channel.js";
import { encodeFrame } from "../../../runtime/transport/frames.js";

const [path, token] = process.argv.slice(2);
const channel = DescriptorChannel.connect(path);
channel.write(encodeFrame({ token: BigInt(token), channel: 0, id: 1, answers: 0, kind: Header_Kind.JOIN }, null));
const deadline = Date.now() + 2000;
for (;;) {
  const got = loadNativeAddon().fdRecv(channel.descriptor, 1, 3);
  if (got !== null && got.bytes.length === 0) {
    console.log("dropped");
    break;
  }
  if (Date.now() > deadline) {
    console.log("kept");
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
}
channel.close();
