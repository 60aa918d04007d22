// The native addon under AddressSanitizer and UndefinedBehaviorSanitizer, as part of `npm test`: runs
// `npm run test:sanitize` (scripts/test-sanitize.mjs), which builds the addon with the sanitizers into
// runtime/native/build-sanitize/ and runs the native test files against it, failing on any report.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { NATIVE_ADDON_ENV } from "../../runtime/native/index.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const onPath = (name: string) => (process.env.PATH ?? "").split(delimiter).some((dir) => dir !== "" && existsSync(join(dir, name)));
const compiler = process.env.CC?.split(" ")[0] || "gcc";

// Inside the sanitized run itself (which names its files, so it should never get here): do not recurse.
const nested = process.env[NATIVE_ADDON_ENV] !== undefined;
const why = nested ? `already under ${NATIVE_ADDON_ENV}, not recursing` : !onPath(compiler) ? `no C compiler (${compiler}) on PATH` : undefined;
if (why) console.log(`SKIPPED: native addon under ASan and UBSan: ${why}`);

// About 50 s on two busy cores (a 10 s build, then the native test files at ASan speed).
it.skipIf(why !== undefined)("the native addon passes its tests under ASan and UBSan", async () => {
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, "scripts", "test-sanitize.mjs")], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
  expect(code, output.slice(-8000)).toBe(0);
  expect(output).toMatch(/test:sanitize: .* passed with ASan and UBSan, no reports/);
}, 240_000);
