/**
 * Real plugins fed by `ipcgen compile -o`: Debian's capnpc-capnp and capnpc-c++ must write exactly what
 * they write when capnp feeds them, and capnp-es's capnpc-ts (a devDependency, pure JavaScript) must
 * generate its TypeScript with no capnp and no C++ toolchain anywhere on PATH.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CAPNP, CORPUS, LOCAL_BINS, NO_CAPNP, NO_CORPUS, capnp, ensureBuilt, envWithLocalBins, ipcgen, listFiles } from "./helpers.js";

const TEST_CAPNP = ["-I", "src", "--no-standard-import", "src/capnp/test.capnp"];
const SAMPLES = ["-I", "src", "--no-standard-import", "--src-prefix=samples", "samples/addressbook.capnp", "samples/calculator.capnp"];

let work: string;
beforeAll(async () => {
  await ensureBuilt();
  work = mkdtempSync(join(tmpdir(), "ipcgen-plugins-"));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Asserts that two output trees hold the same files with the same bytes. */
function expectSameTree(actualDir: string, expectedDir: string) {
  const files = listFiles(expectedDir);
  expect(files.length).toBeGreaterThan(0);
  expect(listFiles(actualDir)).toEqual(files);
  for (const file of files) {
    expect(readFileSync(join(actualDir, file)).equals(readFileSync(join(expectedDir, file))), file).toBe(true);
  }
}

const skipNative = CAPNP === null || NO_CORPUS !== "";
const noCxxPlugin = existsSync("/usr/bin/capnpc-c++") ? "" : " [skipped: /usr/bin/capnpc-c++ is not installed]";

describe.skipIf(skipNative)(`Debian's plugins give the same output through ipcgen as through capnp${NO_CAPNP}${NO_CORPUS}`, () => {
  it("-o capnp (capnpc-capnp found on PATH) prints the same schema text", () => {
    const ours = ipcgen(["compile", "-o", "capnp", ...TEST_CAPNP], { cwd: CORPUS });
    expect(ours.status, ours.stderr).toBe(0);
    const theirs = capnp(["compile", "-ocapnp", ...TEST_CAPNP], { cwd: CORPUS });
    expect(theirs.status, theirs.stderr).toBe(0);
    expect(ours.stdout.length).toBeGreaterThan(1000);
    expect(ours.stdout.toString()).toBe(theirs.stdout.toString());
  });

  it("-o /usr/bin/capnpc-capnp:DIR (a path, and a directory that does not exist yet) works too", () => {
    const dir = join(work, "capnp-out", "nested");
    const ours = ipcgen(["compile", `-o/usr/bin/capnpc-capnp:${dir}`, ...SAMPLES], { cwd: CORPUS });
    expect(ours.status, ours.stderr).toBe(0);
    expect(existsSync(dir)).toBe(true);
    expect(ours.stdout.toString()).toBe(capnp(["compile", "-ocapnp", ...SAMPLES], { cwd: CORPUS }).stdout.toString());
  });

  it.skipIf(noCxxPlugin !== "")(`-o c++:DIR writes the same .capnp.h and .capnp.c++ files${noCxxPlugin}`, () => {
    const ourDir = join(work, "cxx-ours");
    const theirDir = join(work, "cxx-theirs");
    mkdirSync(theirDir); // capnp wants it to exist; ipcgen creates it
    // capnpc-c++ embeds each node's encoded bytes, so this holds only when the requests are equal byte for
    // byte: test.capnp's and json-test.capnp's struct-valued defaults, constants and annotation values
    // (stored at full struct size, as capnp copies them) and empty lists included.
    const args = [
      "-I", "src", "--no-standard-import", "--src-prefix=src",
      "src/capnp/rpc.capnp", "src/capnp/persistent.capnp", "samples/calculator.capnp", "src/capnp/test.capnp", "src/capnp/compat/json-test.capnp",
    ]; // prettier-ignore
    const ours = ipcgen(["compile", `-oc++:${ourDir}`, ...args], { cwd: CORPUS });
    expect(ours.status, ours.stderr).toBe(0);
    const theirs = capnp(["compile", `-oc++:${theirDir}`, ...args], { cwd: CORPUS });
    expect(theirs.status, theirs.stderr).toBe(0);
    expect(listFiles(ourDir)).toContain("capnp/rpc.capnp.h");
    expect(listFiles(ourDir)).toContain("capnp/test.capnp.c++");
    expectSameTree(ourDir, theirDir);
  });
});

/** PATH with only the project's bins and a folder holding node alone: no capnp, capnpc-c++ or C++ compiler. */
function jsOnlyPath(): string {
  const nodeOnly = join(work, "node-only");
  mkdirSync(nodeOnly, { recursive: true });
  if (!existsSync(join(nodeOnly, "node"))) symlinkSync(process.execPath, join(nodeOnly, "node"));
  return `${LOCAL_BINS}:${nodeOnly}`;
}
const noCapnpEs = existsSync(join(LOCAL_BINS, "capnpc-ts")) ? "" : " [skipped: capnp-es is not installed (npm install)]";

describe.skipIf(NO_CORPUS !== "" || noCapnpEs !== "")(`capnp-es's capnpc-ts as an ipcgen plugin${NO_CORPUS}${noCapnpEs}`, () => {
  it("-o ts:DIR generates TypeScript with only node and node_modules/.bin on PATH", () => {
    const dir = join(work, "ts-js-only");
    const run = ipcgen(["compile", `-ots:${dir}`, ...SAMPLES], { cwd: CORPUS, env: { ...process.env, PATH: jsOnlyPath() } });
    expect(run.status, run.stderr).toBe(0);
    expect(listFiles(dir)).toEqual(["addressbook.ts", "calculator.ts"]);
    const addressbook = readFileSync(join(dir, "addressbook.ts"), "utf8");
    expect(addressbook).toContain('from "capnp-es"');
    expect(addressbook).toMatch(/export class Person extends \$\.Struct/);
    expect(readFileSync(join(dir, "calculator.ts"), "utf8")).toMatch(/export class Calculator/);
  });

  it.skipIf(CAPNP === null)(`writes the same files as when capnp runs it${NO_CAPNP}`, () => {
    const ourDir = join(work, "ts-ours");
    const theirDir = join(work, "ts-theirs");
    mkdirSync(theirDir);
    const env = envWithLocalBins();
    // Schemas without pointer-valued defaults, whose encoded bytes capnp-es embeds (see the c++ test above).
    const files = [...SAMPLES, "src/capnp/rpc.capnp"];
    const ours = ipcgen(["compile", `-ots:${ourDir}`, ...files], { cwd: CORPUS, env });
    expect(ours.status, ours.stderr).toBe(0);
    const theirs = capnp(["compile", `-ots:${theirDir}`, ...files], { cwd: CORPUS, env });
    expect(theirs.status, theirs.stderr).toBe(0);
    expectSameTree(ourDir, theirDir);
  });
});
