/**
 * Every distinct error message of capnp 0.9.2's compiler (`c++/src/capnp/compiler/*.c++` at tag v0.9.2:
 * `errorReporter.addError` / `addErrorOn`, `Node::addError`, and the asserts whose text reaches the user),
 * with the negative case (a key of ALL_BROKEN: BROKEN in support/broken-schemas.ts and MESSAGE_CASES below) whose capnp output shows it, or why
 * no schema can make capnp print it. messages.test.ts checks the cases against capnp and prints covered/total;
 * errors.test.ts compares ipcgen's output for every case with capnp's.
 */
import { BROKEN, ID } from "./support/broken-schemas.js";

export interface CapnpMessage {
  /** Matches the message part of capnp's line (after `error: `), the whole of it. */
  message: RegExp;
  /** `file.c++:LINE` (at v0.9.2), several when the same text is emitted from several places. */
  source: string;
  /** The negative case whose capnp output contains the message. */
  case?: string;
  /** Why no case covers it (unreachable from schema input, or not tested here). */
  reason?: string;
  /** Covered by another test than a BROKEN case (checked there). */
  elsewhere?: string;
}

/** The negative cases added for this list. */
export const MESSAGE_CASES: Record<string, string> = {
  "object-type": `${ID}\nstruct A { x @0 :Object; }\n`,
  "not-a-type": `${ID}\nconst c :Int32 = 1;\nstruct A { x @0 :c; }\n`,
  "double-generic-application": `${ID}\nstruct G(T) { t @0 :T; }\nstruct A { x @0 :G(Text)(Text); }\n`,
  "not-generic": `${ID}\nstruct B {}\nstruct A { x @0 :B(Text); }\n`,
  "too-many-generic-parameters": `${ID}\nstruct G(T) { t @0 :T; }\nstruct A { x @0 :G(Text, Data); }\n`,
  "not-enough-generic-parameters": `${ID}\nstruct G(T, U) { t @0 :T; }\nstruct A { x @0 :G(Text); }\n`,
  "expected-name": `${ID}\nstruct A { x @0 :List(5); }\n`,
  "named-generic-parameter": `${ID}\nstruct G(T) { t @0 :T; }\nstruct A { x @0 :G(T = Text); }\n`,
  "non-utf8": `${ID}\nstruct A {}\n\u0000\n`,
  "two-unnamed-unions": `${ID}\nstruct A {\n  union { a @0 :Int32; b @1 :Int32; }\n  union { c @2 :Int32; d @3 :Int32; }\n}\n`,
  "declaration-in-union": `${ID}
struct A {
  u :union {
    a @0 :Int32;
    b @1 :Int32;
    struct S {}
  }
  g :group {
    c @2 :Int32;
    interface I {}
    annotation n(*) :Void;
    const k :Int32 = 1;
  }
}
`,
  "union-in-union": `${ID}\nstruct A {\n  u :union {\n    a @0 :Int32;\n    union { b @1 :Int32; c @2 :Int32; }\n  }\n}\n`,
  "null-default-not-pointer": `${ID}\ninterface I { m @0 (a :Int32 = null); }\n`,
  "union-ordinal": `${ID}\nstruct A {\n  u @2! :union {\n    a @0 :Int32;\n    b @1 :Int32;\n  }\n}\n`,
  "extends-generic-parameter": `${ID}\ninterface I(T) extends(T) {}\n`,
  "stream-before-arrow": `${ID}\ninterface I { m @0 stream -> (); }\n`,
  "params-not-struct": `${ID}\nenum E { a @0; }\ninterface I { m @0 E -> (); }\n`,
  "params-generic-parameter": `${ID}\ninterface I(T) { m @0 T -> (); }\n`,
  "stream-without-import": `${ID}\ninterface I { m @0 () -> stream; }\n`,
  "unbound-generic-value": `${ID}\nstruct A(T) { x @0 :T = 5; }\n`,
  // The file embeds itself: its size (97 bytes) is not a whole number of words.
  "embed-not-a-message": `${ID}\nstruct S { x @0 :Int32; }\nconst s :S = embed "embed-not-a-message.capnp";\n#\n`,
  "embed-wrong-type": `${ID}\nconst i :Int32 = embed "embed-wrong-type.capnp";\n`,
  "too-big-to-be-negative": `${ID}\nconst i :Int64 = -9223372036854775809;\n`,
  "group-mismatch": `${ID}\nstruct A { g :group { x @0 :Int32; } }\nconst c :A = (g = 5);\n`,
  // `(5)` alone is a parenthesized 5 (a type mismatch); a tuple of two has an unnamed member.
  "missing-field-name": `${ID}\nstruct A { x @0 :Int32; y @1 :Int32; }\nconst c :A = (x = 1, 5);\nconst d :A = (5);\n`,
  "not-an-annotation": `${ID}\nstruct B {}\nstruct A $B { x @0 :Int32 $B(1); }\n`,
  "two-file-ids": `${ID}\n@0xbf5147cbbecf40c2;\nstruct A {}\n`,
  "empty-list-item": `${ID}\nconst l :List(Int32) = [1, , 2];\n`,
  "using-without-name": `${ID}\nusing Foo;\n`,
  "union-ordinal-old-syntax": `${ID}\nstruct A {\n  u @0 union {\n    a @1 :Int32;\n    b @2 :Int32;\n  }\n}\n`,
  "union-without-colon": `${ID}\nstruct A {\n  u @0! union {\n    a @1 :Int32;\n    b @2 :Int32;\n  }\n}\n`,
  "annotation-targets": `${ID}\nannotation a(*, struct) :Void;\nannotation b(structs) :Void;\nannotation c(struct, field, struct) :Void;\n`,
  // Declarations out of their scope are parse errors (see PARSER_SCOPES).
  "misplaced-enumerant": `${ID}\nstruct A { a @0; }\n`,
  "misplaced-method": `${ID}\nstruct A { m @0 (); }\n`,
  "misplaced-field": `${ID}\ninterface I { x @0 :Int32; }\n`,
  "misplaced-struct-in-enum": `${ID}\nenum E { a @0; struct S {} }\n`,
  // Literals for an interface or an AnyPointer: type mismatches, never the translator's internal asserts.
  "pointer-literal-mismatch": `${ID}\ninterface I {}\nstruct A { x @0 :I = 5; y @1 :AnyPointer = 5; z @2 :I = (a = 1); w @3 :AnyPointer = [1]; v @4 :I = "x"; }\n`,
  // More ways to the same messages (positions and counts compared with capnp too).
  "annotation-targets-more": `${ID}\nannotation a(Struct, fields, enumerants, enumerant, annotation, param, parameter, fieldxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx) :Void;\nannotation b(*, *) :Void;\nannotation c(struct, struct, struct) :Void;\n`,
  "lexer-errors": `${ID}\nconst t :Text = "abc\n`,
  "lexer-bad-char": `${ID}\nconst t :Int32 = 1 ? 2;\n`,
  "parse-error-in-list": `${ID}\nstruct G(T) { t @0 :T; }\nstruct A { x @0 :G(Text Data); y @1 :List(Int32) = [1, 2 3]; }\n`,
  "parse-error-item-consumed": `${ID}\nconst l :List(Int32) = [1, -];\nconst m :List(Int32) = [,];\nconst n :List(Int32) = [1,];\n`,
  "semicolon-and-block": `${ID}\nenum E;\ninterface I;\nannotation a(*) :Void {}\nusing X = Int32 { }\nstruct S { x @0 :Int32 {} g :group; u :union; }\n`,
  "generic-misuse": `${ID}\nstruct G(T) { t @0 :T; }\nstruct A { x @0 :G(Text)(Text)(Data); y @1 :List(Text, Data); z @2 :List; w @3 :Int32(Text); v @4 :G(T = Text, Data); }\n`,
  "not-a-type-variants": `${ID}\nenum E { a @0; }\nannotation n(*) :Void;\nstruct A { x @0 :E.a; y @1 :n; z @2 :.E.a; }\n`,
  "negative-ranges": `${ID}\nconst a :Int64 = -9223372036854775808;\nconst b :UInt64 = -1;\nconst c :Int64 = -18446744073709551616;\nconst d :Int8 = -0;\nconst e :Float32 = -99999999999999999999999;\n`,
  "embed-variants": `${ID}\nconst a :List(Int32) = embed "embed-variants.capnp";\nconst b :Float64 = embed "embed-variants.capnp";\nconst c :Text = embed "embed-variants.capnp";\nconst d :Data = embed "nope";\n`,
  "struct-literal-variants": `${ID}\nstruct A { g :group { x @0 :Int32; } u :union { a @1 :Int32; b @2 :Text; } }\nconst c :A = (g = (x = 1, 5), u = (a = 1), g = [1]);\nconst d :A = (g = (y = 2), 7, 8);\n`,
  "null-defaults": `${ID}\ninterface I { m @0 (a :Bool = null, b :Text = null, c :Float64 = null, d :List(Int32) = null) -> (r :UInt8 = null); }\nstruct S { x @0 :Int32 = null; }\n`,
  "method-params": `${ID}\nstruct S {}\nenum E { a @0; }\ninterface J {}\ninterface I(T) { a @0 E -> (); b @1 () -> E; c @2 J -> (); d @3 () -> T; e @4 S -> S; f @5 List(Int32) -> (); g @6 stream -> stream; h @7 AnyPointer -> (); }\n`,
  "extends-variants": `${ID}\nstruct S {}\nenum E { a @0; }\ninterface I(T) extends(T, S, E, Nope, Int32) {}\ninterface J extends(AnyPointer, Capability) {}\n`,
  "union-ordinals": `${ID}\nstruct A {\n  a @0 :Int32;\n  u @3! :union {\n    b @1 :Int32;\n    c @2 :Int32;\n  }\n  v @4! :union { d @5 :Int32; e @6 :Int32; }\n}\n`,
  "unnamed-unions-three": `${ID}\nstruct A {\n  union { a @0 :Int32; b @1 :Int32; }\n  g :group { union { c @2 :Int32; d @3 :Int32; } union { e @4 :Int32; f @5 :Int32; } }\n  union { h @6 :Int32; i @7 :Int32; }\n}\n`,
  "not-an-annotation-variants": `${ID}\nconst k :Int32 = 1;\nenum E { a @0 $k; }\ninterface I $E { m @0 () $Int32; }\nannotation n(*) :Void $Nope;\n`,
  "dup-names": `${ID}\nstruct A { a @0 :Int32; a @1 :Int32; g :group { a @2 :Int32; } union { b @3 :Int32; c @4 :Int32; } b @5 :Int32; struct a {} }\nenum E { x @0; x @1; }\ninterface I { m @0 (); m @1 (); struct m {} }\n`,
  "naming": `${ID}\nenum e { X @0; }\ninterface i { M @0 (); }\nconst K :Int32 = 1;\nannotation Ann(*) :Void;\nusing u = Int32;\nstruct S { G :group { x @0 :Int32; } U :union { a @1 :Int32; b @2 :Int32; } }\n`,
  "ordinals": `${ID}\nenum E { a @1; b @0; c @2; }\ninterface I { m @1 (); n @1 (); }\nstruct S { a @0 :Int32; u :union { b @2 :Int32; c @3 :Int32; } }\n`,
  "ordinals2": `${ID}\nenum E { a @0; b @0; c @3; }\nstruct S { a @0 :Int32; b @0 :Int32; c @0 :Int32; }\n`,
  "generic-errors": `${ID}\nstruct G(T, U) { t @0 :T; }\nstruct A { a @0 :G(Text); b @1 :G(Int32, Text); c @2 :G(Text, Text, Text); d @3 :List(List); e @4 :G(Text, Text).t; f @5 :G.Nope; g @6 :AnyPointer(Text); }\n`,
  "member-errors": `${ID}\nenum E { a @0; }\nstruct A { x @0 :E.b; y @1 :Int32.x; z @2 :E = b; w @3 :E = .E.b; v @4 :E = a; }\nconst c :Int32 = E.a;\n`,
  "const-errors": `${ID}\nstruct S { x @0 :Int32; }\nconst s :S = (x = 1);\nconst t :Int32 = .s;\nconst u :S = .s.x;\nconst v :Text = .S;\nconst w :List(Int32) = [.t, 2];\nconst x :Int32 = .Nope;\n`,
  "float-and-bool": `${ID}\nconst a :Bool = 1;\nconst b :Float32 = true;\nconst c :Int32 = 1.5;\nconst d :Text = 5;\nconst e :Data = "x";\nconst f :Void = void;\nconst g :Void = 1;\nconst h :Float64 = inf;\nconst i :Float64 = -inf;\nconst j :Float32 = nan;\nconst k :Int32 = -nan;\n`,
  "union-errors": `${ID}\nstruct S {\n  u :union { a @0 :Int32; }\n  v :union { }\n  union { b @1 :Int32; }\n  g :group { union { c @2 :Int32; } }\n}\n`,
  "interface-errors": `${ID}\nstruct S {}\ninterface I extends(S, I) {}\ninterface J extends(J) {}\ninterface K { m @0 (a :Int32, a :Text) -> (); }\n`,
  "import-errors": `${ID}\nusing X = import "nope.capnp";\nusing Y = import "/nope.capnp";\nconst c :Int32 = import "nope.capnp";\nstruct S { x @0 :import "nope.capnp"; }\n`,
  "annotation-apply": `${ID}\nannotation a(struct) :Text;\nannotation b(field) :Void;\nstruct S $a $a("x") $b $b(1) { x @0 :Int32 $a("y") $b; }\nenum E $a("z") { q @0 $b; }\nconst k :Int32 = 1 $a("c");\n`,
  "targets-all": `${ID}\nannotation a(file, struct, field, union, group, enum, enumerant, interface, method, param, annotation, const) :Void;\nannotation b(foo, bar, *) :Void;\n`,
  "text-literals": `${ID}\nconst a :Text = "\\x4";\nconst b :Text = "\\u12";\nconst c :Data = 0x"abc";\nconst d :Data = 0x"zz";\nconst e :Text = "\\777";\n`,
  "numbers": `${ID}\nconst a :UInt64 = 18446744073709551616;\nconst b :Int32 = 0x;\nconst c :Int32 = 099;\nconst d :Float64 = 1e999;\nconst e :Int32 = 1e3;\n`,
  // A constant whose type failed: List(Void) with a void value is refused by capnp's loader (references say
  // nothing more); Void with a void value is not.
  "failed-constant-type": `${ID}\nstruct G(T) { const d :List(T) = []; }\nconst f :List(Text) = .G(Text).d;\nconst x :Nope = 5;\nconst y :Int32 = .x;\nconst l :List(AnyPointer) = [];\nconst m :List(Int32) = .l;\n`,
  // Annotation values of generic types: capnp reads the type in the annotation's branded schema, where
  // a parameter its brand does not bind (inherited ones too) is AnyPointer, not an unbound parameter; so
  // is a parameter of a struct named without a brand in a struct literal.
  "generic-annotation-values": `${ID}
struct A(T) {
  annotation n(*) :T;
  z @0 :Int32 $n(5);
  struct B(U) { annotation p(*) :T; annotation m(*) :U; }
  t @1 :T;
  const c :A = (t = 5);
  s @2 :A = (t = 6);
  annotation q(*) :A(T);
  annotation r(*) :List(T);
  x @3 :Int32 $q((t = 7)) $r([1]);
}
struct C $A.B(Text).p(5) $A(Data).B(Text).p(5) $A.B(Text).m(5) $A.n(5) $A(Text).n(5) $A(Text).q((t = 8)) {}
`,
  // Values of generic struct types (bound, unbound, nested, through constants and annotations).
  "generic-struct-literals": `${ID}\nstruct Box(T) { v @0 :T; b @1 :Box(T); }\nstruct S { x @0 :Box(Text) = (v = 5, b = (v = 6)); y @1 :Box(Box(Text)) = (v = (v = 7)); }\n`,
  "generic-nested-literals": `${ID}\nstruct Box(T) { v @0 :T; struct In { w @0 :T; } i @1 :In; }\nstruct S { x @0 :Box(Text) = (i = (w = 5)); y @1 :Box(Text).In = (w = 6); z @2 :Box.In = (w = 7); }\n`,
  "generic-nested-annotations": `${ID}\nstruct Box(T) { v @0 :T; struct In { w @0 :T; } i @1 :In = (w = 5); annotation a(*) :In; f @2 :Int32 $a((w = 6)); }\nstruct S $Box(Text).a((w = 7)) $Box.a((w = 8)) {}\n`,
  "method-generic-defaults": `${ID}\ninterface I(T) { m @0 [U] (a :U = 5, b :T = 6, c :List(U) = [1]) -> (); }\n`,
  "generic-constant-brands": `${ID}\nstruct Box(T) { v @0 :T; }\nconst a :Box(Text) = (v = "x");\nconst b :Box(Data) = .a;\nconst c :Box = .a;\nconst d :Box(Text) = .a;\nconst e :Box(AnyPointer) = (v = 5);\n`,
  "generic-annotation-struct": `${ID}\nstruct Box(T) { v @0 :T; }\nstruct P(T) { annotation a(*) :Box(T); x @0 :Int32 $a((v = 1)); }\nstruct Q $P(Text).a((v = 2)) $P(Box(Text)).a((v = (v = 3))) {}\n`,
  "block-expected": `${ID}\nstruct A;\n`,
  "semicolon-expected": `${ID}\nconst c :Int32 = 1 { }\n`,
};

