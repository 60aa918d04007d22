/**
 * The seam between the name-resolving compiler (compiler.ts) and the node translator (translate.ts), as in
 * capnp's `resolver.h`: the translator asks a `Resolver` (one per declaration) to look names up and to hand
 * over other declarations' schema nodes, and never sees the declaration tree itself.
 */
import type { BuiltinKind, Declaration, Expression } from "./ast.js";
import type { Brand, Node } from "../model/schema.js";

export type DeclKind = Declaration["which"];

/** A declaration that a name resolved to. */
export interface ResolvedDecl {
  type: "decl";
  id: bigint;
  genericParamCount: number;
  /** Id of the scope the declaration was found in; 0 for files and built-ins. */
  scopeId: bigint;
  kind: DeclKind;
  resolver: Resolver;
  /** Set when the name was an alias whose target had generic parameters applied. */
  brand: Brand | null;
}

/** A generic parameter (`T` of `struct Foo(T)`) that a name resolved to. */
export interface ResolvedParameter {
  type: "param";
  /** Id of the declaration that declares the parameter; 0 for an implicit method parameter. */
  id: bigint;
  index: number;
}

export type ResolveResult = ResolvedDecl | ResolvedParameter;

export interface Resolver {
  /** Looks a name up here, then in generic parameters, then outwards, then among the built-ins. */
  resolve(name: string): ResolveResult | null;
  /** Looks a name up among this declaration's own members only. */
  resolveMember(name: string): ResolveResult | null;
  resolveBuiltin(kind: BuiltinKind): ResolvedDecl;
  resolveId(id: bigint): ResolvedDecl;
  getParent(): ResolvedDecl | null;
  getTopScope(): ResolvedDecl;
  /** The node with its layout and primitive values, enough to build values of its type. */
  resolveBootstrapNode(id: bigint): Node | null;
  /** The finished node, with every value compiled. */
  resolveFinalNode(id: bigint): Node | null;
  resolveImport(name: string): ResolvedDecl | null;
  readEmbed(name: string): Uint8Array | null;
}

/** Implicit method parameters (`foo @0 [T] (x :T)`) in scope while compiling a method's types. */
export interface ImplicitParams {
  /** 0 while compiling the method's param list; the `$Params` struct's id inside it. */
  scopeId: bigint;
  names: string[];
}

export const NO_IMPLICIT_PARAMS: ImplicitParams = { scopeId: 0n, names: [] };

export type { Expression };
