@0xf179058706a8cae2;
# Genode's LOG service: clients write lines, the server prints them, each prefixed with who wrote it.

using Ipc = import "/ipcgen/ipc.capnp";

interface Log $Ipc.session {
  # A log: one session per client process.

  write @0 (text :Text $Ipc.maxSize(4096)) -> ();
  # Writes `text` (at most 4096 bytes of UTF-8, like Genode's bounded Log_session::String) to the log.
  # Synchronous: it returns once the server has printed it, so a client's lines keep their order.
}
