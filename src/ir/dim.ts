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
