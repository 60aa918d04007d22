/**
 * The second user that tests run clients as: uid and gid 65534 (nobody). Available when the tests run as
 * root and every folder down to the checkout is searchable by others.
 */
import { statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "../..");

function othersCanReach(path: string): boolean {
  for (let dir = path; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o005) !== 0o005) return false;
    if (dirname(dir) === dir) return true;
  }
}

export const otherUser = { uid: 65534, gid: 65534, available: process.getuid?.() === 0 && othersCanReach(REPO) };
