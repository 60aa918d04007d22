// Small helpers shared by bench/rpc's processes (plain JavaScript: these run under `node` without tsx).
import { readFileSync } from "node:fs";

/** The payload every call carries, in bytes. Its first 4 bytes (little-endian) are the call's number. */
export const PAYLOAD_BYTES = 64;

/** The CPUs this process may run on, as the kernel lists them ("0", "0-1"). */
export function allowedCpus() {
  try {
    const line = readFileSync("/proc/self/status", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Cpus_allowed_list:"));
    return line === undefined ? "unknown" : line.slice("Cpus_allowed_list:".length).trim();
  } catch {
    return "unknown";
  }
}

/**
 * Exits when the process that started this one goes away (its end of our stdin closes), and on SIGTERM or
 * SIGINT through process.exit, so that 'exit' handlers (which remove socket files) run.
 */
export function exitWithParent() {
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, () => process.exit(0));
  process.stdin.on("end", () => process.exit(0));
  process.stdin.on("error", () => process.exit(0));
  process.stdin.resume();
}

/** The message of an error, on one line. */
export function firstLine(e) {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0].slice(0, 200);
}
