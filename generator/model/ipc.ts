/**
 * The ipc model: what a request's `/ipcgen/ipc.capnp` annotations declare (sessions, their methods and
 * signals, packet streams, shared buffers, channel metadata unions, errors), checked and turned into plain
 * data for the stub generator. Pure: the same request gives the same model and the same problems.
 *
 * Misuse is reported as problems naming where it was written (a node, a member, an annotation), which the
 * caller turns into `file:line:col: error: ...` with the compiler's source positions.
 */
import { createHash } from "node:crypto";
import { decodeValue, nodeLookup, type NodeLookup } from "./codec.js";
import { encodeRequest } from "./request.js";
import type { Annotation, Brand, CodeGeneratorRequest, Field, Id, Method, Node, Type } from "./schema.js";
import type { DescriptorLayout, Direction, MethodKind, SizeLimit } from "../../runtime/contract.js";

export type { DescriptorLayout, Direction, MethodKind, SizeLimit };

/** Ids of `ipcgen/ipc.capnp`'s declarations (a test checks them against the compiled file). */
export const IPC = {
  file: 0xa7659376505cf191n,
  session: 0xc5ba8ad4ba47d8c5n,
  oneway: 0xf0b3b9a2b6d4b8a1n,
  signal: 0x8d1b8f8f6c3a21e5n,
  direction: 0x9c5e71ad61624e7fn,
  timeoutMs: 0x9e2c5d1a7b3f4e60n,
  raises: 0xb47a0e5c2d9f1836n,
  error: 0xd3c61f0b8a5e2947n,
  maxSize: 0xe85a2b7c4f1d0963n,
  channels: 0xa95e7d3c1b0f4826n,
  channel: 0xd910d3d16cca3c46n,
  channelWith: 0xd8d839b5caf9e5fan,
  sharedBuffer: 0xc7f4e1d02a6b3958n,
  packetStream: 0xf61b9e8d3a2c5074n,
  packetStreamConfig: 0x82b35bd4d05aceb7n,
} as const;

/** Where a problem was written, as `SourceTarget` of the compiler names it. */
export interface ProblemTarget {
  node: Id;
  member?: string;
  param?: { side: "params" | "results"; name: string };
  annotation?: number;
}

export interface Problem {
  target: ProblemTarget;
  message: string;
}

export interface PacketStreamModel {
  direction: Direction;
  ringSize: number;
  bufferSize: number;
  /** The descriptor struct (the method's parameter type). */
  descriptor: Id;
  /** Where the descriptor's `offset` and `size` lie in its data section, in bytes; its size in words. */
  layout: DescriptorLayout;
}

export interface MethodModel {
  name: string;
  /**
   * What names the method on the wire, as in Cap'n Proto: the interface that declares it (the service's
   * own, or a superclass) and its ordinal there.
   */
  interfaceId: Id;
  methodId: number;
  kind: MethodKind;
  params: { id: Id; brand: Brand };
  results: { id: Id; brand: Brand };
  /** For signals: who receives it. For packet streams: `toServer` is TX (the client is the source). */
  direction: Direction | null;
  timeoutMs: number | null;
  /** Error structs the method may raise. */
  raises: Id[];
  paramLimits: SizeLimit[];
  resultLimits: SizeLimit[];
  stream: PacketStreamModel | null;
}

export interface ChannelArmModel {
  /** The union member's name. */
  name: string;
  discriminant: number;
  /** The interface the channel speaks. */
  interface: Id;
  /** The struct sent with the open request, or null for `Channel(Interface)`. */
  params: Id | null;
}

export interface ChannelsModel {
  /** The metadata struct. */
  struct: Id;
  arms: ChannelArmModel[];
}

export interface ServiceModel {
  id: Id;
  isSession: boolean;
  methods: MethodModel[];
  sharedBuffer: number | null;
  channels: ChannelsModel | null;
  /**
   * 64 bits of a SHA-256 over every schema node the service depends on (its methods' structs, their field
   * types, errors, channel arms and their interfaces), without doc comments or file paths: two builds of
   * client and server agree exactly when what crosses the wire agrees.
   */
  fingerprint: bigint;
}

