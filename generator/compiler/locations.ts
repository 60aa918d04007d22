/**
 * Where a node, member or annotation of the request was written: checks that run after compilation (the
 * ipc conventions of generator/model/ipc.ts) report their errors with a position, as the compiler does.
 *
 * A request holds no positions, so targets are named the way the request names things: a node id, then a
 * member (field, method, enumerant) by name, then an annotation by its index in that thing's annotation
 * list (the request keeps annotations in the order written).
 */
import type { AnnotationApplication, Declaration, Span } from "./ast.js";
import { type Diagnostic, formatDiagnostic, type LineMap } from "./diagnostics.js";

export interface SourceTarget {
  node: bigint;
  /** A field, method or enumerant of the node, by name. */
  member?: string;
  /** A method's parameter or result, by name (needs `member`). */
  param?: { side: "params" | "results"; name: string };
  /** The index of an annotation in the annotation list of what is named above. */
  annotation?: number;
}

export interface SourceLocations {
  /** The target's span, or the closest enclosing one found; null when the node is unknown. */
  locate(target: SourceTarget): Diagnostic | null;
  /** `file:LINE:COL-COL: error: MESSAGE` at the target, as the compiler formats its own errors. */
  error(target: SourceTarget, message: string): string;
  /** The same, as a warning: `file:LINE:COL-COL: warning: MESSAGE`. */
  warning(target: SourceTarget, message: string): string;
}

export interface LocatedDecl {
  decl: Declaration;
  file: string;
}

/** Members named `name` among `decl`'s nested declarations, looking through anonymous unions. */
function findMember(decl: Declaration, name: string): Declaration | null {
  for (const nested of decl.nestedDecls) {
    if (nested.name.value === name && (nested.which === "field" || nested.which === "method" || nested.which === "enumerant" || nested.which === "union" || nested.which === "group")) {
      return nested;
    }
    if (nested.which === "union" && nested.name.value === "") {
      const inner = findMember(nested, name);
      if (inner !== null) return inner;
    }
  }
  return null;
}

/**
 * From the `$` to the closing parenthesis of the value: the value's span ends before it (and a tuple has no
 * span of its own: its last parameter's is used).
 */
function annotationSpan(a: AnnotationApplication): Span {
  if (a.value === null) return { start: a.name.start - 1, end: a.name.end };
  let end = a.value.end;
  if (a.value.which === "tuple" && a.value.params.length > 0) end = Math.max(end, a.value.params[a.value.params.length - 1].value.end);
  return { start: a.name.start - 1, end: Math.max(end, a.name.end) + 1 };
}

/** The annotations written on a declaration: `$x` after it, then `$x;` statements in its body. */
function annotationSpans(decl: Declaration): Span[] {
  const spans: Span[] = decl.annotations.map(annotationSpan);
  for (const nested of decl.nestedDecls) if (nested.which === "nakedAnnotation") spans.push(nested);
  return spans;
}

export function sourceLocations(declOf: (id: bigint) => LocatedDecl | null, lines: (file: string) => LineMap | null): SourceLocations {
  const locate = (target: SourceTarget): Diagnostic | null => {
    const found = declOf(target.node);
    if (found === null) return null;
    let decl = found.decl;
    let span: Span = decl.name.value === "" ? decl : decl.name;
    let annotations = annotationSpans(decl);
    if (target.member !== undefined) {
      const member = findMember(decl, target.member);
      if (member !== null) {
        decl = member;
        span = member.name;
        annotations = annotationSpans(member);
        if (target.param !== undefined && member.which === "method") {
          const list = target.param.side === "params" ? member.params : member.results;
          const param = list?.kind.which === "namedList" ? list.kind.params.find((p) => p.name?.value === target.param!.name) : undefined;
          if (param !== undefined) {
            span = param.name ?? param;
            annotations = param.annotations.map(annotationSpan);
          } else if (list !== null && list !== undefined) {
            span = list;
          }
        }
      }
    }
    if (target.annotation !== undefined && annotations[target.annotation] !== undefined) span = annotations[target.annotation];
    return { file: found.file, start: span.start, end: span.end, message: "" };
  };
  return {
    locate,
    error(target, message) {
      const where = locate(target);
      if (where === null) return `error: ${message}`;
      return formatDiagnostic({ ...where, message }, lines(where.file));
    },
    warning(target, message) {
      const where = locate(target);
      if (where === null) return `warning: ${message}`;
      return formatDiagnostic({ ...where, message }, lines(where.file), "warning");
    },
  };
}
