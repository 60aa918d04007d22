/**
 * The node translator: one declaration (and its groups or method param structs) into schema nodes, as
 * capnp's `NodeTranslator` does. It runs in two steps. Construction compiles everything that other
 * declarations may need to build values of this type (layout, primitive values): the "bootstrap" node.
 * `finish()` then compiles pointer values (struct, list and AnyPointer defaults, constants, annotation
 * values), which may need the bootstrap nodes of other declarations.
 */
import type { AnnotationApplication, Declaration, DeclarationId, Expression, Param, ParamList, Span } from "./ast.js";
import type { ErrorReporter } from "./diagnostics.js";
import { BrandScope, type BrandedDecl } from "./generics.js";
import { groupId, methodParamsId } from "./ids.js";
import { GroupLayout, StructLayout, UnionLayout, type LayoutScope } from "./layout.js";
import { NO_IMPLICIT_PARAMS, type ImplicitParams, type Resolver } from "./resolver.js";
import { bindBrand, compileValue, defaultValueOf, type ValueContext } from "./values.js";
import { markNullness, markTextBytes } from "../model/codec.js";
import {
  NO_DISCRIMINANT,
  type Annotation,
  type AnnotationTargets,
  type Brand,
  type Field,
  type Method,
  type Node,
  type SourceInfo,
  type SourceInfoMember,
  type StructNode,
  type Type,
  type Value,
} from "../model/schema.js";

/** The `StreamResult` struct of `/capnp/stream.capnp`, the result type of streaming methods. */
export const STREAM_RESULT_ID = 0x995f9a3377c0b16en;

/** A declaration's node plus the nodes it owns (groups, or method param structs) and their doc comments. */
export interface NodeSet {
  node: Node;
  auxNodes: Node[];
  sourceInfo: SourceInfo[];
}

interface AuxNode {
  node: Node;
  sourceInfo: SourceInfo;
}

interface UnfinishedValue {
  source: Expression;
  type: Type;
  /** Bindings for generic parameters in `type`, when the value belongs to a branded annotation. */
  scopeBrand: Brand | null;
  set: (value: Value) => void;
}

type TargetsFlag = keyof AnnotationTargets;

function errorOn(errors: ErrorReporter, span: Span, message: string): void {
  errors.addError(span.start, span.end, message);
}

function newSourceInfo(id: bigint): SourceInfo {
  return { id, docComment: "", members: [] };
}

function newStructNode(): StructNode {
  return {
    dataWordCount: 0,
    pointerCount: 0,
    preferredListEncoding: "empty",
    isGroup: false,
    discriminantCount: 0,
    discriminantOffset: 0,
    fields: [],
  };
}

export class NodeTranslator implements ValueContext {
  readonly localBrand: BrandScope;
  private readonly groups: AuxNode[] = [];
  private readonly paramStructs: AuxNode[] = [];
  private readonly unfinishedValues: UnfinishedValue[] = [];
  private readonly sourceInfo: SourceInfo;

  /** `wipNode` arrives with id, names, scope and nested nodes set; the translator fills in the rest. */
  constructor(
    readonly resolver: Resolver,
    readonly errors: ErrorReporter,
    decl: Declaration,
    private readonly wipNode: Node,
  ) {
    this.localBrand = BrandScope.forScope(errors, wipNode.id, decl.parameters.length, resolver);
    this.sourceInfo = newSourceInfo(wipNode.id);
    this.compileNode(decl);
  }

  bootstrapNodeSet(): NodeSet {
    const aux = this.wipNode.which === "interface" ? this.paramStructs : this.groups;
    return {
      node: this.wipNode,
      auxNodes: aux.map((a) => a.node),
      sourceInfo: [this.sourceInfo, ...this.groups.map((g) => g.sourceInfo), ...this.paramStructs.map((p) => p.sourceInfo)],
    };
  }

  /** Compiles the values that needed other declarations' layouts. */
  finish(): NodeSet {
    for (const value of this.unfinishedValues) {
      const compiled = compileValue(this, value.source, value.type, value.scopeBrand, false);
      if (compiled !== null) value.set(compiled);
    }
    this.unfinishedValues.length = 0;
    return this.bootstrapNodeSet();
  }

  // ---- declarations ----