export interface ErrorModel {
  id: Id;
  /** What crosses the wire as the error's code: the struct's name inside its file (`Chat.NotJoined`). */
  code: string;
}

export interface IpcModel {
  /** Sessions and every interface a channel arm names, with what they extend folded in. */
  services: ServiceModel[];
  errors: ErrorModel[];
  /** Structs that must be generated for the services: method parameters and results not otherwise nested. */
  methodStructs: { id: Id; interface: Id; method: string; side: "params" | "results" }[];
}

/** The node's name inside its file: `Chat.join$Params` for `chat.capnp:Chat.join$Params`. */
export function nameInFile(node: Node): string {
  const colon = node.displayName.indexOf(":");
  return colon < 0 ? node.displayName : node.displayName.slice(colon + 1);
}

/** A type's name as schemas spell it: `uint32` -> `UInt32`. */
function capnpTypeName(which: string): string {
  return which.replace(/^u?int|^float|^[a-z]/, (m) => (m === "uint" ? "UInt" : m === "int" ? "Int" : m === "float" ? "Float" : m.toUpperCase()));
}

const isEmptyStruct = (node: Node | undefined): boolean => node !== undefined && node.which === "struct" && node.struct.fields.length === 0;

/** Aux structs of methods (`m$Params`, `m$Results`) have scope 0: they are nobody's nested node. */
const isMethodStruct = (node: Node | undefined): boolean => node !== undefined && node.which === "struct" && node.scopeId === 0n && !node.struct.isGroup;

/** A node that declares an interface. */
type InterfaceTypeNode = Extract<Node, { which: "interface" }>;

/** What the steps of `ipcModel` share: the request's nodes, and the problems found so far, in order. */
interface ModelContext {
  request: CodeGeneratorRequest;
  nodes: Map<Id, Node>;
  lookup: NodeLookup;
  problems: Problem[];
}

function problem(ctx: ModelContext, target: ProblemTarget, message: string): void {
  ctx.problems.push({ target, message });
}

const annotationIndex = (annotations: readonly Annotation[], id: Id): number => annotations.findIndex((a) => a.id === id);

/** An annotation's value, read as `type`. */
function annotationValue(ctx: ModelContext, a: Annotation, type: Type): unknown {
  switch (a.value.which) {
    case "list":
      return decodeValue(type, a.value.list, ctx.lookup);
    case "struct":
      return decodeValue(type, a.value.struct, ctx.lookup);
    default:
      return (a.value as Record<string, unknown>)[a.value.which];
  }
}

/**
 * Reads the request's ipc.capnp annotations into the model. The steps run in a fixed order, and so the
 * problems come in it: errors, `$maxSize` outside methods, channel metadata unions, `$sharedBuffer` outside
 * services, then each service with its methods (an interface extended by several services is checked with
 * each), and last the method kinds of interfaces that are not services.
 */
export function ipcModel(request: CodeGeneratorRequest): { model: IpcModel; problems: Problem[] } {
  const ctx: ModelContext = { request, nodes: new Map(request.nodes.map((n) => [n.id, n])), lookup: nodeLookup(request.nodes), problems: [] };
  const errors = errorsOf(ctx);
  checkStructLimits(ctx);
  const { channels, targets } = channelsOf(ctx);
  const serviceIds = serviceIdsOf(ctx, targets);
  checkSharedBuffersOutsideServices(ctx, serviceIds);
  const errorIds = new Set(errors.map((e) => e.id));
  const methodStructs: IpcModel["methodStructs"] = [];
  const services: ServiceModel[] = [];
  for (const id of serviceIds) {
    const service = serviceOf(ctx, id, channels.get(id) ?? null, errorIds, methodStructs);
    if (service !== null) services.push(service);
  }
  for (const s of services) s.fingerprint = fingerprint(s, ctx.nodes);
  checkMethodKindsOutsideServices(ctx, serviceIds);
  return { model: { services, errors, methodStructs }, problems: ctx.problems };
}

