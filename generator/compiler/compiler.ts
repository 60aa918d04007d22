/**
 * The compiler: declarations of every loaded file as a tree of `DeclNode`s, name resolution over that tree,
 * and the order in which nodes are compiled and collected into a `CodeGeneratorRequest`, following capnp
 * 0.9.2's compiler.c++.
 *
 * A node advances through states on demand: STUB (known by name), EXPANDED (its nested declarations
 * known), BOOTSTRAP (translated: layout and primitive values) and FINISHED (all values compiled). Asking for
 * a state a node is already computing means a declaration depends on itself, which is an error.
 */
import type { BuiltinKind, Declaration, Expression, ParamList, ParsedFile } from "./ast.js";
import { formatDiagnostic, type Diagnostic, type ErrorReporter } from "./diagnostics.js";
import { BrandScope } from "./generics.js";
import { childId, formatId } from "./ids.js";
import { LayoutBadNewsError } from "./layout.js";
import { ModuleLoader, type Module } from "./modules.js";
import { parseFile } from "./parser.js";
import { sourceLocations, type SourceLocations } from "./locations.js";
import type { ResolvedDecl, ResolveResult, Resolver } from "./resolver.js";
import { NodeTranslator, type NodeSet } from "./translate.js";
import type { Annotation, Brand, CodeGeneratorRequest, Node, RequestedFile, SourceInfo, Type } from "../model/schema.js";
import { forgetPlans } from "../model/codec.js";

export interface CompileOptions {
  /** `-I` directories, searched in order for absolute imports (`import "/foo/bar.capnp"`). */
  importPath?: string[];
  /** Search ipcgen's bundled standard directory (which holds `/capnp/*.capnp`) after `importPath`. Default true. */
  standardImport?: boolean;
  /** `--src-prefix`: a prefix stripped from the names of requested files to make their display names. */
  srcPrefixes?: string[];
}

export interface CompileResult {
  /** Nodes of every file loaded (requested and imported); `requestedFiles` lists only the requested ones. */
  request: CodeGeneratorRequest;
  /** Every error found, in the order found. */
  diagnostics: Diagnostic[];
  /** The same errors formatted as capnp prints them (`file:LINE:COL-COL: error: MESSAGE`). */
  messages: string[];
  /** True when there were no errors; the request is only meaningful then. */
  ok: boolean;
  /** Every schema file read (requested and imported), by absolute path: what a watcher watches. */
  files: string[];
  /** Every schema file compiled, with where it was found. */
  sources: SourceFile[];
  /** The paths `import "name"` in file `errorName` (as diagnostics name it) looked at, in order. */
  importCandidates(errorName: string, name: string): string[];
  /** Positions of what the request names, for errors found after compilation. */
  locations: SourceLocations;
}

export interface SourceFile {
  /** The file node's id. */
  id: bigint;
  /** Its name in the request (the path inside the directory it was found in). */
  displayName: string;
  /** How error messages name it. */
  errorName: string;
  /** Absolute path as reached. */
  fsPath: string;
  /** Found in ipcgen's bundled standard directory (`/capnp/*.capnp`, `/ipcgen/ipc.capnp`). */
  standard: boolean;
}


/** The capnp version whose output ipcgen reproduces. */
export const CAPNP_VERSION = { major: 0, minor: 9, micro: 2 };

const enum State {
  Stub,
  Expanded,
  Bootstrap,
  Finished,
}

/**
 * How far compiling one node reaches (capnp's `Compiler::Eagerness`). The dependency bits are the plain
 * bits shifted by 15, so that dividing by DEPENDENCIES turns "my dependencies' X" into "X".
 */
const NODE = 1;
const PARENTS = 2;
const CHILDREN = 4;
const DEPENDENCIES = 1 << 15;
const DEPENDENCY_PARENTS = PARENTS * DEPENDENCIES;
/** What `capnp compile` asks for: each file, its declarations, and everything they use with its parents. */
const COMPILE_EAGERNESS = NODE | CHILDREN | DEPENDENCIES | DEPENDENCY_PARENTS;