  private compileNode(decl: Declaration): void {
    new DuplicateNameDetector(this.errors).check(decl.nestedDecls, decl.which);
    const node = this.wipNode as Node & { [k: string]: unknown };
    node.parameters = decl.parameters.map((p) => ({ name: p.name }));
    node.isGeneric = this.localBrand.isGeneric();

    let targets: TargetsFlag;
    switch (decl.which) {
      case "file":
        Object.assign(node, { which: "file" });
        targets = "targetsFile";
        break;
      case "const": {
        const constNode = { type: { which: "void" } as Type, value: { which: "void" } as Value };
        Object.assign(node, { which: "const", const: constNode });
        // On failure, capnp's builder keeps the type it was left with (List(Void) after List(AnyPointer)) and
        // a void value: its schema loader then refuses the node (see Node.validateBootstrap).
        const compiled = this.compileDeclExpression(decl.type, NO_IMPLICIT_PARAMS)?.compileAsPartialType(this.errors);
        if (compiled !== undefined) constNode.type = compiled.type;
        if (compiled?.ok === true) {
          this.compileBootstrapValue(decl.value, compiled.type, null, (v) => (constNode.value = v));
        }
        targets = "targetsConst";
        break;
      }
      case "annotation": {
        // On failure, the type capnp's builder was left with: applications' values are checked against it.
        const type = this.compileDeclExpression(decl.type, NO_IMPLICIT_PARAMS)?.compileAsPartialType(this.errors).type ?? { which: "void" };
        const annotation = {
          type,
          targetsFile: decl.targetsFile,
          targetsConst: decl.targetsConst,
          targetsEnum: decl.targetsEnum,
          targetsEnumerant: decl.targetsEnumerant,
          targetsStruct: decl.targetsStruct,
          targetsField: decl.targetsField,
          targetsUnion: decl.targetsUnion,
          targetsGroup: decl.targetsGroup,
          targetsInterface: decl.targetsInterface,
          targetsMethod: decl.targetsMethod,
          targetsParam: decl.targetsParam,
          targetsAnnotation: decl.targetsAnnotation,
        };
        Object.assign(node, { which: "annotation", annotation });
        targets = "targetsAnnotation";
        break;
      }
      case "enum":
        this.compileEnum(decl.nestedDecls);
        targets = "targetsEnum";
        break;
      case "struct": {
        const struct = newStructNode();
        Object.assign(node, { which: "struct", struct });
        new StructTranslator(this, NO_IMPLICIT_PARAMS).translateMembers(decl.nestedDecls, this.wipNode, this.sourceInfo);
        targets = "targetsStruct";
        break;
      }
      case "interface":
        this.compileInterface(decl.superclasses, decl.nestedDecls);
        targets = "targetsInterface";
        break;
      default:
        throw new Error(`internal: declaration kind '${decl.which}' is not a node`);
    }
    node.annotations = this.compileAnnotationApplications(decl.annotations, targets);
    setDocComment(this.sourceInfo, decl);
  }

  private compileEnum(members: Declaration[]): void {
    const enumerants = stableSortByOrdinal(members.filter((m) => m.which === "enumerant"));
    const dup = new DuplicateOrdinalDetector(this.errors);
    const list = enumerants.map(({ decl, codeOrder }) => {
      dup.check(ordinalOf(decl.id));
      this.sourceInfo.members.push(setDocComment({ docComment: "" }, decl));
      return {
        name: decl.name.value,
        codeOrder,
        annotations: this.compileAnnotationApplications(decl.annotations, "targetsEnumerant"),
      };
    });
    // capnp initializes the enumerants' source info even when there are none: empty, not null.
    markNullness(this.sourceInfo.members, false);
    Object.assign(this.wipNode, { which: "enum", enum: { enumerants: list } });
  }

