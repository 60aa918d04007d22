/**
 * Regression schemas for what the differential comparison once let through (it compared values as read):
 * lists capnp writes empty where ipcgen wrote null, and struct-valued defaults, constants and annotation
 * values, which capnp stores at their full declared size where ipcgen stored them trimmed (canonical form).
 * Each schema is compiled by capnp 0.9.2 and by ipcgen; the models must be equal (null told apart from
 * empty, pointer values by layout) and the requests equal entry by entry, byte for byte. Debian's
 * capnpc-c++, which embeds each node's encoded bytes, must then write the same files from both requests.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeRequest, encodeRequest } from "../../generator/model/request.js";
import { assertSameRequest, assertSameRequestBytes } from "../support/compare.js";
import { ipcgenCompile } from "../support/ipcgen.js";
import { type CompileArgs, capnpCompile, noteIfOracleMissing, oracle } from "../support/oracle.js";

const SCHEMAS: Record<string, string> = {
  // Lists capnp initializes even when empty, next to the ones it leaves null.
  "empty.capnp": `@0xd0a1b2c3d4e5f602;
struct Empty {}
enum Nothing {}
enum One { a @0; }
interface NoMethods {}
interface Extends extends(NoMethods) {}
interface Methods extends(NoMethods) { m @0 (); n @1 () -> (); o @2 (x :Int32) -> (); }
struct Generic(T) { f @0 :T; }
struct Uses { g @0 :Generic(Text); h @1 :Generic(Empty); u :union { a @2 :Void; b @3 :Void; } grp :group { z @4 :Int8; } }
interface GenericIface(A) { p @0 [B] (x :B) -> (y :A); }
annotation flag(*) :Void;
annotation numbers(*) :List(Int32);
struct Annotated $flag $numbers([]) { x @0 :Int8 $numbers([1]); }
const emptyText :Text = "";
const emptyData :Data = "";
const emptyList :List(Empty) = [];
`,
  // Struct-valued defaults, constants and annotation values: stored at full size, as capnp copies them.
  "defaults.capnp": `@0xd0a1b2c3d4e5f601;
struct P { a @0 :UInt32; b @1 :UInt64; t @2 :Text; q @3 :Q; }
struct Q { x @0 :UInt8; y @1 :List(UInt8); }
struct Empty {}
struct S {
  p @0 :P = (a = 1);
  e @1 :P = ();
  l @2 :List(P) = [(a = 1), ()];
  n @3 :P = (q = (x = 2));
  ll @4 :List(List(Q)) = [[(x = 1)], []];
  r @5 :P = .c;
  rl @6 :List(Q) = .cl;
  g @7 :G(P) = (v = (a = 7), w = (a = 8));
  z @8 :Empty = ();
}
struct G(T) { v @0 :T; w @1 :T; }
const c :P = (a = 3);
const cl :List(Q) = [(x = 1), ()];
const ref :P = .c;
const generic :G(Q) = (v = (x = 9));
annotation ann(struct, field) :P;
annotation annList(struct) :List(Q);
struct T $ann(a = 5) $annList([(x = 4), ()]) { f @0 :Int8 $ann(); }
`,
};

const CXX_PLUGIN = "/usr/bin/capnpc-c++";

noteIfOracleMissing("exact (layout and nullness) regression tests");

describe.skipIf(oracle === null)("regression schemas: ipcgen's request equals capnp's exactly", () => {
  let dir: string;
  let args: CompileArgs;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ipcgen-exact-"));
    args = { cwd: dir, standardImport: false };
    for (const [name, text] of Object.entries(SCHEMAS)) writeFileSync(join(dir, name), text);
  });
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it.each(Object.keys(SCHEMAS))("%s: same model and same bytes", async (file) => {
    const theirs = await capnpCompile([file], args);
    expect(theirs.stderr).toBe("");
    expect(theirs.status).toBe(0);
    const ours = await ipcgenCompile([file], args);
    expect(ours.messages).toEqual([]);
    assertSameRequest(decodeRequest(theirs.stdout), ours.request, file);
    assertSameRequestBytes(theirs.stdout, encodeRequest(ours.request), file);
  });

  it.skipIf(!existsSync(CXX_PLUGIN))("defaults.capnp: capnpc-c++ writes the same files from ipcgen's request as from capnp's", async () => {
    const theirDir = join(dir, "cxx-theirs");
    const ourDir = join(dir, "cxx-ours");
    mkdirSync(theirDir);
    mkdirSync(ourDir);
    const theirs = spawnSync(oracle!.path, ["compile", "--no-standard-import", `-oc++:${theirDir}`, "defaults.capnp"], {
      cwd: dir,
      env: { ...process.env, PWD: dir },
      encoding: "utf8",
    });
    expect(theirs.status, theirs.stderr).toBe(0);
    // What `ipcgen compile -o c++:DIR` does: the request on the plugin's stdin, the plugin run in DIR.
    const ours = await ipcgenCompile(["defaults.capnp"], args);
    const plugin = spawnSync(CXX_PLUGIN, [], { cwd: ourDir, input: encodeRequest(ours.request), encoding: "utf8" });
    expect(plugin.status, plugin.stderr).toBe(0);
    const files = readdirSync(theirDir).sort();
    expect(files).toEqual(["defaults.capnp.c++", "defaults.capnp.h"]);
    expect(readdirSync(ourDir).sort()).toEqual(files);
    for (const f of files) expect(readFileSync(join(ourDir, f)).equals(readFileSync(join(theirDir, f))), f).toBe(true);
  });
});
