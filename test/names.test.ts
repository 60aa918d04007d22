/**
 * One name per idea: names the project has retired must not come back in the runtime, the templates, the
 * generated code users read (the examples' and ipcgen's own) or the docs. docs/architecture.md's glossary
 * says what each idea is called now.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "./support/ipcgen.js";

/** A retired name, the pattern that finds it, and what replaced it. */
const RETIRED: { name: string; pattern: RegExp; now: string }[] = [
  { name: "Endpoint", pattern: /\bEndpoint\b/, now: "Channel (a session's channel), Capability (what carries the stubs)" },
  { name: "the method number", pattern: /\bmethod(?:'s)? numbers?\b|\bmethod ordinal\b|\bsignal's ordinal\b/i, now: "interfaceId and methodId" },
  { name: "a method's code", pattern: /\bcode: m\.code\b|header\.code\b|\bh\.code\b/, now: "methodId" },
  { name: "MessagePool", pattern: /\bMessagePool\b|\bMessageMemory\b|\bmessage pools?\b/i, now: "ZeroCopyPool, ZeroCopyMemory: the zero-copy pool" },
  { name: "Pool (the facets sessions publish)", pattern: /\bPool</, now: "Directory" },
];

const FOLDERS = ["runtime", "templates", "docs", "examples"];
const EXTENSIONS = /\.(ts|hbs|md|capnp|mjs)$/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name === "build" || name === "prebuilds") return [];
    return statSync(path).isDirectory() ? files(path) : EXTENSIONS.test(name) ? [path] : [];
  });
}

describe("retired names", () => {
  const all = [...FOLDERS.flatMap((f) => files(join(REPO, f))), join(REPO, "README.md")];

  it("looks at the runtime, the templates, generated code and the docs", () => {
    const where = all.map((p) => relative(REPO, p));
    expect(where).toContain("runtime/session/session.ts");
    expect(where).toContain("templates/typescript/service.hbs");
    expect(where).toContain("examples/chat/gen/chat.capnp.ts");
    expect(where).toContain("docs/runtime.md");
  });

  for (const { name, pattern, now } of RETIRED) {
    it(`${name} is gone (now: ${now})`, () => {
      const found = all.flatMap((p) =>
        readFileSync(p, "utf8")
          .split("\n")
          .flatMap((line, i) => (pattern.test(line) ? [`${relative(REPO, p)}:${i + 1}: ${line.trim().slice(0, 120)}`] : [])),
      );
      expect(found).toEqual([]);
    });
  }
});