  private compileInterface(superclassExprs: Expression[], members: Declaration[]): void {
    const superclasses = superclassExprs.map((expr) => {
      const entry = { id: 0n, brand: { scopes: [] } as Brand };
      const decl = this.compileDeclExpression(expr, NO_IMPLICIT_PARAMS);
      if (decl !== null) {
        const kind = decl.kind;
        if (kind === "interface") {
          const { id, brand } = decl.idAndBrand();
          entry.id = id;
          if (brand !== null) entry.brand = brand;
        } else if (kind !== null) {
          decl.addError(this.errors, `'${decl.toString()}' is not an interface.`);
        } else {
          decl.addError(
            this.errors,
            `'${decl.toString()}' is an unbound generic parameter. Currently we don't support extending these.`,
          );
        }
      }
      return entry;
    });

    const methods: Method[] = [];
    const iface = { methods, superclasses };
    // capnp initializes the members' source info even when there are no methods: empty, not null.
    markNullness(this.sourceInfo.members, false);
    Object.assign(this.wipNode, { which: "interface", interface: iface });

    const dup = new DuplicateOrdinalDetector(this.errors);
    for (const { decl, codeOrder } of stableSortByOrdinal(members.filter((m) => m.which === "method"))) {
      if (decl.which !== "method") continue;
      const ordinalDecl = ordinalOf(decl.id);
      dup.check(ordinalDecl);
      const ordinal = Number(ordinalDecl.value & 0xffffn);
      this.sourceInfo.members.push(setDocComment({ docComment: "" }, decl));
      const implicit = decl.parameters.map((p) => p.name);
      const method: Method = {
        name: decl.name.value,
        codeOrder,
        implicitParameters: implicit.map((name) => ({ name })),
        paramStructType: 0n,
        paramBrand: { scopes: [] },
        resultStructType: 0n,
        resultBrand: { scopes: [] },
        annotations: [],
      };
      methods.push(method);
      if (decl.params.kind.which === "stream") {
        errorOn(this.errors, decl.params, "'stream' can only appear after '->', not before.");
      }
      method.paramStructType = this.compileParamList(decl.name.value, ordinal, false, decl.params, implicit, (b) => (method.paramBrand = b));
      // No result list means an empty one, so every method has a results struct.
      const results: ParamList = decl.results ?? { start: 0, end: 0, kind: { which: "namedList", params: [] } };
      method.resultStructType = this.compileParamList(decl.name.value, ordinal, true, results, implicit, (b) => (method.resultBrand = b));
      method.annotations = this.compileAnnotationApplications(decl.annotations, "targetsMethod");
    }
  }

  private compileParamList(
    methodName: string,
    ordinal: number,
    isResults: boolean,
    paramList: ParamList,
    implicitParams: string[],
    setBrand: (brand: Brand) => void,
  ): bigint {
    const kind = paramList.kind;
    switch (kind.which) {
      case "namedList": {
        const parent = this.wipNode;
        const typeName = methodName + (isResults ? "$Results" : "$Params");
        const id = methodParamsId(parent.id, ordinal, isResults);
        const node: Node = {
          id,
          displayName: `${parent.displayName}.${typeName}`,
          displayNamePrefixLength: parent.displayName.length + 1,
          scopeId: 0n, // detached: not nested in any scope
          parameters: implicitParams.map((name) => ({ name })),
          isGeneric: parent.isGeneric || implicitParams.length > 0,
          // capnp never sets nestedNodes of param structs and groups: a null list, not an empty one.
          nestedNodes: markNullness([], true),
          annotations: [],
          which: "struct",
          struct: newStructNode(),
        };
        // capnp never sets the id of a param struct's SourceInfo, so they all appear under id 0.
        const sourceInfo = newSourceInfo(0n);
        new StructTranslator(this, { scopeId: id, names: implicitParams }).translateParams(kind.params, node, sourceInfo);
        this.paramStructs.push({ node, sourceInfo });
        // The pushed level has no bound parameters, so only the enclosing generic scopes show in the brand.
        const brand = this.localBrand.push(id, implicitParams.length).compile();
        if (brand !== null) setBrand(brand);
        return id;
      }
      case "type": {
        const target = this.compileDeclExpression(kind.type, { scopeId: 0n, names: implicitParams });
        if (target === null) return 0n;
        if (target.kind === null) {
          target.addError(
            this.errors,
            "Cannot use generic parameter as whole input or output of a method. Instead, use a parameter/result list containing a field with this type.",
          );
          return 0n;
        }
        if (target.kind === "struct") {
          const { id, brand } = target.idAndBrand();
          if (brand !== null) setBrand(brand);
          return id;
        }
        errorOn(this.errors, kind.type, `'${target.toString() || "?"}' is not a struct type.`);
        return 0n;
      }
      case "stream": {
        const streamFile = this.resolver.resolveImport("/capnp/stream.capnp");
        if (streamFile === null) {
          errorOn(
            this.errors,
            paramList,
            "A method declaration uses streaming, but '/capnp/stream.capnp' is not found in the import path. This is a standard file that should always be installed with the Cap'n Proto compiler.",
          );
        } else if (streamFile.resolver.resolveMember("StreamResult") === null) {
          errorOn(
            this.errors,
            paramList,
            "The version of '/capnp/stream.capnp' found in your import path does not appear to be the official one; it is missing the declaration of StreamResult.",
          );
        }
        return STREAM_RESULT_ID;
      }
    }
  }

