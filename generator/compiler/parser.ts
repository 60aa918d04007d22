/**
 * The parser: statements from the lexer in, the declaration tree of `ast.ts` out, as capnp 0.9.2's
 * `compiler/parser.c++` builds it.
 *
 * capnp parses each statement's tokens with backtracking combinators (kj/parse) and reports errors as side
 * effects while it tries alternatives, so some errors come out twice (an ordinal above 65535 is seen once by
 * the union rule and again by the field rule). To reproduce that, and the "Parse error." positions, this file
 * keeps capnp's rule structure: every rule is a function over a token `Input` that either returns a value or
 * FAIL, `oneOf`/`optional`/`many` rewind on failure, and `Input.best` records the furthest token any
 * attempt consumed (a token-type test consumes the token before looking at it, as kj's `any` does).
 */
import type {
  AnnotationApplication,
  AnnotationTargetFlags,
  BrandParameter,
  Declaration,
  DeclarationCommon,
  DeclarationId,
  Expression,
  ExpressionParam,
  LocatedInteger,
  LocatedText,
  Param,
  ParamList,
  ParsedFile,
} from "./ast.js";
import type { ErrorReporter } from "./diagnostics.js";
import { lex, type Statement, type Token } from "./lexer.js";

/** Lexes and parses one file. Never throws on bad input; every problem goes to `errors`. */
export function parseFile(bytes: Uint8Array, errors: ErrorReporter): ParsedFile {
  return parseStatements(lex(bytes, errors), errors);
}

/** Builds the file declaration from lexed statements (capnp's `parseFile`). */
export function parseStatements(statements: Statement[], errors: ErrorReporter): ParsedFile {
  const parser = new CapnpParser(errors);
  // capnp leaves the file declaration's name and range unset; they read as empty and 0.
  const root: Declaration = {
    which: "file",
    ...emptyCommon(),
  };
  for (const statement of statements) {
    const decl = parser.parseStatement(statement, parser.fileLevelDecl);
    if (decl === null) continue;
    if (decl.which === "nakedId") {
      if (root.id.which === "uid") {
        errors.addError(decl.start, decl.end, "File can only have one ID.");
      } else {
        root.id = { which: "uid", uid: decl.id };
        if (decl.docComment !== null) {
          root.docComment = decl.docComment;
          if (decl.docCommentBytes !== undefined) root.docCommentBytes = decl.docCommentBytes;
        }
      }
    } else if (decl.which === "nakedAnnotation") {
      root.annotations.push(decl.annotation);
    } else {
      root.nestedDecls.push(decl);
    }
  }
  if (root.id.which !== "uid") {
    const id = randomFileId();
    root.id = { which: "uid", uid: { value: id, start: 0, end: 0 } };
    // A parse error often hides the ID statement, so only complain about a missing ID in a clean file.
    if (!errors.hadErrors()) {
      errors.addError(
        0,
        0,
        "File does not declare an ID.  I've generated one for you.  Add this line to your file: " +
          `@0x${id.toString(16)};`,
      );
    }
  }
  return { root };
}

function randomFileId(): bigint {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return ((BigInt(words[0]) << 32n) | BigInt(words[1]) | (1n << 63n)) & ((1n << 64n) - 1n);
}

function emptyCommon(): DeclarationCommon {
  return {
    name: { value: "", start: 0, end: 0 },
    id: { which: "unspecified" },
    parameters: [],
    nestedDecls: [],
    annotations: [],
    docComment: null,
    start: 0,
    end: 0,
  };
}

// =====================================================================================================
// Combinator core

const FAIL: unique symbol = Symbol("FAIL");
type Fail = typeof FAIL;
type Rule<T> = (input: Input) => T | Fail;

class Input {
  pos = 0;
  best = 0;
  readonly end: number;

  constructor(readonly tokens: readonly Token[]) {
    this.end = tokens.length;
  }

  /** kj's `any`: takes the next token whatever it is. */
  next(): Token | null {
    if (this.pos >= this.end) return null;
    const token = this.tokens[this.pos++];
    if (this.pos > this.best) this.best = this.pos;
    return token;
  }
}