/** Structs marked `$error`; a generic one is a problem. */
function errorsOf(ctx: ModelContext): ErrorModel[] {
  const errors: ErrorModel[] = [];
  for (const n of ctx.request.nodes) {
    if (n.which !== "struct") continue;
    const at = annotationIndex(n.annotations, IPC.error);
    if (at < 0) continue;
    if (n.isGeneric) problem(ctx, { node: n.id, annotation: at }, `error struct ${nameInFile(n)} cannot be generic`);
    else errors.push({ id: n.id, code: nameInFile(n) });
  }
  return errors;
}

/** The `$maxSize` bounds on the fields of struct `structId`; `where` names a field's annotation in problems. */
function sizeLimits(ctx: ModelContext, structId: Id, where: (field: Field, index: number) => ProblemTarget): SizeLimit[] {
  const node = ctx.nodes.get(structId);
  if (node === undefined || node.which !== "struct") return [];
  const out: SizeLimit[] = [];
  for (const f of node.struct.fields) {
    const at = annotationIndex(f.annotations, IPC.maxSize);
    if (at < 0) continue;
    const type = f.which === "slot" ? f.slot.type.which : "group";
    if (type !== "text" && type !== "data" && type !== "list") {
      problem(ctx, where(f, at), `$maxSize bounds Text, Data and List fields; ${f.name} is ${type === "group" ? "a group" : `${/^(Int|Interface|Enum|AnyPointer)/.test(capnpTypeName(type)) ? "an" : "a"} ${capnpTypeName(type)}`}`);
      continue;
    }
    out.push({ field: f.name, max: Number(annotationValue(ctx, f.annotations[at], { which: "uint32" })) });
  }
  return out;
}

/** `$maxSize` anywhere else than a method's parameters or results is checked for its type but has no effect. */
function checkStructLimits(ctx: ModelContext): void {
  for (const n of ctx.request.nodes) {
    if (n.which === "struct" && !isMethodStruct(n)) sizeLimits(ctx, n.id, (f, at) => ({ node: n.id, member: f.name, annotation: at }));
  }
}

/** Resolves a `$raises` name the way a type name is looked up: from the interface's scope outwards. */
function resolveName(ctx: ModelContext, from: Id, name: string): Node | null {
  const absolute = name.startsWith(".");
  const parts = name.replace(/^\./, "").split(".");
  const within = (scope: Node): Node | null => {
    let found: Node | undefined = scope;
    for (const part of parts) {
      const next: Id | undefined = found.nestedNodes.find((x) => x.name === part)?.id;
      found = next === undefined ? undefined : ctx.nodes.get(next);
      if (found === undefined) return null;
    }
    return found;
  };
  const scopes: Node[] = [];
  for (let scope = ctx.nodes.get(from); scope !== undefined; scope = scope.which === "file" ? undefined : ctx.nodes.get(scope.scopeId)) scopes.push(scope);
  for (const scope of absolute ? scopes.slice(-1) : scopes) {
    const found = within(scope);
    if (found !== null) return found;
  }
  return null;
}

/** The methods of one interface (not of its superclasses), by ordinal as the request lists them. */
function methodsOf(ctx: ModelContext, iface: InterfaceTypeNode, errorIds: ReadonlySet<Id>): MethodModel[] {
  const ifaceTimeoutAt = annotationIndex(iface.annotations, IPC.timeoutMs);
  const ifaceTimeout = ifaceTimeoutAt < 0 ? null : Number(annotationValue(ctx, iface.annotations[ifaceTimeoutAt], { which: "uint32" }));
  if (ifaceTimeout === 0) problem(ctx, { node: iface.id, annotation: ifaceTimeoutAt }, "$timeoutMs must be more than 0");
  return iface.interface.methods.map((m, ordinal) => methodOf(ctx, iface, m, ordinal, ifaceTimeout, errorIds));
}

