/**
 * The model: Cap'n Proto's own `schema.capnp` (`CodeGeneratorRequest` and everything under it) as plain,
 * typed data. The front end produces it; everything after the front end consumes it and nothing else.
 *
 * Conventions (the same ones the generated plain-object views use, so there is one idea of "a struct as
 * plain data" in ipcgen):
 * - UInt64/Int64 are `bigint`; other numbers are `number`; Text is `string`; Data is `Uint8Array`; a null
 *   Text or Data reads as empty, as in the C++ readers.
 * - A union becomes a discriminated union on `which`, whose value is the member's name; a non-Void member's
 *   value sits under a property of the same name (`{ which: "int32", int32: 5 }`). An anonymous union is
 *   spread into its struct; a named union is an object under its own name.
 * - A group is a nested object.
 * - An AnyPointer is a `PointerValue` (see below) or `null` for a null pointer.
 * - Enums are their enumerant names.
 */

/** Node and type ids: 64-bit, top bit set for derived ids. */
export type Id = bigint;

/**
 * The contents of an AnyPointer field: the pointed-to object copied into a message of its own, in canonical
 * form (a single segment whose first word is the root pointer, no padding, as `capnp convert
 * binary:canonical` writes). Two pointers are equal exactly when their `canonical` bytes are equal.
 */
export interface PointerValue {
  readonly canonical: Uint8Array;
}

export interface CodeGeneratorRequest {
  capnpVersion: CapnpVersion;
  nodes: Node[];
  sourceInfo: SourceInfo[];
  requestedFiles: RequestedFile[];
}

export interface CapnpVersion {
  major: number;
  minor: number;
  micro: number;
}

export interface RequestedFile {
  id: Id;
  filename: string;
  imports: RequestedFileImport[];
}

export interface RequestedFileImport {
  id: Id;
  name: string;
}

export interface NodeParameter {
  name: string;
}

export interface NestedNode {
  name: string;
  id: Id;
}

export interface NodeCommon {
  id: Id;
  displayName: string;
  displayNamePrefixLength: number;
  scopeId: Id;
  parameters: NodeParameter[];
  isGeneric: boolean;
  nestedNodes: NestedNode[];
  annotations: Annotation[];
}

export type NodeKind =
  | { which: "file" }
  | { which: "struct"; struct: StructNode }
  | { which: "enum"; enum: EnumNode }
  | { which: "interface"; interface: InterfaceNode }
  | { which: "const"; const: ConstNode }
  | { which: "annotation"; annotation: AnnotationNode };

export type Node = NodeCommon & NodeKind;

export interface StructNode {
  dataWordCount: number;
  pointerCount: number;
  preferredListEncoding: ElementSize;
  isGroup: boolean;
  discriminantCount: number;
  /** In units of 16 bits. */
  discriminantOffset: number;
  /**
   * In the order capnp lays fields out (ordinal order, a group where its first member lands); declaration
   * order is each field's `codeOrder`.
   */
  fields: Field[];
}

export interface EnumNode {
  enumerants: Enumerant[];
}

export interface InterfaceNode {
  methods: Method[];
  superclasses: Superclass[];
}

export interface ConstNode {
  type: Type;
  value: Value;
}

export interface AnnotationTargets {
  targetsFile: boolean;
  targetsConst: boolean;
  targetsEnum: boolean;
  targetsEnumerant: boolean;
  targetsStruct: boolean;
  targetsField: boolean;
  targetsUnion: boolean;
  targetsGroup: boolean;
  targetsInterface: boolean;
  targetsMethod: boolean;
  targetsParam: boolean;
  targetsAnnotation: boolean;
}

export interface AnnotationNode extends AnnotationTargets {
  type: Type;
}

export interface SourceInfo {
  id: Id;
  docComment: string;
  members: SourceInfoMember[];
}

export interface SourceInfoMember {
  docComment: string;
}

/** `Field.noDiscriminant`: the field is not a union member. */
export const NO_DISCRIMINANT = 0xffff;