function oneOf<T>(...rules: Rule<T>[]): Rule<T> {
  return (input) => {
    const start = input.pos;
    for (const rule of rules) {
      const result = rule(input);
      if (result !== FAIL) return result;
      input.pos = start;
    }
    return FAIL;
  };
}

/** Never fails: the rule's value, or null (with the input rewound). */
function optional<T>(input: Input, rule: Rule<T>): T | null {
  const start = input.pos;
  const result = rule(input);
  if (result !== FAIL) return result;
  input.pos = start;
  return null;
}

function many<T>(input: Input, rule: Rule<T>): T[] {
  const results: T[] = [];
  while (input.pos < input.end) {
    const start = input.pos;
    const result = rule(input);
    if (result === FAIL) {
      input.pos = start;
      break;
    }
    results.push(result);
  }
  return results;
}

// ---------------------------------------------------------------------------------------- tokens

const identifier: Rule<LocatedText> = (input) => {
  const t = input.next();
  return t !== null && t.kind === "identifier" ? { value: t.text, start: t.start, end: t.end } : FAIL;
};

// Rules for fixed words and operators are made once and reused: rules run for every token tried.
const keywords = new Map<string, Rule<LocatedText>>();
const operators = new Map<string, Rule<Token>>();

function keyword(word: string): Rule<LocatedText> {
  let rule = keywords.get(word);
  if (rule === undefined) {
    rule = (input) => {
      const name = identifier(input);
      return name !== FAIL && name.value === word ? name : FAIL;
    };
    keywords.set(word, rule);
  }
  return rule;
}

function op(text: string): Rule<Token> {
  let rule = operators.get(text);
  if (rule === undefined) {
    rule = (input) => {
      const t = input.next();
      return t !== null && t.kind === "operator" && t.text === text ? t : FAIL;
    };
    operators.set(text, rule);
  }
  return rule;
}

function tokenOfKind<K extends Token["kind"]>(kind: K): Rule<Extract<Token, { kind: K }>> {
  return (input) => {
    const t = input.next();
    return t !== null && t.kind === kind ? (t as Extract<Token, { kind: K }>) : FAIL;
  };
}

const integerLiteral = tokenOfKind("integer");
const floatLiteral = tokenOfKind("float");
const stringLiteral = tokenOfKind("string");
const binaryLiteral = tokenOfKind("binary");
const rawParenList = tokenOfKind("parenList");
const rawBracketList = tokenOfKind("bracketList");

interface LocatedList<T> {
  /** One entry per item; null where the item did not parse (an error was reported). */
  items: (T | null)[];
  start: number;
  end: number;
}

/** The span from the first token consumed since `from` through the last one, or 0..0 if none. */
function spanSince(input: Input, from: number): { start: number; end: number } {
  if (input.pos <= from) return { start: 0, end: 0 };
  return { start: input.tokens[from].start, end: input.tokens[input.pos - 1].end };
}

// =====================================================================================================
// The grammar

interface DeclResult {
  /** Without doc comment, range or nested declarations yet. */
  decl: Declaration;
  /** The rule for the statements of this declaration's block, or null if it takes no block. */
  memberRule: Rule<DeclResult> | null;
}

const UNKNOWN: () => Expression = () => ({ which: "unknown", start: 0, end: 0 });

const TARGET_FLAGS: Readonly<Record<string, keyof AnnotationTargetFlags>> = {
  file: "targetsFile",
  const: "targetsConst",
  enum: "targetsEnum",
  enumerant: "targetsEnumerant",
  struct: "targetsStruct",
  field: "targetsField",
  union: "targetsUnion",
  group: "targetsGroup",
  interface: "targetsInterface",
  method: "targetsMethod",
  param: "targetsParam",
  annotation: "targetsAnnotation",
};

