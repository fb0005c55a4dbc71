/**
 * Folding of index arithmetic. Integer sums are kept as linear forms (coefficient per atom plus
 * a constant), which folds `x*1`, `x+0` and cancels `(o*4+i) - o*4`; division and modulo by a
 * constant split off the part the divisor divides when the rest provably lies in [0, k); and
 * comparisons, min and max fold when the variable ranges (loop extents) decide them.
 */
import { type Expr, FALSE, TRUE, add, div, lit, mapExpr, mod, mul, sub } from "./expr.js";

/** Inclusive integer range. */
export interface Range { readonly lo: number; readonly hi: number }
export type Ranges = ReadonlyMap<string, Range>;
const NO_RANGES: Ranges = new Map();

/** sum of coeff*atom + c, over integer expressions. */
export interface Linear { readonly terms: ReadonlyMap<Expr, number>; readonly c: number }

export function linearize(e: Expr): Linear {
  if (e.kind === "const") return { terms: new Map(), c: e.value };
  if (e.kind === "binary" && e.type === "int") {
    if (e.op === "+" || e.op === "-") return combine(linearize(e.a), linearize(e.b), e.op === "+" ? 1 : -1);
    if (e.op === "*" && e.b.kind === "const") return scale(linearize(e.a), e.b.value);
    if (e.op === "*" && e.a.kind === "const") return scale(linearize(e.b), e.a.value);
  }
  return { terms: new Map([[e, 1]]), c: 0 };
}

function combine(a: Linear, b: Linear, sign: number): Linear {
  const terms = new Map(a.terms);
  for (const [x, k] of b.terms) {
    const v = (terms.get(x) ?? 0) + sign * k;
    if (v === 0) terms.delete(x);
    else terms.set(x, v);
  }
  return { terms, c: a.c + sign * b.c };
}

const scale = (a: Linear, k: number): Linear =>
  k === 0 ? { terms: new Map(), c: 0 } : { terms: new Map([...a.terms].map(([x, v]) => [x, v * k])), c: a.c * k };

/** Canonical expression of a linear form: larger coefficients first, then by text; constant last. */
/** Structural text of an expression, for a canonical term order (cached: expressions are interned). */
const keys = new WeakMap<Expr, string>();
function key(e: Expr): string {
  let k = keys.get(e);
  if (k === undefined) keys.set(e, (k = JSON.stringify(e, (f, v) => (f === "id" ? undefined : v))));
  return k;
}

export function fromLinear(l: Linear): Expr {
  const terms = [...l.terms].sort(([x, a], [y, b]) => b - a || (key(x) < key(y) ? -1 : 1));
  let out: Expr | undefined;
  for (const [x, k] of terms) {
    const mag = Math.abs(k);
    const t = mag === 1 ? x : mul(x, mag);
    out = out === undefined ? (k < 0 ? mul(x, k) : t) : k < 0 ? sub(out, t) : add(out, t);
  }
  if (out === undefined) return lit(l.c, "int");
  return l.c > 0 ? add(out, l.c) : l.c < 0 ? sub(out, -l.c) : out;
}

/**
 * (x / k)*k*c + (x % k)*c = x*c (floor division and modulo), e.g. a channels-last index
 * (r / C)*C + r % C over a reduction axis r that spans two tensor axes.
 */
function recombine(l: Linear): Linear {
  let out = l;
  for (;;) {
    const hit = [...out.terms].find(([t, k]) => t.kind === "binary" && t.op === "/" && t.b.kind === "const" && t.b.value > 0
      && k % t.b.value === 0 && out.terms.get(mod(t.a, t.b.value)) === k / t.b.value);
    if (!hit) return out;
    const [t, k] = hit as [Expr & { kind: "binary" }, number];
    const q = (t.b as Expr & { kind: "const" }).value;
    const rest = new Map(out.terms);
    rest.delete(t);
    rest.delete(mod(t.a, q));
    out = combine({ terms: rest, c: out.c }, scale(linearize(t.a), k / q), 1);
  }
}

/** Range of an integer expression, or undefined when a variable is unbounded. */
export function rangeOf(e: Expr, ranges: Ranges): Range | undefined {
  switch (e.kind) {
    case "const": return { lo: e.value, hi: e.value };
    case "var": return ranges.get(e.name);
    case "select": {
      const t = rangeOf(e.t, ranges), f = rangeOf(e.f, ranges);
      return t && f && { lo: Math.min(t.lo, f.lo), hi: Math.max(t.hi, f.hi) };
    }
    case "binary": {
      if (e.type !== "int") return undefined;
      const a = rangeOf(e.a, ranges), b = rangeOf(e.b, ranges);
      if (!a || !b) return undefined;
      switch (e.op) {
        case "+": return { lo: a.lo + b.lo, hi: a.hi + b.hi };
        case "-": return { lo: a.lo - b.hi, hi: a.hi - b.lo };
        case "*": {
          const p = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi];
          return { lo: Math.min(...p), hi: Math.max(...p) };
        }
        case "/": return b.lo > 0 ? corners(a, b, (x, y) => Math.floor(x / y)) : undefined;
        case "%": return b.lo === b.hi && b.lo > 0 ? (a.lo >= 0 && a.hi < b.lo ? a : { lo: 0, hi: b.lo - 1 }) : undefined;
        case "min": return { lo: Math.min(a.lo, b.lo), hi: Math.min(a.hi, b.hi) };
        case "max": return { lo: Math.max(a.lo, b.lo), hi: Math.max(a.hi, b.hi) };
      }
      break;
    }
    default: return undefined;
  }
}

