import { isAbsolute, relative } from "node:path";

/**
 * An error the CLI reports as one line on stderr (prefixed by the command's name) before exiting with
 * `exitCode`. Anything else that reaches the top is an internal error.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** How messages show a path: relative to `cwd` when it is below it, else absolute. */
export function shownPath(path: string, cwd: string = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

/** The text of any thrown value, on one line. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, " ").trim();
}