const UNION_NUMBER_MESSAGE =
  "As of Cap'n Proto v0.3, it is no longer necessary to assign numbers to unions. However, removing the " +
  "number will break binary compatibility. If this is an old protocol and you need to retain " +
  "compatibility, please add an exclamation point after the number to indicate that it is really needed, " +
  "e.g. `foo @1! :union {`. If this is a new protocol or compatibility doesn't matter, just remove the @n " +
  "entirely. Sorry for the inconvenience, and thanks for being an early adopter!  :)";
const UNION_COLON_MESSAGE =
  "As of Cap'n Proto v0.3, the 'union' keyword should be prefixed with a colon for named unions, e.g. " +
  "`foo :union {`.";

class CapnpParser {
  readonly fileLevelDecl: Rule<DeclResult>;
  private readonly genericDecl: Rule<DeclResult>;
  private readonly enumLevelDecl: Rule<DeclResult>;
  private readonly structLevelDecl: Rule<DeclResult>;
  private readonly interfaceLevelDecl: Rule<DeclResult>;

  constructor(private readonly errors: ErrorReporter) {
    this.genericDecl = oneOf(
      this.usingDecl,
      this.constDecl,
      this.annotationDecl,
      this.enumDecl,
      this.structDecl,
      this.interfaceDecl,
    );
    this.fileLevelDecl = oneOf(this.genericDecl, this.nakedId, this.nakedAnnotation);
    this.enumLevelDecl = this.enumerantDecl;
    this.structLevelDecl = oneOf(this.unionDecl, this.fieldDecl, this.groupDecl, this.genericDecl);
    this.interfaceLevelDecl = oneOf(this.methodDecl, this.genericDecl);
  }

  /** Parses one statement and, recursively, its block; null (after reporting) if it does not parse. */
  parseStatement(statement: Statement, rule: Rule<DeclResult>): Declaration | null {
    const input = new Input(statement.tokens);
    const result = rule(input);
    if (result === FAIL || input.pos !== input.end) {
      this.errors.addError(...this.failurePoint(input, statement), "Parse error.");
      return null;
    }
    const decl = result.decl;
    decl.docComment = statement.docComment;
    if (statement.docCommentBytes !== undefined) decl.docCommentBytes = statement.docCommentBytes;
    decl.start = statement.start;
    decl.end = statement.end;
    if (statement.block === null) {
      if (result.memberRule !== null) {
        this.errors.addError(decl.start, decl.end, "This statement should end with a block, not a semicolon.");
      }
    } else if (result.memberRule === null) {
      this.errors.addError(decl.start, decl.end, "This statement should end with a semicolon, not a block.");
    } else {
      for (const member of statement.block) {
        const nested = this.parseStatement(member, result.memberRule);
        if (nested !== null) decl.nestedDecls.push(nested);
      }
    }
    return decl;
  }

  /** Where capnp points a statement's parse error: at the furthest token reached, or just past the end. */
  private failurePoint(input: Input, statement: Statement): [number, number] {
    const tokens = statement.tokens;
    let at: number;
    if (input.best < tokens.length) at = tokens[input.best].start;
    else if (tokens.length > 0) at = tokens[tokens.length - 1].end;
    else at = statement.start;
    return [at, at];
  }

  // -------------------------------------------------------------------------------------- lists

  /**
   * Parses each item of a `( ... )` or `[ ... ]` token on its own, reporting items that do not parse.
   * This happens whenever the list token is matched, even if the enclosing rule later backtracks.
   */
  private parseListItems<T>(list: Extract<Token, { items: Token[][] }>, rule: Rule<T>): LocatedList<T> {
    const items = list.items.map((item) => {
      const input = new Input(item);
      const result = rule(input);
      if (result !== FAIL && input.pos === input.end) return result;
      if (input.best < item.length) {
        this.errors.addError(item[input.best].start, item[item.length - 1].end, "Parse error.");
      } else if (item.length > 0) {
        this.errors.addError(item[0].start, item[item.length - 1].end, "Parse error.");
      } else {
        // An empty item has no position of its own; capnp blames the whole list.
        this.errors.addError(list.start, list.end, "Parse error: Empty list item.");
      }
      return null;
    });
    return { items, start: list.start, end: list.end };
  }

