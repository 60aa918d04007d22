@0xd9a4c1e7b2f58063;
# A block device, after Genode's Block session: requests travel on a packet stream whose descriptors say
# what to do; the data lies in the stream's bulk buffer. This server is a RAM disk.

using Ipc = import "/ipcgen/ipc.capnp";

interface Block $Ipc.session {
  # One client's view of the device.

  info @0 () -> (blockSize :UInt32, blockCount :UInt64);
  # The device's geometry.

  requests @1 Request -> () $Ipc.packetStream(direction = toServer, ringSize = 128, bufferSize = 1048576);
  # Reads and writes: the client submits them, the server acknowledges each when done, in any order, with
  # `success` set.
}

struct Request {
  offset @0 :UInt64;
  size @1 :UInt32;
  # Where the request's data lies in the bulk buffer: `count` blocks.
  operation @2 :Operation;
  blockNumber @3 :UInt64;
  count @4 :UInt32;
  success @5 :Bool;
  # Set by the server: false for blocks outside the device or a size that is not `count` blocks.
  tag @6 :UInt32;
  # The client's own number for the request, given back unchanged.

  enum Operation {
    read @0;
    write @1;
  }
}
