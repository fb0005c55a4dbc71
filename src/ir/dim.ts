/**
 * Arithmetic on dimensions. Known sizes fold to numbers; anything involving a symbol stays a
 * symbolic expression string with a canonical spelling, so equal expressions compare equal.
 */
import type { Dim } from "./types.js";

const wrap = (d: Dim): string => (typeof d === "number" ? String(d) : d);

function binary(a: Dim, b: Dim, op: string): string {
  return `(${wrap(a)}${op}${wrap(b)})`;
}

export function dimAdd(a: Dim, b: Dim): Dim {
  if (typeof a === "number" && typeof b === "number") return a + b;
  if (a === 0) return b;
  if (b === 0) return a;
  return binary(a, b, "+");
}

export function dimSub(a: Dim, b: Dim): Dim {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (b === 0) return a;
  if (a === b) return 0;
  return binary(a, b, "-");
}

export function dimMul(a: Dim, b: Dim): Dim {
  if (typeof a === "number" && typeof b === "number") return a * b;
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === 0 || b === 0) return 0;
  return binary(a, b, "*");
}

/** Floor division. `(N*k)/k` simplifies back to `N`. */
export function dimDiv(a: Dim, b: Dim): Dim {
  if (typeof a === "number" && typeof b === "number") return Math.floor(a / b);
  if (b === 1) return a;
  if (a === b) return 1;
  if (typeof a === "string" && typeof b === "number") {
    const m = /^\((.+)\*(\d+)\)$/.exec(a);
    if (m && Number(m[2]) === b && isBalanced(m[1]!)) return m[1]!;
  }
  return binary(a, b, "/");
}

/** Ceiling division. */
export function dimCeilDiv(a: Dim, b: Dim): Dim {
  if (typeof a === "number" && typeof b === "number") return Math.ceil(a / b);
  if (b === 1) return a;
  return `ceil(${wrap(a)}/${wrap(b)})`;
}

export function dimProduct(dims: readonly Dim[]): Dim {
  return dims.reduce<Dim>((acc, d) => dimMul(acc, d), 1);
}

function isBalanced(s: string): boolean {
  let depth = 0;
  for (const c of s) {
    if (c === "(") depth++;
    else if (c === ")" && --depth < 0) return false;
  }
  return depth === 0;
}

/** The value of a dimension once its symbols are bound (undefined if a symbol is unbound). */
export function evalDim(d: Dim, symbols: Readonly<Record<string, number>>): number | undefined {
  if (typeof d === "number") return d;
  let pos = 0;
  const s = d.replace(/\s+/g, "");
  const fail = (): never => { throw new Error(`bad dimension expression '${d}'`); };
  // expr := term (('+'|'-') term)*; term := atom (('*'|'/') atom)*; atom := number | symbol | '(' expr ')' | 'ceil(' atom '/' atom ')'
  const expr = (): number | undefined => {
    let v = term();
    while (s[pos] === "+" || s[pos] === "-") {
      const op = s[pos++];
      const r = term();
      v = v === undefined || r === undefined ? undefined : op === "+" ? v + r : v - r;
    }
    return v;
  };
  const term = (): number | undefined => {
    let v = atom();
    while (s[pos] === "*" || s[pos] === "/") {
      const op = s[pos++];
      const r = atom();
      v = v === undefined || r === undefined ? undefined : op === "*" ? v * r : Math.floor(v / r);
    }
    return v;
  };
  const atom = (): number | undefined => {
    if (s.startsWith("ceil(", pos)) {
      pos += 5;
      const a = atom();
      if (s[pos++] !== "/") fail();
      const b = atom();
      if (s[pos++] !== ")") fail();
      return a === undefined || b === undefined ? undefined : Math.ceil(a / b);
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
    return /^\d/.test(m[0]) ? Number(m[0]) : symbols[m[0]];
  };
  const v = expr();
  if (pos !== s.length) fail();
  return v;
}
