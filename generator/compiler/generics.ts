/**
 * Generics: which generic parameters are bound to what while an expression names a declaration.
 *
 * A `BrandScope` is a chain from the declaration being named out to the file, one level per enclosing
 * declaration, each level either bound (`params`), inherited (the parameters of the scope we are compiling
 * in, written as `inherit` in a Brand), or neither (unbound). A `BrandedDecl` is a resolved name plus its
 * scope chain. Both are immutable: applying parameters makes a new scope.
 */
import type { BuiltinKind, Expression } from "./ast.js";
import type { ErrorReporter } from "./diagnostics.js";
import { expressionString } from "./expression-string.js";
import type { Brand, BrandScope as SchemaBrandScope, Type } from "../model/schema.js";
import {
  NO_IMPLICIT_PARAMS,
  type DeclKind,
  type ImplicitParams,
  type ResolvedDecl,
  type ResolvedParameter,
  type ResolveResult,
  type Resolver,
} from "./resolver.js";

function addErrorOn(errors: ErrorReporter, source: Expression | { start: number; end: number } | null, message: string) {
  if (source === null) errors.addError(0, 0, message);
  else errors.addError(source.start, source.end, message);
}

/** Kinds that may bind a generic parameter: only pointer types. */
const POINTER_KINDS: ReadonlySet<DeclKind> = new Set<DeclKind>([
  "builtinList",
  "builtinText",
  "builtinData",
  "builtinAnyPointer",
  "struct",
  "interface",
]);

export class BrandedDecl {
  private constructor(
    readonly body: ResolvedDecl | ResolvedParameter,
    /** Null exactly when `body` is a parameter. */
    readonly brand: BrandScope | null,
    readonly source: Expression | null,
  ) {}

  static ofDecl(decl: ResolvedDecl, brand: BrandScope, source: Expression | null): BrandedDecl {
    return new BrandedDecl(decl, brand, source);
  }

  static ofParam(param: ResolvedParameter, source: Expression | null): BrandedDecl {
    return new BrandedDecl(param, null, source);
  }

  static implicitMethodParam(index: number): BrandedDecl {
    return new BrandedDecl({ type: "param", id: 0n, index }, null, null);
  }

  withSource(source: Expression | null): BrandedDecl {
    return new BrandedDecl(this.body, this.brand, source);
  }

  get kind(): DeclKind | null {
    return this.body.type === "decl" ? this.body.kind : null;
  }

  get decl(): ResolvedDecl {
    if (this.body.type !== "decl") throw new Error("internal: not a declaration");
    return this.body;
  }

  addError(errors: ErrorReporter, message: string): void {
    addErrorOn(errors, this.source, message);
  }

  toString(): string {
    return this.source === null ? "" : expressionString(this.source);
  }

  applyParams(params: BrandedDecl[], subSource: Expression | null): BrandedDecl | null {
    if (this.body.type === "param") return null;
    const scope = this.brand!.setParams(params, this.body.kind, subSource);
    return scope === null ? null : new BrandedDecl(this.body, scope, subSource);
  }

  getMember(name: string, subSource: Expression | null): BrandedDecl | null {
    if (this.body.type === "param") return null;
    const r = this.body.resolver.resolveMember(name);
    return r === null ? null : this.brand!.interpretResolve(this.body.resolver, r, subSource);
  }

  /** The element type of a `List(...)`, or null if it was not given exactly one parameter. */
  listParam(): BrandedDecl | null {
    const params = this.brand!.getParams(this.decl.id);
    return params !== null && params.length === 1 ? params[0] : null;
  }

  /** The declaration's id; the brand (the bindings in scope) goes to the caller through `setBrand`. */
  idAndBrand(): { id: bigint; brand: Brand | null } {
    return { id: this.decl.id, brand: this.brand!.compile() };
  }

  /** Compiles to a schema Type; reports and returns null when this is not a type. */
  compileAsType(errors: ErrorReporter): Type | null {
    const { type, ok } = this.compileAsPartialType(errors);
    return ok ? type : null;
  }

