/**
 * Prints an expression back as schema text, the way capnp quotes expressions in its error messages
 * (`'Foo(Text).bar' is not a type.`). Pure.
 */
import type { Expression, ExpressionParam } from "./ast.js";

export function expressionString(exp: Expression): string {
  switch (exp.which) {
    case "unknown":
      return "<parse error>";
    case "positiveInt":
      return exp.value.toString();
    case "negativeInt":
      return `-${exp.value}`;
    case "float":
      return formatFloat(exp.value);
    case "string":
      return stringLiteral(exp.value);
    case "binary":
      return `0x"${Buffer.from(exp.value).toString("hex")}"`;
    case "relativeName":
      return exp.name.value;
    case "absoluteName":
      return `.${exp.name.value}`;
    case "import":
      return `import ${stringLiteral(exp.path.value)}`;
    case "embed":
      return `embed ${stringLiteral(exp.path.value)}`;
    case "list":
      return `[ ${exp.elements.map(expressionString).join(", ")} ]`;
    case "tuple":
      return tupleString(exp.params);
    case "application":
      return `${expressionString(exp.function)}(${tupleString(exp.params)})`;
    case "member":
      return `${expressionString(exp.parent)}.${exp.name.value}`;
  }
}

function tupleString(params: ExpressionParam[]): string {
  const parts = params.map((p) =>
    p.name === null ? expressionString(p.value) : `${p.name.value} = ${expressionString(p.value)}`,
  );
  return `( ${parts.join(", ")} )`;
}

function formatFloat(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (value === Infinity) return "inf";
  if (value === -Infinity) return "-inf";
  return String(value);
}

/** Quotes text with the escapes capnp's printer uses. */
export function stringLiteral(text: string): string {
  let out = '"';
  for (const ch of text) {
    switch (ch) {
      case "\n": out += "\\n"; break;
      case "\r": out += "\\r"; break;
      case "\t": out += "\\t"; break;
      case "\\": out += "\\\\"; break;
      case '"': out += '\\"'; break;
      case "'": out += "\\'"; break;
      default: {
        const code = ch.codePointAt(0)!;
        out += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, "0")}` : ch;
      }
    }
  }
  return out + '"';
}
