@0xc5d2e8f4a1b36079;
# A network interface, after Genode's NIC session: frames go out on one packet stream and come in on
# another, through shared memory. This server is a loopback: every frame sent comes back as received.

using Ipc = import "/ipcgen/ipc.capnp";

interface Nic $Ipc.session {
  # One client's network interface.

  tx @0 Frame -> () $Ipc.packetStream(direction = toServer, ringSize = 256, bufferSize = 4194304);
  # Frames to send: the client allocates, fills and submits them; the server acknowledges each once sent.

  rx @1 Frame -> () $Ipc.packetStream(direction = toClient, ringSize = 256, bufferSize = 4194304);
  # Frames received: the server allocates, fills and submits them; the client acknowledges each.

  macAddress @2 () -> (mac :Data);
  # The interface's address.
}

struct Frame {
  # Where a frame lies in its stream's bulk buffer, and what the sender says about it.
  offset @0 :UInt64;
  size @1 :UInt32;
  sequence @2 :UInt32;
  # The sender's number for the frame; the loopback gives it back unchanged.
}
