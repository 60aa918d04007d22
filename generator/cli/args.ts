/**
 * Command-line spelling that `capnp compile` accepts but yargs reads differently.
 *
 * capnp takes a short option's value glued on (`-Isrc`, `-ocapnp`, `-o-`, `-oc++:out`) or as the next
 * argument, even when that argument starts with a dash (`-o -`). yargs would read `-Isrc` as the flags
 * `-I -s -r -c` and `-o -` as an option without a value. So before yargs sees them, every value-taking
 * option of `compile` is rewritten to the unambiguous `--long=value` form.
 */

const VALUE_OPTIONS: Readonly<Record<string, string>> = {
  "-o": "--output",
  "--output": "--output",
  "-I": "--import-path",
  "--import-path": "--import-path",
  "--src-prefix": "--src-prefix",
};

/** The subcommand: the first argument that is not an option (none of ipcgen's top-level options takes a value). */
export function subcommand(args: readonly string[]): string | undefined {
  return args.find((a) => !a.startsWith("-"));
}

/** Rewrites the arguments after the `compile` subcommand; other commands' arguments are returned unchanged. */
export function normalizeArgs(args: readonly string[]): string[] {
  if (subcommand(args) !== "compile") return [...args];
  const command = args.indexOf("compile");

  const out = args.slice(0, command + 1);
  for (let i = command + 1; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const long = VALUE_OPTIONS[arg];
    if (long !== undefined && i + 1 < args.length) {
      // `-o VALUE`, `--output VALUE`: the next argument is the value, whatever it looks like.
      out.push(`${long}=${args[++i]}`);
    } else if (/^-[oI]./.test(arg)) {
      // `-oVALUE`, `-IVALUE`: the value is glued to the letter.
      out.push(`${VALUE_OPTIONS[arg.slice(0, 2)]}=${arg.slice(2)}`);
    } else {
      out.push(arg);
    }
  }
  return out;
}
