@0xc84086fc75d9b9a2;
# ipcgen's session protocol: what two processes say to each other over a session's Unix socket.
#
# A frame is a 4-byte little-endian length (of what follows), then a Header message, then the body message
# its kind calls for (both in the standard framed Cap'n Proto encoding). The header is small and fixed, so
# that a body (an RPC's parameters, say) is encoded once, straight into its own message.
#
# Change this file only with a new `protocolVersion`: peers compare versions first at log-in.

const protocolVersion :UInt32 = 5;

struct Header {
  token @0 :UInt64;
  # The session token the server chose at log-in; 0 only in `hello`, `welcome` and `refused`. A frame with
  # any other token ends the session (a protocol violation).

  channel @1 :UInt32;
  # 0 is the session's main channel; others are opened with `openChannel`, odd ids by the client, even
  # ids by the server, so that both can open channels at once without choosing the same id.

  id @2 :UInt32;
  # 1, 2, 3, ... per sender and session: every frame a side sends has the next id.

  answers @3 :UInt32;
  # The id of the frame this one answers (a response, an error, a cancel, channelOpened...); 0 if none.

  kind @4 :Kind;

  methodId @5 :UInt16;
  # For `request`, `oneWay` and `signal`: the method's ordinal in the interface that declares it
  # (`interfaceId`), as Cap'n Proto numbers methods. A method keeps its identity when methods are added to
  # its interface or to one it extends.

  placed @6 :Bool;
  # For `request`, `response` and `oneWay`: the body is a `Placed` handle, and the message itself lies in
  # the sender's zero-copy pool (zero-copy). Only sent to a peer that said at log-in it can map the pool.

  interfaceId @7 :UInt64;
  # For `request`, `oneWay` and `signal`: the id of the interface that declares the method (the channel's
  # interface or one it extends).

  enum Kind {
    hello @0;            # client -> server, first frame: body Hello
    welcome @1;          # server -> client: body Welcome; the session is open
    refused @2;          # server -> client: body Failure; the server then closes the socket
    request @3;          # body: the method's parameters; expects `response` or `error`
    response @4;         # body: the method's results
    error @5;            # body Failure: a request failed
    oneWay @6;           # body: the method's parameters; nothing answers
    cancel @7;           # no body: the caller gave up on the request it answers
    signal @8;           # body Signal
    ping @9;             # no body: keep-alive; expects `pong`
    pong @10;            # no body
    openChannel @11;     # on the new channel's id: body, the channel metadata; expects `channelOpened` or `error`
    channelOpened @12;   # no body
    end @13;             # body End: the sender closes the session
    closeChannel @14;    # no body: the sender closes the channel the header names
    joined @15;          # server -> client, no body: the client's descriptor channel (see `join`) is taken,
                         # and the descriptors of the welcome's regions wait on it, one message per region
    poolExtent @16;      # body Region: the sender's zero-copy pool grew by this extent, whose descriptor waits
                         # on the descriptor channel
    release @17;         # no body: the sender is done with the placed message of the frame this answers;
                         # its blocks go back to their owner
    join @18;            # client -> server, the only frame of a second connection to the server's socket,
                         # carrying the session's token: that connection becomes the session's descriptor
                         # channel, where either side passes the other file descriptors (SCM_RIGHTS): sealed
                         # memfds for shared memory, socket pair ends for doorbells
  }
}

struct Hello {
  version @0 :UInt32;
  service @1 :UInt64;
  # The id of the interface the client wants to speak on the main channel.
  fingerprint @2 :UInt64;
  # A hash of the service's schema as the client was built with it: a different one is refused.
  zeroCopy @3 :Bool;
  # The client can map the server's zero-copy pool: the server may send it placed messages.
  maxFrameBytes @4 :UInt32;
  # The largest frame the client reads: the server refuses to send a larger one (0: not said).
  noDescriptors @5 :Bool;
  # The client cannot take descriptors or map shared memory (it runs without ipcgen's native addon: another
  # platform than Linux, or the addon turned off): the server makes it no regions, places nothing toward it
  # and answers `descriptors` false, and the session runs over its socket alone. False from a client that
  # can, and from one built before this field.
}

struct Welcome {
  version @0 :UInt32;
  token @1 :UInt64;
  regions @2 :List(Region);
  # Shared memory the server made for this session (its schema says which). Their descriptors come on the
  # descriptor channel, which the client must then join.
  zeroCopy @3 :Bool;
  # The server can map the client's zero-copy pool: the client may send it placed messages.
  maxFrameBytes @4 :UInt32;
  # The largest frame the server reads: the client refuses to send a larger one (0: not said).
  descriptors @5 :Bool;
  # The session passes descriptors (it has regions, or zero-copy messages both ways): the client joins the
  # descriptor channel (`join`) and is logged in once the server answers `joined`.
}

struct Region {
  # Shared memory: a memfd sealed against shrinking, passed on the descriptor channel. A packet stream's
  # message also carries the client's end of its doorbell pair (a Unix datagram socket pair).
  size @0 :UInt64;
  purpose @1 :Purpose;
  index @2 :UInt32;
  # Which one of its purpose: a packet stream's `methodId`, 0 for the shared buffer, the extent's number
  # (0, 1, 2, ... in order) for a zero-copy pool.
  interfaceId @3 :UInt64;
  # A packet stream's: the interface that declares it (0 for other purposes).

  enum Purpose {
    sharedBuffer @0;
    packetStream @1;
    zeroCopyPool @2;
  }
}

struct Placed {
  # Where a placed message lies: its segments, in order, in the extents of the sender's zero-copy pool. The
  # receiver reads them in place until it sends `release`; the sender does not touch them until then.
  segments @0 :List(PlacedSegment);
}

struct PlacedSegment {
  extent @0 :UInt32;
  offset @1 :UInt64;
  # Bytes from the extent's start; a multiple of 8.
  words @2 :UInt32;
}

struct Failure {
  kind @0 :Kind;
  code @1 :Text;
  # For `application`: the error's name as the schema declares it.
  message @2 :Text;
  data @3 :Data;
  # For `application`: the error's encoded data struct, if it has one.

  enum Kind {
    application @0;      # the handler threw an error the schema declares
    internal @1;         # the handler failed otherwise; no stack crosses the socket
    unknownMethod @2;
    malformed @3;        # the request's body could not be read
    cancelled @4;
    rejected @5;         # log-in refused, or a channel open with no handler
    versionMismatch @6;
    serviceMismatch @7;
    notAllowed @8;       # the credential policy refused the peer
  }
}

struct Signal {
  count @0 :UInt32;
  # How many submits this delivery stands for (signals coalesce).
}

struct End {
  reason @0 :Text;
}