  /**
   * Compiles to a schema Type, also when that fails (after reporting): then `type` is what capnp's builder
   * holds, Void, or a List whose element is what its own compilation left (Void after `List(AnyPointer)`).
   * An annotation's value is checked against that type (`Type mismatch; expected List(Void).`).
   */
  compileAsPartialType(errors: ErrorReporter): { type: Type; ok: boolean } {
    const VOID: Type = { which: "void" };
    if (this.body.type === "param") {
      const v = this.body;
      const type: Type = v.id === 0n
        ? { which: "anyPointer", anyPointer: { which: "implicitMethodParameter", implicitMethodParameter: { parameterIndex: v.index } } }
        : { which: "anyPointer", anyPointer: { which: "parameter", parameter: { scopeId: v.id, parameterIndex: v.index } } };
      return { type, ok: true };
    }
    const kind = this.body.kind;
    switch (kind) {
      case "enum":
      case "struct":
      case "interface": {
        const { id, brand } = this.idAndBrand();
        const ref = { typeId: id, brand: brand ?? { scopes: [] } };
        if (kind === "enum") return { type: { which: "enum", enum: ref }, ok: true };
        if (kind === "struct") return { type: { which: "struct", struct: ref }, ok: true };
        return { type: { which: "interface", interface: ref }, ok: true };
      }
      case "builtinList": {
        const listOf = (elementType: Type): Type => ({ which: "list", list: { elementType } });
        const param = this.listParam();
        if (param === null) {
          this.addError(errors, "'List' requires exactly one parameter.");
          return { type: listOf(VOID), ok: false };
        }
        const element = param.compileAsPartialType(errors);
        if (!element.ok) return { type: listOf(element.type), ok: false };
        if (element.type.which === "anyPointer") {
          const u = unconstrainedKind(element.type.anyPointer);
          if (u === "anyKind") {
            this.addError(errors, "'List(AnyPointer)' is not supported.");
            return { type: listOf(VOID), ok: false };
          }
          if (u === "struct") {
            this.addError(errors, "'List(AnyStruct)' is not supported.");
            return { type: listOf(VOID), ok: false };
          }
        }
        return { type: listOf(element.type), ok: true };
      }
      case "builtinVoid": return { type: { which: "void" }, ok: true };
      case "builtinBool": return { type: { which: "bool" }, ok: true };
      case "builtinInt8": return { type: { which: "int8" }, ok: true };
      case "builtinInt16": return { type: { which: "int16" }, ok: true };
      case "builtinInt32": return { type: { which: "int32" }, ok: true };
      case "builtinInt64": return { type: { which: "int64" }, ok: true };
      case "builtinUInt8": return { type: { which: "uint8" }, ok: true };
      case "builtinUInt16": return { type: { which: "uint16" }, ok: true };
      case "builtinUInt32": return { type: { which: "uint32" }, ok: true };
      case "builtinUInt64": return { type: { which: "uint64" }, ok: true };
      case "builtinFloat32": return { type: { which: "float32" }, ok: true };
      case "builtinFloat64": return { type: { which: "float64" }, ok: true };
      case "builtinText": return { type: { which: "text" }, ok: true };
      case "builtinData": return { type: { which: "data" }, ok: true };
      case "builtinObject":
        this.addError(
          errors,
          "As of Cap'n Proto 0.4, 'Object' has been renamed to 'AnyPointer'.  Sorry for the inconvenience, and thanks for being an early adopter.  :)",
        );
        return { type: anyPointer("anyKind"), ok: true };
      case "builtinAnyPointer": return { type: anyPointer("anyKind"), ok: true };
      case "builtinAnyStruct": return { type: anyPointer("struct"), ok: true };
      case "builtinAnyList": return { type: anyPointer("list"), ok: true };
      case "builtinCapability": return { type: anyPointer("capability"), ok: true };
      default:
        this.addError(errors, `'${this.toString()}' is not a type.`);
        return { type: VOID, ok: false };
    }
  }