  private parenthesizedList<T>(rule: Rule<T>): Rule<LocatedList<T>> {
    return (input) => {
      const list = rawParenList(input);
      return list === FAIL ? FAIL : this.parseListItems(list, rule);
    };
  }

  private bracketedList<T>(rule: Rule<T>): Rule<LocatedList<T>> {
    return (input) => {
      const list = rawBracketList(input);
      return list === FAIL ? FAIL : this.parseListItems(list, rule);
    };
  }

  // -------------------------------------------------------------------------------- expressions

  /** `name = value` or `value`, inside parentheses. */
  private readonly tupleElement: Rule<ExpressionParam> = (input) => {
    const name = optional(input, (i) => {
      const n = identifier(i);
      return n !== FAIL && op("=")(i) !== FAIL ? n : FAIL;
    });
    const value = this.expression(input);
    return value === FAIL ? FAIL : { name, value };
  };

  private readonly tuple: Rule<LocatedList<ExpressionParam>> = (input) => this.tupleList(input);
  private readonly tupleList = this.parenthesizedList(this.tupleElement);
  private readonly identifierParenList = this.parenthesizedList(identifier);
  private readonly identifierBracketList = this.bracketedList(identifier);
  private readonly expressionParenList = this.parenthesizedList((i: Input) => this.expression(i));
  private readonly expressionBracketList = this.bracketedList((i: Input) => this.expression(i));
  private readonly paramParenList = this.parenthesizedList((i: Input) => this.param(i));
  private readonly targetList = this.parenthesizedList((i: Input) => this.annotationTarget(i));

  private tupleParams(list: LocatedList<ExpressionParam>): ExpressionParam[] {
    return list.items.map((p) => p ?? { name: null, value: UNKNOWN() });
  }

  /** The expression forms before any `.member` or `(params)` suffix, in capnp's order. */
  private readonly baseExpression: Rule<Expression> = oneOf<Expression>(
    (input) => {
      const t = integerLiteral(input);
      return t === FAIL ? FAIL : { which: "positiveInt", value: t.value, start: t.start, end: t.end };
    },
    (input) => {
      // The range of a negative number is that of its digits, without the minus sign.
      if (op("-")(input) === FAIL) return FAIL;
      const t = integerLiteral(input);
      return t === FAIL ? FAIL : { which: "negativeInt", value: t.value, start: t.start, end: t.end };
    },
    (input) => {
      const t = floatLiteral(input);
      return t === FAIL ? FAIL : { which: "float", value: t.value, start: t.start, end: t.end };
    },
    (input) => {
      if (op("-")(input) === FAIL) return FAIL;
      const t = floatLiteral(input);
      return t === FAIL ? FAIL : { which: "float", value: -t.value, start: t.start, end: t.end };
    },
    (input) => {
      const from = input.pos;
      if (op("-")(input) === FAIL || keyword("inf")(input) === FAIL) return FAIL;
      return { which: "float", value: -Infinity, ...spanSince(input, from) };
    },
    (input) => {
      // Adjacent string literals are concatenated.
      const first = stringLiteral(input);
      if (first === FAIL) return FAIL;
      const rest = many(input, stringLiteral);
      const last = rest.length > 0 ? rest[rest.length - 1] : first;
      const value = first.text + rest.map((t) => t.text).join("");
      const bytes = rest.length === 0 ? first.bytes : Buffer.concat([first.bytes, ...rest.map((t) => t.bytes)]);
      return { which: "string", value, bytes, start: first.start, end: last.end };
    },
    (input) => {
      const t = binaryLiteral(input);
      return t === FAIL ? FAIL : { which: "binary", value: t.bytes, start: t.start, end: t.end };
    },
    (input) => {
      const list = this.expressionBracketList(input);
      if (list === FAIL) return FAIL;
      return { which: "list", elements: list.items.map((e) => e ?? UNKNOWN()), start: list.start, end: list.end };
    },
    (input) => {
      const list = this.tuple(input);
      if (list === FAIL) return FAIL;
      const params = this.tupleParams(list);
      // A parenthesized single unnamed value is just that value.
      if (params.length === 1 && params[0].name === null) return params[0].value;
      return { which: "tuple", params, start: list.start, end: list.end };
    },
    (input) => {
      const from = input.pos;
      if (keyword("import")(input) === FAIL) return FAIL;
      const t = stringLiteral(input);
      if (t === FAIL) return FAIL;
      return { which: "import", path: { value: t.text, start: t.start, end: t.end }, ...spanSince(input, from) };
    },
    (input) => {
      const from = input.pos;
      if (keyword("embed")(input) === FAIL) return FAIL;
      const t = stringLiteral(input);
      if (t === FAIL) return FAIL;
      return { which: "embed", path: { value: t.text, start: t.start, end: t.end }, ...spanSince(input, from) };
    },
    (input) => {
      const from = input.pos;
      if (op(".")(input) === FAIL) return FAIL;
      const name = identifier(input);
      return name === FAIL ? FAIL : { which: "absoluteName", name, ...spanSince(input, from) };
    },
    (input) => {
      const name = identifier(input);
      return name === FAIL ? FAIL : { which: "relativeName", name, start: name.start, end: name.end };
    },
  );