/** Every negative case of errors.test.ts: BROKEN and this list's. */
export const ALL_BROKEN: Record<string, string> = { ...BROKEN, ...MESSAGE_CASES };

const UNREACHABLE_INTERNAL = "internal consistency check: the schema loader refuses only what the translator already refused";
const PARSER_SCOPES =
  "unreachable: the parser only accepts this declaration kind in the right scope (enumLevelDecl, interfaceLevelDecl, structLevelDecl), so a misplaced one is a Parse error (cases misplaced-*)";

/** A `capnp/stream.capnp` that is not the official one, in the import path of FAKE_STREAM_SCHEMA. */
export const FAKE_STREAM_CAPNP = "@0x86c366a91393f3f8;\nstruct Other {}\n";
export const FAKE_STREAM_SCHEMA = `${ID}\ninterface I {\n  m @0 () -> stream;\n  n @1 (a :Int32) -> stream;\n}\n`;

export const MESSAGES: CapnpMessage[] = [
  // compiler.c++
  { message: /^Declaration recursively depends on itself\.$/, source: "compiler.c++:471", case: "recursive-constants" },
  { message: /^Internal compiler bug: Bootstrap schema failed validation:$/, source: "compiler.c++:571", case: "duplicate-param-name" },
  { message: /^Internal compiler bug: Schema failed validation:/, source: "compiler.c++:664", reason: `${UNREACHABLE_INTERNAL} (a node that passed bootstrap validation passes the final one)` },
  { message: /^Internal compiler bug: Bootstrap schema failed to load:/, source: "compiler.c++:989", reason: UNREACHABLE_INTERNAL },
  { message: /^Duplicate ID @0x[0-9a-f]+\.$/, source: "compiler.c++:1203", case: "duplicate-id" },
  { message: /^ID @0x[0-9a-f]+ originally used here\.$/, source: "compiler.c++:1204", case: "duplicate-id" },
  // generics.c++
  { message: /^'List' requires exactly one parameter\.$/, source: "generics.c++:129", case: "expected-name" },
  { message: /^'List\(AnyPointer\)' is not supported\.$/, source: "generics.c++:137", case: "list-of-anypointer" },
  { message: /^'List\(AnyStruct\)' is not supported\.$/, source: "generics.c++:142", case: "list-of-generic-parameter" },
  { message: /^As of Cap'n Proto 0\.4, 'Object' has been renamed to 'AnyPointer'\. {2}Sorry for the inconvenience, and thanks for being an early adopter\. {2}:\)$/, source: "generics.c++:168", case: "object-type" },
  { message: /^'.*' is not a type\.$/, source: "generics.c++:196", case: "not-a-type" },
  { message: /^Double-application of generic parameters\.$/, source: "generics.c++:276", case: "double-generic-application" },
  { message: /^Declaration does not accept generic parameters\.$/, source: "generics.c++:280", case: "not-generic" },
  { message: /^Too many generic parameters\.$/, source: "generics.c++:282", case: "too-many-generic-parameters" },
  { message: /^Not enough generic parameters\.$/, source: "generics.c++:286", case: "not-enough-generic-parameters" },
  { message: /^Sorry, only pointer types can be used as generic parameters\.$/, source: "generics.c++:302", case: "generic-primitive-argument" },
  { message: /^Expected name\.$/, source: "generics.c++:546", case: "expected-name" },
  { message: /^Not defined: .+$/, source: "generics.c++:569, generics.c++:579", case: "unknown-type" },
  { message: /^Import failed: .+$/, source: "generics.c++:591", case: "bad-import" },
  { message: /^Named parameter not allowed here\.$/, source: "generics.c++:605", case: "named-generic-parameter" },
  { message: /^'.*' has no member named '.*'$/, source: "generics.c++:640", case: "using-cycle-longer" },
  // lexer.c++ and parser.c++
  { message: /^Parse error\.$/, source: "lexer.c++:48, lexer.c++:70, parser.c++:271, parser.c++:276, parser.c++:1091", case: "parse-error" },
  { message: /^Non-UTF-8 input detected\. Cap'n Proto schema files must be UTF-8 text\.$/, source: "lexer.c++:235", case: "non-utf8" },
  { message: /^File can only have one ID\.$/, source: "parser.c++:87", case: "two-file-ids" },
  { message: /^File does not declare an ID\. {2}I've generated one for you\. {2}Add this line to your file: @0x[0-9a-f]{16};$/, source: "parser.c++:114", case: "missing-file-id" },
  { message: /^Parse error: Empty list item\.$/, source: "parser.c++:282", case: "empty-list-item" },
  { message: /^Invalid ID\. {2}Please generate a new one with 'capnpc -i'\.$/, source: "parser.c++:617", case: "invalid-file-id" },
  { message: /^Ordinals cannot be greater than 65535\.$/, source: "parser.c++:627", case: "ordinal-too-big" },
  { message: /^'using' declaration without '=' must specify a named declaration from a different scope\.$/, source: "parser.c++:649", case: "using-without-name" },
  { message: /^As of Cap'n Proto v0\.3, it is no longer necessary to assign numbers to unions\. .* {2}:\)$/, source: "parser.c++:770", case: "union-ordinal-old-syntax" },
  { message: /^As of Cap'n Proto v0\.3, the 'union' keyword should be prefixed with a colon for named unions, e\.g\. `foo :union \{`\.$/, source: "parser.c++:780", case: "union-without-colon" },
  { message: /^Wildcard should not be specified together with other targets\.$/, source: "parser.c++:966", case: "annotation-targets" },
  { message: /^Not a valid annotation target\.$/, source: "parser.c++:978, parser.c++:992", case: "annotation-targets" },
  { message: /^Duplicate target specification\.$/, source: "parser.c++:987", case: "annotation-targets" },
  { message: /^This statement should end with a block, not a semicolon\.$/, source: "parser.c++:1054", case: "block-expected" },
  { message: /^This statement should end with a semicolon, not a block\.$/, source: "parser.c++:1070", case: "semicolon-expected" },
  // node-translator.c++
  { message: /^Bad news: Cap'n Proto 0\.5\.x and previous contained a bug/, source: "node-translator.c++:436, node-translator.c++:562 (KJ_FAIL_ASSERT)", elsewhere: "errors.test.ts, bad-news (an uncaught exception, not an error line)" },
  { message: /^An unnamed union is already defined in this scope\.$/, source: "node-translator.c++:728", case: "two-unnamed-unions" },
  { message: /^Previously defined here\.$/, source: "node-translator.c++:730", case: "two-unnamed-unions" },
  { message: /^'.*' is already defined in this scope\.$/, source: "node-translator.c++:733", case: "duplicate-name" },
  { message: /^'.*' previously defined here\.$/, source: "node-translator.c++:735", case: "duplicate-name" },
  { message: /^Non-type names must begin with a lower-case letter\.$/, source: "node-translator.c++:746, node-translator.c++:777", case: "naming-rules" },
  { message: /^Type names must begin with a capital letter\.$/, source: "node-translator.c++:753, node-translator.c++:764", case: "naming-rules" },
  { message: /^Cap'n Proto declaration names should use camelCase and must not contain underscores\. /, source: "node-translator.c++:789", case: "naming-rules" },
  { message: /^This kind of declaration doesn't belong here\.$/, source: "node-translator.c++:810, node-translator.c++:853", case: "declaration-in-union" },
  { message: /^Enumerants can only appear in enums\.$/, source: "node-translator.c++:817", reason: PARSER_SCOPES },
  { message: /^Methods can only appear in interfaces\.$/, source: "node-translator.c++:822", reason: PARSER_SCOPES },
  { message: /^This declaration can only appear in structs\.$/, source: "node-translator.c++:835", reason: PARSER_SCOPES },
  { message: /^Duplicate ordinal number\.$/, source: "node-translator.c++:889", case: "duplicate-ordinal" },
  { message: /^Ordinal @\d+ originally used here\.$/, source: "node-translator.c++:891", case: "duplicate-ordinal" },
  { message: /^Skipped ordinal @\d+\. {2}Ordinals must be sequential with no holes\.$/, source: "node-translator.c++:897", case: "skipped-ordinal" },
  { message: /^Union must have at least two members\.$/, source: "node-translator.c++:1187", case: "union-with-one-member" },
  { message: /^Unions cannot contain unnamed unions\.$/, source: "node-translator.c++:1209", case: "union-in-union" },
  { message: /^Group must have at least one member\.$/, source: "node-translator.c++:1258", case: "empty-group" },
  { message: /^Only pointer parameters can declare their default as 'null'\.$/, source: "node-translator.c++:1402", case: "null-default-not-pointer" },
  { message: /^Union ordinal, if specified, must be greater than no more than one of its member ordinals \(i\.e\. there can only be one field retroactively unionized\)\.$/, source: "node-translator.c++:1458", case: "union-ordinal" },
  { message: /^'.*' is not an interface\.$/, source: "node-translator.c++:1545", case: "extends-a-struct" },
  { message: /^'.*' is an unbound generic parameter\. Currently we don't support extending these\.$/, source: "node-translator.c++:1550", case: "extends-generic-parameter" },
  { message: /^'stream' can only appear after '->', not before\.$/, source: "node-translator.c++:1599", case: "stream-before-arrow" },
  { message: /^'.*' is not a struct type\.$/, source: "node-translator.c++:1682", case: "params-not-struct" },
  { message: /^Cannot use generic parameter as whole input or output of a method\. Instead, use a parameter\/result list containing a field with this type\.$/, source: "node-translator.c++:1688", case: "params-generic-parameter" },
  {
    message: /^The version of '\/capnp\/stream\.capnp' found in your import path does not appear to be the official one; it is missing the declaration of StreamResult\.$/,
    source: "node-translator.c++:1698",
    elsewhere: "messages.test.ts, fake stream.capnp (needs a capnp/stream.capnp without StreamResult in an import path)",
  },
  { message: /^A method declaration uses streaming, but '\/capnp\/stream\.capnp' is not found in the import path\. /, source: "node-translator.c++:1703", case: "stream-without-import" },
  { message: /^Cannot interpret value because the type is a generic type parameter which is not yet bound\. We don't know what type to expect here\.$/, source: "node-translator.c++:1835", case: "unbound-generic-value" },
  { message: /^Integer value out of range\.$/, source: "node-translator.c++:1890, node-translator.c++:1921", case: "integers-out-of-range" },
  { message: /^Type mismatch; expected (?!group\.).+\.$/, source: "node-translator.c++:1994, 2127, 2134, 2152", case: "default-type-mismatch" },
  { message: /^Embedded file is not a valid Cap'n Proto message\.$/, source: "node-translator.c++:2067", case: "embed-not-a-message" },
  { message: /^Embeds can only be used when Text, Data, or a struct is expected\.$/, source: "node-translator.c++:2091", case: "embed-wrong-type" },
  { message: /^Integer is too big to be negative\.$/, source: "node-translator.c++:2105", case: "too-big-to-be-negative" },
  { message: /^Type mismatch; expected group\.$/, source: "node-translator.c++:2189", case: "group-mismatch" },
  { message: /^Struct has no field named '.*'\.$/, source: "node-translator.c++:2194", case: "no-such-field-in-literal" },
  { message: /^Missing field name\.$/, source: "node-translator.c++:2198", case: "missing-field-name" },
  { message: /^'.*' does not refer to a constant\.$/, source: "node-translator.c++:2247", case: "not-a-constant" },
  { message: /^Constant names must be qualified to avoid confusion\. {2}Please replace '.*' with '.*', if that's what you intended\.$/, source: "node-translator.c++:2320", case: "unqualified-constant" },
  { message: /^Couldn't read file for embed: .+$/, source: "node-translator.c++:2334", case: "embed-missing-file" },
  { message: /^'.*' is not an annotation\.$/, source: "node-translator.c++:2362, node-translator.c++:2399", case: "not-an-annotation" },
  {
    message: /^Unrecognized AnyPointer-typed member of schema::Value\.$/,
    source: "node-translator.c++:2300 (KJ_FAIL_ASSERT)",
    reason:
      "reachable, not covered: capnp 0.9.2 crashes (uncaught exception, no further messages) reading a generic constant whose value failed, " +
      "through a brand that binds its type to a non-struct, non-list pointer: `struct G(T) { const c :T = \"x\"; }` then " +
      "`const e :Text = .G(Text).c;`. ipcgen reports \"Type mismatch; expected Text.\" there instead (a known difference, not fixed)",
  },
  { message: /^'.*' cannot be applied to this kind of declaration\.$/, source: "node-translator.c++:2372", case: "annotation-wrong-target" },
  { message: /^'.*' requires a value\.$/, source: "node-translator.c++:2384", case: "annotation-missing-value" },
  // capnp.c++ (the command-line tool, in the same directory)
  { message: /^Couldn't parse type name\.$/, source: "capnp.c++:1213, 1234, 1239, 1241", reason: "capnp.c++'s type-name argument of `capnp decode/encode/convert`, not reachable by `capnp compile`" },
  { message: /^Type is not a struct\.$/, source: "capnp.c++:1226, 1230", reason: "capnp.c++'s type-name argument of `capnp decode/encode/convert`, not reachable by `capnp compile`" },
];

/**
 * The internal checks (KJ_ASSERT / KJ_REQUIRE / KJ_FAIL_*) of the same sources, but for "Bad news" (listed
 * above): their texts are not error messages, and no schema input reaches them. Not counted in the total.
 */
export const INTERNAL_CHECKS: { text: string; source: string; reason: string }[] = [
  { text: "illegal method call for built-in declaration", source: "compiler.c++:462", reason: "built-ins are never translated" },
  { text: "unknown declaration type", source: "compiler.c++:517", reason: "the parser produces only known declaration kinds" },
  { text: "Dependency ID not present in compiler?", source: "compiler.c++:844", reason: "dependencies are ids the compiler itself assigned" },
  { text: "Tried to get schema for ID we haven't seen before.", source: "compiler.c++:954, 962", reason: "callers pass only ids of compiled nodes" },
  { text: "invalid builtin", source: "compiler.c++:1233", reason: "the built-in kinds are a fixed table" },
  { text: "lookup()s parameter 'parent' must be a known ID.", source: "compiler.c++:1251", reason: "API precondition (plugins' lookups), not schema input" },
  { text: "id did not come from this Compiler.", source: "compiler.c++:1298", reason: "API precondition, not schema input" },
  { text: "scope is not a parent", source: "generics.c++:345, 361", reason: "brand scopes are walked only upward from the scope that uses them" },
  { text: "Alias pointed to implicit method type parameter?", source: "generics.c++:520", reason: "implicit method parameters are visible only in the method's own parameter lists, where no alias can be declared" },
  { text: "Tried to expand field that was never allocated.", source: "node-translator.c++:568", reason: "layout invariant" },
  { text: "This Declaration is not a node.", source: "node-translator.c++:690", reason: "called only for node declarations" },
  { text: "Don't know what naming rules to enforce for node type.", source: "node-translator.c++:783", reason: "every declaration kind with a name has a naming rule" },
  { text: "Groups don't have ordinals.", source: "node-translator.c++:1465", reason: "the grammar gives groups no ordinal" },
  { text: "Unexpected member type.", source: "node-translator.c++:1469, 1498", reason: "struct members are fields, unions and groups only (the parser's structLevelDecl)" },
  { text: "Interfaces can't have literal values.", source: "node-translator.c++:1988", reason: "no literal evaluates to a capability: an interface-typed default is a Type mismatch (case pointer-literal-mismatch)" },
  { text: "AnyPointers can't have literal values.", source: "node-translator.c++:1991", reason: "no literal evaluates to an AnyPointer: case pointer-literal-mismatch" },
  { text: "Incomplete read from /dev/urandom.", source: "parser.c++:65", reason: "system failure while generating a file id" },
  { text: "Unknown suffix?", source: "parser.c++:574", reason: "the grammar produces only known expression suffixes" },
  { text: "Can't report errors until loadContent() is called.", source: "module-loader.c++:196", reason: "errors are reported only after a file is loaded" },
];