/** One method; `ifaceTimeout` is its interface's `$timeoutMs`, the default of its calls. */
function methodOf(ctx: ModelContext, iface: InterfaceTypeNode, m: Method, ordinal: number, ifaceTimeout: number | null, errorIds: ReadonlySet<Id>): MethodModel {
  const target = (annotation?: number): ProblemTarget => ({ node: iface.id, member: m.name, annotation });
  const [kind, kindAt] = methodKind(ctx, m, target);
  const params = ctx.nodes.get(m.paramStructType);
  const results = ctx.nodes.get(m.resultStructType);
  let direction: Direction | null = null;
  let stream: PacketStreamModel | null = null;
  if (kind === "oneway" && !isEmptyStruct(results)) {
    problem(ctx, target(kindAt), `one-way method ${m.name} cannot have results: nobody waits for them (declare it \`-> ()\`)`);
  }
  if (kind === "signal") {
    direction = annotationValue(ctx, m.annotations[kindAt], { which: "enum", enum: { typeId: IPC.direction, brand: { scopes: [] } } }) === 1 ? "toClient" : "toServer";
    if (!isEmptyStruct(params) || !isEmptyStruct(results)) {
      problem(
        ctx,
        target(kindAt),
        `signal ${m.name} carries no payload: declare it \`() -> ()\`, and let the receiver fetch the state by a call`,
      );
    }
  }
  if (kind === "packetStream") ({ direction, stream } = packetStreamOf(ctx, m, ordinal, target(kindAt), m.annotations[kindAt], params, results));
  const timeoutMs = timeoutOf(ctx, m, kind, ifaceTimeout, target);
  const raises = raisesOf(ctx, iface, m, kind, target, errorIds);
  // A limit's problem names the parameter of an inline `(a :T)` list, or else the field of the named struct.
  const limitTarget = (side: "params" | "results") => (f: Field, at: number): ProblemTarget => {
    const struct = side === "params" ? params : results;
    return isMethodStruct(struct) ? { node: iface.id, member: m.name, param: { side, name: f.name }, annotation: at } : { node: struct!.id, member: f.name, annotation: at };
  };
  return {
    name: m.name,
    interfaceId: iface.id,
    methodId: ordinal,
    kind,
    params: { id: m.paramStructType, brand: m.paramBrand },
    results: { id: m.resultStructType, brand: m.resultBrand },
    direction,
    timeoutMs,
    raises,
    paramLimits: sizeLimits(ctx, m.paramStructType, limitTarget("params")),
    resultLimits: sizeLimits(ctx, m.resultStructType, limitTarget("results")),
    stream,
  };
}

/** A call's timeout: its own `$timeoutMs`, else its interface's. Other kinds have none, and may not say one. */
function timeoutOf(ctx: ModelContext, m: Method, kind: MethodKind, ifaceTimeout: number | null, target: (annotation?: number) => ProblemTarget): number | null {
  const timeoutAt = annotationIndex(m.annotations, IPC.timeoutMs);
  let timeoutMs = ifaceTimeout;
  if (timeoutAt >= 0) {
    timeoutMs = Number(annotationValue(ctx, m.annotations[timeoutAt], { which: "uint32" }));
    if (timeoutMs === 0) problem(ctx, target(timeoutAt), "$timeoutMs must be more than 0");
    if (kind !== "call") problem(ctx, target(timeoutAt), `$timeoutMs applies to calls that wait for an answer; ${m.name} is a ${kind === "packetStream" ? "packet stream" : kind}`);
  }
  return kind === "call" ? timeoutMs : null;
}

/** The method's kind and the index of the annotation that says it (-1 for a call); two kinds are a problem. */
function methodKind(ctx: ModelContext, m: Method, target: (annotation?: number) => ProblemTarget): [MethodKind, number] {
  const kinds: [MethodKind, number][] = (
    [
      ["oneway", annotationIndex(m.annotations, IPC.oneway)],
      ["signal", annotationIndex(m.annotations, IPC.signal)],
      ["packetStream", annotationIndex(m.annotations, IPC.packetStream)],
    ] as [MethodKind, number][]
  ).filter(([, at]) => at >= 0);
  if (kinds.length > 1) problem(ctx, target(kinds[1][1]), `${m.name} cannot be both ${kinds[0][0]} and ${kinds[1][0]}`);
  return kinds[0] ?? ["call", -1];
}