export interface FieldCommon {
  name: string;
  codeOrder: number;
  annotations: Annotation[];
  /** `NO_DISCRIMINANT` when the field is not a member of a union. */
  discriminantValue: number;
  ordinal: { which: "implicit" } | { which: "explicit"; explicit: number };
}

export interface SlotField {
  /** In units of the field's own size (bits for Bool, 8 for UInt8, pointers for pointer types). */
  offset: number;
  type: Type;
  defaultValue: Value;
  hadExplicitDefault: boolean;
}

export type FieldKind = { which: "slot"; slot: SlotField } | { which: "group"; group: { typeId: Id } };

export type Field = FieldCommon & FieldKind;

export interface Enumerant {
  name: string;
  codeOrder: number;
  annotations: Annotation[];
}

export interface Superclass {
  id: Id;
  brand: Brand;
}

export interface Method {
  name: string;
  codeOrder: number;
  implicitParameters: NodeParameter[];
  paramStructType: Id;
  paramBrand: Brand;
  resultStructType: Id;
  resultBrand: Brand;
  annotations: Annotation[];
}

export type Type =
  | { which: "void" }
  | { which: "bool" }
  | { which: "int8" }
  | { which: "int16" }
  | { which: "int32" }
  | { which: "int64" }
  | { which: "uint8" }
  | { which: "uint16" }
  | { which: "uint32" }
  | { which: "uint64" }
  | { which: "float32" }
  | { which: "float64" }
  | { which: "text" }
  | { which: "data" }
  | { which: "list"; list: { elementType: Type } }
  | { which: "enum"; enum: { typeId: Id; brand: Brand } }
  | { which: "struct"; struct: { typeId: Id; brand: Brand } }
  | { which: "interface"; interface: { typeId: Id; brand: Brand } }
  | { which: "anyPointer"; anyPointer: AnyPointerType };

export type AnyPointerType =
  | {
      which: "unconstrained";
      unconstrained: { which: "anyKind" } | { which: "struct" } | { which: "list" } | { which: "capability" };
    }
  | { which: "parameter"; parameter: { scopeId: Id; parameterIndex: number } }
  | { which: "implicitMethodParameter"; implicitMethodParameter: { parameterIndex: number } };

export interface Brand {
  scopes: BrandScope[];
}

export type BrandScope = { scopeId: Id } & (
  | { which: "bind"; bind: BrandBinding[] }
  | { which: "inherit" }
);

export type BrandBinding = { which: "unbound" } | { which: "type"; type: Type };

export type Value =
  | { which: "void" }
  | { which: "bool"; bool: boolean }
  | { which: "int8"; int8: number }
  | { which: "int16"; int16: number }
  | { which: "int32"; int32: number }
  | { which: "int64"; int64: bigint }
  | { which: "uint8"; uint8: number }
  | { which: "uint16"; uint16: number }
  | { which: "uint32"; uint32: number }
  | { which: "uint64"; uint64: bigint }
  | { which: "float32"; float32: number }
  | { which: "float64"; float64: number }
  | { which: "text"; text: string }
  | { which: "data"; data: Uint8Array }
  | { which: "list"; list: PointerValue | null }
  | { which: "enum"; enum: number }
  | { which: "struct"; struct: PointerValue | null }
  | { which: "interface" }
  | { which: "anyPointer"; anyPointer: PointerValue | null };

export interface Annotation {
  id: Id;
  brand: Brand;
  value: Value;
}

export type ElementSize =
  | "empty"
  | "bit"
  | "byte"
  | "twoBytes"
  | "fourBytes"
  | "eightBytes"
  | "pointer"
  | "inlineComposite";

/** The enumerants of `ElementSize` in ordinal order: the index is the wire value; do not reorder. */
export const ELEMENT_SIZES: readonly ElementSize[] = [
  "empty",
  "bit",
  "byte",
  "twoBytes",
  "fourBytes",
  "eightBytes",
  "pointer",
  "inlineComposite",
];