  // ---- types and values ----

  compileDeclExpression(source: Expression, implicit: ImplicitParams): BrandedDecl | null {
    return this.localBrand.compileDeclExpression(source, this.resolver, implicit);
  }

  compileType(source: Expression, implicit: ImplicitParams): Type | null {
    const decl = this.compileDeclExpression(source, implicit);
    return decl === null ? null : decl.compileAsType(this.errors);
  }

  /** Primitive values now; pointer values once other declarations' layouts are known (`finish`). */
  compileBootstrapValue(source: Expression, type: Type, scopeBrand: Brand | null, set: (value: Value) => void): void {
    set(defaultValueOf(type));
    switch (type.which) {
      case "list":
      case "struct":
      case "interface":
      case "anyPointer":
        this.unfinishedValues.push({ source, type, scopeBrand, set });
        break;
      default: {
        const value = compileValue(this, source, type, scopeBrand, true);
        if (value !== null) set(value);
      }
    }
  }

  compileAnnotationApplications(annotations: AnnotationApplication[], targets: TargetsFlag): Annotation[] {
    return annotations.map((application) => {
      const result: Annotation = { id: 0n, brand: { scopes: [] }, value: { which: "void" } };
      const name = application.name;
      const decl = this.compileDeclExpression(name, NO_IMPLICIT_PARAMS);
      if (decl === null) return result;
      if (decl.kind !== "annotation") {
        errorOn(this.errors, name, `'${decl.toString()}' is not an annotation.`);
        return result;
      }
      const { id, brand } = decl.idAndBrand();
      result.id = id;
      if (brand !== null) result.brand = brand;
      const node = this.resolver.resolveBootstrapNode(id);
      if (node === null || node.which !== "annotation") return result;
      if (!node.annotation[targets]) {
        errorOn(this.errors, name, `'${decl.toString()}' cannot be applied to this kind of declaration.`);
      }
      if (application.value === null) {
        if (node.annotation.type.which !== "void") {
          errorOn(this.errors, name, `'${decl.toString()}' requires a value.`);
          result.value = defaultValueOf(node.annotation.type);
        }
      } else {
        // capnp reads the value's type in the annotation's schema as its bootstrap loader brands it (no
        // client): a parameter its brand does not bind, inherited ones too, is AnyPointer there.
        const scope = bindBrand(brand ?? { scopes: [] }, { scopes: [] });
        this.compileBootstrapValue(application.value, node.annotation.type, scope, (v) => (result.value = v));
      }
      return result;
    });
  }

  groupNodeCreated(aux: AuxNode): void {
    this.groups.push(aux);
  }
}

// ---- structs ----

type MemberKind = "root" | "field" | "union" | "group";

/** One member of a struct while it is laid out: a field, a group, a union, or the struct itself (root). */
class MemberInfo {
  index = 0;
  childCount = 0;
  childInitializedCount = 0;
  unionDiscriminantCount = 0;
  field: Field | null = null;
  fieldScope: LayoutScope | null = null;
  unionScope: UnionLayout | null = null;
  isParam = false;
  fieldType: Expression | null = null;
  defaultValue: Expression | null = null;

  constructor(
    readonly parent: MemberInfo | null,
    readonly codeOrder: number,
    readonly isInUnion: boolean,
    readonly kind: MemberKind,
    readonly name: string,
    readonly declId: DeclarationId | null,
    readonly annotations: AnnotationApplication[],
    readonly span: Span,
    readonly doc: DocSource | null,
    /** The group or struct node this member is, for roots, groups and unions. */
    readonly node: Node | null,
    readonly sourceInfo: SourceInfo | null,
  ) {}

  /** The member's entry in its parent's field list, made on first use: the list is in order of first use. */
  getSchema(): Field {
    if (this.field !== null) return this.field;
    const parent = this.parent!;
    this.index = parent.childInitializedCount;
    const { field, sourceInfo } = parent.addMemberSchema();
    if (this.isInUnion) field.discriminantValue = parent.unionDiscriminantCount++;
    field.name = this.name;
    field.codeOrder = this.codeOrder;
    setDocComment(sourceInfo, this.doc);
    this.field = field;
    return field;
  }

