/**
 * The lexer: schema bytes in, a tree of statements out, exactly as capnp 0.9.2's `compiler/lexer.c++` cuts
 * them. A statement is a token list ended by `;` or by a `{ ... }` block of statements; doc comments are the
 * `#` lines right after the `;`, `{` or `}`.
 *
 * capnp builds its lexer from backtracking parser combinators (kj/parse). We scan by hand, but each function
 * below mirrors one of those combinators, including what they accept by accident (e.g. `09` is the two
 * integers 0 and 9). If the whole input does not lex, capnp reports a single "Parse error." at the furthest
 * byte any combinator reached and yields no statements at all; `best` tracks that byte.
 */
import type { ErrorReporter } from "./diagnostics.js";

export type Token = Readonly<{ start: number; end: number } & TokenKind>;

export type TokenKind =
  | { kind: "identifier"; text: string }
  | { kind: "string"; text: string; bytes: Uint8Array }
  | { kind: "binary"; bytes: Uint8Array }
  /** Wrapped to 64 bits, as capnp does. */
  | { kind: "integer"; value: bigint }
  | { kind: "float"; value: number }
  /** A run of operator characters: `->`, `@`, `$`, `=`, and also things like `=-`. */
  | { kind: "operator"; text: string }
  /** `( a, b )`: one token list per comma-separated item (a trailing comma adds no item). */
  | { kind: "parenList"; items: Token[][] }
  | { kind: "bracketList"; items: Token[][] };

export interface Statement {
  tokens: Token[];
  /** `null` for a statement ended by `;`, else the statements of its `{ ... }` block. */
  block: Statement[] | null;
  /** The comment lines, each without `#` and one following space, each followed by `\n`. */
  docComment: string | null;
  /** The doc comment's bytes when they are not UTF-8 (see `DeclarationCommon.docCommentBytes`). */
  docCommentBytes?: Uint8Array;
  /** From the first token through the end of the trailing doc comment, if any. */
  start: number;
  end: number;
}

const FAIL = -1;
const UINT64_MASK = (1n << 64n) - 1n;

const CH = {
  tab: 0x09,
  lf: 0x0a,
  vt: 0x0b,
  ff: 0x0c,
  cr: 0x0d,
  space: 0x20,
  quote: 0x22,
  hash: 0x23,
  lparen: 0x28,
  rparen: 0x29,
  comma: 0x2c,
  dot: 0x2e,
  zero: 0x30,
  semicolon: 0x3b,
  lbracket: 0x5b,
  backslash: 0x5c,
  rbracket: 0x5d,
  underscore: 0x5f,
  x: 0x78,
  lbrace: 0x7b,
  rbrace: 0x7d,
} as const;

