@0xa6194591bd935812;
# A session with channels of two kinds: workers that count primes, each on its own channel with its own
# state, and one control channel that watches and stops them.

using Ipc = import "/ipcgen/ipc.capnp";

interface Primes $Ipc.session {
  # A prime-counting service. Its session has no methods of its own: the work is done on channels.

  struct Channels $Ipc.channels {
    # The channels a Primes client may open.
    union {
      control @0 :Ipc.Channel(Control);
      # The session's control channel: one at a time.
      worker @1 :Ipc.ChannelWith(Worker, WorkerParams);
      # A worker counting the primes of a range; refused for an empty range or a name in use.
    }
  }
}

struct WorkerParams {
  name @0 :Text;
  from @1 :UInt32;
  to @2 :UInt32;
  # The range is [from, to).
}

interface Worker $Ipc.timeoutMs(60000) {
  # One worker: counts the primes of its range in slices, giving way to the others between slices.

  run @0 () -> (primes :UInt32, checked :UInt32, stopped :Bool) $Ipc.raises(["Busy"]);
  # Counts until the end of the range or until the control channel stops it; a later `run` goes on from
  # where it stopped. Answers the primes found and the numbers checked so far.

  struct Busy $Ipc.error {}
  # The worker is running already.
}

interface Control {
  # Watches and stops the session's workers.

  status @0 () -> (workers :List(WorkerStatus));
  # Every open worker of this session.

  stop @1 () -> (stopped :List(Text));
  # Stops the running workers (their `run` answers, with `stopped` set); answers their names.
}

struct WorkerStatus {
  name @0 :Text;
  checked @1 :UInt32;
  total @2 :UInt32;
  primes @3 :UInt32;
  state @4 :State;

  enum State {
    idle @0;
    running @1;
    stopped @2;
    done @3;
  }
}