  addMemberSchema(): { field: Field; sourceInfo: SourceInfoMember } {
    const struct = structOf(this.node!);
    if (this.childInitializedCount === 0 && this.parent !== null) {
      // A group appears in its parent once its first child does.
      this.getSchema();
    }
    const field: Field = {
      name: "",
      codeOrder: 0,
      annotations: [],
      discriminantValue: NO_DISCRIMINANT,
      ordinal: { which: "implicit" },
      which: "slot",
      slot: { offset: 0, type: { which: "void" }, defaultValue: { which: "void" }, hadExplicitDefault: false },
    };
    const sourceInfo: SourceInfoMember = { docComment: "" };
    struct.fields.push(field);
    this.sourceInfo!.members.push(sourceInfo);
    this.childInitializedCount++;
    return { field, sourceInfo };
  }

  finishGroup(): void {
    const node = this.node!;
    if (this.unionScope !== null) {
      this.unionScope.addDiscriminant(); // if it has not happened already
      const struct = structOf(node);
      struct.discriminantCount = this.unionDiscriminantCount;
      struct.discriminantOffset = this.unionScope.discriminantOffset!;
    }
    if (this.parent !== null) {
      // capnp derives the id from `index` before getSchema() assigns it; keep that order.
      const id = groupId(this.parent.node!.id, this.index);
      node.id = id;
      node.scopeId = this.parent.node!.id;
      Object.assign(this.getSchema(), { which: "group", group: { typeId: id } });
      delete (this.getSchema() as { slot?: unknown }).slot;
      this.sourceInfo!.id = id;
      setDocComment(this.sourceInfo!, this.doc);
    }
  }
}

/** Where a doc comment comes from: a declaration. */
type DocSource = Pick<Declaration, "docComment" | "docCommentBytes">;

/** Gives `info` the doc comment of `doc`, if any, with its bytes when they are not UTF-8 (capnp keeps them). */
function setDocComment<T extends { docComment: string }>(info: T, doc: DocSource | null): T {
  if (doc === null || doc.docComment === null) return info;
  info.docComment = doc.docComment;
  if (doc.docCommentBytes !== undefined) markTextBytes(info, "docComment", doc.docCommentBytes);
  return info;
}

function structOf(node: Node): StructNode {
  if (node.which !== "struct") throw new Error("internal: not a struct node");
  return node.struct;
}

/** Log2 of a field's size in bits; -1 for Void, -2 for a pointer. */
function lgSizeOf(type: Type): number {
  switch (type.which) {
    case "void": return -1;
    case "bool": return 0;
    case "int8": case "uint8": return 3;
    case "int16": case "uint16": case "enum": return 4;
    case "int32": case "uint32": case "float32": return 5;
    case "int64": case "uint64": case "float64": return 6;
    default: return -2;
  }
}

class StructTranslator {
  private readonly layout = new StructLayout();
  private readonly membersByOrdinal: { ordinal: number; member: MemberInfo }[] = [];
  private readonly allMembers: MemberInfo[] = [];
  private readonly errors: ErrorReporter;

  constructor(
    private readonly translator: NodeTranslator,
    private readonly implicit: ImplicitParams,
  ) {
    this.errors = translator.errors;
  }

  translateMembers(members: Declaration[], node: Node, sourceInfo: SourceInfo): void {
    const root = this.rootMember(node, sourceInfo);
    this.traverseTopOrGroup(members, root, this.layout);
    this.translateInternal(root, node);
  }

  translateParams(params: Param[], node: Node, sourceInfo: SourceInfo): void {
    const root = this.rootMember(node, sourceInfo);
    params.forEach((param, i) => {
      root.childCount++;
      const member = new MemberInfo(root, i, false, "field", param.name?.value ?? "", null, param.annotations, param, null, null, null);
      member.isParam = true;
      member.fieldType = param.type;
      member.defaultValue = param.defaultValue;
      member.fieldScope = this.layout;
      this.allMembers.push(member);
      this.membersByOrdinal.push({ ordinal: i, member });
    });
    this.translateInternal(root, node);
  }

  private rootMember(node: Node, sourceInfo: SourceInfo): MemberInfo {
    return new MemberInfo(null, 0, false, "root", "", null, [], { start: 0, end: 0 }, null, node, sourceInfo);
  }

