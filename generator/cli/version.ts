/** ipcgen's own version, for `--version` and the header of generated files. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/** ipcgen's version, from the package.json above this file (one level more when built into dist/). */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "ipcgen" && pkg.version) return (cached = pkg.version);
    } catch {
      // not here; look further up
    }
  }
  return (cached = "unknown");
}
