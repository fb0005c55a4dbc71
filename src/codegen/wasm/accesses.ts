/**
 * The buffer accesses the kernel emitter will make inside a statement, as it will make them:
 * unrolled loops (and vectorized loops without a vector plan) expanded with their variable bound
 * to each constant, vector loops through their vector plan. Register promotion and pointer
 * strength reduction both decide from this walk, so they agree with the emitted code.
 */
import { type Expr, FALSE, type FloatType, lit, loadsOf, substitute, varsOf } from "../../loopir/expr.js";
import { simplify } from "../../loopir/simplify.js";
import { type For, type Stmt, mapStmtExprs } from "../../loopir/stmt.js";
import { type VectorPlan, laneZero, vectorPlan } from "./vector-plan.js";

/** Unrolled loop variables bound to their constant values. */
export type Constants = ReadonlyMap<string, Expr>;

export const foldConstants = (e: Expr, consts: Constants): Expr => (consts.size === 0 ? e : simplify(substitute(e, consts)));

export type LoopForm = { readonly kind: "vector"; readonly plan: VectorPlan } | { readonly kind: "unrolled" } | { readonly kind: "loop" };

/**
 * How the emitter runs a loop: a vectorized loop that has a vector plan (checked on its body
 * with the constants folded in) as f32x4 code, one that has none unrolled lane by lane (its
 * four copies then see constant indices), an unrolled loop one copy per iteration.
 */
export function loopForm(s: For, consts: Constants, typeOf: (buffer: string) => FloatType): LoopForm {
  if (s.loop === "vectorized") {
    const plan = vectorPlan(consts.size === 0 ? s : { ...s, body: mapStmtExprs(s.body, (e) => foldConstants(e, consts)) }, typeOf);
    return plan ? { kind: "vector", plan } : { kind: "unrolled" };
  }
  return { kind: s.loop === "unrolled" ? "unrolled" : "loop" };
}

/**
 * One access: `index` is folded, and for vector and splat accesses it is the index of lane 0.
 * A splat is a scalar load broadcast to every lane (v128.load32_splat).
 */
export interface Access { readonly buffer: string; readonly index: Expr; readonly form: "scalar" | "vector" | "splat"; readonly store: boolean }

/** Visits every access in `s`; `typeOf` gives the type of buffers declared outside `s`. */
export function visitAccesses(s: Stmt, consts: Constants, typeOf: (buffer: string) => FloatType, visit: (a: Access) => void): void {
  const scalarLoads = (e: Expr) => loadsOf(e).forEach((l) => visit({ buffer: l.buffer, index: l.index[0]!, form: "scalar", store: false }));
  const vectorLoads = (e: Expr, v: string): void => {
    if (!varsOf(e).has(v)) {
      if (e.kind !== "load") return scalarLoads(e);
      visit({ buffer: e.buffer, index: e.index[0]!, form: "splat", store: false });
      return scalarLoads(e.index[0]!);
    }
    if (e.kind === "load") {
      visit({ buffer: e.buffer, index: laneZero(e.index[0]!, v), form: "vector", store: false });
      return;
    }
    if (e.kind === "select") scalarLoads(e.cond);
    const parts = e.kind === "binary" ? [e.a, e.b] : e.kind === "call" ? [e.arg] : e.kind === "select" ? [e.t, e.f] : [];
    parts.forEach((p) => vectorLoads(p, v));
  };
  const walk = (s: Stmt, env: Constants, types: (b: string) => FloatType): void => {
    switch (s.kind) {
      case "seq": return s.body.forEach((b) => walk(b, env, types));
      case "if": {
        // The emitter drops an if whose condition folds to false (a tail of an unrolled loop).
        const cond = foldConstants(s.cond, env);
        scalarLoads(cond);
        return cond === FALSE ? undefined : walk(s.then, env, types);
      }
      case "alloc": return walk(s.body, env, (b) => (b === s.buffer.name ? s.buffer.type : types(b)));
      case "store": {
        const index = foldConstants(s.index[0]!, env);
        visit({ buffer: s.buffer, index, form: "scalar", store: true });
        scalarLoads(index);
        return scalarLoads(foldConstants(s.value, env));
      }
      case "for": {
        const form = loopForm(s, env, types);
        if (form.kind === "loop") return walk(s.body, env, types);
        if (form.kind === "unrolled") {
          for (let k = 0; k < s.extent; k++) walk(s.body, new Map([...env, [s.v, lit(k, "int")]]), types);
          return;
        }
        const v = form.plan.v;
        for (const { guard, store } of form.plan.stores) {
          if (guard) scalarLoads(guard);
          visit({ buffer: store.buffer, index: laneZero(store.index[0]!, v), form: "vector", store: true });
          vectorLoads(store.value, v);
        }
      }
    }
  };
  walk(s, consts, typeOf);
}

/** Whether `s` runs straight through once unrolled: no loop that stays a loop, no alloc. */
export function straightLine(s: Stmt): boolean {
  switch (s.kind) {
    case "seq": return s.body.every(straightLine);
    case "if": return straightLine(s.then);
    case "alloc": return false;
    case "store": return true;
    case "for": return (s.loop === "unrolled" || s.loop === "vectorized") && straightLine(s.body);
  }
}
