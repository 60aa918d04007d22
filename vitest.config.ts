import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Generated code imports `ipcgen`, `ipcgen/codec`, `ipcgen/capnp` and `ipcgen/std/...`; tests run it against the sources, not a possibly stale dist/.
  resolve: {
    alias: [
      { find: /^ipcgen\/codec$/, replacement: fileURLToPath(new URL("./runtime/codec/index.ts", import.meta.url)) },
      { find: /^ipcgen\/capnp$/, replacement: fileURLToPath(new URL("./runtime/codec/capnp.ts", import.meta.url)) },
      { find: /^ipcgen\/std\/(.*)$/, replacement: fileURLToPath(new URL("./runtime/std/", import.meta.url)) + "$1.ts" },
      { find: /^ipcgen$/, replacement: fileURLToPath(new URL("./runtime/index.ts", import.meta.url)) },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