/**
 * A `$packetStream` method's direction and stream (null when its descriptor is unusable); `here` is its
 * annotation, where every problem of the stream is reported.
 */
function packetStreamOf(
  ctx: ModelContext,
  m: Method,
  ordinal: number,
  here: ProblemTarget,
  annotation: Annotation,
  params: Node | undefined,
  results: Node | undefined,
): { direction: Direction; stream: PacketStreamModel | null } {
  const config = annotationValue(ctx, annotation, { which: "struct", struct: { typeId: IPC.packetStreamConfig, brand: { scopes: [] } } }) as {
    direction: string;
    ringSize: number;
    bufferSize: number;
  };
  const direction: Direction = config.direction === "toClient" ? "toClient" : "toServer";
  let stream: PacketStreamModel | null = null;
  const descriptor = params !== undefined && !isMethodStruct(params) ? params : undefined;
  if (descriptor === undefined || descriptor.which !== "struct") {
    problem(ctx, here, `packet stream ${m.name} needs a descriptor struct as its parameter type (\`${m.name} @${ordinal} Packet -> ()\`)`);
  } else {
    stream = { direction, ringSize: config.ringSize, bufferSize: config.bufferSize, descriptor: descriptor.id, layout: descriptorLayout(ctx, m, here, descriptor) };
  }
  if (!isEmptyStruct(results)) problem(ctx, here, `packet stream ${m.name} cannot have results (declare it \`-> ()\`)`);
  if (config.ringSize < 2 || config.ringSize > 65536) problem(ctx, here, `ringSize of ${m.name} must be between 2 and 65536, not ${config.ringSize}`);
  if (config.bufferSize < 64) problem(ctx, here, `bufferSize of ${m.name} must be at least 64 bytes, not ${config.bufferSize}`);
  return { direction, stream };
}

/** Where a packet stream's descriptor holds `offset` and `size`; what it lacks is a problem at `here`. */
function descriptorLayout(ctx: ModelContext, m: Method, here: ProblemTarget, descriptor: Extract<Node, { which: "struct" }>): DescriptorLayout {
  const field = (name: string): Field | undefined => descriptor.struct.fields.find((f) => f.name === name);
  // Descriptors travel in fixed-size ring slots: their data section, so no pointers.
  if (descriptor.struct.pointerCount > 0 || descriptor.isGeneric) {
    problem(ctx, here, `the descriptor ${nameInFile(descriptor)} of packet stream ${m.name} may hold only numbers, Bools and enums (it travels in a fixed-size ring slot)`);
  }
  for (const [name, types] of [["offset", ["uint64", "uint32"]], ["size", ["uint32", "uint64"]]] as const) {
    const f = field(name);
    const type = f?.which === "slot" ? f.slot.type.which : null;
    if (type === null || !(types as readonly string[]).includes(type)) {
      problem(ctx, here, `the descriptor ${nameInFile(descriptor)} of packet stream ${m.name} needs a field \`${name} :${types[0] === "uint64" ? "UInt64" : "UInt32"}\``);
    }
  }
  const place = (name: string): { at: number; bytes: 4 | 8 } => {
    const f = field(name);
    const bytes = f?.which === "slot" && f.slot.type.which === "uint64" ? 8 : 4;
    return { at: f?.which === "slot" ? f.slot.offset * bytes : 0, bytes };
  };
  const offset = place("offset");
  const size = place("size");
  return { dataWords: descriptor.struct.dataWordCount, offsetAt: offset.at, offsetBytes: offset.bytes, sizeAt: size.at, sizeBytes: size.bytes };
}

