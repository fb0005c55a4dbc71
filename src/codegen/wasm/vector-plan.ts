/**
 * When a `vectorized` loop can become f32x4 code. Its body must be f32 stores, each possibly
 * under an if whose condition is free of v (a reduction's init guard), whose flat index is
 * `base + v` (v the loop variable, base free of v), and every value must be built from
 * contiguous loads, loop-invariant scalars (splatted), f32 arithmetic and math calls, and
 * selects on an invariant condition. A buffer the loop stores may be read only at the very
 * index it is stored at: the lanes then run the statements in lock step without changing what
 * any of them reads. Anything else returns undefined and the loop runs as scalar code.
 */
import { type Expr, type Load, ivar, lit, loadsOf, substitute, varsOf } from "../../loopir/expr.js";
import { linearize, simplify } from "../../loopir/simplify.js";
import { type For, LANES, type Store } from "../../loopir/stmt.js";

/** A store, run only when `guard` (free of v) holds. */
export interface GuardedStore { readonly guard?: Expr; readonly store: Store }

export interface VectorPlan {
  readonly v: string;
  readonly stores: readonly GuardedStore[];
}

export function vectorPlan(loop: For, typeOf: (buffer: string) => "f32" | "f64"): VectorPlan | undefined {
  if (loop.extent !== LANES) return undefined;
  const v = loop.v;
  const items = (loop.body.kind === "seq" ? loop.body.body : [loop.body]).map((s): GuardedStore | undefined =>
    s.kind === "store" ? { store: s } : s.kind === "if" && s.then.kind === "store" && !varsOf(s.cond).has(v) ? { guard: s.cond, store: s.then } : undefined);
  if (items.some((x) => x === undefined)) return undefined;
  const guarded = items as GuardedStore[];
  const stores = guarded.map((x) => x.store);
  const storedAt = new Map<string, Expr>();
  for (const s of stores) {
    const at = storedAt.get(s.buffer);
    if (typeOf(s.buffer) !== "f32" || !isContiguous(s.index[0]!, v) || (at !== undefined && at !== s.index[0])) return undefined;
    storedAt.set(s.buffer, s.index[0]!);
  }
  const loads: Load[] = guarded.flatMap((x) => [...loadsOf(x.store.value), ...(x.guard ? loadsOf(x.guard) : [])]);
  if (loads.some((l) => storedAt.has(l.buffer) && storedAt.get(l.buffer) !== l.index[0])) return undefined;
  return stores.every((s) => vectorizable(s.value, v)) ? { v, stores: guarded } : undefined;
}

/** Whether `e` is a value the vector emitter can produce as f32x4 lanes. */
function vectorizable(e: Expr, v: string): boolean {
  if (!varsOf(e).has(v)) return e.type === "f32";
  switch (e.kind) {
    case "load": return e.type === "f32" && isContiguous(e.index[0]!, v);
    case "binary": return e.type === "f32" && e.op !== "%" && vectorizable(e.a, v) && vectorizable(e.b, v);
    case "call": return e.type === "f32" && vectorizable(e.arg, v);
    case "select": return e.type === "f32" && !varsOf(e.cond).has(v) && vectorizable(e.t, v) && vectorizable(e.f, v);
    default: return false;
  }
}

/** index = base + v with base free of v. */
export function isContiguous(index: Expr, v: string): boolean {
  const l = linearize(index);
  const x = ivar(v);
  return l.terms.get(x) === 1 && [...l.terms.keys()].every((t) => t === x || !varsOf(t).has(v));
}

/** The index of lane 0. */
export const laneZero = (index: Expr, v: string): Expr => simplify(substitute(index, new Map([[v, lit(0, "int")]])));
