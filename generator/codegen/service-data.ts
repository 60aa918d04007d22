/**
 * The ipc model's services and errors to template data: every name, type and expression the session
 * templates (service.hbs, error.hbs) print. Pure, like template-data.ts, which hands it a `Namer` (context.ts)
 * for the names the context owns (struct classes, imports from other generated modules, doc comments).
 */
import type { DescriptorLayout, Direction, ErrorModel, MethodKind, MethodModel, ServiceModel, SizeLimit } from "../model/ipc.js";
import type { Id, Node } from "../model/schema.js";
import { capitalize, hexId, propertyKey, serviceMemberName } from "./names.js";

/** What the template data's context (context.ts) knows and this module asks for. */
export interface Namer {
  /** The generated class (or const) of node `id`, imported when it lives in another module. */
  ref(id: Id): string;
  /** A name derived from node `id`'s (`Chat` + `Client`), imported likewise. */
  derived(id: Id, suffix: string): string;
  doc(id: Id, member?: number): string | null;
  node(id: Id): Node;
}

export interface ErrorData {
  /** The error class: the struct's class name plus `Error`. */
  className: string;
  /** The struct class holding its data. */
  struct: string;
  /** The error's name in its schema, which crosses the wire: the struct's name in its file (`Chat.NotJoined`). */
  errorName: string;
  doc: string | null;
  /** The constructor's parameter list: data is optional when the struct has no fields. */
  detailsParam: string;
}

/** A call or one-way method, as the client, the handler and the definition print it. */
export interface CallData {
  member: string;
  /** The method's position in the definition's `methods` (how stubs name it to the runtime). */
  index: number;
  doc: string | null;
  hasParams: boolean;
  /** What the client takes: a plain object, or a message built with the struct's class (sent as it is). */
  paramsInit: string;
  paramsPlain: string;
  /** `void` when the results struct has no fields. */
  resultsPlain: string;
  /** What the client's promise resolves to: `ipcgen.Received<...Plain>`, or `void`. */
  resultsReceived: string;
  /** What the handler returns: a plain object, or a message built with the struct's class. */
  resultsInit: string;
  /** The errors it raises, for its doc comment: `Chat_TakenError`. */
  raises: string[];
}

export interface SignalData {
  member: string;
  /** The signal's position in the definition's `methods`. */
  index: number;
  doc: string | null;
}

/** A packet stream, as one side's member: its end's type depends on which side is the source. */
export interface StreamData {
  member: string;
  /** The packet stream's position in the definition's `methods`. */
  index: number;
  doc: string | null;
  /** `ipcgen.StreamSource<Packet.Plain, Packet.Init>` or `ipcgen.StreamSink<...>`. */
  type: string;
}

export interface ArmData {
  /** The union member. */
  name: string;
  /** `openWorker` on clients and remotes. */
  opener: string;
  doc: string | null;
  client: string;
  remote: string;
  handler: string;
  /** The open request's parameters (Init and Plain types), or null for `Channel(Interface)`. */
  paramsInit: string | null;
  paramsPlain: string | null;
  /** The arm's name as a property key of the metadata union's value (quoted when it must be). */
  key: string;
  /** The definition of the service the channel speaks. */
  service: string;
}

/** A definition's `channels` entry: the metadata union's struct and, per arm, what the runtime needs. */
export interface ChannelsEntryData {
  /** The metadata struct's class. */
  metadata: string;
  arms: ArmData[];
}

export interface ServiceData {
  name: string;
  client: string;
  remote: string;
  handler: string;
  /** The client's events (signals the server submits); null when there are none. */
  events: string | null;
  /** The per-arm passive-open handlers' interface; null when the service has no channels. */
  channelHandlers: string | null;
  doc: string | null;
  id: string;
  fingerprint: string;
  isSession: boolean;
  calls: CallData[];
  oneways: CallData[];
  /** Signals the server submits and the client receives. */
  toClient: SignalData[];
  /** Signals the client submits and the server's handler receives. */
  toServer: SignalData[];
  arms: ArmData[];
  /** The client's ends of the packet streams (the source of `toServer` streams, the sink of `toClient` ones). */
  clientStreams: StreamData[];
  /** The server's ends, on the remote: the other end of each. */
  remoteStreams: StreamData[];
  /** The definition's `methods` entries (printed by method.hbs). */
  methods: MethodEntryData[];
  /** The definition's `channels` entry, or null when the service has no channels. */
  channels: ChannelsEntryData | null;
  sharedBuffer: number | null;
}

/**
 * One entry of a definition's `methods`: what the runtime needs to send, check and answer the method
 * (`MethodDefinition` in runtime/contract.ts), as method.hbs prints it.
 */
export interface MethodEntryData {
  /** The method's member name on clients and handlers. */
  name: string;
  /** `0x...`: the interface that declares the method. */
  interfaceId: string;
  /** The method's ordinal in that interface. */
  methodId: number;
  kind: MethodKind;
  direction: Direction | null;
  /** The parameters' and results' struct classes (`ipcgen.emptyStruct` for signals' and streams' results). */
  params: string;
  results: string;
  /** A call whose results struct has no fields: callers get `undefined`. */
  voidResults: boolean;
  timeoutMs: number | null;
  /** The error classes it raises. */
  raises: string[];
  paramLimits: SizeLimit[];
  resultLimits: SizeLimit[];
  stream: { ringSize: number; bufferSize: number; descriptor: DescriptorLayout } | null;
}

