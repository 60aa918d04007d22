@0xa7659376505cf191;
# ipcgen's schema conventions: import "/ipcgen/ipc.capnp" (ipcgen finds it without -I; the official capnp
# compiler finds it with -I pointing at ipcgen's generator/std). Everything here is plain Cap'n Proto, so a
# schema written for ipcgen stays a valid schema for C++ or Rust peers; docs/schema.md explains each item
# with an example.

# ---- Sessions and their methods ----

annotation session @0xc5ba8ad4ba47d8c5 (interface) :Void;
# This interface is a session: what a client connects to. ipcgen generates a typed client, a handler
# interface for the server, and connect/listen helpers. Its methods are RPCs unless annotated otherwise.

annotation oneway @0xf0b3b9a2b6d4b8a1 (method) :Void;
# The caller does not wait for an answer: the method must have no results (`-> ()`).

annotation signal @0x8d1b8f8f6c3a21e5 (method) :Direction;
# Not a call but a signal: a payload-free notification that coalesces (several submits before the
# receiver runs arrive as one delivery with a count). It must have no parameters and no results
# (`() -> ()`). The value says who receives it: `toClient` (the server submits) or `toServer`.

enum Direction {
  toServer @0;
  toClient @1;
}

annotation timeoutMs @0x9e2c5d1a7b3f4e60 (interface, method) :UInt32;
# How long a client waits for an answer before the call fails with a TimeoutError (and is cancelled).
# On an interface: the default of its methods. A call's own `timeoutMs` option wins.

annotation raises @0xb47a0e5c2d9f1836 (method) :List(Text);
# The errors a method may raise: names of structs annotated $error, looked up like a type name from the
# method's interface outwards (`["NotJoined", "Limits.TooLong"]`). The client gets them as typed errors.

annotation error @0xd3c61f0b8a5e2947 (struct) :Void;
# This struct is an error a method may raise. Its fields are the error's data; the client receives them
# decoded on the typed error.

annotation maxSize @0xe85a2b7c4f1d0963 (field, param) :UInt32;
# A bound on a Text or Data field (bytes) or a List field (elements) of a method's parameters or results:
# the sender refuses to send more, the receiver refuses a message that holds more (Genode LOG's bounded
# string).

# ---- Channels ----

annotation channels @0xa95e7d3c1b0f4826 (struct) :Void;
# The channel metadata of the session interface this struct is nested in: a union, one arm per kind of
# channel either side may open. Every arm's type names the interface the new channel speaks:
# `Channel(Interface)`, or `ChannelWith(Interface, Params)` when the open request carries parameters (a
# struct; keep it small, everything else goes over the channel).

struct Channel(Interface) {
  # An arm of a channel metadata union: the channel speaks `Interface`.
}

struct ChannelWith(Interface, Params) {
  # An arm of a channel metadata union: the channel speaks `Interface` and is opened with `params`.
  params @0 :Params;
}

# ---- Shared memory ----

annotation sharedBuffer @0xc7f4e1d02a6b3958 (interface) :UInt32;
# Each session has a buffer of this many bytes shared between client and server (Genode's Terminal
# pattern): the client writes into it then calls, or calls then reads from it.

annotation packetStream @0xf61b9e8d3a2c5074 (method) :PacketStream;
# Not a call but a packet stream: bulk data through shared memory with submit and acknowledgement rings
# (Genode's packet streams). The method's parameter type is the descriptor struct (`tx @2 Packet -> ()`),
# which holds `offset :UInt64` and `size :UInt32` (where the packet lies in the bulk buffer) plus any fields
# of the service's own; the method has no results.

struct PacketStream {
  direction @0 :Direction;
  # `toServer`: the client is the source (TX). `toClient`: the server is the source (RX).
  ringSize @1 :UInt32 = 64;
  # Descriptors per ring (one slot stays free, so ringSize - 1 are in flight at most).
  bufferSize @2 :UInt32 = 1048576;
  # Bytes of the bulk buffer packets are allocated in.
}