  /** Turns this back into a resolve result, as an alias (`using`) stores it. */
  asResolveResult(scopeId: bigint): ResolveResult {
    if (this.body.type === "param") return this.body;
    return { ...this.body, scopeId, brand: this.brand!.compile() ?? { scopes: [] } };
  }
}

/**
 * What capnp's check of a list's element type reads as the kind of an unconstrained AnyPointer: it calls
 * `getUnconstrained()` whatever the AnyPointer is, and a generic parameter's (or an implicit method
 * parameter's) `parameterIndex` shares the unconstrained union's discriminant word. So `List(T)` of the
 * first parameter reads as `List(AnyPointer)` and of the second as `List(AnyStruct)`, both refused.
 */
function unconstrainedKind(ap: Extract<Type, { which: "anyPointer" }>["anyPointer"]): string | null {
  const UNCONSTRAINED = ["anyKind", "struct", "list", "capability"];
  switch (ap.which) {
    case "unconstrained": return ap.unconstrained.which;
    case "parameter": return UNCONSTRAINED[ap.parameter.parameterIndex] ?? null;
    case "implicitMethodParameter": return UNCONSTRAINED[ap.implicitMethodParameter.parameterIndex] ?? null;
  }
}

function anyPointer(kind: "anyKind" | "struct" | "list" | "capability"): Type {
  return { which: "anyPointer", anyPointer: { which: "unconstrained", unconstrained: { which: kind } } };
}

export class BrandScope {
  private constructor(
    readonly errors: ErrorReporter,
    readonly parent: BrandScope | null,
    readonly leafId: bigint,
    readonly leafParamCount: number,
    readonly inherited: boolean,
    readonly params: readonly BrandedDecl[],
  ) {}

  /** The scope chain of a declaration being compiled: every level inherits its own parameters. */
  static forScope(errors: ErrorReporter, scopeId: bigint, paramCount: number, scope: Resolver): BrandScope {
    const p = scope.getParent();
    const parent = p === null ? null : BrandScope.forScope(errors, p.id, p.genericParamCount, p.resolver);
    return new BrandScope(errors, parent, scopeId, paramCount, true, []);
  }

  /** A root level with no parameters and no parent. */
  static empty(errors: ErrorReporter, scopeId: bigint): BrandScope {
    return new BrandScope(errors, null, scopeId, 0, false, []);
  }

  isGeneric(): boolean {
    return this.leafParamCount > 0 || (this.parent !== null && this.parent.isGeneric());
  }

  push(typeId: bigint, paramCount: number): BrandScope {
    return new BrandScope(this.errors, this, typeId, paramCount, false, []);
  }

  withParams(params: BrandedDecl[]): BrandScope {
    return new BrandScope(this.errors, this.parent, this.leafId, this.leafParamCount, false, params);
  }

  setParams(params: BrandedDecl[], genericType: DeclKind, source: Expression | null): BrandScope | null {
    if (this.params.length !== 0) {
      addErrorOn(this.errors, source, "Double-application of generic parameters.");
      return null;
    }
    if (params.length > this.leafParamCount) {
      addErrorOn(
        this.errors,
        source,
        this.leafParamCount === 0 ? "Declaration does not accept generic parameters." : "Too many generic parameters.",
      );
      return null;
    }
    if (params.length < this.leafParamCount) {
      addErrorOn(this.errors, source, "Not enough generic parameters.");
      return null;
    }
    if (genericType !== "builtinList") {
      for (const param of params) {
        const kind = param.kind;
        if (kind !== null && !POINTER_KINDS.has(kind)) {
          param.addError(this.errors, "Sorry, only pointer types can be used as generic parameters.");
        }
      }
    }
    return this.withParams(params);
  }

  /** The scope as seen from `newLeafId`, one of the enclosing declarations (or a fresh root). */
  pop(newLeafId: bigint): BrandScope {
    if (this.leafId === newLeafId) return this;
    if (this.parent !== null) return this.parent.pop(newLeafId);
    return BrandScope.empty(this.errors, newLeafId);
  }

