/**
 * `ipcgen templates eject DIR`: copies the bundled templates into DIR, the start of a user's own set
 * (`--templates DIR` then uses them; generated code stays the same until they are edited).
 */
import { copyFileSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { defaultTemplateDir } from "../codegen/render.js";
import { CliError } from "./errors.js";

export interface EjectOptions {
  dir: string;
  force: boolean;
}

/** Runs the command; resolves to the exit status. Prints each file written. */
export async function runEject(options: EjectOptions): Promise<number> {
  const cwd = process.cwd();
  const target = resolve(cwd, options.dir);
  const stats = statSync(target, { throwIfNoEntry: false });
  if (stats !== undefined && !stats.isDirectory()) throw new CliError(`templates eject ${options.dir}: not a directory`);

  const source = defaultTemplateDir();
  const names = readdirSync(source)
    .filter((name) => name.endsWith(".hbs"))
    .sort();
  const shown = (name: string) => join(options.dir, name);
  if (!options.force) {
    const existing = names.filter((name) => statSync(join(target, name), { throwIfNoEntry: false }) !== undefined);
    if (existing.length > 0) {
      const more = existing.length > 1 ? ` and ${existing.length - 1} more templates exist` : " exists";
      throw new CliError(`templates eject ${options.dir}: ${shown(existing[0])}${more} already; nothing was written (--force overwrites)`);
    }
  }
  try {
    mkdirSync(target, { recursive: true });
  } catch (err) {
    throw new CliError(`templates eject ${options.dir}: cannot create the directory: ${(err as Error).message}`);
  }
  for (const name of names) {
    try {
      copyFileSync(join(source, name), join(target, name));
    } catch (err) {
      throw new CliError(`templates eject ${options.dir}: cannot write ${shown(name)}: ${(err as Error).message}`);
    }
    process.stdout.write(`wrote ${shown(name)}\n`);
  }
  return 0;
}