/** The built-in type names, in the scope that encloses every file. The index is capnp's id offset. */
const BUILTINS: [string, BuiltinKind, number][] = [
  ["Void", "builtinVoid", 0],
  ["Bool", "builtinBool", 0],
  ["Int8", "builtinInt8", 0],
  ["Int16", "builtinInt16", 0],
  ["Int32", "builtinInt32", 0],
  ["Int64", "builtinInt64", 0],
  ["UInt8", "builtinUInt8", 0],
  ["UInt16", "builtinUInt16", 0],
  ["UInt32", "builtinUInt32", 0],
  ["UInt64", "builtinUInt64", 0],
  ["Float32", "builtinFloat32", 0],
  ["Float64", "builtinFloat64", 0],
  ["Text", "builtinText", 0],
  ["Data", "builtinData", 0],
  ["List", "builtinList", 1],
  ["Object", "builtinObject", 0],
  ["AnyPointer", "builtinAnyPointer", 0],
  ["AnyStruct", "builtinAnyStruct", 0],
  ["AnyList", "builtinAnyList", 0],
  ["Capability", "builtinCapability", 0],
];

/** A `using` declaration, resolved on first use. */
class Alias {
  private target: ResolveResult | null | undefined;

  constructor(
    private readonly parent: DeclNode,
    private readonly targetName: Expression,
  ) {}

  compile(): ResolveResult | null {
    if (this.target === undefined) {
      // As capnp's Alias::compile: marked done before compiling, so a cycle (`using A = B; using B = A;`)
      // finds no target on the way back and reports "Not defined" at each use instead of recursing.
      this.target = null;
      const parent = this.parent;
      const scope = BrandScope.forScope(parent.errors, parent.id, parent.genericParamCount, parent);
      const decl = scope.compileDeclExpression(this.targetName, parent);
      this.target = decl === null ? null : decl.asResolveResult(scope.leafId);
    }
    return this.target;
  }
}

/** One declaration that becomes a schema node (file, struct, enum, interface, const, annotation), or a built-in. */
class DeclNode implements Resolver {
  private state = State.Stub;
  private inGetContent = false;
  private readonly nested = new Map<string, DeclNode>();
  private readonly orderedNested: DeclNode[] = [];
  private readonly aliases = new Map<string, Alias>();
  private translator: NodeTranslator | null = null;
  /** capnp's schema loader refused the bootstrap node (validateBootstrap). */
  private bootstrapRefused = false;
  private nodeSet: NodeSet | null = null;
  readonly id: bigint;
  readonly kind: Declaration["which"];
  readonly genericParamCount: number;
  private readonly start: number;
  private readonly end: number;

  constructor(
    readonly compiler: Compiler,
    readonly module: CompiledModule | null,
    readonly parent: DeclNode | null,
    readonly decl: Declaration | null,
    readonly displayName: string,
    builtin?: { kind: BuiltinKind; paramCount: number; id: bigint },
  ) {
    if (builtin !== undefined || decl === null) {
      this.id = builtin!.id;
      this.kind = builtin!.kind;
      this.genericParamCount = builtin!.paramCount;
      this.start = this.end = 0;
      return;
    }
    this.kind = decl.which;
    this.genericParamCount = decl.parameters.length;
    const hasName = decl.name.value.length > 0;
    this.start = hasName ? decl.name.start : decl.start;
    this.end = hasName ? decl.name.end : decl.end;
    const desired = decl.id.which === "uid" ? decl.id.uid.value : childId(parent?.id ?? 0n, decl.name.value);
    this.id = compiler.addNode(desired, this);
  }

  get isBuiltin(): boolean {
    return this.module === null;
  }

  get errors(): ErrorReporter {
    return this.module!.errors;
  }

  addError(message: string): void {
    this.errors.addError(this.start, this.end, message);
  }

  private asResolved(scopeId: bigint): ResolvedDecl {
    return { type: "decl", id: this.id, genericParamCount: this.genericParamCount, scopeId, kind: this.kind, resolver: this, brand: null };
  }

  /** Advances the node to at least `minimum`; null (with an error reported) on a dependency cycle or failure. */
  private getContent(minimum: State): boolean {
    if (this.isBuiltin) throw new Error("internal: built-ins have no content");
    if (this.state >= minimum) return true;
    if (this.inGetContent) {
      this.addError("Declaration recursively depends on itself.");
      return false;
    }
    this.inGetContent = true;
    try {
      if (this.state === State.Stub) {
        this.expand();
        this.state = State.Expanded;
      }
      if (minimum <= State.Expanded) return true;
      if (this.state === State.Expanded) {
        this.bootstrap();
        this.state = State.Bootstrap;
      }
      if (minimum <= State.Bootstrap) return true;
      if (this.state === State.Bootstrap) {
        if (this.translator !== null) this.nodeSet = this.guard(() => this.translator!.finish()) ?? this.nodeSet;
        this.state = State.Finished;
      }
      return true;
    } finally {
      this.inGetContent = false;
    }
  }

