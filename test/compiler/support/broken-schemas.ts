/** Our own broken schemas for the negative tests (test/compiler/errors.test.ts); each must fail in capnp 0.9.2 and ipcgen alike. */

/** A valid file id line. */
export const ID = "@0xbf5147cbbecf40c1;";
export const BROKEN: Record<string, string> = {
  "missing-file-id": "struct A { x @0 :Int32; }\n",
  "invalid-file-id": "@0x1234;\nstruct A {}\n",
  "unknown-type": `${ID}\nstruct A { x @0 :Foo; }\n`,
  "duplicate-ordinal": `${ID}\nstruct A {\n  x @0 :Int32;\n  y @0 :Text;\n}\n`,
  "skipped-ordinal": `${ID}\nstruct A { x @0 :Int32; y @2 :Int32; }\n`,
  "ordinal-too-big": `${ID}\nstruct A { x @65536 :Int32; }\n`,
  "bad-import": `${ID}\nusing X = import "nosuch.capnp";\nstruct A { x @0 :X.Y; }\n`,
  "import-of-broken-file": `${ID}\nusing import "parse-error.capnp".A;\n`,
  "embed-missing-file": `${ID}\nconst d :Data = embed "nosuch.bin";\n`,
  "duplicate-name": `${ID}\nstruct A {}\nstruct A {}\n`,
  "duplicate-id": `${ID}\nstruct A @0xd0a4c2d3b8c7e1f2 {}\nstruct B @0xd0a4c2d3b8c7e1f2 {}\n`,
  "parse-error": `${ID}\nstruct A { x @0 :Int32 }\n`,
  "unterminated-block": `${ID}\nstruct A {\n  x @0 :Int32;\n`,
  "bad-escape": `${ID}\nconst t :Text = "a\\qb";\n`,
  "tabs-and-utf8-columns": `${ID}\n\t# é日本\nstruct A {\n\tx @0 :Int32;\tyé @1 :Nope;\n}\n`,
  "naming-rules": `${ID}\nstruct foo {}\nstruct B { Bad @0 :Int32; under_score @1 :Int32; }\n`,
  "default-type-mismatch": `${ID}\nstruct A { x @0 :Int32 = "text"; }\n`,
  "struct-literal-for-list": `${ID}\nstruct A { x @0 :List(Int32) = (a = 1); }\n`,
  "integers-out-of-range": `${ID}\nstruct A { x @0 :UInt8 = 256; y @1 :Int8 = -129; z @2 :UInt16 = -1; }\n`,
  // capnp 0.9.2 rejects an enum-typed constant as an enum default (found by the random test's generator).
  "enum-constant-as-default": `${ID}\nenum E { a @0; b @1; }\nconst k :E = b;\nstruct S { f @0 :E = .k; }\n`,
  "unqualified-constant": `${ID}\nconst a :Int32 = 1;\nconst b :Int32 = a;\n`,
  "recursive-constants": `${ID}\nconst a :Int32 = .b;\nconst b :Int32 = .a;\n`,
  "not-a-constant": `${ID}\nstruct A {}\nconst c :Int32 = .A;\n`,
  "no-such-field-in-literal": `${ID}\nstruct A { x @0 :Int32; }\nconst c :A = (y = 1);\n`,
  "union-with-one-member": `${ID}\nstruct A {\n  u :union {\n    x @0 :Int32;\n  }\n}\n`,
  "empty-group": `${ID}\nstruct A { g :group {} }\n`,
  "annotation-wrong-target": `${ID}\nannotation foo(struct) :Void;\nenum E $foo { a @0; }\n`,
  "annotation-wrong-target-param": `${ID}\nannotation f(field) :Void;\ninterface I { m @0 (a :Int32 $f); }\n`,
  "annotation-missing-value": `${ID}\nannotation foo(*) :Int32;\nstruct A $foo {}\n`,
  "void-annotation-with-value": `${ID}\nannotation v(*) :Void;\nstruct A $v(5) {}\n`,
  "list-of-anypointer": `${ID}\nstruct A { x @0 :List(AnyPointer); }\n`,
  // capnp reads a generic parameter's index as the kind of an unconstrained AnyPointer: List(first) is
  // refused as List(AnyPointer), List(second) as List(AnyStruct), the others pass.
  "list-of-generic-parameter": `${ID}
struct Box(T) { x @0 :T; }
struct A(T, U, V) {
  f @0 :List(T);
  g @1 :Box(List(T));
  using L = List(T);
  h @2 :L;
  i @3 :List(U);
  j @4 :List(V);
  k @5 :List(List(T)) = [];
  const c :List(T) = [];
  using W = U;
  l @6 :List(W);
}
interface I(T) {
  m @0 (p :List(T)) -> (r :List(T));
  n @1 [X, Y, Z] (p :List(X), q :List(Y), r :List(Z)) -> ();
}
`,
  // An annotation's value is checked against the type capnp's builder was left with: List(Void) here.
  "annotation-of-failed-list-type": `${ID}
struct A(T) {
  annotation ann(*) :List(T);
  h @0 :AnyPointer $ann(5);
  i @1 :AnyPointer $ann([]);
}
annotation b(*) :List(AnyPointer);
annotation c(*) :List(Nope);
annotation d(*) :Nope;
struct B $b([]) $c([]) $d([]) {}
`,
  // A `using` cycle: each alias is compiled once, the way back finds nothing ("Not defined" at each use).
  "using-cycle": `${ID}\nusing A = B;\nusing B = A;\nstruct S { f @0 :A; }\n`,
  "using-cycle-longer": `${ID}
using A = B;
using B = C;
using C = A;
struct S { f @0 :B; }
using F = F;
struct U { f @0 :F; }
struct N {
  using X = N.Y;
  using Y = X;
  a @0 :X;
  b @1 :Y;
}
struct V { using Q = V.Q; }
const k :Int32 = .K;
using K = K;
`,
  "using-cycle-through-generic": `${ID}
struct G(T) { x @0 :T; }
using D = G(E);
using E = D;
struct S { f @0 :D; g @1 :E; }
using H = G(H).x;
`,
  // Two parameters (or results) with one name: capnp's schema loader refuses the method's param struct, at
  // the interface, only while no error was reported before (see CLEARER for the message).
  "duplicate-param-name": `${ID}\ninterface I {\n  m @0 (a :Text, a :Data) -> ();\n}\n`,
  "duplicate-result-name": `${ID}\nstruct S {\n  interface J {\n    m @0 () -> (a :Text, b :Data, a :Int32);\n  }\n}\n`,
  "duplicate-param-name-first-only": `${ID}
struct A { i @0 :K; }
interface I {
  m @0 (a :Text) -> (r :Text, r :Data);
}
interface K {
  n @0 (b :Text, b :Data) -> (c :Text, c :Data);
}
struct W { x @0 :Nope; }
`,
  "duplicate-param-name-after-error": `${ID}\nstruct W { x @0 :Nope; }\ninterface I {\n  m @0 (a :Text, a :Data) -> ();\n}\n`,
  "generic-primitive-argument": `${ID}\nstruct G(T) { t @0 :T; }\nstruct A { x @0 :G(Int32); }\n`,
  "method-duplicate-ordinal": `${ID}\ninterface I {\n  a @0 ();\n  b @0 ();\n}\n`,
  "extends-a-struct": `${ID}\nstruct S {}\ninterface I extends(S) {}\n`,
};
