// ipcgen's row of bench/rpc.ts: the two functions that speak ipcgen's RPC, kept apart from the measuring so
// that they alone follow the runtime's API.
//
// They need, from `runtime/index.ts` (compiled to JavaScript by bench/rpc.ts and passed in as `runtime`):
// `listen(path, { service, onSession })` resolving to a server with `close()`, `serve(session, service,
// handlers)`, `connect(path, { service })` resolving to a session with `close()`, and `new Client(session,
// service)` whose `call("echo", { payload })` resolves to `{ payload }`; and, from the code ipcgen generates
// for bench/rpc/echo.capnp (passed in as `generated`), `EchoParams` and `EchoResults` with `encode`/`decode`.
// The service definition is written here by hand (the interface's id from the compiler, a fixed schema
// fingerprint), as the runtime's own tests do, until ipcgen generates service stubs.

const FINGERPRINT = 0x62656e6368727063n; // "benchrpc": the same on both sides

const need = (module, name, what) => {
  if (module[name] === undefined) throw new Error(`${what} has no export \`${name}\``);
  return module[name];
};

function echoService(generated, echoId) {
  const what = "the code generated for bench/rpc/echo.capnp";
  return {
    id: BigInt(echoId),
    fingerprint: FINGERPRINT,
    name: "Echo",
    // The wire names a method by the interface that declares it and its ordinal there (runtime/contract.ts).
    methods: [{ name: "echo", interfaceId: BigInt(echoId), methodId: 0, params: need(generated, "EchoParams", what), results: need(generated, "EchoResults", what) }],
  };
}

/** Serves Echo on the Unix socket `path`; resolves to the server once it listens. */
export async function serve({ runtime, generated, echoId }, path) {
  const listen = need(runtime, "listen", "runtime/index.ts");
  const serveOn = need(runtime, "serve", "runtime/index.ts");
  const service = echoService(generated, echoId);
  const handlers = {
    echo(params) {
      return { payload: params.payload };
    },
  };
  return await listen(path, { service, onSession: (session) => serveOn(session, service, handlers) });
}

/**
 * Connects to the server on `path`. `call(payload)` makes one echo call with the 64-byte payload and resolves
 * to the payload of its result.
 */
export async function open({ runtime, generated, echoId }, path) {
  const connect = need(runtime, "connect", "runtime/index.ts");
  const Client = need(runtime, "Client", "runtime/index.ts");
  const service = echoService(generated, echoId);
  const session = await connect(path, { service });
  const client = new Client(session, service);
  return {
    call: (payload) => client.call("echo", { payload }).then((results) => results.payload),
    close: () => session.close(),
  };
}
