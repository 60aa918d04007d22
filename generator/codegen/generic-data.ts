/**
 * Generic structs in the plain view: the type parameters in scope of a struct (its own and those of every
 * generic scope around it), how a branded reference binds a target's parameters, and the pieces of
 * signatures (`GenericData`) that the parameters add. Each parameter is a TypeScript type parameter plus a
 * codec argument that reads and writes its values.
 */
import type { Brand, Node, Type } from "../model/schema.js";
import type { Ctx, StructTypeNode, TypeParam } from "./context.js";

/**
 * The pieces of the plain view's signatures that generic parameters add; all empty for a struct outside
 * any generic scope, so the templates print them unconditionally.
 */
export interface GenericData {
  /** `<Foo = codec.AnyPointerValue, ...>` on the Plain and Init types. */
  typeDecl: string;
  /** `<Foo, ...>` on methods, and as arguments of Plain/Init. */
  typeParams: string;
  /** `, Foo$: codec.PointerCodec<Foo, unknown>, ...` */
  readParams: string;
  /** `, Foo$: codec.PointerCodec<unknown, Foo>, ...` */
  writeParams: string;
  /** `<Foo, Foo$W, ...>`: the codec factory's type parameters (what reading gives, what writing takes). */
  codecTypeParams: string;
  /** `Foo$: codec.PointerCodec<Foo, Foo$W>, ...` (the codec factory's parameters). */
  codecParams: string;
  /** `<Foo$W, ...>`: the Init type's arguments in the codec factory. */
  codecInitArgs: string;
  /** `, Foo$, ...`: passing the codecs on. */
  pass: string;
  /** `, codec.anyPointerCodec, ...`: what encode/decode use (parameters read as AnyPointer). */
  anyCodecs: string;
}

/** The generic parameters in scope of node `id`: those of every generic scope from the file down to it. */
export function typeParamsOf(ctx: Ctx, id: bigint): TypeParam[] {
  const chain: Node[] = [];
  for (let n = ctx.nodes.get(id); n !== undefined && n.which !== "file"; n = ctx.nodes.get(n.scopeId)) chain.unshift(n);
  const taken = new Set(ctx.names.values());
  const out: TypeParam[] = [];
  for (const n of chain) {
    n.parameters.forEach((p, index) => {
      let name = p.name;
      while (taken.has(name)) name = `${name}_`;
      taken.add(name);
      out.push({ scopeId: n.id, index, name, codec: `${name}$` });
    });
  }
  return out;
}

const paramKey = (scopeId: bigint, index: number): string => `${scopeId}:${index}`;

/**
 * How a reference to struct `targetId` with `brand` binds each of the target's parameters, seen from the
 * struct being generated: a bound type, an inherited parameter of ours, or nothing (AnyPointer).
 */
export function brandBindings(ctx: Ctx, targetId: bigint, brand: Brand | undefined): ({ type: Type } | { param: TypeParam } | null)[] {
  return typeParamsOf(ctx, targetId).map((tp) => {
    const scope = brand?.scopes.find((sc) => sc.scopeId === tp.scopeId);
    if (scope === undefined || scope.which === "inherit") {
      // Inherit (or an enclosing scope left implicit): our own parameter of that scope, if we have it.
      const mine = ctx.params.get(paramKey(tp.scopeId, tp.index));
      return mine === undefined ? null : { param: mine };
    }
    const binding = scope.bind[tp.index];
    return binding === undefined || binding.which === "unbound" ? null : { type: binding.type };
  });
}

/** The context inside struct `node`: its type parameters are in scope. */
export function structScope(outer: Ctx, node: StructTypeNode): { ctx: Ctx; params: TypeParam[] } {
  const params = typeParamsOf(outer, node.id);
  return { ctx: { ...outer, params: new Map(params.map((p) => [paramKey(p.scopeId, p.index), p])) }, params };
}

/** How a face of the plain view spells type parameter `p` (see `Ctx.erase`). */
export function paramType(ctx: Ctx, p: TypeParam, mode: "plain" | "init"): string {
  return ctx.erase === mode ? "unknown" : p.name;
}

/** Our type parameter that an AnyPointer type names, if it names one. */
export function paramOf(ctx: Ctx, type: Type): TypeParam | undefined {
  if (type.which !== "anyPointer" || type.anyPointer.which !== "parameter") return undefined;
  return ctx.params.get(paramKey(type.anyPointer.parameter.scopeId, type.anyPointer.parameter.parameterIndex));
}

/** The signature pieces of a struct whose type parameters in scope are `params`. */
export function genericData(params: readonly TypeParam[]): GenericData {
  if (params.length === 0) {
    return { typeDecl: "", typeParams: "", readParams: "", writeParams: "", codecTypeParams: "", codecParams: "", codecInitArgs: "", pass: "", anyCodecs: "" };
  }
  return {
    typeDecl: `<${params.map((p) => `${p.name} = codec.AnyPointerValue`).join(", ")}>`,
    typeParams: `<${params.map((p) => p.name).join(", ")}>`,
    readParams: params.map((p) => `, ${p.codec}: codec.PointerCodec<${p.name}, unknown>`).join(""),
    writeParams: params.map((p) => `, ${p.codec}: codec.PointerCodec<unknown, ${p.name}>`).join(""),
    codecTypeParams: `<${params.map((p) => `${p.name}, ${p.name}$W`).join(", ")}>`,
    codecParams: params.map((p) => `${p.codec}: codec.PointerCodec<${p.name}, ${p.name}$W>`).join(", "),
    codecInitArgs: `<${params.map((p) => `${p.name}$W`).join(", ")}>`,
    pass: params.map((p) => `, ${p.codec}`).join(""),
    anyCodecs: params.map(() => ", codec.anyPointerCodec").join(""),
  };
}
