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
