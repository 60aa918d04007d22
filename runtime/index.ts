/** `ipcgen`: the runtime generated code and applications use. docs/runtime.md describes it. */
export * from "./errors.js";
export { connect, type ConnectOptions } from "./session/client.js";
export { listen, Server, type Permissions, type ServerOptions, type ServiceIdentity } from "./session/server.js";
export { Endpoint, Session, type CallOptions, type PeerCredentials, type SessionOptions } from "./session/session.js";
export { Pool } from "./session/pool.js";
export { ApplicationError, Client, serve, type HandlerContext, type ServiceDefinition, type StructCodec } from "./rpc/service.js";
export { Signals } from "./rpc/signals.js";