  /** A suffix, applied to the expression before it: `.name` or `(params)`. */
  private readonly suffix: Rule<(base: Expression) => Expression> = oneOf<(base: Expression) => Expression>(
    (input) => {
      if (op(".")(input) === FAIL) return FAIL;
      const name = identifier(input);
      if (name === FAIL) return FAIL;
      return (parent) => ({ which: "member", parent, name, start: parent.start, end: name.end });
    },
    (input) => {
      const list = this.tuple(input);
      if (list === FAIL) return FAIL;
      const params = this.tupleParams(list);
      return (fn) => ({ which: "application", function: fn, params, start: fn.start, end: list.end });
    },
  );

  private readonly expression: Rule<Expression> = (input) => {
    let result = this.baseExpression(input);
    if (result === FAIL) return FAIL;
    for (const apply of many(input, this.suffix)) result = apply(result);
    return result;
  };

  /**
   * `$name` or `$name(value)`. The value parses as a function application on the name, so it is taken
   * apart again here; a value other than one unnamed expression becomes a tuple, to which capnp gives no
   * source range (0..0).
   */
  private readonly annotation: Rule<AnnotationApplication> = (input) => {
    if (op("$")(input) === FAIL) return FAIL;
    const exp = this.expression(input);
    if (exp === FAIL) return FAIL;
    if (exp.which !== "application") return { name: exp, value: null };
    const params = exp.params;
    if (params.length === 1 && params[0].name === null) return { name: exp.function, value: params[0].value };
    return { name: exp.function, value: { which: "tuple", params, start: 0, end: 0 } };
  };

  private annotations(input: Input): AnnotationApplication[] {
    return many(input, this.annotation);
  }

  /** `@0x...` on a declaration; capnp insists on the top bit, which generated ids have. */
  private readonly uid: Rule<LocatedInteger> = (input) => {
    if (op("@")(input) === FAIL) return FAIL;
    const t = integerLiteral(input);
    if (t === FAIL) return FAIL;
    if (t.value < 1n << 63n) {
      this.errors.addError(t.start, t.end, "Invalid ID.  Please generate a new one with 'capnpc -i'.");
    }
    return { value: t.value, start: t.start, end: t.end };
  };

  private readonly ordinal: Rule<LocatedInteger> = (input) => {
    if (op("@")(input) === FAIL) return FAIL;
    const t = integerLiteral(input);
    if (t === FAIL) return FAIL;
    if (t.value >= 65536n) this.errors.addError(t.start, t.end, "Ordinals cannot be greater than 65535.");
    return { value: t.value, start: t.start, end: t.end };
  };

  private optionalUid(input: Input): DeclarationId {
    const uid = optional(input, this.uid);
    return uid === null ? { which: "unspecified" } : { which: "uid", uid };
  }