/** The error structs a method's `$raises` names, each once, resolved from its interface's scope. */
function raisesOf(ctx: ModelContext, iface: InterfaceTypeNode, m: Method, kind: MethodKind, target: (annotation?: number) => ProblemTarget, errorIds: ReadonlySet<Id>): Id[] {
  const raises: Id[] = [];
  const raisesAt = annotationIndex(m.annotations, IPC.raises);
  if (raisesAt < 0) return raises;
  if (kind !== "call") problem(ctx, target(raisesAt), `only calls that wait for an answer can raise errors; ${m.name} is a ${kind === "packetStream" ? "packet stream" : kind}`);
  for (const name of annotationValue(ctx, m.annotations[raisesAt], { which: "list", list: { elementType: { which: "text" } } }) as string[]) {
    const found = resolveName(ctx, iface.id, name);
    if (found === null) problem(ctx, target(raisesAt), `$raises names ${name}, but no struct of that name is in scope`);
    else if (!errorIds.has(found.id)) problem(ctx, target(raisesAt), `$raises names ${name}, which is not a struct marked $error`);
    else if (!raises.includes(found.id)) raises.push(found.id);
  }
  return raises;
}

/**
 * The channel metadata unions (`$channels` structs), by the session they are nested in, and the
 * interfaces their arms name, in the order found (each becomes a service).
 */
function channelsOf(ctx: ModelContext): { channels: Map<Id, ChannelsModel>; targets: Id[] } {
  const channels = new Map<Id, ChannelsModel>();
  const targets: Id[] = [];
  for (const n of ctx.request.nodes) {
    if (n.which !== "struct") continue;
    const at = annotationIndex(n.annotations, IPC.channels);
    if (at < 0) continue;
    const here = { node: n.id, annotation: at };
    const scope = ctx.nodes.get(n.scopeId);
    if (scope === undefined || scope.which !== "interface" || annotationIndex(scope.annotations, IPC.session) < 0) {
      problem(ctx, here, `$channels struct ${nameInFile(n)} must be nested in the session interface whose channels it describes`);
      continue;
    }
    if (channels.has(scope.id)) {
      problem(ctx, here, `${nameInFile(scope)} already has a $channels struct; a session has one`);
      continue;
    }
    const members = n.struct.fields;
    if (n.struct.discriminantCount === 0 || members.some((f) => f.discriminantValue === 0xffff)) {
      problem(ctx, here, `$channels struct ${nameInFile(n)} must hold only an unnamed union, one arm per kind of channel`);
      continue;
    }
    const arms: ChannelArmModel[] = [];
    for (const f of members) {
      const arm = channelArm(ctx, n.id, f);
      if (arm === null) continue;
      arms.push(arm);
      targets.push(arm.interface);
    }
    channels.set(scope.id, { struct: n.id, arms });
  }
  return { channels, targets };
}

/** One arm of the metadata union `struct`: `Channel(Interface)` or `ChannelWith(Interface, Params)`; null after a problem. */
function channelArm(ctx: ModelContext, struct: Id, f: Field): ChannelArmModel | null {
  const type = f.which === "slot" ? f.slot.type : null;
  const where = { node: struct, member: f.name };
  if (type?.which !== "struct" || (type.struct.typeId !== IPC.channel && type.struct.typeId !== IPC.channelWith)) {
    problem(ctx, where, `channel arm ${f.name} names no interface: its type must be ipc.Channel(Interface) or ipc.ChannelWith(Interface, Params)`);
    return null;
  }
  const binding = type.struct.brand.scopes.find((s) => s.scopeId === type.struct.typeId);
  const bound = binding?.which === "bind" ? binding.bind : [];
  const iface = bound[0]?.which === "type" ? bound[0].type : null;
  const params = bound[1]?.which === "type" ? bound[1].type : null;
  if (iface?.which !== "interface") {
    problem(ctx, where, `channel arm ${f.name} names no interface: bind the first parameter to an interface`);
    return null;
  }
  if (type.struct.typeId === IPC.channelWith && params?.which !== "struct") {
    problem(ctx, where, `the parameters of channel arm ${f.name} must be a struct`);
    return null;
  }
  const target = ctx.nodes.get(iface.interface.typeId);
  if (target === undefined || target.isGeneric) {
    problem(ctx, where, `channel arm ${f.name}: interface ${target === undefined ? "?" : nameInFile(target)} is generic; a channel speaks a plain interface`);
    return null;
  }
  return { name: f.name, discriminant: f.discriminantValue, interface: target.id, params: params?.which === "struct" ? params.struct.typeId : null };
}