  lookupParameter(resolver: Resolver, scopeId: bigint, index: number): BrandedDecl | null {
    if (scopeId === this.leafId) {
      if (index < this.params.length) return this.params[index];
      if (this.inherited) return null;
      const decl = resolver.resolveBuiltin("builtinAnyPointer");
      return BrandedDecl.ofDecl(decl, this.evaluateBrand(resolver, decl, []), null);
    }
    if (this.parent !== null) return this.parent.lookupParameter(resolver, scopeId, index);
    throw new Error("internal: scope is not a parent");
  }

  getParams(scopeId: bigint): readonly BrandedDecl[] | null {
    if (scopeId === this.leafId) return this.inherited ? null : this.params;
    if (this.parent !== null) return this.parent.getParams(scopeId);
    throw new Error("internal: scope is not a parent");
  }

  interpretResolve(resolver: Resolver, result: ResolveResult, source: Expression | null): BrandedDecl {
    if (result.type === "decl") {
      let scope = this.pop(result.scopeId);
      scope =
        result.brand !== null
          ? scope.evaluateBrand(resolver, result, result.brand.scopes)
          : scope.push(result.id, result.genericParamCount);
      return BrandedDecl.ofDecl(result, scope, source);
    }
    return this.lookupParameter(resolver, result.id, result.index) ?? BrandedDecl.ofParam(result, source);
  }

  /** Rebuilds a scope chain from a schema Brand (an alias target, a decompiled type). */
  evaluateBrand(resolver: Resolver, decl: ResolvedDecl, brand: readonly SchemaBrandScope[], index = 0): BrandScope {
    let params: BrandedDecl[] = [];
    let inherited = false;
    if (index < brand.length) {
      const next = brand[index];
      if (decl.id === next.scopeId) {
        if (next.which === "bind") {
          params = next.bind.map((binding) => {
            if (binding.which === "unbound") {
              const any = resolver.resolveBuiltin("builtinAnyPointer");
              return BrandedDecl.ofDecl(any, BrandScope.empty(this.errors, any.scopeId), null);
            }
            return this.decompileType(resolver, binding.type);
          });
        } else {
          const inheritedParams = this.getParams(decl.id);
          if (inheritedParams !== null) params = [...inheritedParams];
          else inherited = true;
        }
        index++;
      }
    }
    const p = decl.resolver.getParent();
    const parent = p === null ? null : this.evaluateBrand(resolver, p, brand, index);
    return new BrandScope(this.errors, parent, decl.id, decl.genericParamCount, inherited, params);
  }

  decompileType(resolver: Resolver, type: Type): BrandedDecl {
    const builtin = (kind: BuiltinKind): BrandedDecl => {
      const decl = resolver.resolveBuiltin(kind);
      return BrandedDecl.ofDecl(decl, this.evaluateBrand(resolver, decl, []), null);
    };
    const named = (ref: { typeId: bigint; brand: Brand }): BrandedDecl => {
      const decl = resolver.resolveId(ref.typeId);
      return BrandedDecl.ofDecl(decl, this.evaluateBrand(resolver, decl, ref.brand.scopes), null);
    };
    switch (type.which) {
      case "void": return builtin("builtinVoid");
      case "bool": return builtin("builtinBool");
      case "int8": return builtin("builtinInt8");
      case "int16": return builtin("builtinInt16");
      case "int32": return builtin("builtinInt32");
      case "int64": return builtin("builtinInt64");
      case "uint8": return builtin("builtinUInt8");
      case "uint16": return builtin("builtinUInt16");
      case "uint32": return builtin("builtinUInt32");
      case "uint64": return builtin("builtinUInt64");
      case "float32": return builtin("builtinFloat32");
      case "float64": return builtin("builtinFloat64");
      case "text": return builtin("builtinText");
      case "data": return builtin("builtinData");
      case "enum": return named(type.enum);
      case "interface": return named(type.interface);
      case "struct": return named(type.struct);
      case "list": {
        const element = this.decompileType(resolver, type.list.elementType);
        return builtin("builtinList").applyParams([element], null)!;
      }
      case "anyPointer": {
        const ap = type.anyPointer;
        if (ap.which === "unconstrained") return builtin("builtinAnyPointer");
        if (ap.which === "parameter") {
          const { scopeId, parameterIndex } = ap.parameter;
          return (
            this.lookupParameter(resolver, scopeId, parameterIndex) ??
            BrandedDecl.ofParam({ type: "param", id: scopeId, index: parameterIndex }, null)
          );
        }
        throw new Error("internal: alias pointed to an implicit method type parameter");
      }
    }
  }

