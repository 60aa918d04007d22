/**
 * Helpers shared by the benchmarks (bench/compile.ts, bench/codec.ts): medians, the machine's details and
 * the tables they print, so that every section of docs/benchmarks.md describes its machine the same way.
 */
import { arch, cpus, release, type } from "node:os";

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  os: string;
}

export function machine(): Machine {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? "unknown",
    cores: cpu.length,
    node: process.version,
    os: `${type()} ${release()} (${arch()})`,
  };
}

/** The machine as Markdown list items, for the top of a section of docs/benchmarks.md. */
export function machineLines(m: Machine = machine()): string[] {
  return [`- CPU: ${m.cpu}, ${m.cores} cores`, `- Node ${m.node}`, `- OS: ${m.os}`];
}

/** A Markdown table, one line per entry. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)];
}

/**
 * The same table with aligned columns, for reading in a terminal; columns after the first are right-aligned.
 * A short row (e.g. a name and "not available: ...") has its last cell written as it is, unaligned.
 */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const full = [header, ...rows.filter((r) => r.length === header.length)];
  const widths = header.map((_, c) => Math.max(...full.map((r) => r[c].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => {
        if (c === 0) return cell.padEnd(widths[0]);
        return cells.length < header.length && c === cells.length - 1 ? cell : cell.padStart(widths[c]);
      })
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)];
}