const hasFields = (n: Node): boolean => n.which === "struct" && n.struct.fields.length > 0;

export function errorData(error: ErrorModel, namer: Namer): ErrorData {
  const struct = namer.ref(error.id);
  return {
    className: `${struct}Error`,
    struct,
    errorName: error.code,
    doc: namer.doc(error.id),
    detailsParam: hasFields(namer.node(error.id)) ? `details: ${struct}.Init` : `details: ${struct}.Init = {}`,
  };
}

/** One entry of a definition's `methods`. */
function methodEntry(m: MethodModel, member: string, namer: Namer): MethodEntryData {
  const structured = m.kind === "call" || m.kind === "oneway";
  return {
    name: member,
    interfaceId: hexId(m.interfaceId),
    methodId: m.methodId,
    kind: m.kind,
    direction: m.direction,
    params: structured || m.kind === "packetStream" ? namer.ref(m.params.id) : "ipcgen.emptyStruct",
    results: structured ? namer.ref(m.results.id) : "ipcgen.emptyStruct",
    voidResults: m.kind === "call" && !hasFields(namer.node(m.results.id)),
    timeoutMs: m.timeoutMs,
    raises: m.raises.map((id) => namer.derived(id, "Error")),
    paramLimits: m.paramLimits,
    resultLimits: m.resultLimits,
    stream: m.stream === null ? null : { ringSize: m.stream.ringSize, bufferSize: m.stream.bufferSize, descriptor: m.stream.layout },
  };
}

export function serviceData(service: ServiceModel, namer: Namer): ServiceData {
  const name = namer.ref(service.id);
  const withArms = service.channels !== null && service.channels.arms.length > 0;
  const reserved = withArms ? ["channels"] : [];
  const member = (m: MethodModel): string => serviceMemberName(m.name, reserved);
  const methodDoc = (m: MethodModel): string | null => namer.doc(m.interfaceId, m.methodId);
  const indexOf = (m: MethodModel): number => service.methods.indexOf(m);

  const callData = (m: MethodModel): CallData => {
    const params = namer.ref(m.params.id);
    const results = namer.ref(m.results.id);
    const voidResults = !hasFields(namer.node(m.results.id));
    return {
      member: member(m),
      index: indexOf(m),
      doc: methodDoc(m),
      hasParams: hasFields(namer.node(m.params.id)),
      paramsInit: `${params}.Init | ${params}`,
      paramsPlain: `${params}.Plain`,
      resultsPlain: voidResults ? "void" : `${results}.Plain`,
      resultsReceived: voidResults ? "void" : `ipcgen.Received<${results}.Plain>`,
      resultsInit: voidResults ? "void" : `${results}.Init | ${results}`,
      raises: m.raises.map((id) => namer.derived(id, "Error")),
    };
  };
  const signalData = (m: MethodModel): SignalData => ({ member: member(m), index: indexOf(m), doc: methodDoc(m) });

  const arms: ArmData[] = (service.channels?.arms ?? []).map((arm) => {
    const params = arm.params === null ? null : namer.ref(arm.params);
    const armIndex = (namer.node(service.channels!.struct) as Extract<Node, { which: "struct" }>).struct.fields.findIndex((f) => f.name === arm.name);
    return {
      name: arm.name,
      opener: `open${capitalize(arm.name)}`,
      doc: namer.doc(service.channels!.struct, armIndex),
      client: namer.derived(arm.interface, "Client"),
      remote: namer.derived(arm.interface, "Remote"),
      handler: namer.derived(arm.interface, "Handler"),
      paramsInit: params === null ? null : `${params}.Init`,
      paramsPlain: params === null ? null : `${params}.Plain`,
      key: propertyKey(arm.name),
      service: namer.ref(arm.interface),
    };
  });
  const channels = service.channels === null ? null : { metadata: namer.ref(service.channels.struct), arms };

  const toClient = service.methods.filter((m) => m.kind === "signal" && m.direction === "toClient");
  const streamData = (side: "client" | "server") =>
    service.methods
      .filter((m) => m.kind === "packetStream" && m.stream !== null)
      .map((m): StreamData => {
        const descriptor = namer.ref(m.stream!.descriptor);
        const source = (m.direction === "toServer") === (side === "client");
        return { member: member(m), index: indexOf(m), doc: methodDoc(m), type: `ipcgen.${source ? "StreamSource" : "StreamSink"}<${descriptor}.Plain, ${descriptor}.Init>` };
      });
  return {
    name,
    client: `${name}Client`,
    remote: `${name}Remote`,
    handler: `${name}Handler`,
    events: toClient.length > 0 ? `${name}Events` : null,
    channelHandlers: withArms ? `${name}Channels` : null,
    doc: namer.doc(service.id),
    id: hexId(service.id),
    fingerprint: hexId(service.fingerprint),
    isSession: service.isSession,
    calls: service.methods.filter((m) => m.kind === "call").map(callData),
    oneways: service.methods.filter((m) => m.kind === "oneway").map(callData),
    toClient: toClient.map(signalData),
    toServer: service.methods.filter((m) => m.kind === "signal" && m.direction === "toServer").map(signalData),
    arms,
    clientStreams: streamData("client"),
    remoteStreams: streamData("server"),
    methods: service.methods.map((m) => methodEntry(m, member(m), namer)),
    channels,
    sharedBuffer: service.sharedBuffer,
  };
}