/** The services: sessions in the request's order, then the interfaces channels speak that are not sessions. */
function serviceIdsOf(ctx: ModelContext, channelTargets: readonly Id[]): Id[] {
  const serviceIds: Id[] = [];
  for (const n of ctx.request.nodes) {
    if (n.which === "interface" && annotationIndex(n.annotations, IPC.session) >= 0) serviceIds.push(n.id);
  }
  for (const id of channelTargets) if (!serviceIds.includes(id)) serviceIds.push(id);
  return serviceIds;
}

/** `$sharedBuffer` only means something on a session: on an interface that is no service, it is a problem. */
function checkSharedBuffersOutsideServices(ctx: ModelContext, serviceIds: readonly Id[]): void {
  for (const n of ctx.request.nodes) {
    if (n.which !== "interface" || serviceIds.includes(n.id)) continue;
    const at = annotationIndex(n.annotations, IPC.sharedBuffer);
    if (at >= 0) problem(ctx, { node: n.id, annotation: at }, `$sharedBuffer belongs on a $session interface; ${nameInFile(n)} is not one`);
  }
}

/**
 * The service of interface `id` (null for a generic one), with what it extends folded in; its methods'
 * parameter and result structs are added to `methodStructs`. Its fingerprint is computed later.
 */
function serviceOf(ctx: ModelContext, id: Id, channels: ChannelsModel | null, errorIds: ReadonlySet<Id>, methodStructs: IpcModel["methodStructs"]): ServiceModel | null {
  const iface = ctx.nodes.get(id) as InterfaceTypeNode;
  const sessionAt = annotationIndex(iface.annotations, IPC.session);
  if (iface.isGeneric) {
    problem(ctx, { node: id, annotation: sessionAt >= 0 ? sessionAt : undefined }, `${nameInFile(iface)} cannot be generic: sessions and channels speak plain interfaces`);
    return null;
  }
  const methods: MethodModel[] = declaringOrder(ctx, iface).flatMap((n) => methodsOf(ctx, n, errorIds));
  addMethodStructs(ctx, methods, methodStructs);
  const bufferAt = annotationIndex(iface.annotations, IPC.sharedBuffer);
  const sharedBuffer = bufferAt < 0 ? null : Number(annotationValue(ctx, iface.annotations[bufferAt], { which: "uint32" }));
  if (sharedBuffer !== null && sessionAt < 0) problem(ctx, { node: id, annotation: bufferAt }, `$sharedBuffer belongs on a $session interface; ${nameInFile(iface)} is only a channel's`);
  if (sharedBuffer === 0) problem(ctx, { node: id, annotation: bufferAt }, "$sharedBuffer needs a size of at least 1 byte");
  return { id, isSession: sessionAt >= 0, methods, sharedBuffer, channels, fingerprint: 0n };
}

/** The interfaces whose methods a service has: superclasses first, each once, then the interface itself. */
function declaringOrder(ctx: ModelContext, iface: InterfaceTypeNode): InterfaceTypeNode[] {
  const order: InterfaceTypeNode[] = [];
  const visit = (n: InterfaceTypeNode): void => {
    if (order.includes(n)) return;
    for (const s of n.interface.superclasses) {
      const sup = ctx.nodes.get(s.id);
      if (sup?.which === "interface") visit(sup);
    }
    order.push(n);
  };
  visit(iface);
  return order;
}

/**
 * Calls and one-way methods carry their parameters and results as structs, generated with the interface
 * that declares them (signals carry nothing; a packet stream's descriptor is a struct of its own). A generic
 * one is a problem.
 */
