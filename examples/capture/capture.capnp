@0xcb9a3090e52a27a1;
# A capture process feeding an encoder: frames of pixels go through shared memory without being copied,
# and only a small handle of each call crosses the socket. Nothing here asks for it: large Data values go
# that way by themselves (docs/runtime.md, "Zero-copy messages").

using Ipc = import "/ipcgen/ipc.capnp";

interface Encoder $Ipc.session {
  # One capture process's encoder.

  encode @0 (seq :UInt32, width :UInt32, height :UInt32, pixels :Data)
    -> (seq :UInt32, checksum :UInt32, preview :Data) $Ipc.raises(["BadFrame"]);
  # Encodes frame `seq`: `pixels` holds `height` rows of `width` RGBA pixels, 4 bytes each. Answers the
  # frame's number, a checksum of its pixels (FNV-1a over its 32-bit little-endian words w: from
  # h = 2166136261, h = (h xor w) * 16777619 modulo 2^32 for each) and a preview: the frame at half its
  # width and height (the pixels at even rows and columns), RGBA too.

  struct BadFrame $Ipc.error {
    # `pixels` does not hold `width` x `height` pixels, or the frame is smaller than 2 x 2.
    bytes @0 :UInt64;
    # How many bytes `pixels` held.
  }
}
