@0x9a37cc03cf078f47;
# A chat room: clients join under a name and post; the others hear of each post by a signal and fetch it.

using Ipc = import "/ipcgen/ipc.capnp";

interface Chat $Ipc.session $Ipc.timeoutMs(5000) {
  # One participant's session. Everything but `participants` needs `join` first.

  join @0 (name :Text $Ipc.maxSize(32)) -> (participants :List(Text), next :UInt64)
    $Ipc.raises(["NameTaken", "AlreadyJoined"]);
  # Joins under `name` (at most 32 bytes). Answers who is here and where this participant's `fetch`es
  # start: the messages posted before joining are not its business.

  post @1 (text :Text $Ipc.maxSize(1024)) -> (id :UInt64) $Ipc.raises(["NotJoined"]);
  # Posts `text` (at most 1024 bytes). Every other participant gets `posted`; the poster does not.

  fetch @2 (since :UInt64) -> (messages :List(Message) $Ipc.maxSize(100), next :UInt64) $Ipc.raises(["NotJoined"]);
  # The messages numbered `since` and later (the server keeps the last 100), and the number to fetch
  # from next time.

  participants @3 () -> (names :List(Text));
  # Who has joined, in the order they joined.

  posted @4 () -> () $Ipc.signal(toClient);
  # Someone else posted, joined or left: fetch what is new.

  struct NameTaken $Ipc.error {
    # Someone here already goes by that name.
    name @0 :Text;
  }

  struct AlreadyJoined $Ipc.error {
    # This session has joined already.
    name @0 :Text;
  }

  struct NotJoined $Ipc.error {}
  # Join first.
}

struct Message {
  # One entry of the room's history.
  id @0 :UInt64;
  from @1 :Text;
  union {
    text @2 :Text;
    # `from` said this.
    joined @3 :Void;
    # `from` joined.
    left @4 :Void;
    # `from` left (or its process died).
  }
}