  private fieldMember(parent: MemberInfo, codeOrder: number, decl: Declaration, scope: LayoutScope, inUnion: boolean): MemberInfo {
    if (decl.which !== "field") throw new Error("internal: not a field");
    const m = new MemberInfo(parent, codeOrder, inUnion, "field", decl.name.value, decl.id, decl.annotations, decl, decl, null, null);
    m.fieldType = decl.type;
    m.defaultValue = decl.defaultValue;
    m.fieldScope = scope;
    this.allMembers.push(m);
    return m;
  }

  private groupMember(parent: MemberInfo, codeOrder: number, decl: Declaration, inUnion: boolean): MemberInfo {
    const aux = this.newGroupNode(parent.node!, decl.name.value);
    const kind: MemberKind = decl.which === "union" ? "union" : "group";
    const m = new MemberInfo(parent, codeOrder, inUnion, kind, decl.name.value, decl.id, decl.annotations, decl, decl, aux.node, aux.sourceInfo);
    this.allMembers.push(m);
    return m;
  }

  private newGroupNode(parent: Node, name: string): { node: Node; sourceInfo: SourceInfo } {
    const struct = newStructNode();
    struct.isGroup = true;
    const node: Node = {
      id: 0n,
      displayName: `${parent.displayName}.${name}`,
      displayNamePrefixLength: parent.displayName.length + 1,
      scopeId: 0n,
      parameters: [],
      isGeneric: parent.isGeneric,
      nestedNodes: markNullness([], true),
      annotations: [],
      which: "struct",
      struct,
    };
    const aux = { node, sourceInfo: newSourceInfo(0n) };
    this.translator.groupNodeCreated(aux);
    return aux;
  }

  private traverseUnion(decl: Declaration, members: Declaration[], parent: MemberInfo, layout: UnionLayout, codeOrder: { next: number }): void {
    if (members.length < 2) errorOn(this.errors, decl, "Union must have at least two members.");
    for (const member of members) {
      let ordinal: number | null = null;
      let info: MemberInfo | null = null;
      switch (member.which) {
        case "field":
          parent.childCount++;
          info = this.fieldMember(parent, codeOrder.next++, member, new GroupLayout(layout), true);
          ordinal = Number(ordinalOf(member.id).value);
          break;
        case "union":
          if (member.name.value === "") {
            errorOn(this.errors, member, "Unions cannot contain unnamed unions.");
          } else {
            parent.childCount++;
            const unionLayout = new UnionLayout(new GroupLayout(layout));
            info = this.groupMember(parent, codeOrder.next++, member, true);
            info.unionScope = unionLayout;
            this.traverseUnion(member, member.nestedDecls, info, unionLayout, { next: 0 });
            if (member.id.which === "ordinal") ordinal = Number(member.id.ordinal.value);
          }
          break;
        case "group":
          parent.childCount++;
          info = this.groupMember(parent, codeOrder.next++, member, true);
          this.traverseGroup(member.nestedDecls, info, new GroupLayout(layout));
          break;
        default:
          break;
      }
      if (ordinal !== null && info !== null) this.membersByOrdinal.push({ ordinal, member: info });
    }
  }

  private traverseGroup(members: Declaration[], parent: MemberInfo, layout: LayoutScope): void {
    if (members.length < 1) errorOn(this.errors, parent.span, "Group must have at least one member.");
    this.traverseTopOrGroup(members, parent, layout);
  }

  private traverseTopOrGroup(members: Declaration[], parent: MemberInfo, layout: LayoutScope): void {
    const codeOrder = { next: 0 };
    for (const member of members) {
      let ordinal: number | null = null;
      let info: MemberInfo | null = null;
      switch (member.which) {
        case "field":
          parent.childCount++;
          info = this.fieldMember(parent, codeOrder.next++, member, layout, false);
          ordinal = Number(ordinalOf(member.id).value);
          break;
        case "union": {
          const unionLayout = new UnionLayout(layout);
          let subCodeOrder = { next: 0 };
          if (member.name.value === "") {
            // An unnamed union's members belong to the enclosing scope and continue its code order.
            info = parent;
            subCodeOrder = codeOrder;
          } else {
            parent.childCount++;
            info = this.groupMember(parent, codeOrder.next++, member, false);
          }
          info.unionScope = unionLayout;
          this.traverseUnion(member, member.nestedDecls, info, unionLayout, subCodeOrder);
          if (member.id.which === "ordinal") ordinal = Number(member.id.ordinal.value);
          break;
        }
        case "group":
          parent.childCount++;
          info = this.groupMember(parent, codeOrder.next++, member, false);
          this.traverseGroup(member.nestedDecls, info, layout);
          break;
        default:
          break;
      }
      if (ordinal !== null && info !== null) this.membersByOrdinal.push({ ordinal, member: info });
    }
  }

