import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  GroupLayout,
  LayoutBadNewsError,
  placeField,
  slotSize,
  StructLayout,
  UnionLayout,
} from "../../generator/compiler/layout.js";
import { capnpCompile } from "./support/capnp-oracle.js";
import { capnpLayout, layOut, randomStruct, rng, schemaText, type Member } from "./support/layout-driver.js";

describe("layout by hand", () => {
  it("packs data fields into holes, smallest fitting hole first", () => {
    const s = new StructLayout();
    expect(s.addData(0)).toBe(0); // bit 0
    expect(s.addData(3)).toBe(1); // bits 8..15
    expect(s.addData(4)).toBe(1); // bits 16..31
    expect(s.addData(5)).toBe(1); // bits 32..63
    expect(s.addData(0)).toBe(1); // bit 1, from the 1-bit hole
    expect(s.addData(6)).toBe(1); // no hole: a new word
    expect(s.addData(1)).toBe(1); // bits 2..3 (a 2-bit hole remained after bit 1)
    expect(s.dataWordCount).toBe(2);
  });

  it("splits a bigger hole when no hole of the exact size exists", () => {
    const s = new StructLayout();
    expect(s.addData(5)).toBe(0);
    expect(s.addData(6)).toBe(1);
    expect(s.addData(4)).toBe(2); // first half of the 32-bit hole at bits 32..63
    expect(s.addData(3)).toBe(6); // first half of the remaining 16-bit hole at bits 48..63
    expect(s.addData(3)).toBe(7);
    expect(s.addData(3)).toBe(16); // word 2
    expect(s.dataWordCount).toBe(3);
  });

  it("hands out pointers in order; Void takes nothing", () => {
    const s = new StructLayout();
    expect(placeField(s, "text")).toBe(0);
    expect(placeField(s, "void")).toBe(0);
    expect(placeField(s, "list")).toBe(1);
    expect(placeField(s, "struct")).toBe(2);
    expect(s.pointerCount).toBe(3);
    expect(s.dataWordCount).toBe(0);
    expect(slotSize("enum")).toEqual({ kind: "data", lgSize: 4 });
    expect(slotSize("anyPointer")).toEqual({ kind: "pointer" });
  });

  it("expands a hole in place only when the following space is free", () => {
    const s = new StructLayout();
    expect(s.addData(3)).toBe(0);
    expect(s.tryExpandData(3, 0, 1)).toBe(true); // bits 0..15
    expect(s.tryExpandData(4, 0, 1)).toBe(true); // bits 0..31
    expect(s.addData(4)).toBe(2);
    expect(s.tryExpandData(5, 0, 1)).toBe(false); // bits 32..47 are taken
  });

  it("shares union locations between members and allocates the discriminant on the second member", () => {
    const s = new StructLayout();
    const u = new UnionLayout(s);
    const a = u.newMember();
    expect(a.addData(5)).toBe(0); // new 32-bit location at bits 0..31
    expect(u.discriminantOffset).toBeNull();
    const b = u.newMember();
    expect(b.addData(4)).toBe(0); // second member: the discriminant goes first (bits 32..47), then b reuses bits 0..15
    expect(u.discriminantOffset).toBe(2);
    expect(b.addData(4)).toBe(1); // b's own second 16 bits inside the shared location
    const c = u.newMember();
    // 64 bits: the location cannot grow (bits 32..47 hold the discriminant), so a new one is made.
    expect(c.addData(6)).toBe(1);
    expect(c.addPointer()).toBe(0);
    expect(b.addPointer()).toBe(0); // pointer locations are shared too
    expect(b.addPointer()).toBe(1);
    expect(u.finish()).toBe(2);
    expect([s.dataWordCount, s.pointerCount]).toEqual([2, 2]);
  });

  it("grows an untouched location in place when the parent has room after it", () => {
    const s = new StructLayout();
    const u = new UnionLayout(s);
    expect(u.newMember().addData(3)).toBe(0); // bits 0..7
    const b: GroupLayout = u.newMember();
    expect(u.discriminantOffset).toBeNull(); // b has no field yet
    expect(b.addData(0)).toBe(0); // discriminant first (bits 16..31), then bit 0 inside the location
    expect(u.discriminantOffset).toBe(1);
    expect(b.addData(3)).toBe(1); // b's usage doubles: bits 8..15 grow the location to 16 bits in place
    expect(s.dataWordCount).toBe(1);
  });

  it("reports whether an explicit union ordinal allocated the discriminant", () => {
    const s = new StructLayout();
    const u = new UnionLayout(s);
    expect(u.newMember().addData(5)).toBe(0);
    expect(u.addDiscriminant()).toBe(true); // `u @1! :union` reached after one member: fine
    expect(u.discriminantOffset).toBe(2);
    expect(u.newMember().addData(5)).toBe(0);
    expect(u.addDiscriminant()).toBe(false); // a second explicit allocation would be the capnp error
  });

  it("lets a Void member count towards the discriminant, including in an enclosing union", () => {
    const s = new StructLayout();
    const outer = new UnionLayout(s);
    outer.newMember().addVoid();
    const inner = new UnionLayout(outer.newMember());
    expect(outer.discriminantOffset).toBeNull();
    inner.newMember().addVoid(); // the outer union's second member now has a field
    expect(outer.discriminantOffset).toBe(0);
    expect(inner.discriminantOffset).toBeNull();
  });

  it("throws LayoutBadNewsError where capnp 0.9.2 refuses (issue 344)", () => {
    expect(new LayoutBadNewsError().message).toMatch(/^Bad news: /);
  });
});

// ---- differential test against capnp ------------------------------------------------------------

describe("layout against capnp 0.9.2", () => {
  const dir = mkdtempSync(join(tmpdir(), "ipcgen-layout-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const compileOne = (file: string, structs: { name: string; members: Member[] }[], id: string) => {
    const text = `@${id};\n` + structs.map((s) => schemaText(s.name, s.members)).join("");
    writeFileSync(join(dir, file), text);
    return capnpCompile(["--no-standard-import", file], dir);
  };

  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`lays out 80 random structs like capnp (seed ${seed})`, () => {
      const random = rng(seed);
      const structs = Array.from({ length: 80 }, (_, i) => ({ name: `S${i}`, members: randomStruct(random) }));
      const ours = structs.map((s) => layOut(s.name, s.members));

      // Structs we expect capnp to refuse are compiled one by one; the rest together.
      const good = structs.filter((_, i) => ours[i].error === null);
      const run = compileOne(`s${seed}.capnp`, good, "0xd0b5a3c2a1f00001");
      expect(run.stderr).toBe("");
      let compared = 0;
      structs.forEach((s, i) => {
        const mine = ours[i];
        if (mine.error !== null) return;
        const theirs = capnpLayout(run.request.nodes, `s${seed}.capnp`, s.name);
        const { error: _unused, ...mineLayout } = mine;
        expect(mineLayout, schemaText(s.name, s.members)).toEqual(theirs);
        compared++;
      });
      expect(compared).toBeGreaterThan(40);

      structs.forEach((s, i) => {
        const mine = ours[i];
        if (mine.error === null) return;
        const bad = compileOne(`s${seed}_${i}.capnp`, [s], "0xd0b5a3c2a1f00002");
        const expected = {
          badNews: "Bad news: ",
          unionOrdinal: "Union ordinal, if specified, must be greater",
          fieldOrder: "fields were not ordered by ordinal",
        }[mine.error];
        expect(bad.stderr, schemaText(s.name, s.members)).toContain(expected);
      });
    });
  }
});
