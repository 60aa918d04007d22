/**
 * A session's shared memory: each region is an unnamed memfd, sealed so that nobody can shrink it
 * (`F_SEAL_SHRINK`, and the seals themselves sealed), passed to the peer on the session's descriptor
 * channel. The receiver maps only a memfd so sealed and of exactly the size it expects: a mapping that
 * cannot shrink cannot fault (SIGBUS) under its reader, and with no names there is nothing to guess, to
 * name for another process, or to leave behind in /dev/shm when a process dies.
 */
import { loadNativeAddon, type SharedMapping } from "../native/index.js";

/** The purposes a session's regions serve, as the protocol names them. */
export type RegionPurpose = "sharedBuffer" | "packetStream" | "zeroCopyPool";

/**
 * A region a service's sessions need: its purpose, which one (a packet stream's `interfaceId` and
 * `methodId`, 0 and 0 for the shared buffer), its size.
 */
export interface RegionSpec {
  purpose: RegionPurpose;
  interfaceId: bigint;
  index: number;
  size: number;
}

/** The key of a region in a session's table. */
export const regionKey = (purpose: RegionPurpose, interfaceId: bigint, index: number): string => `${purpose}:${interfaceId}:${index}`;

/** A new zero-filled region, mapped, and its descriptor: pass it to the peer, then close it (`closeFd`). */
export function createRegion(size: number): { mapping: SharedMapping; fd: number } {
  return loadNativeAddon().memfdCreate(size);
}

/** Maps a region the peer passed, after the checks above; the descriptor is closed, mapped or refused. */
export function mapRegion(fd: number, size: number): SharedMapping {
  return loadNativeAddon().memfdMap(fd, size);
}