  private translateInternal(root: MemberInfo, node: Node): void {
    const dup = new DuplicateOrdinalDetector(this.errors);
    // Members are laid out in ordinal order; equal ordinals (an error) keep declaration order.
    const ordered = this.membersByOrdinal.map((e, i) => ({ ...e, i })).sort((a, b) => a.ordinal - b.ordinal || a.i - b.i);
    for (const { ordinal, member } of ordered) {
      if (member.declId !== null && member.declId.which === "ordinal") dup.check(member.declId.ordinal);
      const field = member.getSchema();
      field.ordinal = { which: "explicit", explicit: ordinal & 0xffff };
      if (member.kind === "field") {
        this.translateField(member, field);
      } else if (member.kind === "union") {
        if (!member.unionScope!.addDiscriminant()) {
          const at = member.declId !== null && member.declId.which === "ordinal" ? member.declId.ordinal : member.span;
          errorOn(
            this.errors,
            at,
            "Union ordinal, if specified, must be greater than no more than one of its member ordinals (i.e. there can only be one field retroactively unionized).",
          );
        }
      }
    }
    root.finishGroup();
    for (const member of this.allMembers) {
      let targets: TargetsFlag;
      if (member.isParam) targets = "targetsParam";
      else if (member.kind === "field") targets = "targetsField";
      else if (member.kind === "union") {
        member.finishGroup();
        targets = "targetsUnion";
      } else {
        member.finishGroup();
        targets = "targetsGroup";
      }
      member.getSchema().annotations = this.translator.compileAnnotationApplications(member.annotations, targets);
    }
    const struct = structOf(node);
    struct.dataWordCount = this.layout.dataWordCount;
    struct.pointerCount = this.layout.pointerCount;
    struct.preferredListEncoding = "inlineComposite";
    for (const m of this.allMembers) {
      if (m.node !== null && m.node !== node) {
        const g = structOf(m.node);
        g.dataWordCount = struct.dataWordCount;
        g.pointerCount = struct.pointerCount;
        g.preferredListEncoding = struct.preferredListEncoding;
      }
    }
  }

  private translateField(member: MemberInfo, field: Field): void {
    const slot = { offset: 0, type: { which: "void" } as Type, defaultValue: { which: "void" } as Value, hadExplicitDefault: false };
    Object.assign(field, { which: "slot", slot });
    const type = this.translator.compileType(member.fieldType!, this.implicit);
    if (type !== null) {
      slot.type = type;
      const dv = member.defaultValue;
      if (dv !== null) {
        if (member.isParam && dv.which === "relativeName" && dv.name.value === "null") {
          if (lgSizeOf(type) !== -2) {
            errorOn(this.errors, dv.name, "Only pointer parameters can declare their default as 'null'.");
          }
          slot.defaultValue = defaultValueOf(type);
        } else {
          this.translator.compileBootstrapValue(dv, type, null, (v) => (slot.defaultValue = v));
        }
        slot.hadExplicitDefault = true;
      } else {
        slot.defaultValue = defaultValueOf(type);
      }
    }
    const lgSize = lgSizeOf(slot.type);
    const scope = member.fieldScope!;
    if (lgSize === -2) slot.offset = scope.addPointer();
    else if (lgSize === -1) {
      scope.addVoid();
      slot.offset = 0;
    } else slot.offset = scope.addData(lgSize);
  }
}

// ---- checks ----

function ordinalOf(id: DeclarationId): { value: bigint; start: number; end: number } {
  return id.which === "ordinal" ? id.ordinal : { value: 0n, start: 0, end: 0 };
}

function stableSortByOrdinal(decls: Declaration[]): { decl: Declaration; codeOrder: number }[] {
  return decls
    .map((decl, codeOrder) => ({ decl, codeOrder, ordinal: ordinalOf(decl.id).value }))
    .sort((a, b) => (a.ordinal < b.ordinal ? -1 : a.ordinal > b.ordinal ? 1 : a.codeOrder - b.codeOrder));
}

/** Ordinals must count up from 0 with no gaps or repeats, checked in ordinal order. */
class DuplicateOrdinalDetector {
  private expected = 0n;
  private last: { value: bigint; start: number; end: number } | null = null;

  constructor(private readonly errors: ErrorReporter) {}