  /** Generic parameter names; an item that failed to parse leaves an empty name at 0..0. */
  private static brandParameters(list: LocatedList<LocatedText> | null): BrandParameter[] {
    if (list === null) return [];
    return list.items.map((n) => (n === null ? { name: "", start: 0, end: 0 } : { name: n.value, start: n.start, end: n.end }));
  }

  // ------------------------------------------------------------------------------- declarations

  private readonly usingDecl: Rule<DeclResult> = (input) => {
    if (keyword("using")(input) === FAIL) return FAIL;
    const name = optional(input, (i) => {
      const n = identifier(i);
      return n !== FAIL && op("=")(i) !== FAIL ? n : FAIL;
    });
    const target = this.expression(input);
    if (target === FAIL) return FAIL;
    const common = emptyCommon();
    if (name !== null) {
      common.name = name;
    } else if (target.which === "member") {
      common.name = { ...target.name };
    } else {
      this.errors.addError(
        target.start,
        target.end,
        "'using' declaration without '=' must specify a named declaration from a different scope.",
      );
    }
    return { decl: { ...common, which: "using", target }, memberRule: null };
  };

  private readonly constDecl: Rule<DeclResult> = (input) => {
    if (keyword("const")(input) === FAIL) return FAIL;
    const name = identifier(input);
    if (name === FAIL) return FAIL;
    const id = this.optionalUid(input);
    if (op(":")(input) === FAIL) return FAIL;
    const type = this.expression(input);
    if (type === FAIL || op("=")(input) === FAIL) return FAIL;
    const value = this.expression(input);
    if (value === FAIL) return FAIL;
    const annotations = this.annotations(input);
    return { decl: { ...emptyCommon(), name, id, annotations, which: "const", type, value }, memberRule: null };
  };

  private readonly enumDecl: Rule<DeclResult> = (input) => {
    if (keyword("enum")(input) === FAIL) return FAIL;
    const name = identifier(input);
    if (name === FAIL) return FAIL;
    const id = this.optionalUid(input);
    const annotations = this.annotations(input);
    return { decl: { ...emptyCommon(), name, id, annotations, which: "enum" }, memberRule: this.enumLevelDecl };
  };

  private readonly enumerantDecl: Rule<DeclResult> = (input) => {
    const name = identifier(input);
    if (name === FAIL) return FAIL;
    const ordinal = this.ordinal(input);
    if (ordinal === FAIL) return FAIL;
    const annotations = this.annotations(input);
    const id: DeclarationId = { which: "ordinal", ordinal };
    return { decl: { ...emptyCommon(), name, id, annotations, which: "enumerant" }, memberRule: null };
  };

  private readonly structDecl: Rule<DeclResult> = (input) => {
    if (keyword("struct")(input) === FAIL) return FAIL;
    const name = identifier(input);
    if (name === FAIL) return FAIL;
    const id = this.optionalUid(input);
    const parameters = CapnpParser.brandParameters(optional(input, this.identifierParenList));
    const annotations = this.annotations(input);
    return {
      decl: { ...emptyCommon(), name, id, parameters, annotations, which: "struct" },
      memberRule: this.structLevelDecl,
    };
  };

  private readonly fieldDecl: Rule<DeclResult> = (input) => {
    const name = identifier(input);
    if (name === FAIL) return FAIL;
    const ordinal = this.ordinal(input);
    if (ordinal === FAIL || op(":")(input) === FAIL) return FAIL;
    const type = this.expression(input);
    if (type === FAIL) return FAIL;
    const defaultValue = optional(input, this.defaultValue);
    const annotations = this.annotations(input);
    const id: DeclarationId = { which: "ordinal", ordinal };
    return {
      decl: { ...emptyCommon(), name, id, annotations, which: "field", type, defaultValue },
      memberRule: null,
    };
  };

  private readonly defaultValue: Rule<Expression> = (input) =>
    op("=")(input) === FAIL ? FAIL : this.expression(input);

