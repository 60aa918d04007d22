import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Generated code imports `ipcgen/codec`; tests run it against the sources, not a possibly stale dist/.
  resolve: { alias: { "ipcgen/codec": fileURLToPath(new URL("./runtime/codec/index.ts", import.meta.url)) } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
