/**
 * Generated plain-view decoding of a schema with every kind of field (test/fixtures/fuzz.capnp: scalars
 * with defaults, enums, text, data, unions with a group, recursion, lists of every element type, lists
 * of lists, AnyPointer, pointer defaults). Refusals must be MessageDecodeError; values must survive encode
 * and decode again unchanged.
 */
import { Color, Lists, Node, Scalars } from "../gen/fuzz.capnp.js";
import { concat, type FuzzTarget } from "../engine.js";
import { decodeRoundTrip, optionsOf, type PlainStruct } from "./messages.js";

const ROOTS: [string, PlainStruct][] = [
  ["Scalars", Scalars],
  ["Node", Node],
  ["Lists", Lists],
];

export const plainTarget: FuzzTarget = {
  name: "plain",
  describe: "generated plain views of test/fixtures/fuzz.capnp (Scalars, Node, Lists) + round trip",
  modules: ["test/fuzz/gen/fuzz.capnp.ts", "runtime/codec/plain.ts", "runtime/codec/wire.ts"],
  maxLen: 1024,
  seeds() {
    const scalars = { b: true, i8: -3, i16: 300, i32: -70000, i64: -(1n << 40n), u8: 200, u16: 60000, u32: 4e9, u64: 1n << 63n, f32: 1.5, f64: -2.25, color: Color.GREEN };
    const leaf = { name: "leaf", payload: new Uint8Array([9, 8, 7]), which: "leaf" as const };
    const node = {
      name: "root",
      payload: new Uint8Array(20).fill(1),
      children: [leaf, { name: "c", which: "count" as const, count: 7 }, { which: "label" as const, label: "ü€" }],
      parent: { which: "inner" as const, inner: scalars },
      scalars,
      which: "group" as const,
      group: { x: -1, y: 2, tags: ["t1", "t2"] },
    };
    const lists = {
      voids: [null, null, null],
      bools: [true, false, true, true, false, false, true, false, true],
      int8s: [-1, 2],
      uint16s: [65535, 0],
      int32s: [1, -2, 3],
      uint64s: [5n],
      float32s: [0.25],
      float64s: [NaN, -0],
      texts: ["", "x", "long text ".repeat(3)],
      datas: [new Uint8Array(0), new Uint8Array([1])],
      structs: [scalars, {}],
      nested: [[1], [], [2, 3]],
      colors: [Color.RED, Color.BLUE],
      nodes: [node],
      any: Scalars.encode(scalars).subarray(8),
      textsWithDefault: ["z"],
      scalarsWithDefault: { u8: 1 },
      nameWithDefault: "n",
      bytesWithDefault: new Uint8Array([4]),
    };
    return [
      concat(new Uint8Array([0x00]), Scalars.encode(scalars)),
      concat(new Uint8Array([0x10]), Node.encode(node)),
      concat(new Uint8Array([0x20]), Lists.encode(lists)),
      concat(new Uint8Array([0x20]), Lists.encode({})),
    ];
  },
  run(input) {
    if (input.length === 0) return;
    const selector = input[0];
    const [name, type] = ROOTS[(selector >> 4) % ROOTS.length];
    decodeRoundTrip(name, type, input.subarray(1), optionsOf(selector));
  },
};
