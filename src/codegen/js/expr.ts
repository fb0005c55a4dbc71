/**
 * JS text of loop IR expressions. f32 results are rounded with `fround` (Math.fround) after
 * exactly the operations the interpreter rounds (binary operators and math calls), so f32
 * code is bit-identical to it. Bools are JS booleans; ints and floats are numbers. Operators
 * are printed with the parentheses JS precedence needs, plus around a right operand of equal
 * precedence (float evaluation order stays visible).
 */
import { InternalError } from "../../ir/errors.js";
import type { Expr } from "../../loopir/expr.js";
import type { Helper } from "./helpers.js";

/** What an expression may refer to: generated names of variables and buffers in scope. */
export interface Scope {
  variable(name: string): string;
  buffer(name: string): string;
  /** Note that the module needs a helper function. */
  use(helper: Helper): void;
}

/** A JS expression and its operator precedence (MDN's table). */
interface Js { readonly text: string; readonly prec: number }
const COND = 2, OR = 3, AND = 4, EQUALITY = 8, RELATIONAL = 9, ADDITIVE = 11, MULTIPLICATIVE = 12, UNARY = 14, ATOM = 20;

const INFIX: Record<string, { op: string; prec: number }> = {
  "+": { op: "+", prec: ADDITIVE }, "-": { op: "-", prec: ADDITIVE },
  "*": { op: "*", prec: MULTIPLICATIVE }, "/": { op: "/", prec: MULTIPLICATIVE }, "%": { op: "%", prec: MULTIPLICATIVE },
  "<": { op: "<", prec: RELATIONAL }, "<=": { op: "<=", prec: RELATIONAL },
  "==": { op: "===", prec: EQUALITY }, "!=": { op: "!==", prec: EQUALITY },
  "&&": { op: "&&", prec: AND }, "||": { op: "||", prec: OR },
};

const MATH_CALL: Record<string, string> = { exp: "Math.exp", log: "Math.log", sqrt: "Math.sqrt", tanh: "Math.tanh", abs: "Math.abs" };

export function emitExpr(e: Expr, scope: Scope): string {
  return js(e, scope).text;
}

const atom = (text: string): Js => ({ text, prec: ATOM });
const callOf = (fn: string, ...args: Js[]): Js => atom(`${fn}(${args.map((a) => a.text).join(", ")})`);
const paren = (x: Js, min: number): string => (x.prec < min ? `(${x.text})` : x.text);

function infix(op: string, a: Js, b: Js): Js {
  const { op: text, prec } = INFIX[op]!;
  return { text: `${paren(a, prec)} ${text} ${paren(b, prec + 1)}`, prec };
}

function js(e: Expr, scope: Scope): Js {
  const sub = (x: Expr) => js(x, scope);
  const round = (x: Js): Js => (e.type === "f32" ? callOf("fround", x) : x);
  switch (e.kind) {
    case "const": return constant(e.value, e.type);
    case "var": return atom(scope.variable(e.name));
    case "binary": {
      const a = sub(e.a), b = sub(e.b);
      if (e.op === "min" || e.op === "max") return round(callOf(`Math.${e.op}`, a, b));
      if (e.type === "int" && (e.op === "/" || e.op === "%")) {
        const helper = e.op === "/" ? "idiv" : "imod";
        scope.use(helper);
        return callOf(helper, a, b);
      }
      return round(infix(e.op, a, b));
    }
    case "compare": case "logic": return infix(e.op, sub(e.a), sub(e.b));
    case "select": {
      const c = sub(e.cond), t = sub(e.t), f = sub(e.f);
      return { text: `${paren(c, COND + 1)} ? ${paren(t, COND + 1)} : ${paren(f, COND + 1)}`, prec: COND };
    }
    case "load": {
      if (e.index.length !== 1) throw new InternalError("JS codegen: load index is not flat");
      return atom(`${scope.buffer(e.buffer)}[${sub(e.index[0]!).text}]`);
    }
    case "call": {
      const x = sub(e.arg);
      if (e.fn === "neg") return round({ text: x.prec > UNARY ? `-${x.text}` : `-(${x.text})`, prec: UNARY });
      if (e.fn === "erf" || e.fn === "sigmoid") scope.use(e.fn);
      return round(callOf(MATH_CALL[e.fn] ?? e.fn, x));
    }
    case "cast": return castTo(e.type, sub(e.value), e.value.type === "bool");
  }
}

/** Numbers print so that they read back exactly (String round-trips; -0 needs its sign). */
function constant(v: number, type: string): Js {
  if (type === "bool") return atom(v ? "true" : "false");
  if (Object.is(v, -0)) return { text: "-0", prec: UNARY };
  if (Number.isNaN(v)) return atom("NaN");
  const text = Number.isFinite(v) ? String(Math.abs(v)) : "Infinity";
  return v < 0 ? { text: `-${text}`, prec: UNARY } : atom(text);
}

/** The interpreter's castValue: trunc to int, fround to f32, nonzero (and not NaN) to bool. */
function castTo(type: string, x: Js, fromBool: boolean): Js {
  const n: Js = fromBool ? { text: `${paren(x, COND + 1)} ? 1 : 0`, prec: COND } : x;
  switch (type) {
    case "int": return fromBool ? n : callOf("Math.trunc", x);
    case "f32": return fromBool ? n : callOf("fround", x);
    case "f64": return n;
    case "bool": return { text: `!!${paren(x, UNARY)}`, prec: UNARY };
  }
  throw new InternalError(`JS codegen: cast to ${type}`);
}
