/**
 * Tests that run a process as a second uid (to see what another user gets): one decision, for all of them,
 * of whether they can run here. They need root (to start a process as another user), a second user
 * (`ipcgen-other`, which .ci/run creates, else `nobody`), and the checkout, node and tsx reachable by it.
 * Under CI (`CI` set) they must run: anything missing fails them. Elsewhere each is skipped, printing
 * `SKIPPED: <test name>: <why>`.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { it, type TestContext } from "vitest";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface OtherUser {
  name: string;
  uid: number;
  gid: number;
}

/** The users tried, in order: the one .ci/run makes, then Debian's `nobody`. */
const CANDIDATES = ["ipcgen-other", "nobody"];

function findUser(): OtherUser | string {
  if (process.getuid?.() !== 0) return "the tests do not run as root, so they cannot start a process as another user";
  let passwd: string;
  try {
    passwd = readFileSync("/etc/passwd", "utf8");
  } catch (err) {
    return `/etc/passwd cannot be read (${(err as Error).message})`;
  }
  const users = new Map(
    passwd
      .split("\n")
      .map((line) => line.split(":"))
      .filter((f) => f.length >= 4)
      .map((f) => [f[0], { name: f[0], uid: Number(f[2]), gid: Number(f[3]) }] as const),
  );
  const user = CANDIDATES.map((name) => users.get(name)).find((u) => u !== undefined && u.uid !== 0);
  return user ?? `no second user (${CANDIDATES.join(" or ")}) in /etc/passwd`;
}

/**
 * Whether `user` can run what the tests run: node with tsx from the checkout (its folders searchable by
 * others all the way down), reading `paths`. Tried for real, as that user, rather than read off modes.
 */
function probe(user: OtherUser, paths: readonly string[]): string | null {
  const check = `for (const p of ${JSON.stringify(paths)}) require("node:fs").accessSync(p, require("node:fs").constants.R_OK)`;
  const run = spawnSync(process.execPath, ["--import", "tsx", "-e", check], { cwd: REPO, uid: user.uid, gid: user.gid, encoding: "utf8", timeout: 60_000 });
  if (run.error !== undefined) return `node cannot be started as ${user.name} (${run.error.message})`;
  if (run.status === 0) return null;
  const why = (run.stderr.split("\n").find((l) => /Error|EACCES|denied/.test(l)) ?? run.stderr.slice(0, 300)).trim();
  return `${user.name} (uid ${user.uid}) cannot run node with tsx in ${REPO} and read what the tests run (${why}); every folder down to it must be searchable by others`;
}

const decisions = new Map<string, OtherUser | string>();

/** The second user, or why there is none that can run `paths`; decided once per set of paths. */
export function otherUser(paths: readonly string[]): OtherUser | string {
  const key = JSON.stringify(paths);
  let decision = decisions.get(key);
  if (decision === undefined) {
    const user = findUser();
    decision = typeof user === "string" ? user : (probe(user, paths) ?? user);
    decisions.set(key, decision);
  }
  return decision;
}

function fullName(context: TestContext): string {
  const names = [context.task.name];
  for (let suite = context.task.suite; suite !== undefined && suite.name !== ""; suite = suite.suite) names.unshift(suite.name);
  return names.join(" > ");
}

/**
 * A test that runs `paths` (scripts, files they read; or a function giving them, called when the test
 * runs) as a second user. The decision is made when the test runs (a real process is tried once), so
 * files that never reach these tests pay nothing.
 */
export function itAsOtherUser(name: string, paths: readonly string[] | (() => readonly string[]), test: (user: OtherUser) => Promise<void>, timeout?: number): void {
  it(
    name,
    async (context) => {
      const user = otherUser(typeof paths === "function" ? paths() : paths);
      if (typeof user === "string") {
        if (process.env.CI) throw new Error(`this test needs a second uid, and CI must run it (.ci/run sets that up): ${user}`);
        console.log(`SKIPPED: ${fullName(context)}: ${user}`);
        context.skip();
        return;
      }
      await test(user);
    },
    timeout,
  );
}
