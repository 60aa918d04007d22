@0xb811c3c17d5452d4;
# The service of bench/shm.ts's round-trip rows: bench/shm.ts generates its code with ipcgen at benchmark
# time, and bench/shm/messages-peer.ts serves and calls it, with zero-copy messages and without.

using Ipc = import "/ipcgen/ipc.capnp";

interface Bounce $Ipc.session {
  bounce @0 (data :Data) -> (data :Data);
  # Answers as many bytes as it got, from a block of the server's own (not the request's bytes). The first
  # and last byte of the request are the call's tag; the answer carries the same tag in the same places.
}
