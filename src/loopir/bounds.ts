/**
 * Bound inference: the box of a tensor that a set of accesses touches while some loops run.
 * Each index is split into a part that depends only on the loops outside (kept symbolic, e.g.
 * `j.outer*8`) and a part over the loops inside, whose numeric range gives the box extent. The
 * box sizes compute_at tiles and cache_read buffers; tails may reach past the tensor, so the
 * users guard against the tensor's shape.
 */
import { type Expr, lit, varsOf } from "./expr.js";
import { type Ranges, fromLinear, linearize, rangeOf, simplify } from "./simplify.js";

export interface Box { readonly min: readonly Expr[]; readonly extent: readonly number[] }

/**
 * `accesses` are index tuples into a tensor of `shape`; `inner` names the variables that vary;
 * `ranges` holds the range of every variable in scope (inner and outer).
 */
export function regionOf(accesses: readonly (readonly Expr[])[], shape: readonly number[], inner: ReadonlySet<string>, ranges: Ranges): Box {
  const min: Expr[] = [], extent: number[] = [];
  shape.forEach((size, d) => {
    const parts = accesses.map((a) => split(simplify(a[d]!, ranges), inner, ranges));
    const sameBase = parts.every((p) => p && p.base === parts[0]!.base);
    const spans = sameBase ? parts : accesses.map((a) => split(simplify(a[d]!, ranges), new Set(varsOf(a[d]!)), ranges));
    if (spans.length === 0 || spans.some((p) => p === undefined)) {
      min.push(lit(0, "int"));
      extent.push(size);
      return;
    }
    const lo = Math.min(...spans.map((p) => p!.lo)), hi = Math.max(...spans.map((p) => p!.hi));
    if (hi - lo + 1 >= size) {
      min.push(lit(0, "int"));
      extent.push(size);
    } else {
      min.push(simplify(fromLinear({ terms: linearize(spans[0]!.base).terms, c: lo }), ranges));
      extent.push(hi - lo + 1);
    }
  });
  return { min, extent };
}

/** index = base + [lo, hi], where base mentions no inner variable. */
function split(index: Expr, inner: ReadonlySet<string>, ranges: Ranges): { base: Expr; lo: number; hi: number } | undefined {
  const l = linearize(index);
  const outer = new Map<Expr, number>(), varying = new Map<Expr, number>();
  for (const [x, k] of l.terms) ([...varsOf(x)].some((v) => inner.has(v)) ? varying : outer).set(x, k);
  const r = rangeOf(fromLinear({ terms: varying, c: l.c }), ranges);
  return r && { base: fromLinear({ terms: outer, c: 0 }), lo: r.lo, hi: r.hi };
}
