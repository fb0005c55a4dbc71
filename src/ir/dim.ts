/**
 * Arithmetic on dimensions. A dimension is a number or a symbolic expression. Expressions are
 * kept in a canonical form: a polynomial with integer coefficients over atoms, where an atom is
 * a symbol (`N`) or a division that does not simplify (`floor((N+1)/2)`, `ceil(N/3)`). Equal
 * expressions therefore print the same, and `(N*2)/2` is `N`, `N+1-1` is `N`, `2*N` is `N*2`.
 */
import type { Dim } from "./types.js";

/** monomial (atoms joined by SEP, sorted; "" for the constant term) -> coefficient */
type Poly = Map<string, number>;
/** Joins the atoms of a monomial key; atoms themselves may contain `*`. */
const SEP = "\u00b7";

const constant = (c: number): Poly => new Map(c === 0 ? [] : [["", c]]);
const atom = (name: string): Poly => new Map([[name, 1]]);

function addPoly(a: Poly, b: Poly, sign = 1): Poly {
  const out = new Map(a);
  for (const [m, c] of b) {
    const v = (out.get(m) ?? 0) + sign * c;
    if (v === 0) out.delete(m);
    else out.set(m, v);
  }
  return out;
}

function mulPoly(a: Poly, b: Poly): Poly {
  let out: Poly = new Map();
  for (const [ma, ca] of a) for (const [mb, cb] of b) {
    const atoms = [...(ma ? ma.split(SEP) : []), ...(mb ? mb.split(SEP) : [])].sort();
    out = addPoly(out, new Map([[atoms.join(SEP), ca * cb]]));
  }
  return out;
}

const asConstant = (p: Poly): number | undefined => (p.size === 0 ? 0 : p.size === 1 && p.has("") ? p.get("")! : undefined);

/** floor(a/b) or ceil(a/b): exact when possible, else an atom. */
function divPoly(a: Poly, b: Poly, ceil: boolean): Poly {
  const ka = asConstant(a), kb = asConstant(b);
  if (ka !== undefined && kb !== undefined && kb !== 0) return constant(ceil ? Math.ceil(ka / kb) : Math.floor(ka / kb));
  if (kb !== undefined && kb !== 0 && [...a.values()].every((c) => c % kb === 0)) {
    return new Map([...a].map(([m, c]) => [m, c / kb]));
  }
  if (printPoly(a) === printPoly(b) && a.size > 0) return constant(1);
  return atom(`${ceil ? "ceil" : "floor"}(${printPoly(a)}/${printPoly(b)})`);
}

/** Canonical text: `N`, `(N*2+1)`, `(N-seq)`, `floor((N+1)/2)`. */
function printPoly(p: Poly): string {
  const k = asConstant(p);
  if (k !== undefined) return String(k);
  const terms = [...p].sort(([a], [b]) => (a === "" ? 1 : b === "" ? -1 : a < b ? -1 : a > b ? 1 : 0));
  if (terms.length === 1 && terms[0]![1] === 1 && !terms[0]![0].includes(SEP)) return terms[0]![0];
  let s = "";
  for (const [m, c] of terms) {
    const mag = Math.abs(c);
    const mono = m.split(SEP).join("*");
    const body = m === "" ? String(mag) : mag === 1 ? mono : `${mono}*${mag}`;
    s += s === "" ? (c < 0 ? `-${body}` : body) : c < 0 ? `-${body}` : `+${body}`;
  }
  return `(${s})`;
}

/** Parse a dimension expression into a polynomial. */
function parse(d: Dim): Poly {
  if (typeof d === "number") return constant(d);
  const s = d.replace(/\s+/g, "");
  let pos = 0;
  const fail = (): never => { throw new Error(`bad dimension expression '${d}'`); };
  const expr = (): Poly => {
    let v = s[pos] === "-" ? (pos++, mulPoly(constant(-1), term())) : term();
    while (s[pos] === "+" || s[pos] === "-") {
      const sign = s[pos++] === "+" ? 1 : -1;
      v = addPoly(v, term(), sign);
    }
    return v;
  };
  const term = (): Poly => {
    let v = factor();
    while (s[pos] === "*" || s[pos] === "/") {
      const op = s[pos++];
      const r = factor();
      v = op === "*" ? mulPoly(v, r) : divPoly(v, r, false);
    }
    return v;
  };
  const factor = (): Poly => {
    for (const fn of ["floor", "ceil"] as const) {
      if (s.startsWith(`${fn}(`, pos)) {
        pos += fn.length + 1;
        const a = factor();
        if (s[pos++] !== "/") fail();
        const b = factor();
        if (s[pos++] !== ")") fail();
        return divPoly(a, b, fn === "ceil");
      }
    }
    if (s[pos] === "(") {
      pos++;
      const v = expr();
      if (s[pos++] !== ")") fail();
      return v;
    }
    const m = /^(\d+|[A-Za-z_][A-Za-z0-9_]*)/.exec(s.slice(pos));
    if (!m) return fail();
    pos += m[0].length;
    return /^\d/.test(m[0]) ? constant(Number(m[0])) : atom(m[0]);
  };
  const v = expr();
  if (pos !== s.length) fail();
  return v;
}

function toDim(p: Poly): Dim {
  const k = asConstant(p);
  return k !== undefined ? k : printPoly(p);
}

/** The canonical spelling of a dimension. */
export function simplifyDim(d: Dim): Dim {
  return typeof d === "number" ? d : toDim(parse(d));
}

export const dimAdd = (a: Dim, b: Dim): Dim => toDim(addPoly(parse(a), parse(b)));
export const dimSub = (a: Dim, b: Dim): Dim => toDim(addPoly(parse(a), parse(b), -1));
export const dimMul = (a: Dim, b: Dim): Dim => toDim(mulPoly(parse(a), parse(b)));
/** Floor division. */
export const dimDiv = (a: Dim, b: Dim): Dim => toDim(divPoly(parse(a), parse(b), false));
export const dimCeilDiv = (a: Dim, b: Dim): Dim => toDim(divPoly(parse(a), parse(b), true));

export function dimProduct(dims: readonly Dim[]): Dim {
  return dims.reduce<Dim>((acc, d) => dimMul(acc, d), 1);
}

/** The value of a dimension once its symbols are bound (undefined if a symbol is unbound). */
export function evalDim(d: Dim, symbols: Readonly<Record<string, number>>): number | undefined {
  if (typeof d === "number") return d;
  const p = parse(d);
  let total = 0;
  for (const [m, c] of p) {
    let v = c;
    for (const a of m ? m.split(SEP) : []) {
      const x = evalAtom(a, symbols);
      if (x === undefined) return undefined;
      v *= x;
    }
    total += v;
  }
  return total;
}

function evalAtom(a: string, symbols: Readonly<Record<string, number>>): number | undefined {
  const m = /^(floor|ceil)\((.*)\)$/.exec(a);
  if (!m) return symbols[a];
  // Split at the top-level "/" of the atom's argument.
  const inner = m[2]!;
  let depth = 0;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "/" && depth === 0) {
      const x = evalDim(inner.slice(0, i), symbols), y = evalDim(inner.slice(i + 1), symbols);
      if (x === undefined || y === undefined) return undefined;
      return m[1] === "ceil" ? Math.ceil(x / y) : Math.floor(x / y);
    }
  }
  throw new Error(`bad dimension atom '${a}'`);
}