  private expand(): void {
    for (const nested of this.decl!.nestedDecls) {
      switch (nested.which) {
        case "file":
        case "const":
        case "annotation":
        case "enum":
        case "struct":
        case "interface": {
          const child = new DeclNode(this.compiler, this.module, this, nested, joinDisplayName(this, nested.name.value));
          this.orderedNested.push(child);
          // On duplicate names the first declaration wins lookups (the duplicate is reported elsewhere).
          if (!this.nested.has(nested.name.value)) this.nested.set(nested.name.value, child);
          break;
        }
        case "using":
          if (!this.aliases.has(nested.name.value)) this.aliases.set(nested.name.value, new Alias(this, nested.target));
          break;
        default:
          break;
      }
    }
  }

  private bootstrap(): void {
    const lastDot = this.displayName.lastIndexOf(".");
    const lastColon = this.displayName.lastIndexOf(":");
    const prefixLength = Math.max(lastDot + 1, lastColon + 1);
    const wipNode = {
      id: this.id,
      displayName: this.displayName,
      displayNamePrefixLength: prefixLength,
      scopeId: this.parent?.id ?? 0n,
      parameters: [],
      isGeneric: false,
      nestedNodes: this.orderedNested.map((n) => ({ name: n.decl!.name.value, id: n.id })),
      annotations: [],
      which: "file",
    } as Node;
    this.nodeSet = this.guard(() => {
      this.translator = new NodeTranslator(this, this.errors, this.decl!, wipNode);
      return this.translator.bootstrapNodeSet();
    });
    if (this.nodeSet !== null) {
      for (const aux of this.nodeSet.auxNodes) this.compiler.auxNodes.set(aux.id, aux);
      this.validateBootstrap(this.nodeSet);
    }
  }

  /**
   * What capnp's schema loader refuses when it loads the bootstrap nodes (aux nodes first, then the node)
   * that the translator did not already report: two parameters or two results of a method with one name.
   * capnp reports the first refusal on the declaration, only when no error was reported before ("Internal
   * compiler bug: Bootstrap schema failed validation:" and the loader's exception); ipcgen says what is
   * wrong at the same position.
   */
  private validateBootstrap(nodeSet: NodeSet): void {
    const self = nodeSet.node;
    if (self.which === "const" && self.const.value.which === "void" && self.const.type.which !== "void") {
      // A constant whose type failed to compile (an error was reported): capnp's loader refuses its void
      // value, so the constant has no bootstrap schema and references to it say nothing more.
      this.bootstrapRefused = true;
      return;
    }
    for (const node of [...nodeSet.auxNodes, nodeSet.node]) {
      if (node.which !== "struct") continue;
      const seen = new Set<string>();
      for (const field of node.struct.fields) {
        if (!seen.has(field.name)) {
          seen.add(field.name);
          continue;
        }
        if (this.errors.hadErrors()) return;
        const method = nodeSet.node.which === "interface"
          ? nodeSet.node.interface.methods.find((m) => m.paramStructType === node.id || m.resultStructType === node.id)
          : undefined;
        if (method === undefined) {
          this.addError(`Bootstrap schema failed validation: ${node.displayName} has two fields named '${field.name}'.`);
        } else {
          const what = method.paramStructType === node.id ? "parameters" : "results";
          this.addError(`Method '${method.name}' has two ${what} named '${field.name}'.`);
        }
        return;
      }
    }
  }

  /** Runs a translation step, turning capnp's refusals into errors on this declaration. */
  private guard(step: () => NodeSet): NodeSet | null {
    try {
      return step();
    } catch (e) {
      if (e instanceof LayoutBadNewsError) {
        this.addError(e.message);
        return null;
      }
      throw e;
    }
  }

  bootstrapNode(): Node | null {
    return this.getContent(State.Bootstrap) && !this.bootstrapRefused ? (this.nodeSet?.node ?? null) : null;
  }

  finalNodeSet(): NodeSet | null {
    return this.getContent(State.Finished) ? this.nodeSet : null;
  }

  // ---- Resolver ----

