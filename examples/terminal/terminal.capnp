@0xb8e3f1c2d4a59607;
# A terminal, after Genode's Terminal session: the bytes travel through a buffer shared by client and
# server, and the calls only say how many.

using Ipc = import "/ipcgen/ipc.capnp";

interface Terminal $Ipc.session $Ipc.sharedBuffer(4096) {
  # One client's terminal. This server echoes: what the client writes comes back as input, upper-cased.

  write @0 (size :UInt32) -> (written :UInt32);
  # Prints the first `size` bytes of the shared buffer (the server takes at most the buffer's size).
  # Answers how many bytes it took.

  read @1 (size :UInt32) -> (read :UInt32);
  # Puts at most `size` bytes of pending input at the start of the shared buffer; answers how many.

  avail @2 () -> (bytes :UInt32);
  # How many bytes of input are pending.

  readAvail @3 () -> () $Ipc.signal(toClient);
  # Input arrived: `read` it.
}
