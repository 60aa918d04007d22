@0xd6f1c3a8b2e49f05;
# The service bench/rpc.ts calls through ipcgen's RPC: one method that returns the bytes it was given.

interface Echo {
  echo @0 EchoParams -> EchoResults;
}

struct EchoParams {
  payload @0 :Data;
  # 64 bytes; the first 4 (little-endian) are the call's number.
}

struct EchoResults {
  payload @0 :Data;
  # The request's payload.
}