  check(ordinal: { value: bigint; start: number; end: number }): void {
    if (ordinal.value < this.expected) {
      errorOn(this.errors, ordinal, "Duplicate ordinal number.");
      if (this.last !== null) {
        errorOn(this.errors, this.last, `Ordinal @${this.last.value} originally used here.`);
        this.last = null;
      }
    } else if (ordinal.value > this.expected) {
      errorOn(this.errors, ordinal, `Skipped ordinal @${this.expected}.  Ordinals must be sequential with no holes.`);
      this.expected = ordinal.value + 1n;
    } else {
      this.expected++;
      this.last = ordinal;
    }
  }
}

/** Names must be unique per scope and follow the case rules; declarations must sit where they belong. */
class DuplicateNameDetector {
  private readonly names = new Map<string, Span>();

  constructor(private readonly errors: ErrorReporter) {}

  check(decls: Declaration[], parentKind: Declaration["which"]): void {
    for (const decl of decls) {
      const name = decl.name;
      const text = name.value;
      const previous = this.names.get(text);
      if (previous !== undefined) {
        if (text === "" && decl.which === "union") {
          errorOn(this.errors, name, "An unnamed union is already defined in this scope.");
          errorOn(this.errors, previous, "Previously defined here.");
        } else {
          errorOn(this.errors, name, `'${text}' is already defined in this scope.`);
          errorOn(this.errors, previous, `'${text}' previously defined here.`);
        }
      } else {
        this.names.set(text, name);
      }
      this.checkCase(decl);
      if (text.includes("_")) {
        errorOn(
          this.errors,
          name,
          "Cap'n Proto declaration names should use camelCase and must not contain underscores. (Code generators may convert names to the appropriate style for the target language.)",
        );
      }
      this.checkPlacement(decl, parentKind);
    }
  }

  private checkCase(decl: Declaration): void {
    const text = decl.name.value;
    if (text === "") return;
    const lower = text[0] >= "a" && text[0] <= "z";
    const upper = text[0] >= "A" && text[0] <= "Z";
    const typeRule = () => {
      if (!upper) errorOn(this.errors, decl.name, "Type names must begin with a capital letter.");
    };
    const valueRule = () => {
      if (!lower) errorOn(this.errors, decl.name, "Non-type names must begin with a lower-case letter.");
    };
    switch (decl.which) {
      case "using": {
        const target = targetName(decl.target);
        if (target.length > 0 && target[0] >= "a" && target[0] <= "z") valueRule();
        else typeRule();
        break;
      }
      case "enum":
      case "struct":
      case "interface":
        typeRule();
        break;
      case "const":
      case "annotation":
      case "enumerant":
      case "method":
      case "field":
      case "union":
      case "group":
        valueRule();
        break;
      default:
        break;
    }
  }

  private checkPlacement(decl: Declaration, parentKind: Declaration["which"]): void {
    switch (decl.which) {
      case "using":
      case "const":
      case "enum":
      case "struct":
      case "interface":
      case "annotation":
        if (parentKind !== "file" && parentKind !== "struct" && parentKind !== "interface") {
          errorOn(this.errors, decl, "This kind of declaration doesn't belong here.");
        }
        break;
      case "enumerant":
        if (parentKind !== "enum") errorOn(this.errors, decl, "Enumerants can only appear in enums.");
        break;
      case "method":
        if (parentKind !== "interface") errorOn(this.errors, decl, "Methods can only appear in interfaces.");
        break;
      case "field":
      case "union":
      case "group":
        if (parentKind !== "struct" && parentKind !== "union" && parentKind !== "group") {
          errorOn(this.errors, decl, "This declaration can only appear in structs.");
        }
        // An unnamed union shares its parent's namespace.
        if (decl.name.value === "") this.check(decl.nestedDecls, decl.which);
        else new DuplicateNameDetector(this.errors).check(decl.nestedDecls, decl.which);
        break;
      case "nakedId":
      case "nakedAnnotation":
        break;
      default:
        errorOn(this.errors, decl, "This kind of declaration doesn't belong here.");
        break;
    }
  }
}

/** The last name in an alias target, to apply the case rule for aliases (`using foo = Bar.baz`). */
function targetName(exp: Expression): string {
  switch (exp.which) {
    case "absoluteName":
    case "relativeName":
      return exp.name.value;
    case "application":
      return targetName(exp.function);
    case "member":
      return exp.name.value;
    default:
      return "";
  }
}