function corners(a: Range, b: Range, f: (x: number, y: number) => number): Range {
  const p = [f(a.lo, b.lo), f(a.lo, b.hi), f(a.hi, b.lo), f(a.hi, b.hi)];
  return { lo: Math.min(...p), hi: Math.max(...p) };
}

/** Fold `e` bottom-up, using the ranges of the variables in scope. */
export function simplify(e: Expr, ranges: Ranges = NO_RANGES): Expr {
  return mapExpr(e, (x) => fold(x, ranges));
}

function fold(e: Expr, ranges: Ranges): Expr {
  switch (e.kind) {
    case "binary": {
      const { a, b, op } = e;
      if (a.kind === "const" && b.kind === "const") return lit(evalBinary(op, a.value, b.value, e.type === "int"), e.type);
      if (e.type !== "int") return (op === "*" && isConst(b, 1)) ? a : (op === "*" && isConst(a, 1)) ? b : e;
      if (op === "+" || op === "-" || op === "*") return fromLinear(recombine(linearize(e)));
      if ((op === "/" || op === "%") && b.kind === "const" && b.value > 0) return foldDivMod(op, a, b.value, ranges) ?? e;
      if (op === "min" || op === "max") {
        const d = rangeOf(fromLinear(combine(linearize(a), linearize(b), -1)), ranges);
        if (d && d.hi <= 0) return op === "min" ? a : b;
        if (d && d.lo >= 0) return op === "min" ? b : a;
      }
      return e;
    }
    case "compare": {
      const { a, b, op } = e;
      if (a.kind === "const" && b.kind === "const") return lit(evalCompare(op, a.value, b.value) ? 1 : 0, "bool");
      if (a.type !== "int") return e;
      const d = rangeOf(fromLinear(combine(linearize(a), linearize(b), -1)), ranges);
      if (!d) return e;
      const decided = op === "<" ? (d.hi < 0 ? true : d.lo >= 0 ? false : undefined)
        : op === "<=" ? (d.hi <= 0 ? true : d.lo > 0 ? false : undefined)
        : d.lo === 0 && d.hi === 0 ? op === "==" : d.lo > 0 || d.hi < 0 ? op === "!=" : undefined;
      return decided === undefined ? e : decided ? TRUE : FALSE;
    }
    case "logic": {
      const [x, y] = [e.a, e.b];
      if (e.op === "&&") return x === FALSE || y === FALSE ? FALSE : x === TRUE ? y : y === TRUE ? x : e;
      return x === TRUE || y === TRUE ? TRUE : x === FALSE ? y : y === FALSE ? x : e;
    }
    case "select":
      return e.cond === TRUE ? e.t : e.cond === FALSE ? e.f : e.t === e.f ? e.t : e;
    case "cast":
      return e.value.kind === "const" && e.type !== "bool" ? lit(castValue(e.value.value, e.type), e.type) : e;
    default:
      return e;
  }
}

const isConst = (e: Expr, v: number) => e.kind === "const" && e.value === v;

/** (q*k + r) / k = q and (q*k + r) % k = r when 0 <= r < k. */
function foldDivMod(op: "/" | "%", a: Expr, k: number, ranges: Ranges): Expr | undefined {
  if (k === 1) return op === "/" ? a : lit(0, "int");
  const l = linearize(a);
  const q = new Map<Expr, number>(), r = new Map<Expr, number>();
  for (const [x, c] of l.terms) (c % k === 0 ? q : r).set(x, c);
  const rc = ((l.c % k) + k) % k;
  const rest = fromLinear({ terms: r, c: rc });
  const rr = rangeOf(rest, ranges);
  if (!rr || rr.lo < 0 || rr.hi >= k) return foldCommonFactor(op, l, k);
  // Exact division of each coefficient (scaling by 1/k rounds: 49 * (1/49) is 0.9999999999999999).
  return op === "%" ? rest : fromLinear({ terms: new Map([...q].map(([x, c]) => [x, c / k])), c: (l.c - rc) / k });
}

/**
 * (m*a + c) / k = a / (k/m) and (m*a + c) % k = m*(a % (k/m)) + c when m divides every
 * coefficient of a's terms, m divides k, and 0 <= c < m: a grouped convolution's group of a
 * register tile's channel blocks, floor((4*(obo*T + obi)) / OCG), becomes obo / (OCG / 4T), the
 * same for every block of the tile.
 */
function foldCommonFactor(op: "/" | "%", l: Linear, k: number): Expr | undefined {
  const m = [...l.terms.values()].reduce((g, c) => gcd(g, Math.abs(c)), 0);
  if (m <= 1 || k % m !== 0 || l.c < 0 || l.c >= m) return undefined;
  const a = fromLinear({ terms: new Map([...l.terms].map(([x, c]) => [x, c / m])), c: 0 }), q = k / m;
  if (op === "/") return q === 1 ? a : div(a, q);
  return q === 1 ? lit(l.c, "int") : add(mul(mod(a, q), m), l.c);
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

export function evalBinary(op: string, a: number, b: number, int: boolean): number {
  switch (op) {
    case "+": return a + b;
    case "-": return a - b;
    case "*": return a * b;
    case "/": return int ? Math.floor(a / b) : a / b;
    case "%": return int ? a - b * Math.floor(a / b) : a % b;
    case "min": return Math.min(a, b);
    case "max": return Math.max(a, b);
  }
  throw new Error(`unknown operator ${op}`);
}

export function evalCompare(op: string, a: number, b: number): boolean {
  return op === "<" ? a < b : op === "<=" ? a <= b : op === "==" ? a === b : a !== b;
}

export function castValue(v: number, type: string): number {
  return type === "int" ? Math.trunc(v) : type === "f32" ? Math.fround(v) : type === "bool" ? (v ? 1 : 0) : v;
}
