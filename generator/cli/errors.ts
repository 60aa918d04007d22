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

/** The text of any thrown value, on one line. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, " ").trim();
}
