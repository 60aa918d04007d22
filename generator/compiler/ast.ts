/**
 * The syntax tree: what the parser makes of one schema file, before any name is resolved.
 * It follows capnp 0.9.2's own `compiler/grammar.capnp` member for member, so that the compiler's checks can
 * be written against the same shapes the reference compiler uses. Every node carries the byte range of the
 * source it came from (`start` inclusive, `end` exclusive); diagnostics turn ranges into line:column.
 */

export interface Span {
  start: number;
  end: number;
}

export interface Located<T> extends Span {
  value: T;
}

export type LocatedText = Located<string>;
export type LocatedInteger = Located<bigint>;

export type Expression = Span & ExpressionKind;

export type ExpressionKind =
  /** Something that failed to parse; an error was already reported, later stages ignore it. */
  | { which: "unknown" }
  | { which: "positiveInt"; value: bigint }
  /** The magnitude: `-5` is `{ negativeInt, value: 5n }`. */
  | { which: "negativeInt"; value: bigint }
  | { which: "float"; value: number }
  /** `value` decodes `bytes`, the literal exactly; they differ only where the bytes are not UTF-8. */
  | { which: "string"; value: string; bytes: Uint8Array }
  | { which: "binary"; value: Uint8Array }
  | { which: "relativeName"; name: LocatedText }
  /** `.Foo`: looked up from the file's top scope. */
  | { which: "absoluteName"; name: LocatedText }
  | { which: "import"; path: LocatedText }
  | { which: "embed"; path: LocatedText }
  | { which: "list"; elements: Expression[] }
  | { which: "tuple"; params: ExpressionParam[] }
  /** `function(params)`: a generic application such as `List(Text)` or `Map(Text, Foo)`. */
  | { which: "application"; function: Expression; params: ExpressionParam[] }
  /** `parent.name`. */
  | { which: "member"; parent: Expression; name: LocatedText };

/** One element of a tuple or of an application's parameter list: `value` or `name = value`. */
export interface ExpressionParam {
  name: LocatedText | null;
  value: Expression;
}

export interface BrandParameter extends Span {
  name: string;
}

export interface AnnotationApplication {
  name: Expression;
  /** `null` when no value was given (`$foo`), which means Void. */
  value: Expression | null;
}

export type DeclarationId =
  | { which: "unspecified" }
  /** `@0x...` on a declaration. */
  | { which: "uid"; uid: LocatedInteger }
  /** `@N` on a field, enumerant, method or union. */
  | { which: "ordinal"; ordinal: LocatedInteger };

export interface DeclarationCommon extends Span {
  name: LocatedText;
  id: DeclarationId;
  parameters: BrandParameter[];
  nestedDecls: Declaration[];
  annotations: AnnotationApplication[];
  /** The doc comment with comment markers removed, or `null` if there is none. */
  docComment: string | null;
  /**
   * The doc comment's bytes, only when they are not UTF-8: `docComment` then has U+FFFD in place of each bad
   * sequence, and the request carries these bytes, as capnp's does.
   */
  docCommentBytes?: Uint8Array;
}

export interface ParamList extends Span {
  kind: { which: "namedList"; params: Param[] } | { which: "type"; type: Expression } | { which: "stream" };
}

export interface Param extends Span {
  /** `null` if the parameter failed to parse. */
  name: LocatedText | null;
  type: Expression;
  annotations: AnnotationApplication[];
  defaultValue: Expression | null;
}

export interface AnnotationTargetFlags {
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

/** The names of the built-in declarations, which live in a scope outside every file. */
export type BuiltinKind =
  | "builtinVoid"
  | "builtinBool"
  | "builtinInt8"
  | "builtinInt16"
  | "builtinInt32"
  | "builtinInt64"
  | "builtinUInt8"
  | "builtinUInt16"
  | "builtinUInt32"
  | "builtinUInt64"
  | "builtinFloat32"
  | "builtinFloat64"
  | "builtinText"
  | "builtinData"
  | "builtinList"
  | "builtinObject"
  | "builtinAnyPointer"
  | "builtinAnyStruct"
  | "builtinAnyList"
  | "builtinCapability";

export type DeclarationKind =
  | { which: "file" }
  | { which: "using"; target: Expression }
  | { which: "const"; type: Expression; value: Expression }
  | { which: "enum" }
  | { which: "enumerant" }
  | { which: "struct" }
  | { which: "field"; type: Expression; defaultValue: Expression | null }
  | { which: "union" }
  | { which: "group" }
  | { which: "interface"; superclasses: Expression[] }
  | { which: "method"; params: ParamList; results: ParamList | null }
  | ({ which: "annotation"; type: Expression } & AnnotationTargetFlags)
  /** A bare `@0x...;` statement: the file id. */
  | { which: "nakedId"; id: LocatedInteger }
  /** A bare `$foo(...);` statement: an annotation on the enclosing declaration. */
  | { which: "nakedAnnotation"; annotation: AnnotationApplication }
  | { which: BuiltinKind };

export type Declaration = DeclarationCommon & DeclarationKind;

/** What the parser returns for one file: the file's declaration (kind `file`) holding everything else. */
export interface ParsedFile {
  root: Declaration;
}
