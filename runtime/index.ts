/// <reference types="node" preserve="true" />
// Node's types come with ipcgen (a dependency), so that an app without @types/node of its own compiles.
/**
 * `ipcgen`: the runtime generated code and applications use. docs/runtime.md describes it. Every error class
 * the runtime throws is exported here (docs/runtime.md, "Errors"); all of them extend `IpcgenError`.
 */
export * from "./errors.js";
export { MessageDecodeError } from "./codec/wire.js";
export { RuntimeApiError } from "./codec/api.js";
export { FrameError } from "./transport/frames.js";
export { DescriptorChannelError } from "./transport/descriptor-channel.js";
export { NativeAddonError, nativeAddonAvailable } from "./native/index.js";
export { connect, type ConnectOptions } from "./session/client.js";
export { listen, Server, type Permissions, type ServerOptions, type ServiceIdentity } from "./session/server.js";
export {
  Channel,
  PlacedMessage,
  type Capability,
  type MethodRef,
  RequestFailure,
  Session,
  type Body,
  type CallOptions,
  type ZeroCopyMemory,
  type OutgoingBody,
  type PeerCredentials,
  type RequestContext,
  type SessionOptions,
} from "./session/session.js";
export { Directory } from "./session/directory.js";
export {
  ApplicationError,
  Client,
  serve,
  type Direction,
  type MethodDefinition,
  type MethodKind,
  type RaisedErrorClass,
  type Received,
  type ServiceDefinition,
  type SizeLimit,
  type StructCodec,
} from "./rpc/service.js";
export { Signals } from "./rpc/signals.js";
export { inProcessPair } from "./rpc/in-process.js";
export { SharedBuffer } from "./shm/shared-buffer.js";
export { Packet, PacketSink, PacketSource, PacketStreamError, type WaitOptions } from "./shm/packet-stream.js";
export { ZeroCopyPool, PoolBlock, zeroCopy, type ZeroCopyOptions } from "./shm/messages.js";
export { StreamSink, StreamSource } from "./stubs/streams.js";
export {
  defineService,
  emptyStruct,
  ServiceClient,
  ServiceRemote,
  type ChannelArm,
  type ChannelsDefinition,
  type ClientOptions,
  type ConnectServiceOptions,
  type HandlerOrFactory,
  type ListenServiceOptions,
  type OpenOptions,
  type Service,
  type ServiceContext,
  type SignalContext,
  type StubDefinition,
  type ZeroCopySetting,
} from "./stubs/stubs.js";
