/** Bridges between ipcgen's wire layer and capnp-ts, for the class face of generated code. */
import * as capnp from "capnp-ts";

/**
 * A capnp-ts pointer to a default value stored as a canonical flat message (one segment, root pointer in
 * word 0): what capnp-ts accessors take as a field's default.
 */
export function capnpPointer(canonical: Uint8Array): capnp.Pointer {
  const copy = canonical.slice();
  const message = new capnp.Message(copy.buffer, false, true);
  return new capnp.Pointer(message.getSegment(0), 0);
}

/**
 * The framed bytes of a message built with capnp-ts, when `value` is the root struct of one (a generated
 * class's builder: `new capnp.Message().initRoot(X)`), else null. Lets callers hand a built message to
 * RPC as it is, without turning it into a plain object first.
 */
export function builtMessage(value: unknown): Uint8Array | null {
  if (!(value instanceof capnp.Struct)) return null;
  const message = value.segment.message;
  if (value.segment !== message.getSegment(0) || value.byteOffset !== 0) {
    throw new TypeError("only the root struct of a capnp-ts message can be sent: the message is sent whole");
  }
  return new Uint8Array(message.toArrayBuffer());
}