  resolve(name: string): ResolveResult | null {
    const member = this.resolveMember(name);
    if (member !== null) return member;
    const index = this.decl?.parameters.findIndex((p) => p.name === name) ?? -1;
    if (index >= 0) return { type: "param", id: this.id, index };
    if (this.parent !== null) return this.parent.resolve(name);
    const builtin = this.compiler.builtinsByName.get(name);
    return builtin === undefined ? null : builtin.asResolved(0n);
  }

  resolveMember(name: string): ResolveResult | null {
    if (this.isBuiltin || !this.getContent(State.Expanded)) return null;
    const node = this.nested.get(name);
    if (node !== undefined) return node.asResolved(this.id);
    const alias = this.aliases.get(name);
    return alias === undefined ? null : alias.compile();
  }

  resolveBuiltin(kind: BuiltinKind): ResolvedDecl {
    return this.compiler.builtinsByKind.get(kind)!.asResolved(0n);
  }

  resolveId(id: bigint): ResolvedDecl {
    const node = this.compiler.nodesById.get(id);
    if (node === undefined) throw new Error(`internal: unknown id ${formatId(id)}`);
    return node.asResolved(node.parent?.id ?? 0n);
  }

  getParent(): ResolvedDecl | null {
    const p = this.parent;
    return p === null ? null : p.asResolved(p.parent?.id ?? 0n);
  }

  getTopScope(): ResolvedDecl {
    return this.module!.root.asResolved(0n);
  }

  resolveBootstrapNode(id: bigint): Node | null {
    const node = this.compiler.nodesById.get(id);
    if (node !== undefined) return node.bootstrapNode();
    return this.compiler.auxNodes.get(id) ?? null;
  }

  resolveFinalNode(id: bigint): Node | null {
    const node = this.compiler.nodesById.get(id);
    if (node !== undefined) return node.finalNodeSet()?.node ?? null;
    return this.compiler.auxNodes.get(id) ?? null;
  }

  resolveImport(name: string): ResolvedDecl | null {
    const imported = this.module!.importRelative(name);
    return imported === null ? null : imported.root.asResolved(0n);
  }

  readEmbed(name: string): Uint8Array | null {
    return this.module!.module.embedRelative(name);
  }

  // ---- collecting what the request holds ----

  traverse(eagerness: number, run: Traversal): void {
    const seen = run.seen.get(this) ?? 0;
    if ((seen & eagerness) === eagerness) return;
    run.seen.set(this, seen | eagerness);

    const set = this.finalNodeSet();
    if (set !== null) {
      run.load(set);
      if (eagerness >>> 15 !== 0) {
        // Keep the dependency bits, so dependencies of dependencies are followed too.
        const next = (eagerness & ~(DEPENDENCIES - 1)) | (eagerness >>> 15);
        for (const node of [set.node, ...set.auxNodes]) this.traverseDependencies(node, next, run);
      }
      // The first SourceInfo seen for an id is kept, as capnp's map insert does.
      for (const info of set.sourceInfo) if (!run.sourceInfo.has(info.id)) run.sourceInfo.set(info.id, info);
    }
    if (eagerness & PARENTS && this.parent !== null) this.parent.traverse(eagerness, run);
    if (eagerness & CHILDREN && this.getContent(State.Expanded)) {
      for (const child of this.orderedNested) child.traverse(eagerness, run);
      for (const alias of this.aliases.values()) alias.compile();
    }
  }

  private traverseDependencies(node: Node, eagerness: number, run: Traversal): void {
    // Unknown ids are those of failed references (already reported) and of method param structs (aux nodes).
    const dep = (id: bigint) => this.compiler.nodesById.get(id)?.traverse(eagerness, run);
    const visit = new DependencyVisitor(dep);
    switch (node.which) {
      case "struct":
        for (const field of node.struct.fields) {
          if (field.which === "slot") visit.type(field.slot.type);
          visit.annotations(field.annotations);
        }
        break;
      case "enum":
        for (const e of node.enum.enumerants) visit.annotations(e.annotations);
        break;
      case "interface":
        for (const s of node.interface.superclasses) {
          if (s.id !== 0n) dep(s.id); // 0 means an error was reported
          visit.brand(s.brand);
        }
        for (const m of node.interface.methods) {
          dep(m.paramStructType);
          visit.brand(m.paramBrand);
          dep(m.resultStructType);
          visit.brand(m.resultBrand);
          visit.annotations(m.annotations);
        }
        break;
      case "const":
        visit.type(node.const.type);
        break;
      case "annotation":
        visit.type(node.annotation.type);
        break;
      default:
        break;
    }
    visit.annotations(node.annotations);
  }
}

