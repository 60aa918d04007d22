/**
 * `-o` output directives, as `capnp compile` defines them: `-` for stdout, or a plugin and the directory it
 * runs in. A plugin is any executable that reads a framed `CodeGeneratorRequest` on its standard input.
 */
import { spawn } from "node:child_process";
import { accessSync, constants, mkdirSync, statSync } from "node:fs";
import { delimiter, isAbsolute, resolve } from "node:path";
import { CliError } from "./errors.js";

export interface OutputDirective {
  /** The `-o` argument as given, used to name the directive in messages. */
  spec: string;
  /** `-` (standard output) or the plugin as written: a bare name or a path. */
  plugin: string;
  /** The directory after `:`, resolved against the working directory; null when none was given. */
  dir: string | null;
}

/**
 * Splits `PLUGIN[:DIR]` at its first colon. The one exception is the one capnp makes for Windows drive
 * letters: in `c:/tools/p.exe:out` the first colon is followed by a slash and a second colon exists, so the
 * second colon is the separator. (`c:/out`, with no second colon, is the plugin `c` writing to `/out`.)
 */
export function parseOutputSpec(spec: string, cwd: string): OutputDirective {
  let cut = spec.indexOf(":");
  if (cut === 1 && /^[/\\]/.test(spec.slice(2))) {
    const second = spec.indexOf(":", 2);
    if (second >= 0) cut = second;
  }
  const plugin = cut < 0 ? spec : spec.slice(0, cut);
  const dir = cut < 0 ? null : spec.slice(cut + 1);
  if (plugin === "") throw new CliError(`-o ${spec}: no plugin named before ':'`);
  if (dir === "") throw new CliError(`-o ${spec}: no directory after ':'`);
  if (dir !== null) {
    const full = resolve(cwd, dir);
    const stats = statSync(full, { throwIfNoEntry: false });
    if (stats !== undefined && !stats.isDirectory()) {
      throw new CliError(`-o ${spec}: output location is not a directory`);
    }
    return { spec, plugin, dir: full };
  }
  return { spec, plugin, dir: null };
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The executable a directive runs. A name with no slash means `capnpc-NAME` found on PATH (an empty PATH
 * entry is the working directory, as for execlp); a name with a slash is a path, relative ones taken from
 * the working directory ipcgen was started in.
 */
export function findPlugin(directive: OutputDirective, cwd: string, path = process.env.PATH ?? ""): string {
  const name = directive.plugin;
  if (name.includes("/")) {
    const full = isAbsolute(name) ? name : resolve(cwd, name);
    if (statSync(full, { throwIfNoEntry: false }) === undefined) {
      throw new CliError(`-o ${directive.spec}: no such plugin (executable should be '${full}')`);
    }
    if (!isExecutableFile(full)) {
      throw new CliError(`-o ${directive.spec}: plugin '${full}' is not an executable file`);
    }
    return full;
  }
  const exe = `capnpc-${name}`;
  for (const entry of path.split(delimiter)) {
    const candidate = resolve(cwd, entry === "" ? "." : entry, exe);
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new CliError(`-o ${directive.spec}: no such plugin (executable should be '${exe}' on PATH)`);
}

/**
 * Runs one plugin with the request on its standard input, in its directory (created if missing), its own
 * output going to ipcgen's stdout and stderr. Resolves to null on success, else to the one-line reason.
 */
export async function runPlugin(
  directive: OutputDirective,
  executable: string,
  request: Uint8Array,
  log: (line: string) => void,
): Promise<string | null> {
  const cwd = directive.dir ?? process.cwd();
  if (directive.dir !== null) mkdirSync(directive.dir, { recursive: true });
  log(`running plugin ${executable} in ${cwd}`);

  const env = directive.dir !== null ? { ...process.env, PWD: directive.dir } : process.env;
  const child = spawn(executable, [], { cwd, env, stdio: ["pipe", "inherit", "inherit"] });
  // A plugin may exit without reading all of its input; its exit status says whether it worked.
  child.stdin.on("error", () => {});

  return new Promise((done) => {
    child.on("error", (err) => done(`cannot run plugin '${executable}': ${err.message}`));
    child.on("close", (code, signal) => {
      if (signal !== null) done(`plugin failed: killed by ${signal}`);
      else if (code !== 0) done(`plugin failed: exit code ${code}`);
      else done(null);
    });
    child.stdin.end(request);
  });
}

