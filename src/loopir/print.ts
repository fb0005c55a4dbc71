/**
 * Readable text of loop IR, for golden tests and `kiln inspect --code`. Operators print infix
 * with parentheses only where precedence needs them (and around a right operand of equal
 * precedence, so float evaluation order stays visible); non-serial loops are prefixed by kind.
 */
import type { Expr } from "./expr.js";
import type { BufferDecl, Func, Stmt } from "./stmt.js";

const PREC: Record<string, number> = { "||": 1, "&&": 2, "<": 3, "<=": 3, "==": 3, "!=": 3, "+": 4, "-": 4, "*": 5, "/": 5, "%": 5 };

export function printExpr(e: Expr): string {
  return print(e, 0);
}

function print(e: Expr, parent: number, right = false): string {
  const infix = (op: string, a: Expr, b: Expr) => {
    const p = PREC[op]!;
    const s = `${print(a, p)} ${op} ${print(b, p, true)}`;
    return p < parent || (p === parent && right) ? `(${s})` : s;
  };
  switch (e.kind) {
    case "const":
      if (e.type === "int") return e.value < 0 && parent > 0 ? `(${e.value})` : String(e.value);
      if (e.type === "bool") return e.value ? "true" : "false";
      return Number.isFinite(e.value) ? (Number.isInteger(e.value) ? e.value.toFixed(1) : String(e.value)) : String(e.value).replace("Infinity", "inf");
    case "var": return e.name;
    case "binary": return e.op === "min" || e.op === "max" ? `${e.op}(${printExpr(e.a)}, ${printExpr(e.b)})` : infix(e.op, e.a, e.b);
    case "compare": case "logic": return infix(e.op, e.a, e.b);
    case "select": return `select(${printExpr(e.cond)}, ${printExpr(e.t)}, ${printExpr(e.f)})`;
    case "load": return `${e.buffer}[${e.index.map(printExpr).join(", ")}]`;
    case "call": return `${e.fn}(${printExpr(e.arg)})`;
    case "cast": return `${e.type}(${printExpr(e.value)})`;
  }
}

const printDecl = (b: BufferDecl) => `${b.name}: ${b.type}[${b.shape.join(", ")}]`;

export function printStmt(s: Stmt, indent = ""): string {
  switch (s.kind) {
    case "for": return `${indent}${s.loop === "serial" ? "" : `${s.loop} `}for ${s.v} in 0..${s.extent}:\n${printStmt(s.body, indent + "  ")}`;
    case "seq": return s.body.map((b) => printStmt(b, indent)).join("");
    case "store": return `${indent}${s.buffer}[${s.index.map(printExpr).join(", ")}] = ${printExpr(s.value)}\n`;
    case "alloc": return `${indent}alloc ${printDecl(s.buffer)}\n${printStmt(s.body, indent)}`;
    case "if": return `${indent}if ${printExpr(s.cond)}:\n${printStmt(s.then, indent + "  ")}`;
  }
}

export function printFunc(f: Func): string {
  return `func ${f.name}(${f.inputs.map(printDecl).join(", ")}) -> (${f.outputs.map(printDecl).join(", ")}):\n${printStmt(f.body, "  ")}`;
}