/** Walks the types, brands and annotations a node refers to. */
class DependencyVisitor {
  constructor(private readonly dep: (id: bigint) => void) {}

  type(type: Type): void {
    switch (type.which) {
      case "struct":
        this.dep(type.struct.typeId);
        this.brand(type.struct.brand);
        break;
      case "enum":
        this.dep(type.enum.typeId);
        this.brand(type.enum.brand);
        break;
      case "interface":
        this.dep(type.interface.typeId);
        this.brand(type.interface.brand);
        break;
      case "list":
        this.type(type.list.elementType);
        break;
      default:
        break;
    }
  }

  brand(brand: Brand): void {
    for (const scope of brand.scopes) {
      if (scope.which !== "bind") continue;
      for (const binding of scope.bind) if (binding.which === "type") this.type(binding.type);
    }
  }

  annotations(annotations: Annotation[]): void {
    for (const a of annotations) this.dep(a.id);
  }
}

function joinDisplayName(parent: DeclNode, name: string): string {
  return `${parent.displayName}${parent.parent === null ? ":" : "."}${name}`;
}

/** What one `traverse` run collects: the nodes of the request and their doc comments. */
class Traversal {
  readonly seen = new Map<DeclNode, number>();
  readonly sourceInfo: Map<bigint, SourceInfo>;

  constructor(
    private readonly loaded: Map<bigint, Node>,
    sourceInfo: Map<bigint, SourceInfo>,
  ) {
    this.sourceInfo = sourceInfo;
  }

  load(set: NodeSet): void {
    for (const node of [set.node, ...set.auxNodes]) if (!this.loaded.has(node.id)) this.loaded.set(node.id, node);
  }
}

/** A loaded file with its parse tree and root declaration. */
class CompiledModule {
  readonly parsed: ParsedFile;
  readonly root: DeclNode;

  constructor(
    readonly compiler: Compiler,
    readonly module: Module,
  ) {
    this.parsed = parseFile(module.source, module.errors);
    this.root = new DeclNode(compiler, this, null, this.parsed.root, module.displayName);
  }

  get errors(): ErrorReporter {
    return this.module.errors;
  }

  importRelative(name: string): CompiledModule | null {
    const imported = this.module.importRelative(name);
    return imported === null ? null : this.compiler.addModule(imported);
  }

  /** Every file this one imports, by the name it uses, sorted by name (capnp keeps them in a std::set). */
  importTable(): { id: bigint; name: string }[] {
    const names = new Set<string>();
    collectImports(this.parsed.root, names);
    return [...names]
      .sort(compareBytes)
      .flatMap((name) => {
        const m = this.importRelative(name);
        return m === null ? [] : [{ id: m.root.id, name }];
      });
  }
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function collectImports(decl: Declaration, out: Set<string>): void {
  switch (decl.which) {
    case "using":
      expressionImports(decl.target, out);
      break;
    case "const":
      expressionImports(decl.type, out);
      break;
    case "field":
      expressionImports(decl.type, out);
      break;
    case "interface":
      for (const s of decl.superclasses) expressionImports(s, out);
      break;
    case "method":
      paramListImports(decl.params, out);
      if (decl.results !== null) paramListImports(decl.results, out);
      break;
    default:
      break;
  }
  for (const a of decl.annotations) expressionImports(a.name, out);
  for (const nested of decl.nestedDecls) collectImports(nested, out);
}

function paramListImports(list: ParamList, out: Set<string>): void {
  const kind = list.kind;
  if (kind.which === "namedList") {
    for (const p of kind.params) {
      expressionImports(p.type, out);
      for (const a of p.annotations) expressionImports(a.name, out);
    }
  } else if (kind.which === "type") {
    expressionImports(kind.type, out);
  } else {
    out.add("/capnp/stream.capnp");
  }
}

function expressionImports(exp: Expression, out: Set<string>): void {
  switch (exp.which) {
    case "import":
      out.add(exp.path.value);
      break;
    case "list":
      for (const e of exp.elements) expressionImports(e, out);
      break;
    case "tuple":
      for (const p of exp.params) expressionImports(p.value, out);
      break;
    case "application":
      expressionImports(exp.function, out);
      for (const p of exp.params) expressionImports(p.value, out);
      break;
    case "member":
      expressionImports(exp.parent, out);
      break;
    default:
      break;
  }
}

export class Compiler {
  readonly nodesById = new Map<bigint, DeclNode>();
  /** Bootstrap nodes of groups and method param structs, which are not declarations of their own. */
  readonly auxNodes = new Map<bigint, Node>();
  readonly builtinsByName = new Map<string, DeclNode>();
  readonly builtinsByKind = new Map<BuiltinKind, DeclNode>();
  private readonly modules = new Map<Module, CompiledModule>();
  private nextBogusId = 1000n;