  /**
   * After a union's name: `@N` with optional `!` and `:`, or just `:`. Says which of `!` and `:` are
   * missing after an ordinal (both count as present without one).
   */
  private readonly ordinalOrColon: Rule<{ ordinal: LocatedInteger | null; noBang: boolean; noColon: boolean }> =
    oneOf<{ ordinal: LocatedInteger | null; noBang: boolean; noColon: boolean }>(
      (input) => {
        const ordinal = this.ordinal(input);
        if (ordinal === FAIL) return FAIL;
        const bang = optional(input, op("!"));
        const colon = optional(input, op(":"));
        return { ordinal, noBang: bang === null, noColon: colon === null };
      },
      (input) => (op(":")(input) === FAIL ? FAIL : { ordinal: null, noBang: false, noColon: false }),
    );

  /** A union's header: named (`name @N! :union $ann`, `name :union`) or unnamed (just `union`). */
  private readonly unionHeader = oneOf<{
    name: LocatedText;
    ordinal: LocatedInteger | null;
    noBang: boolean;
    noColon: boolean;
    annotations: AnnotationApplication[];
  }>(
    (i) => {
      const name = identifier(i);
      if (name === FAIL) return FAIL;
      const rest = this.ordinalOrColon(i);
      if (rest === FAIL || keyword("union")(i) === FAIL) return FAIL;
      return { name, ...rest, annotations: this.annotations(i) };
    },
    (i) => {
      // An unnamed union: just the keyword, whose range stands in for the (empty) name.
      const kw = keyword("union")(i);
      if (kw === FAIL || i.pos !== i.end) return FAIL;
      return { name: { ...kw, value: "" }, ordinal: null, noBang: false, noColon: false, annotations: [] };
    },
  );

  private readonly unionDecl: Rule<DeclResult> = (input) => {
    const parts = this.unionHeader(input);
    if (parts === FAIL) return FAIL;
    if (parts.noBang) this.errors.addError(parts.ordinal!.start, parts.ordinal!.end, UNION_NUMBER_MESSAGE);
    if (parts.noColon) this.errors.addError(parts.ordinal!.start, parts.ordinal!.end, UNION_COLON_MESSAGE);
    const id: DeclarationId = parts.ordinal === null ? { which: "unspecified" } : { which: "ordinal", ordinal: parts.ordinal };
    return {
      decl: { ...emptyCommon(), name: parts.name, id, annotations: parts.annotations, which: "union" },
      memberRule: this.structLevelDecl,
    };
  };

  private readonly groupDecl: Rule<DeclResult> = (input) => {
    const name = identifier(input);
    if (name === FAIL || op(":")(input) === FAIL || keyword("group")(input) === FAIL) return FAIL;
    const annotations = this.annotations(input);
    return { decl: { ...emptyCommon(), name, annotations, which: "group" }, memberRule: this.structLevelDecl };
  };

  private readonly interfaceDecl: Rule<DeclResult> = (input) => {
    if (keyword("interface")(input) === FAIL) return FAIL;
    const name = identifier(input);
    if (name === FAIL) return FAIL;
    const id = this.optionalUid(input);
    const parameters = CapnpParser.brandParameters(optional(input, this.identifierParenList));
    const superclasses = optional(input, (i) =>
      keyword("extends")(i) === FAIL ? FAIL : this.expressionParenList(i),
    );
    const annotations = this.annotations(input);
    return {
      decl: {
        ...emptyCommon(),
        name,
        id,
        parameters,
        annotations,
        which: "interface",
        superclasses: superclasses === null ? [] : superclasses.items.map((e) => e ?? UNKNOWN()),
      },
      memberRule: this.interfaceLevelDecl,
    };
  };

  /** `name :Type = default $annotations`, one item of a method's parameter list. */
  private readonly param: Rule<Param> = (input) => {
    const from = input.pos;
    const name = identifier(input);
    if (name === FAIL || op(":")(input) === FAIL) return FAIL;
    const type = this.expression(input);
    if (type === FAIL) return FAIL;
    const defaultValue = optional(input, this.defaultValue);
    const annotations = this.annotations(input);
    return { name, type, annotations, defaultValue, ...spanSince(input, from) };
  };

