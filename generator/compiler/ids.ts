/**
 * Type ids, derived exactly as capnp 0.9.2 derives them (its `type-id.c++`).
 *
 * Every derived id is the first 8 bytes of an MD5 digest read as a big-endian integer, with bit 63 set.
 * Integers fed to the digest are little-endian. Changing any of this would change every id capnp ever
 * assigned, so the byte layouts below are fixed forever.
 *
 * Ids are `bigint`s in [2^63, 2^64): all are unsigned 64-bit values with the top bit set.
 */
import { createHash, randomBytes } from "node:crypto";

const TOP_BIT = 1n << 63n;
const MASK64 = (1n << 64n) - 1n;

function le64(value: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(value & MASK64);
  return bytes;
}

function le16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16LE(value & 0xffff);
  return bytes;
}

/** First 8 digest bytes, big-endian, top bit forced on (so derived ids never look like "no id"). */
function digestId(...parts: Uint8Array[]): bigint {
  const md5 = createHash("md5");
  for (const part of parts) md5.update(part);
  return md5.digest().readBigUInt64BE(0) | TOP_BIT;
}

/** Id of a named declaration nested in `parentId` (struct, enum, interface, const, annotation). */
export function childId(parentId: bigint, name: string): bigint {
  return digestId(le64(parentId), Buffer.from(name, "utf8"));
}

/**
 * Id of a group (or a union member's implicit group) of the struct/group `parentId`; `index` is the
 * group's position in the parent's `fields` list (which the node translator fills in ordinal order).
 * capnp stores the index as a 16-bit value, so only its low 16 bits count.
 */
export function groupId(parentId: bigint, index: number): bigint {
  return digestId(le64(parentId), le16(index));
}

/** Id of the synthesized `$Params` (isResults false) or `$Results` struct of method `methodOrdinal`. */
export function methodParamsId(interfaceId: bigint, methodOrdinal: number, isResults: boolean): bigint {
  return digestId(le64(interfaceId), le16(methodOrdinal), Uint8Array.of(isResults ? 1 : 0));
}

/**
 * A fresh file id, as `capnp id` makes one: 64 random bits with the top bit set
 * (capnp rejects `@0x...` ids below 2^63 as invalid).
 */
export function randomFileId(): bigint {
  return randomBytes(8).readBigUInt64LE(0) | TOP_BIT;
}

/** `0x` and lowercase hex without padding, as capnp prints ids (`capnp id`, error messages). */
export function formatId(id: bigint): string {
  return `0x${(id & MASK64).toString(16)}`;
}
