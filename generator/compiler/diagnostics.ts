/**
 * Diagnostics in capnp's own form: `file.capnp:LINE:COL-COL: error: MESSAGE`.
 * Positions are byte offsets into the UTF-8 source; lines and columns count from 1, and a column is a byte
 * count (as in capnp), so a tab or a multi-byte character is not expanded.
 */

export interface Diagnostic {
  /**
   * How errors name the file: the directory as the user typed it, then the path inside it (capnp's own
   * choice, which differs from the display name in nodes when `--src-prefix` or `-I` is involved).
   */
  file: string;
  /** Byte range in the file; `start === end` for a point. */
  start: number;
  end: number;
  message: string;
}

/** Receives errors for one file. Stages report every error they find and go on where they can. */
export interface ErrorReporter {
  addError(start: number, end: number, message: string): void;
  hadErrors(): boolean;
}

/** Line starts of one source, for turning byte offsets into line and column. */
export class LineMap {
  private readonly lineStarts: number[] = [0];

  constructor(bytes: Uint8Array) {
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0x0a) this.lineStarts.push(i + 1);
    }
  }

  /** Zero-based line and column of a byte offset. */
  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, column: offset - this.lineStarts[lo] };
  }
}

/** Formats as capnp does: a one-line range gets `LINE:COL-COL`, a point `LINE:COL`, a multi-line range only `LINE`. */
export function formatDiagnostic(d: Diagnostic, lines: LineMap | null, severity: "error" | "warning" = "error"): string {
  if (lines === null) return `${d.file}: ${severity}: ${d.message}`;
  const start = lines.position(d.start);
  const end = lines.position(d.end);
  let where: string;
  if (start.line !== end.line) where = `${start.line + 1}`;
  else if (start.column === end.column) where = `${start.line + 1}:${start.column + 1}`;
  else where = `${start.line + 1}:${start.column + 1}-${end.column + 1}`;
  return `${d.file}:${where}: ${severity}: ${d.message}`;
}

/** Collects the errors of one file into a shared list. */
export class FileErrorReporter implements ErrorReporter {
  private count = 0;

  constructor(
    private readonly file: string,
    private readonly sink: Diagnostic[],
  ) {}

  addError(start: number, end: number, message: string): void {
    this.count++;
    this.sink.push({ file: this.file, start, end, message });
  }

  hadErrors(): boolean {
    return this.count > 0;
  }
}