  constructor() {
    BUILTINS.forEach(([name, kind, paramCount], i) => {
      const node = new DeclNode(this, null, null, null, name, { kind, paramCount, id: BigInt(1000 + i) });
      this.builtinsByName.set(name, node);
      this.builtinsByKind.set(kind, node);
    });
  }

  /** The module's compiled form, if it was added. */
  compiled(module: Module): CompiledModule | undefined {
    return this.modules.get(module);
  }

  addModule(module: Module): CompiledModule {
    let compiled = this.modules.get(module);
    if (compiled === undefined) {
      compiled = new CompiledModule(this, module);
      this.modules.set(module, compiled);
    }
    return compiled;
  }

  /** Registers a node under its id; a taken id is an error (for real ids) and gets a stand-in. */
  addNode(desired: bigint, node: DeclNode): bigint {
    for (;;) {
      const existing = this.nodesById.get(desired);
      if (existing === undefined) {
        this.nodesById.set(desired, node);
        return desired;
      }
      if (desired & (1n << 63n)) {
        node.addError(`Duplicate ID ${formatId(desired).replace(/^0x/, "@0x")}.`);
        existing.addError(`ID ${formatId(desired).replace(/^0x/, "@0x")} originally used here.`);
      }
      desired = this.nextBogusId++;
    }
  }
}

/** Compiles schema files as `capnp compile` does, and assembles the request a plugin would receive. */
export function compile(files: string[], options: CompileOptions = {}): CompileResult {
  const diagnostics: Diagnostic[] = [];
  const loader = new ModuleLoader({
    importPath: options.importPath ?? [],
    standardImport: options.standardImport ?? true,
    srcPrefixes: options.srcPrefixes ?? [],
    diagnostics,
  });
  const compiler = new Compiler();
  const loaded = new Map<bigint, Node>();
  const sourceInfo = new Map<bigint, SourceInfo>();
  const requested: { module: CompiledModule }[] = [];

  for (const file of files) {
    const module = loader.loadRequested(file);
    if (module === null) continue;
    const compiled = compiler.addModule(module);
    compiled.root.traverse(COMPILE_EAGERNESS, new Traversal(loaded, sourceInfo));
    requested.push({ module: compiled });
  }

  const requestedFiles: RequestedFile[] = requested.map(({ module }) => ({
    id: module.root.id,
    filename: module.module.displayName,
    imports: module.importTable(),
  }));
  const request: CodeGeneratorRequest = {
    capnpVersion: { ...CAPNP_VERSION },
    nodes: [...loaded.values()],
    sourceInfo: [...sourceInfo.values()],
    requestedFiles,
  };
  forgetPlans(request.nodes);
  const lines = new Map(loader.modules.map((m) => [m.errorName, m.lines]));
  const messages = diagnostics.map((d) => formatDiagnostic(d, lines.get(d.file) ?? null));
  const locations = sourceLocations(
    (id) => {
      const node = compiler.nodesById.get(id);
      return node?.decl == null || node.module === null ? null : { decl: node.decl, file: node.module.module.errorName };
    },
    (file) => lines.get(file) ?? null,
  );
  const sources = loader.modules.flatMap((m) => {
    const id = compiler.compiled(m)?.root.id;
    return id === undefined ? [] : [{ id, displayName: m.displayName, errorName: m.errorName, fsPath: m.fsPath, standard: m.standard }];
  });
  const importCandidates = (file: string, name: string) => loader.modules.find((m) => m.errorName === file)?.importCandidates(name) ?? [];
  return { request, diagnostics, messages, ok: diagnostics.length === 0, files: loader.modules.map((m) => m.fsPath), sources, importCandidates, locations };
}