  private readonly paramList: Rule<ParamList> = oneOf<ParamList>(
    (input) => {
      const list = this.paramParenList(input);
      if (list === FAIL) return FAIL;
      const params = list.items.map(
        (p): Param => p ?? { name: null, type: UNKNOWN(), annotations: [], defaultValue: null, start: 0, end: 0 },
      );
      return { kind: { which: "namedList", params }, start: list.start, end: list.end };
    },
    (input) => {
      const kw = keyword("stream")(input);
      return kw === FAIL ? FAIL : { kind: { which: "stream" }, start: kw.start, end: kw.end };
    },
    (input) => {
      const type = this.expression(input);
      return type === FAIL ? FAIL : { kind: { which: "type", type }, start: type.start, end: type.end };
    },
  );

  private readonly methodDecl: Rule<DeclResult> = (input) => {
    const name = identifier(input);
    if (name === FAIL) return FAIL;
    const ordinal = this.ordinal(input);
    if (ordinal === FAIL) return FAIL;
    const parameters = CapnpParser.brandParameters(optional(input, this.identifierBracketList));
    const params = this.paramList(input);
    if (params === FAIL) return FAIL;
    const results = optional(input, (i) => (op("->")(i) === FAIL ? FAIL : this.paramList(i)));
    const annotations = this.annotations(input);
    const id: DeclarationId = { which: "ordinal", ordinal };
    return {
      decl: { ...emptyCommon(), name, id, parameters, annotations, which: "method", params, results },
      memberRule: null,
    };
  };

  /** A target in an annotation declaration's list: a name, or `*` for all. */
  private readonly annotationTarget: Rule<LocatedText> = oneOf<LocatedText>(identifier, (input) => {
    const star = op("*")(input);
    return star === FAIL ? FAIL : { value: "*", start: star.start, end: star.end };
  });

  private readonly annotationDecl: Rule<DeclResult> = (input) => {
    if (keyword("annotation")(input) === FAIL) return FAIL;
    const name = identifier(input);
    if (name === FAIL) return FAIL;
    const id = this.optionalUid(input);
    const targets = this.targetList(input);
    if (targets === FAIL || op(":")(input) === FAIL) return FAIL;
    const type = this.expression(input);
    if (type === FAIL) return FAIL;
    const annotations = this.annotations(input);
    const flags = this.targetFlags(targets);
    return { decl: { ...emptyCommon(), name, id, annotations, which: "annotation", type, ...flags }, memberRule: null };
  };

  private targetFlags(targets: LocatedList<LocatedText>): AnnotationTargetFlags {
    const flags = Object.fromEntries(Object.values(TARGET_FLAGS).map((f) => [f, false])) as unknown as AnnotationTargetFlags;
    for (const target of targets.items) {
      if (target === null) continue;
      if (target.value === "*") {
        if (targets.items.length > 1) {
          this.errors.addError(target.start, target.end, "Wildcard should not be specified together with other targets.");
        }
        for (const f of Object.values(TARGET_FLAGS)) flags[f] = true;
        continue;
      }
      const flag = Object.hasOwn(TARGET_FLAGS, target.value) ? TARGET_FLAGS[target.value] : undefined;
      if (flag === undefined) {
        this.errors.addError(target.start, target.end, "Not a valid annotation target.");
        continue;
      }
      if (flags[flag]) this.errors.addError(target.start, target.end, "Duplicate target specification.");
      flags[flag] = true;
    }
    return flags;
  }

  private readonly nakedId: Rule<DeclResult> = (input) => {
    const uid = this.uid(input);
    if (uid === FAIL) return FAIL;
    // ast.ts gives `nakedId` an `id` that overlaps the common `id: DeclarationId`; this value is both.
    // Naked ids never leave `parseStatements`, which moves them into the file's own id.
    const id = { ...uid, which: "uid" as const, uid };
    return { decl: { ...emptyCommon(), which: "nakedId", id }, memberRule: null };
  };

  private readonly nakedAnnotation: Rule<DeclResult> = (input) => {
    const annotation = this.annotation(input);
    return annotation === FAIL ? FAIL : { decl: { ...emptyCommon(), which: "nakedAnnotation", annotation }, memberRule: null };
  };
}
