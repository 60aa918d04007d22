/**
 * Helpers for targets that decode Cap'n Proto messages with generated plain views: the round-trip
 * property (what decodes re-encodes to a message that decodes to the same value) and the options a
 * message may be read with.
 */
import { isDeepStrictEqual } from "node:util";
import { MessageDecodeError } from "../../../runtime/codec/wire.js";
import type { DecodeOptions } from "../../../runtime/codec/plain.js";
import { PropertyViolation } from "../engine.js";

/** A generated struct class, as far as its plain view goes. */
export interface PlainStruct<P = unknown> {
  decode(bytes: Uint8Array, options?: DecodeOptions): P;
  encode(value: never): Uint8Array;
}

/**
 * The traversal limit inputs are read with unless they ask for a tight one. Not the default (8 Mi words):
 * what a read may cost is proportional to the limit (a 65-byte message can stand for millions of empty
 * list elements, as a 64 MiB one can), so the default would let one input take seconds. A smaller limit
 * keeps each input to milliseconds and exercises the same code; an input still slow under it is a finding.
 */
export const FUZZ_TRAVERSAL_LIMIT = 1 << 16;

/** The decoding options a selector byte picks: framing, packing, tight limits. */
export function optionsOf(selector: number): DecodeOptions {
  const options: DecodeOptions = { traversalLimitInWords: selector & 4 ? 64 : FUZZ_TRAVERSAL_LIMIT };
  if (selector & 1) options.packed = true;
  if (selector & 2) options.framing = "flat";
  if (selector & 8) options.nestingLimit = 4;
  return options;
}

/**
 * Decodes `bytes` as `type`; a MessageDecodeError is the documented refusal. A value that decodes must
 * encode, and decode again (framed, default limits) to an equal value.
 */
export function decodeRoundTrip<P>(name: string, type: PlainStruct<P>, bytes: Uint8Array, options: DecodeOptions): P | null {
  let value: P;
  try {
    value = type.decode(bytes, options);
  } catch (e) {
    if (e instanceof MessageDecodeError) return null;
    throw e;
  }
  const again = type.decode(type.encode(value as never), { traversalLimitInWords: FUZZ_TRAVERSAL_LIMIT * 4 });
  if (!isDeepStrictEqual(again, value)) throw new PropertyViolation(`${name}: decode(encode(value)) differs from value`);
  return value;
}
