/**
 * Named shared-memory objects of sessions: their names, their creation and mapping, and the sweep of what
 * dead processes left behind. Servers make a session's regions; each side makes its own message pool.
 *
 * A name is `/ipcgen-<creator pid>-<random>-<n>-<what>`: the pid lets a starting server tell objects of
 * dead processes from live ones, the random part makes names unguessable and keeps two processes of one
 * pid (after a restart) apart. Objects are removed by name as soon as the peer has mapped them (mappings
 * outlive their names), so only a crash between creation and mapping leaves one, which the next sweep takes.
 */
import { randomBytes } from "node:crypto";
import { lstatSync, readdirSync } from "node:fs";
import { loadNativeAddon, type SharedMapping } from "../native/index.js";

/** What every ipcgen object's name starts with (after the `/`). */
export const NAME_PREFIX = "ipcgen-";
const SHM_DIR = "/dev/shm";

/** The purposes a session's regions serve, as the protocol names them. */
export type RegionPurpose = "sharedBuffer" | "packetStream" | "messagePool";

/** A region a service's sessions need: its purpose, which one (a packet stream's method number), its size. */
export interface RegionSpec {
  purpose: RegionPurpose;
  index: number;
  size: number;
}

/** The key of a region in a session's table. */
export const regionKey = (purpose: RegionPurpose, index: number): string => `${purpose}:${index}`;

/** Makes names for one process's objects (one namer per server, or per process for message pools). */
export class RegionNamer {
  readonly prefix = `${NAME_PREFIX}${process.pid}-${randomBytes(6).toString("hex")}`;
  private next = 1;

  /** A new name for a region. */
  name(spec: RegionSpec): string {
    return `/${this.prefix}-${this.next++}-${spec.purpose}${spec.index}`;
  }
}

/** Whether a name is one ipcgen makes: peers refuse to map anything else. */
export function isRegionName(name: string): boolean {
  return new RegExp(`^/${NAME_PREFIX}\\d+-[0-9a-f]{12}-\\d+-(sharedBuffer|packetStream|messagePool)\\d+$`).test(name);
}

/** Creates and maps a new zero-filled object. */
export function createRegion(name: string, size: number): SharedMapping {
  return loadNativeAddon().shmCreate(name, size);
}

/** Maps an object the peer made, checking its name and size (and, natively, that this uid owns it). */
export function openRegion(name: string, size: number): SharedMapping {
  if (!isRegionName(name)) throw new RangeError(`${JSON.stringify(name)} is not the name of an ipcgen region`);
  return loadNativeAddon().shmOpen(name, size);
}

/** Removes a name; one already gone is fine (the peer, or a sweep, may have removed it). */
export function unlinkRegion(name: string): void {
  try {
    loadNativeAddon().shmUnlink(name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it lives, as another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the objects of this user that ipcgen processes which no longer run left in /dev/shm; answers
 * their names. Objects of live processes, of other users, and of other programs are left alone.
 */
export function sweepRegions(dir = SHM_DIR): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // no /dev/shm: nothing can have been left there
  }
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const name of names) {
    const match = new RegExp(`^${NAME_PREFIX}(\\d+)-`).exec(name);
    if (match === null || alive(Number(match[1]))) continue;
    const stats = lstatSync(`${dir}/${name}`, { throwIfNoEntry: false });
    if (stats === undefined || !stats.isFile() || stats.uid !== uid) continue;
    unlinkRegion(`/${name}`);
    removed.push(`/${name}`);
  }
  return removed;
}
