# ipcgen's native addon, built at install time by npm's bundled node-gyp (see install.mjs).
# One source file per concern. shm.cc is C++: it makes SharedArrayBuffers with V8's own API.
{
  "targets": [
    {
      "target_name": "ipcgen_native",
      "sources": [
        "src/addon.c",
        "src/errors.c",
        "src/args.c",
        "src/peercred.c",
        "src/shm.cc",
        "src/memfd.c",
        "src/doorbell.c",
        "src/fdpass.c"
      ],
      # N-API 8 is in every Node >= 12.22; package.json asks for Node >= 20.19.
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
