/**
 * The ipc model: what a request's `/ipcgen/ipc.capnp` annotations declare (sessions, their methods and
 * signals, packet streams, shared buffers, channel metadata unions, errors), checked and turned into plain
 * data for the stub generator. Pure: the same request gives the same model and the same problems.
 *
 * Misuse is reported as problems naming where it was written (a node, a member, an annotation), which the
 * caller turns into `file:line:col: error: ...` with the compiler's source positions.
 */
import { createHash } from "node:crypto";
import { decodeValue, nodeLookup } from "./codec.js";
import { encodeRequest } from "./request.js";
import type { Annotation, Brand, CodeGeneratorRequest, Field, Id, Node, Type } from "./schema.js";
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

export function ipcModel(request: CodeGeneratorRequest): { model: IpcModel; problems: Problem[] } {
  const nodes = new Map(request.nodes.map((n) => [n.id, n]));
  const lookup = nodeLookup(request.nodes);
  const problems: Problem[] = [];
  const problem = (target: ProblemTarget, message: string): void => {
    problems.push({ target, message });
  };

  const annotationIndex = (annotations: readonly Annotation[], id: Id): number => annotations.findIndex((a) => a.id === id);
  const value = (a: Annotation, type: Type): unknown => {
    switch (a.value.which) {
      case "list":
        return decodeValue(type, a.value.list, lookup);
      case "struct":
        return decodeValue(type, a.value.struct, lookup);
      default:
        return (a.value as Record<string, unknown>)[a.value.which];
    }
  };

  // ---- errors: structs marked $error ----
  const errors: ErrorModel[] = [];
  for (const n of request.nodes) {
    if (n.which !== "struct") continue;
    const at = annotationIndex(n.annotations, IPC.error);
    if (at < 0) continue;
    if (n.isGeneric) problem({ node: n.id, annotation: at }, `error struct ${nameInFile(n)} cannot be generic`);
    else errors.push({ id: n.id, code: nameInFile(n) });
  }
  const errorIds = new Set(errors.map((e) => e.id));

  // ---- size bounds on fields ----
  const limitsOf = (structId: Id, where: (field: Field, index: number) => ProblemTarget): SizeLimit[] => {
    const node = nodes.get(structId);
    if (node === undefined || node.which !== "struct") return [];
    const out: SizeLimit[] = [];
    for (const f of node.struct.fields) {
      const at = annotationIndex(f.annotations, IPC.maxSize);
      if (at < 0) continue;
      const type = f.which === "slot" ? f.slot.type.which : "group";
      if (type !== "text" && type !== "data" && type !== "list") {
        problem(where(f, at), `$maxSize bounds Text, Data and List fields; ${f.name} is ${type === "group" ? "a group" : `${/^(Int|Interface|Enum|AnyPointer)/.test(capnpTypeName(type)) ? "an" : "a"} ${capnpTypeName(type)}`}`);
        continue;
      }
      out.push({ field: f.name, max: Number(value(f.annotations[at], { which: "uint32" })) });
    }
    return out;
  };
  // $maxSize anywhere else than a method's parameters or results is checked for its type but has no effect.
  for (const n of request.nodes) {
    if (n.which === "struct" && !isMethodStruct(n)) limitsOf(n.id, (f, at) => ({ node: n.id, member: f.name, annotation: at }));
  }

  /** Resolves a `$raises` name the way a type name is looked up: from the interface's scope outwards. */
  const resolveName = (from: Id, name: string): Node | null => {
    const absolute = name.startsWith(".");
    const parts = name.replace(/^\./, "").split(".");
    const within = (scope: Node): Node | null => {
      let found: Node | undefined = scope;
      for (const part of parts) {
        const next: Id | undefined = found.nestedNodes.find((x) => x.name === part)?.id;
        found = next === undefined ? undefined : nodes.get(next);
        if (found === undefined) return null;
      }
      return found;
    };
    const scopes: Node[] = [];
    for (let scope = nodes.get(from); scope !== undefined; scope = scope.which === "file" ? undefined : nodes.get(scope.scopeId)) scopes.push(scope);
    for (const scope of absolute ? scopes.slice(-1) : scopes) {
      const found = within(scope);
      if (found !== null) return found;
    }
    return null;
  };

  // ---- methods of one interface ----
  const methodsOf = (iface: Extract<Node, { which: "interface" }>): MethodModel[] => {
    const ifaceTimeoutAt = annotationIndex(iface.annotations, IPC.timeoutMs);
    const ifaceTimeout = ifaceTimeoutAt < 0 ? null : Number(value(iface.annotations[ifaceTimeoutAt], { which: "uint32" }));
    if (ifaceTimeout === 0) problem({ node: iface.id, annotation: ifaceTimeoutAt }, "$timeoutMs must be more than 0");
    // The request lists an interface's methods by ordinal.
    return iface.interface.methods.map((m, ordinal) => {
      const target = (annotation?: number): ProblemTarget => ({ node: iface.id, member: m.name, annotation });
      const kinds: [MethodKind, number][] = (
        [
          ["oneway", annotationIndex(m.annotations, IPC.oneway)],
          ["signal", annotationIndex(m.annotations, IPC.signal)],
          ["packetStream", annotationIndex(m.annotations, IPC.packetStream)],
        ] as [MethodKind, number][]
      ).filter(([, at]) => at >= 0);
      if (kinds.length > 1) problem(target(kinds[1][1]), `${m.name} cannot be both ${kinds[0][0]} and ${kinds[1][0]}`);
      const [kind, kindAt] = kinds[0] ?? ["call", -1];
      const params = nodes.get(m.paramStructType);
      const results = nodes.get(m.resultStructType);
      let direction: Direction | null = null;
      let stream: PacketStreamModel | null = null;
      if (kind === "oneway" && !isEmptyStruct(results)) {
        problem(target(kindAt), `one-way method ${m.name} cannot have results: nobody waits for them (declare it \`-> ()\`)`);
      }
      if (kind === "signal") {
        direction = value(m.annotations[kindAt], { which: "enum", enum: { typeId: IPC.direction, brand: { scopes: [] } } }) === 1 ? "toClient" : "toServer";
        if (!isEmptyStruct(params) || !isEmptyStruct(results)) {
          problem(
            target(kindAt),
            `signal ${m.name} carries no payload: declare it \`() -> ()\`, and let the receiver fetch the state by a call`,
          );
        }
      }
      if (kind === "packetStream") {
        const config = value(m.annotations[kindAt], { which: "struct", struct: { typeId: IPC.packetStreamConfig, brand: { scopes: [] } } }) as {
          direction: string;
          ringSize: number;
          bufferSize: number;
        };
        direction = config.direction === "toClient" ? "toClient" : "toServer";
        const descriptor = params !== undefined && !isMethodStruct(params) ? params : undefined;
        if (descriptor === undefined || descriptor.which !== "struct") {
          problem(target(kindAt), `packet stream ${m.name} needs a descriptor struct as its parameter type (\`${m.name} @${ordinal} Packet -> ()\`)`);
        } else {
          const field = (name: string): Field | undefined => descriptor.struct.fields.find((f) => f.name === name);
          // Descriptors travel in fixed-size ring slots: their data section, so no pointers.
          if (descriptor.struct.pointerCount > 0 || descriptor.isGeneric) {
            problem(target(kindAt), `the descriptor ${nameInFile(descriptor)} of packet stream ${m.name} may hold only numbers, Bools and enums (it travels in a fixed-size ring slot)`);
          }
          for (const [name, types] of [["offset", ["uint64", "uint32"]], ["size", ["uint32", "uint64"]]] as const) {
            const f = field(name);
            const type = f?.which === "slot" ? f.slot.type.which : null;
            if (type === null || !(types as readonly string[]).includes(type)) {
              problem(target(kindAt), `the descriptor ${nameInFile(descriptor)} of packet stream ${m.name} needs a field \`${name} :${types[0] === "uint64" ? "UInt64" : "UInt32"}\``);
            }
          }
          const place = (name: string): { at: number; bytes: 4 | 8 } => {
            const f = field(name);
            const bytes = f?.which === "slot" && f.slot.type.which === "uint64" ? 8 : 4;
            return { at: f?.which === "slot" ? f.slot.offset * bytes : 0, bytes };
          };
          const offset = place("offset");
          const size = place("size");
          stream = {
            direction,
            ringSize: config.ringSize,
            bufferSize: config.bufferSize,
            descriptor: descriptor.id,
            layout: { dataWords: descriptor.struct.dataWordCount, offsetAt: offset.at, offsetBytes: offset.bytes, sizeAt: size.at, sizeBytes: size.bytes },
          };
        }
        if (!isEmptyStruct(results)) problem(target(kindAt), `packet stream ${m.name} cannot have results (declare it \`-> ()\`)`);
        if (config.ringSize < 2 || config.ringSize > 65536) problem(target(kindAt), `ringSize of ${m.name} must be between 2 and 65536, not ${config.ringSize}`);
        if (config.bufferSize < 64) problem(target(kindAt), `bufferSize of ${m.name} must be at least 64 bytes, not ${config.bufferSize}`);
      }
      const timeoutAt = annotationIndex(m.annotations, IPC.timeoutMs);
      let timeoutMs = ifaceTimeout;
      if (timeoutAt >= 0) {
        timeoutMs = Number(value(m.annotations[timeoutAt], { which: "uint32" }));
        if (timeoutMs === 0) problem(target(timeoutAt), "$timeoutMs must be more than 0");
        if (kind !== "call") problem(target(timeoutAt), `$timeoutMs applies to calls that wait for an answer; ${m.name} is a ${kind === "packetStream" ? "packet stream" : kind}`);
      }
      const raises: Id[] = [];
      const raisesAt = annotationIndex(m.annotations, IPC.raises);
      if (raisesAt >= 0) {
        if (kind !== "call") problem(target(raisesAt), `only calls that wait for an answer can raise errors; ${m.name} is a ${kind === "packetStream" ? "packet stream" : kind}`);
        for (const name of value(m.annotations[raisesAt], { which: "list", list: { elementType: { which: "text" } } }) as string[]) {
          const found = resolveName(iface.id, name);
          if (found === null) problem(target(raisesAt), `$raises names ${name}, but no struct of that name is in scope`);
          else if (!errorIds.has(found.id)) problem(target(raisesAt), `$raises names ${name}, which is not a struct marked $error`);
          else if (!raises.includes(found.id)) raises.push(found.id);
        }
      }
      const side = (s: "params" | "results") => (f: Field, at: number): ProblemTarget =>
        isMethodStruct(s === "params" ? params : results) ? { node: iface.id, member: m.name, param: { side: s, name: f.name }, annotation: at } : { node: (s === "params" ? params : results)!.id, member: f.name, annotation: at };
      return {
        name: m.name,
        interfaceId: iface.id,
        methodId: ordinal,
        kind,
        params: { id: m.paramStructType, brand: m.paramBrand },
        results: { id: m.resultStructType, brand: m.resultBrand },
        direction,
        timeoutMs: kind === "call" ? timeoutMs : null,
        raises,
        paramLimits: limitsOf(m.paramStructType, side("params")),
        resultLimits: limitsOf(m.resultStructType, side("results")),
        stream,
      };
    });
  };

  // ---- channel metadata unions ----
  const channelsOf = new Map<Id, ChannelsModel>();
  const channelTargets: Id[] = [];
  for (const n of request.nodes) {
    if (n.which !== "struct") continue;
    const at = annotationIndex(n.annotations, IPC.channels);
    if (at < 0) continue;
    const here = { node: n.id, annotation: at };
    const scope = nodes.get(n.scopeId);
    if (scope === undefined || scope.which !== "interface" || annotationIndex(scope.annotations, IPC.session) < 0) {
      problem(here, `$channels struct ${nameInFile(n)} must be nested in the session interface whose channels it describes`);
      continue;
    }
    if (channelsOf.has(scope.id)) {
      problem(here, `${nameInFile(scope)} already has a $channels struct; a session has one`);
      continue;
    }
    const members = n.struct.fields;
    if (n.struct.discriminantCount === 0 || members.some((f) => f.discriminantValue === 0xffff)) {
      problem(here, `$channels struct ${nameInFile(n)} must hold only an unnamed union, one arm per kind of channel`);
      continue;
    }
    const arms: ChannelArmModel[] = [];
    for (const f of members) {
      const type = f.which === "slot" ? f.slot.type : null;
      const where = { node: n.id, member: f.name };
      if (type?.which !== "struct" || (type.struct.typeId !== IPC.channel && type.struct.typeId !== IPC.channelWith)) {
        problem(where, `channel arm ${f.name} names no interface: its type must be ipc.Channel(Interface) or ipc.ChannelWith(Interface, Params)`);
        continue;
      }
      const binding = type.struct.brand.scopes.find((s) => s.scopeId === type.struct.typeId);
      const bound = binding?.which === "bind" ? binding.bind : [];
      const iface = bound[0]?.which === "type" ? bound[0].type : null;
      const params = bound[1]?.which === "type" ? bound[1].type : null;
      if (iface?.which !== "interface") {
        problem(where, `channel arm ${f.name} names no interface: bind the first parameter to an interface`);
        continue;
      }
      if (type.struct.typeId === IPC.channelWith && params?.which !== "struct") {
        problem(where, `the parameters of channel arm ${f.name} must be a struct`);
        continue;
      }
      const target = nodes.get(iface.interface.typeId);
      if (target === undefined || target.isGeneric) {
        problem(where, `channel arm ${f.name}: interface ${target === undefined ? "?" : nameInFile(target)} is generic; a channel speaks a plain interface`);
        continue;
      }
      arms.push({ name: f.name, discriminant: f.discriminantValue, interface: target.id, params: params?.which === "struct" ? params.struct.typeId : null });
      channelTargets.push(target.id);
    }
    channelsOf.set(scope.id, { struct: n.id, arms });
  }

  // ---- services: sessions and channel interfaces ----
  const serviceIds: Id[] = [];
  for (const n of request.nodes) {
    if (n.which === "interface" && annotationIndex(n.annotations, IPC.session) >= 0) serviceIds.push(n.id);
  }
  for (const id of channelTargets) if (!serviceIds.includes(id)) serviceIds.push(id);

  // Annotations that only mean something on a session or a channel's interface.
  for (const n of request.nodes) {
    if (n.which !== "interface" || serviceIds.includes(n.id)) continue;
    const at = annotationIndex(n.annotations, IPC.sharedBuffer);
    if (at >= 0) problem({ node: n.id, annotation: at }, `$sharedBuffer belongs on a $session interface; ${nameInFile(n)} is not one`);
  }

  const methodStructs: IpcModel["methodStructs"] = [];
  const services: ServiceModel[] = [];
  for (const id of serviceIds) {
    const iface = nodes.get(id) as Extract<Node, { which: "interface" }>;
    const sessionAt = annotationIndex(iface.annotations, IPC.session);
    if (iface.isGeneric) {
      problem({ node: id, annotation: sessionAt >= 0 ? sessionAt : undefined }, `${nameInFile(iface)} cannot be generic: sessions and channels speak plain interfaces`);
      continue;
    }
    // Superclasses first, each once, then the interface's own methods.
    const order: Extract<Node, { which: "interface" }>[] = [];
    const visit = (n: Extract<Node, { which: "interface" }>): void => {
      if (order.includes(n)) return;
      for (const s of n.interface.superclasses) {
        const sup = nodes.get(s.id);
        if (sup?.which === "interface") visit(sup);
      }
      order.push(n);
    };
    visit(iface);
    const methods: MethodModel[] = order.flatMap((n) => methodsOf(n));
    // Calls and one-way methods carry their parameters and results as structs, generated with the
    // interface that declares them (signals carry nothing; a packet stream's descriptor is a struct of its own).
    for (const m of methods) {
      if (m.kind !== "call" && m.kind !== "oneway") continue;
      for (const side of ["params", "results"] as const) {
        const struct = nodes.get(m[side].id);
        if (struct?.isGeneric || m[side].brand.scopes.length > 0) {
          problem({ node: m.interfaceId, member: m.name }, `the ${side} of ${m.name} are a generic struct; ipcgen's stubs take plain structs`);
        }
        if (isMethodStruct(struct) && !methodStructs.some((s) => s.id === m[side].id)) {
          methodStructs.push({ id: m[side].id, interface: m.interfaceId, method: m.name, side });
        }
      }
    }
    const bufferAt = annotationIndex(iface.annotations, IPC.sharedBuffer);
    const sharedBuffer = bufferAt < 0 ? null : Number(value(iface.annotations[bufferAt], { which: "uint32" }));
    if (sharedBuffer !== null && sessionAt < 0) problem({ node: id, annotation: bufferAt }, `$sharedBuffer belongs on a $session interface; ${nameInFile(iface)} is only a channel's`);
    if (sharedBuffer === 0) problem({ node: id, annotation: bufferAt }, "$sharedBuffer needs a size of at least 1 byte");
    services.push({ id, isSession: sessionAt >= 0, methods, sharedBuffer, channels: channelsOf.get(id) ?? null, fingerprint: 0n });
  }
  for (const s of services) s.fingerprint = fingerprint(s, nodes);

  // A method-kind annotation on an interface that is neither a session nor a channel's has no effect, and
  // is most likely a forgotten $session.
  for (const n of request.nodes) {
    if (n.which !== "interface" || serviceIds.includes(n.id)) continue;
    for (const m of n.interface.methods) {
      for (const [id, what] of [[IPC.signal, "$signal"], [IPC.packetStream, "$packetStream"]] as const) {
        const at = annotationIndex(m.annotations, id);
        if (at >= 0) problem({ node: n.id, member: m.name, annotation: at }, `${what} on ${nameInFile(n)}.${m.name}, but ${nameInFile(n)} is neither a $session nor a channel's interface`);
      }
    }
  }

  return { model: { services, errors, methodStructs }, problems };
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