function addMethodStructs(ctx: ModelContext, methods: readonly MethodModel[], methodStructs: IpcModel["methodStructs"]): void {
  for (const m of methods) {
    if (m.kind !== "call" && m.kind !== "oneway") continue;
    for (const side of ["params", "results"] as const) {
      const struct = ctx.nodes.get(m[side].id);
      if (struct?.isGeneric || m[side].brand.scopes.length > 0) {
        problem(ctx, { node: m.interfaceId, member: m.name }, `the ${side} of ${m.name} are a generic struct; ipcgen's stubs take plain structs`);
      }
      if (isMethodStruct(struct) && !methodStructs.some((s) => s.id === m[side].id)) {
        methodStructs.push({ id: m[side].id, interface: m.interfaceId, method: m.name, side });
      }
    }
  }
}

/**
 * A method-kind annotation on an interface that is neither a session nor a channel's has no effect, and
 * is most likely a forgotten $session.
 */
function checkMethodKindsOutsideServices(ctx: ModelContext, serviceIds: readonly Id[]): void {
  for (const n of ctx.request.nodes) {
    if (n.which !== "interface" || serviceIds.includes(n.id)) continue;
    for (const m of n.interface.methods) {
      for (const [id, what] of [[IPC.signal, "$signal"], [IPC.packetStream, "$packetStream"]] as const) {
        const at = annotationIndex(m.annotations, id);
        if (at >= 0) problem(ctx, { node: n.id, member: m.name, annotation: at }, `${what} on ${nameInFile(n)}.${m.name}, but ${nameInFile(n)} is neither a $session nor a channel's interface`);
      }
    }
  }
}

/** The nodes a service's wire format depends on, found by walking types from the interface. */
function dependencies(service: ServiceModel, nodes: Map<Id, Node>): Node[] {
  const seen = new Map<Id, Node>();
  const add = (id: Id): void => {
    const n = nodes.get(id);
    if (n === undefined || seen.has(id) || n.which === "file") return;
    seen.set(id, n);
    addAnnotations(n.annotations);
    switch (n.which) {
      case "struct":
        for (const f of n.struct.fields) {
          addAnnotations(f.annotations);
          if (f.which === "group") add(f.group.typeId);
          else addType(f.slot.type);
        }
        break;
      case "interface":
        for (const s of n.interface.superclasses) add(s.id);
        for (const m of n.interface.methods) {
          add(m.paramStructType);
          add(m.resultStructType);
          addBrand(m.paramBrand);
          addBrand(m.resultBrand);
          addAnnotations(m.annotations);
        }
        break;
      default:
        break;
    }
  };
  const addAnnotations = (list: readonly Annotation[]): void => {
    for (const a of list) {
      // Annotations of ipc.capnp change what crosses the wire; others (for other languages) do not.
      if (nodes.get(a.id)?.scopeId === IPC.file) add(a.id);
    }
  };
  const addBrand = (brand: Brand): void => {
    for (const s of brand.scopes) if (s.which === "bind") for (const b of s.bind) if (b.which === "type") addType(b.type);
  };
  const addType = (t: Type): void => {
    if (t.which === "struct") {
      add(t.struct.typeId);
      addBrand(t.struct.brand);
    } else if (t.which === "enum") add(t.enum.typeId);
    else if (t.which === "interface") {
      add(t.interface.typeId);
      addBrand(t.interface.brand);
    } else if (t.which === "list") addType(t.list.elementType);
  };
  add(service.id);
  if (service.channels !== null) add(service.channels.struct);
  for (const m of service.methods) for (const e of m.raises) add(e);
  return [...seen.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function fingerprint(service: ServiceModel, nodes: Map<Id, Node>): bigint {
  // File paths differ between builds (--src-prefix, -I): names are kept only from the file's name on.
  const stripped = dependencies(service, nodes).map((n) => ({ ...n, displayName: nameInFile(n), displayNamePrefixLength: 0 }));
  // Pointer values (e.g. $packetStream's struct) in canonical form: the fingerprint follows the values, not
  // their layout (capnp's, full-size structs, is what the request carries), and stays what it has been.
  const bytes = encodeRequest(
    { capnpVersion: { major: 0, minor: 0, micro: 0 }, nodes: stripped, sourceInfo: [], requestedFiles: [] },
    { canonicalPointers: true },
  );
  return createHash("sha256").update(bytes).digest().readBigUInt64LE(0);
}
