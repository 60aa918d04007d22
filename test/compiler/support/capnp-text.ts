/**
 * A reader for capnp's text format (what `capnp convert binary:text` prints), enough to inspect a
 * CodeGeneratorRequest in tests: structs become objects, lists arrays, strings strings, and every other
 * scalar (numbers, enumerants, `void`, `<opaque pointer>`) its raw text.
 */
export type TextValue = string | TextValue[] | { [field: string]: TextValue };

export function parseCapnpText(text: string): TextValue {
  let pos = 0;
  const skip = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const expect = (ch: string) => {
    skip();
    if (text[pos] !== ch) throw new Error(`expected '${ch}' at ${pos}: ${text.slice(pos, pos + 40)}`);
    pos++;
  };
  const value = (): TextValue => {
    skip();
    const c = text[pos];
    if (c === "(") {
      pos++;
      const obj: { [field: string]: TextValue } = {};
      skip();
      while (text[pos] !== ")") {
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(pos, pos + 200));
        if (m === null) throw new Error(`field name expected at ${pos}`);
        pos += m[0].length;
        expect("=");
        obj[m[0]] = value();
        skip();
        if (text[pos] === ",") pos++;
        skip();
      }
      pos++;
      return obj;
    }
    if (c === "[") {
      pos++;
      const list: TextValue[] = [];
      skip();
      while (text[pos] !== "]") {
        list.push(value());
        skip();
        if (text[pos] === ",") pos++;
        skip();
      }
      pos++;
      return list;
    }
    if (c === '"') return stringLiteral();
    if (c === "<") {
      const end = text.indexOf(">", pos);
      const raw = text.slice(pos, end + 1);
      pos = end + 1;
      return raw;
    }
    const start = pos;
    while (pos < text.length && !/[\s,)\]]/.test(text[pos])) pos++;
    return text.slice(start, pos);
  };
  const stringLiteral = (): string => {
    pos++;
    const bytes: number[] = [];
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, "'": 39, '"': 34, "\\": 92, "?": 63 };
    while (text[pos] !== '"') {
      if (text[pos] === "\\") {
        const e = text[pos + 1];
        if (e === "x") {
          bytes.push(parseInt(text.slice(pos + 2, pos + 4), 16));
          pos += 4;
        } else if (/[0-7]/.test(e)) {
          const m = /^[0-7]{1,3}/.exec(text.slice(pos + 1))!;
          bytes.push(parseInt(m[0], 8) & 0xff);
          pos += 1 + m[0].length;
        } else {
          bytes.push(simple[e]);
          pos += 2;
        }
      } else {
        const cp = text.codePointAt(pos)!;
        bytes.push(...new TextEncoder().encode(String.fromCodePoint(cp)));
        pos += cp > 0xffff ? 2 : 1;
      }
    }
    pos++;
    return new TextDecoder().decode(Uint8Array.from(bytes));
  };
  return value();
}