  /** Compiles the chain into a schema Brand: one scope per level that binds or inherits; null if none. */
  compile(): Brand | null {
    const levels: BrandScope[] = [];
    for (let s: BrandScope | null = this; s !== null; s = s.parent) {
      if (s.params.length > 0 || (s.inherited && s.leafParamCount > 0)) levels.push(s);
    }
    if (levels.length === 0) return null;
    return {
      scopes: levels.map((level): SchemaBrandScope => {
        if (level.inherited) return { scopeId: level.leafId, which: "inherit" };
        return {
          scopeId: level.leafId,
          which: "bind",
          bind: level.params.map((p) => {
            // A parameter that failed to compile still takes its place, as what capnp's builder holds.
            return { which: "type" as const, type: p.compileAsPartialType(this.errors).type };
          }),
        };
      }),
    };
  }

  compileDeclExpression(source: Expression, resolver: Resolver, implicit: ImplicitParams = NO_IMPLICIT_PARAMS): BrandedDecl | null {
    switch (source.which) {
      case "unknown":
        return null;
      case "positiveInt":
      case "negativeInt":
      case "float":
      case "string":
      case "binary":
      case "list":
      case "tuple":
      case "embed":
        addErrorOn(this.errors, source, "Expected name.");
        return null;
      case "relativeName": {
        const name = source.name.value;
        const i = implicit.names.indexOf(name);
        if (i >= 0) {
          return implicit.scopeId === 0n
            ? BrandedDecl.implicitMethodParam(i)
            : BrandedDecl.ofParam({ type: "param", id: implicit.scopeId, index: i }, null);
        }
        const r = resolver.resolve(name);
        if (r === null) {
          addErrorOn(this.errors, source.name, `Not defined: ${name}`);
          return null;
        }
        return this.interpretResolve(resolver, r, source);
      }
      case "absoluteName": {
        const r = resolver.getTopScope().resolver.resolveMember(source.name.value);
        if (r === null) {
          addErrorOn(this.errors, source.name, `Not defined: ${source.name.value}`);
          return null;
        }
        return this.interpretResolve(resolver, r, source);
      }
      case "import": {
        const decl = resolver.resolveImport(source.path.value);
        if (decl === null) {
          addErrorOn(this.errors, source.path, `Import failed: ${source.path.value}`);
          return null;
        }
        return BrandedDecl.ofDecl(decl, BrandScope.forScope(this.errors, decl.id, decl.genericParamCount, decl.resolver), source);
      }
      case "application": {
        const decl = this.compileDeclExpression(source.function, resolver, implicit);
        if (decl === null) return null;
        const compiled: BrandedDecl[] = [];
        let failed = false;
        for (const param of source.params) {
          if (param.name !== null) addErrorOn(this.errors, param.name, "Named parameter not allowed here.");
          const d = this.compileDeclExpression(param.value, resolver, implicit);
          if (d === null) failed = true;
          else compiled.push(d);
        }
        if (failed) return decl;
        return decl.applyParams(compiled, source) ?? decl;
      }
      case "member": {
        const decl = this.compileDeclExpression(source.parent, resolver, implicit);
        if (decl === null) return null;
        const member = decl.getMember(source.name.value, source);
        if (member === null) {
          addErrorOn(
            this.errors,
            source.name,
            `'${expressionString(source.parent)}' has no member named '${source.name.value}'`,
          );
          return null;
        }
        return member;
      }
    }
  }
}