// Character classes as 256-entry tables (undefined past the end of input reads as "not in class").
function charClass(test: (c: number) => boolean): Uint8Array {
  const table = new Uint8Array(256);
  for (let c = 0; c < 256; c++) table[c] = test(c) ? 1 : 0;
  return table;
}
const isAlpha = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isDigitCode = (c: number) => c >= 0x30 && c <= 0x39;
const WHITESPACE = charClass((c) => c === CH.space || (c >= CH.tab && c <= CH.cr));
/** Whitespace that does not end a line. */
const LINE_WHITESPACE = charClass((c) => c === CH.space || c === CH.tab || c === CH.vt || c === CH.ff);
const NAME_START = charClass((c) => isAlpha(c) || c === CH.underscore);
const NAME_CHAR = charClass((c) => isAlpha(c) || isDigitCode(c) || c === CH.underscore);
const DIGIT = charClass(isDigitCode);
const HEX_DIGIT = charClass((c) => isDigitCode(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
const OCT_DIGIT = charClass((c) => c >= 0x30 && c <= 0x37);
const OPERATOR_CHAR = charClass((c) => "!$%&*+-./:<=>?@^|~".includes(String.fromCharCode(c)));
/** What may not directly follow a number: a letter, `_` or `.`. */
const NUMBER_STOP = charClass((c) => isAlpha(c) || c === CH.underscore || c === CH.dot);
/** The simple escapes `\a` etc. mapped to their byte; other listed characters stand for themselves. */
const SIMPLE_ESCAPES: ReadonlyMap<number, number> = new Map(
  [..."abfnrtv'\"\\?"].map((ch) => {
    const mapped: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };
    return [ch.charCodeAt(0), mapped[ch] ?? ch.charCodeAt(0)];
  }),
);

/** Lossless for UTF-8 (a leading U+FEFF is kept); other bytes read as U+FFFD, and callers keep the bytes. */
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Whether `bytes` are UTF-8 as they are (a Text embedded or written with other bytes keeps them: see values.ts). */
export function isUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function withDocComment(statement: Statement, doc: { text: string; bytes?: Uint8Array } | null): Statement {
  if (doc !== null) {
    statement.docComment = doc.text;
    if (doc.bytes !== undefined) statement.docCommentBytes = doc.bytes;
  }
  return statement;
}

function hexValue(c: number): number {
  if (c <= 0x39) return c - 0x30;
  return (c | 0x20) - 0x61 + 10;
}

/** Parses digits the way kj does: into an unsigned 64-bit integer that silently wraps. */
function parseUInt64(digits: string, radix: 8 | 10 | 16): bigint {
  if (digits.length === 0) return 0n;
  if (digits.length <= 12) return BigInt(parseInt(digits, radix));
  const prefix = radix === 16 ? "0x" : radix === 8 ? "0o" : "";
  return BigInt(prefix + digits) & UINT64_MASK;
}

/** Lexes a whole file. On failure reports errors and returns no statements, as capnp does. */
export function lex(bytes: Uint8Array, errors: ErrorReporter): Statement[] {
  const lexer = new Lexer(bytes, errors);
  const statements: Statement[] = [];
  let end: number;
  try {
    end = lexer.statementSequence(0, statements);
  } catch (e) {
    // Only absurd nesting gets here (the JS stack is shallower than capnp's); treat it as unparseable.
    if (!(e instanceof RangeError)) throw e;
    end = FAIL;
  }
  if (end !== bytes.length) {
    errors.addError(lexer.best, lexer.best, "Parse error.");
    return [];
  }
  return statements;
}

class Lexer {
  /** The furthest byte any attempted rule consumed up to: where capnp reports a lexing failure. */
  best = 0;
  private readonly length: number;
  /** Output slot of `token()`, set when it succeeds. */
  private token: Token | null = null;

  constructor(
    private readonly b: Uint8Array,
    private readonly errors: ErrorReporter,
  ) {
    this.length = b.length;
  }

  private reach(pos: number): void {
    if (pos > this.best) this.best = pos;
  }

  // ---------------------------------------------------------------- space and comments

  private skipWhitespace(pos: number): number {
    const b = this.b;
    while (pos < this.length && WHITESPACE[b[pos]]) pos++;
    this.reach(pos);
    return pos;
  }

  /** Whitespace, and UTF-8 byte order marks anywhere between tokens. */
  private bomsAndWhitespace(pos: number): number {
    const b = this.b;
    pos = this.skipWhitespace(pos);
    while (b[pos] === 0xef) {
      if (b[pos + 1] !== 0xbb) return this.reached(pos + 1, pos);
      if (b[pos + 2] !== 0xbf) return this.reached(pos + 2, pos);
      pos = this.skipWhitespace(pos + 3);
    }
    return pos;
  }

  /** Notes that a failed attempt got as far as `reached`, and returns `pos` unchanged. */
  private reached(reached: number, pos: number): number {
    this.reach(reached);
    return pos;
  }

  /** Whitespace and comments, which are simply dropped here (doc comments are taken elsewhere). */
  commentsAndWhitespace(pos: number): number {
    const b = this.b;
    pos = this.bomsAndWhitespace(pos);
    while (b[pos] === CH.hash) {
      pos = this.endOfLine(pos + 1);
      pos = this.bomsAndWhitespace(pos);
    }
    return pos;
  }

  /** Skips to just past the next newline (or to the end of input). */
  private endOfLine(pos: number): number {
    const nl = this.b.indexOf(CH.lf, pos);
    pos = nl < 0 ? this.length : nl + 1;
    this.reach(pos);
    return pos;
  }

  /**
   * The doc comment after `;`, `{` or `}`: comment lines starting on the same line or the next one, with no
   * blank line between them. Returns the position after it and its text, or null (consuming nothing).
   */
  private docComment(pos: number): { end: number; text: string; bytes?: Uint8Array } | null {
    const b = this.b;
    pos = this.skipLineWhitespace(pos);
    if (b[pos] === CH.lf) pos++;
    else if (b[pos] === CH.cr) pos += b[pos + 1] === CH.lf ? 2 : 1;
    this.reach(pos);
    const lines: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const lineStart = this.skipLineWhitespace(pos);
      if (b[lineStart] !== CH.hash) break;
      let from = lineStart + 1;
      if (b[from] === CH.space) from++;
      const nl = b.indexOf(CH.lf, from);
      const to = nl < 0 ? this.length : nl;
      lines.push(b.subarray(from, to));
      size += to - from + 1;
      pos = nl < 0 ? to : to + 1;
      this.reach(pos);
      if (pos >= this.length) break;
    }
    if (lines.length === 0) return null;
    // capnp keeps the comment's bytes as they are, each line followed by `\n`.
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const line of lines) {
      bytes.set(line, at);
      at += line.length;
      bytes[at++] = CH.lf;
    }
    const text = utf8.decode(bytes);
    return isUtf8(bytes) ? { end: pos, text } : { end: pos, text, bytes };
  }

  private skipLineWhitespace(pos: number): number {
    const b = this.b;
    while (pos < this.length && LINE_WHITESPACE[b[pos]]) pos++;
    this.reach(pos);
    return pos;
  }

  // ---------------------------------------------------------------- statements

  /** Statements until something that is not one; returns where that is. */
  statementSequence(pos: number, out: Statement[]): number {
    pos = this.commentsAndWhitespace(pos);
    while (pos < this.length) {
      const statement = this.statement(pos);
      if (statement === null) break;
      out.push(statement);
      pos = this.commentsAndWhitespace(statement.end);
    }
    return pos;
  }

  private statement(start: number): Statement | null {
    const b = this.b;
    const tokens: Token[] = [];
    let pos = this.tokenSequence(start, tokens);
    if (b[pos] === CH.semicolon) {
      pos++;
      this.reach(pos);
      const doc = this.docComment(pos);
      return withDocComment({ tokens, block: null, docComment: null, start, end: doc?.end ?? pos }, doc);
    }
    if (b[pos] !== CH.lbrace) return null;
    pos++;
    this.reach(pos);
    const early = this.docComment(pos);
    if (early !== null) pos = early.end;
    const block: Statement[] = [];
    pos = this.statementSequence(pos, block);
    if (b[pos] !== CH.rbrace) return null;
    pos++;
    this.reach(pos);
    const late = this.docComment(pos);
    if (late !== null) pos = late.end;
    // A comment right after `{` wins over one after `}`.
    return withDocComment({ tokens, block, docComment: null, start, end: pos }, early ?? late);
  }

  // ---------------------------------------------------------------- tokens

  private tokenSequence(pos: number, out: Token[]): number {
    pos = this.commentsAndWhitespace(pos);
    while (pos < this.length) {
      const end = this.nextToken(pos);
      if (end === FAIL) break;
      out.push(this.token!);
      pos = this.commentsAndWhitespace(end);
    }
    return pos;
  }

  /** One token at `pos`: sets `this.token` and returns its end, or FAIL. Alternatives in capnp's order. */
  private nextToken(pos: number): number {
    const b = this.b;
    const c = b[pos];
    if (NAME_START[c]) return this.identifier(pos);
    if (c === CH.quote) return this.stringLiteral(pos);
    if (c === CH.zero && b[pos + 1] === CH.x && b[pos + 2] === CH.quote) {
      const end = this.binaryLiteral(pos);
      if (end !== FAIL) return end;
    }
    if (DIGIT[c]) {
      const end = this.integer(pos);
      if (end !== FAIL) return end;
      return this.number(pos);
    }
    if (OPERATOR_CHAR[c]) return this.operator(pos);
    if (c === CH.lparen) return this.list(pos, CH.rparen, "parenList");
    if (c === CH.lbracket) return this.list(pos, CH.rbracket, "bracketList");
    this.rejectNonUtf8(pos);
    return FAIL;
  }

  private identifier(start: number): number {
    const b = this.b;
    let pos = start + 1;
    while (pos < this.length && NAME_CHAR[b[pos]]) pos++;
    this.reach(pos);
    let text = "";
    for (let i = start; i < pos; i++) text += String.fromCharCode(b[i]);
    this.token = { kind: "identifier", text, start, end: pos };
    return pos;
  }

  private operator(start: number): number {
    const b = this.b;
    let pos = start;
    let text = "";
    while (pos < this.length && OPERATOR_CHAR[b[pos]]) text += String.fromCharCode(b[pos++]);
    this.reach(pos);
    this.token = { kind: "operator", text, start, end: pos };
    return pos;
  }

  /** `"..."`: any byte but `\`, newline and `"`, or an escape; the result is decoded as UTF-8. */
  private stringLiteral(start: number): number {
    const b = this.b;
    let pos = start + 1;
    let bytes: number[] | null = null; // only built once an escape shows up
    let runStart = pos;
    for (;;) {
      const c = b[pos];
      if (pos >= this.length || c === CH.lf) return this.fail(pos);
      if (c === CH.quote) break;
      if (c !== CH.backslash) {
        pos++;
        continue;
      }
      bytes ??= [];
      for (let i = runStart; i < pos; i++) bytes.push(b[i]);
      const escaped = this.escape(pos);
      if (escaped === null) return this.fail(pos);
      bytes.push(escaped.byte);
      pos = runStart = escaped.end;
    }
    const end = pos + 1;
    this.reach(end);
    let raw: Uint8Array;
    if (bytes === null) {
      raw = b.slice(start + 1, pos);
    } else {
      for (let i = runStart; i < pos; i++) bytes.push(b[i]);
      raw = Uint8Array.from(bytes);
    }
    this.token = { kind: "string", text: utf8.decode(raw), bytes: raw, start, end };
    return end;
  }

  /** One escape at `pos` (the backslash): `\n` and friends, `\xHH`, or one to three octal digits. */
  private escape(pos: number): { byte: number; end: number } | null {
    const b = this.b;
    const c = b[pos + 1];
    this.reach(pos + 1);
    const simple = pos + 1 < this.length ? SIMPLE_ESCAPES.get(c) : undefined;
    if (simple !== undefined) return { byte: simple, end: pos + 2 };
    if (c === CH.x) {
      if (HEX_DIGIT[b[pos + 2]] && HEX_DIGIT[b[pos + 3]]) {
        return { byte: (hexValue(b[pos + 2]) << 4) | hexValue(b[pos + 3]), end: pos + 4 };
      }
      this.reach(HEX_DIGIT[b[pos + 2]] ? pos + 3 : pos + 2);
      return null;
    }
    if (!OCT_DIGIT[c]) return null;
    let end = pos + 2;
    let value = c - CH.zero;
    // Up to two more octal digits; like a C `char`, the value keeps only its low 8 bits.
    for (let i = 0; i < 2 && OCT_DIGIT[b[end]]; i++) value = (value << 3) | (b[end++] - CH.zero);
    return { byte: value & 0xff, end };
  }

  /** `0x"..."`: pairs of hex digits, with whitespace allowed before each pair and before the quote. */
  private binaryLiteral(start: number): number {
    const b = this.b;
    let pos = start + 3;
    this.reach(pos);
    const out: number[] = [];
    for (;;) {
      const at = this.skipWhitespace(pos);
      if (!HEX_DIGIT[b[at]]) break;
      if (!HEX_DIGIT[b[at + 1]]) {
        this.reach(at + 1);
        break;
      }
      out.push((hexValue(b[at]) << 4) | hexValue(b[at + 1]));
      pos = at + 2;
      this.reach(pos);
    }
    if (out.length === 0) return FAIL;
    pos = this.skipWhitespace(pos);
    if (b[pos] !== CH.quote) return FAIL;
    this.reach(pos + 1);
    this.token = { kind: "binary", bytes: Uint8Array.from(out), start, end: pos + 1 };
    return pos + 1;
  }

  /** `0x1F`, `017` (a lone `0` is octal), `123`; not if a letter, `_` or `.` follows. */
  private integer(start: number): number {
    const b = this.b;
    let pos: number;
    let radix: 8 | 10 | 16;
    let digitsFrom: number;
    if (b[start] === CH.zero && b[start + 1] === CH.x && HEX_DIGIT[b[start + 2]]) {
      radix = 16;
      digitsFrom = start + 2;
      pos = digitsFrom;
      while (pos < this.length && HEX_DIGIT[b[pos]]) pos++;
    } else if (b[start] === CH.zero) {
      if (b[start + 1] === CH.x) this.reach(start + 2); // the hex attempt got past "0x"
      radix = 8;
      digitsFrom = start + 1;
      pos = digitsFrom;
      while (pos < this.length && OCT_DIGIT[b[pos]]) pos++;
    } else {
      radix = 10;
      digitsFrom = start;
      pos = start + 1;
      while (pos < this.length && DIGIT[b[pos]]) pos++;
    }
    this.reach(pos);
    if (NUMBER_STOP[b[pos]] && pos < this.length) return FAIL;
    const value = parseUInt64(this.ascii(digitsFrom, pos), radix);
    this.token = { kind: "integer", value, start, end: pos };
    return pos;
  }

  /** `1.5`, `1e10`, `1.`; also `1e` and `1e+`, which capnp accepts here but cannot convert. */
  private number(start: number): number {
    const b = this.b;
    let pos = start;
    while (pos < this.length && DIGIT[b[pos]]) pos++;
    let text = this.ascii(start, pos);
    if (b[pos] === CH.dot) {
      const from = ++pos;
      while (pos < this.length && DIGIT[b[pos]]) pos++;
      text += "." + this.ascii(from, pos);
    }
    let emptyExponent = false;
    if (b[pos] === 0x65 || b[pos] === 0x45) {
      pos++;
      let sign = "";
      if (b[pos] === 0x2b || b[pos] === 0x2d) sign = String.fromCharCode(b[pos++]);
      const from = pos;
      while (pos < this.length && DIGIT[b[pos]]) pos++;
      text += "e" + sign + this.ascii(from, pos);
      emptyExponent = pos === from;
    }
    this.reach(pos);
    if (NUMBER_STOP[b[pos]] && pos < this.length) return FAIL;
    if (emptyExponent) {
      // capnp 0.9.2 lexes this, then dies on an uncaught exception converting it; we report it instead.
      this.errors.addError(start, pos, "Invalid floating-point number: the exponent has no digits.");
    }
    // parseFloat reads the longest valid prefix, so "1e" and "1e+" give 1.
    this.token = { kind: "float", value: parseFloat(text), start, end: pos };
    return pos;
  }

  /** `( ... )` or `[ ... ]`: comma-separated token sequences. */
  private list(start: number, close: number, kind: "parenList" | "bracketList"): number {
    const b = this.b;
    this.reach(start + 1);
    const first: Token[] = [];
    let pos = this.tokenSequence(start + 1, first);
    const rest: Token[][] = [];
    while (b[pos] === CH.comma && pos < this.length) {
      const item: Token[] = [];
      this.reach(pos + 1);
      pos = this.tokenSequence(pos + 1, item);
      rest.push(item);
    }
    if (b[pos] !== close || pos >= this.length) return FAIL;
    pos++;
    this.reach(pos);
    let items: Token[][];
    if (first.length === 0 && rest.length === 0) {
      items = [];
    } else {
      // A trailing comma leaves an empty last item, which does not count.
      if (rest.length > 0 && rest[rest.length - 1].length === 0) rest.pop();
      items = [first, ...rest];
    }
    this.token = { kind, items, start, end: pos };
    return pos;
  }

  /** UTF-16 byte order marks and NUL bytes where a token should start mean the file is not UTF-8. */
  private rejectNonUtf8(pos: number): void {
    const b = this.b;
    const c = b[pos];
    let end = -1;
    if ((c === 0xff && b[pos + 1] === 0xfe) || (c === 0xfe && b[pos + 1] === 0xff)) end = pos + 2;
    else if (c === 0x00 && pos < this.length) end = pos + 1;
    else if (c === 0xff || c === 0xfe) this.reach(pos + 1);
    if (end < 0) return;
    this.reach(end);
    this.errors.addError(pos, end, "Non-UTF-8 input detected. Cap'n Proto schema files must be UTF-8 text.");
  }

  private fail(reached: number): number {
    this.reach(reached);
    return FAIL;
  }

  private ascii(from: number, to: number): string {
    let s = "";
    for (let i = from; i < to; i++) s += String.fromCharCode(this.b[i]);
    return s;
  }
}
