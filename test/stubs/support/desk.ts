/** The Desk server (desk-server.ts) as the tests of a file (or of a describe block) share it. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { killAll, line, run } from "../../runtime/support/processes.js";
import { REPO } from "../../support/ipcgen.js";

/**
 * Starts a Desk server in a child process before the tests of the enclosing file or describe block, on a
 * socket in a new private directory, and stops it after them. Returns the socket's path.
 */
export function sharedDeskServer(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const path = join(dir, "desk.sock");
  beforeAll(async () => {
    await line(run(join(REPO, "test/stubs/support/desk-server.ts"), [path]), /listening/);
  });
  afterAll(() => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  });
  return path;
}
