/**
 * Register promotion (mem2reg) of small local buffers. An Alloc'd f32 buffer whose every access
 * inside its Alloc is at an index that is a compile-time constant, once the variables of
 * unrolled loops are bound to constants, lives in wasm locals instead of scratch memory, which
 * the engine keeps in registers: the accumulator tile of a register-blocked GEMM (compute_at of
 * the reduction at the tile loop, its spatial loops unrolled and vectorized). V8 never promotes
 * memory on its own. A buffer that an f32x4 loop touches, always at a lane-aligned constant
 * offset, becomes v128 locals (its scalar accesses then extract or replace one lane); any other
 * becomes f32 locals. The walk follows `loopForm`, which the kernel emitter obeys too, so both
 * agree on which indices are constant.
 */
import { shapeSize } from "../../ir/tensor.js";
import { type Expr, FALSE, type FloatType, lit, loadsOf, substitute, varsOf } from "../../loopir/expr.js";
import { simplify } from "../../loopir/simplify.js";
import { type Alloc, type For, LANES, type Stmt, mapStmtExprs } from "../../loopir/stmt.js";
import { type VectorPlan, laneZero, vectorPlan } from "./vector-plan.js";

/**
 * At most 12 v128 (48 floats) live in locals at once: V8 has 15 usable vector registers, and a
 * micro-kernel also needs its broadcasts and the vectors it loads (PERF-NOTES).
 */
export const MAX_PROMOTED_FLOATS = 48;

export interface Promotion { readonly kind: "f32" | "v128"; readonly floats: number }

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

/** Whether the buffer of `a` can live in locals, and as which kind; `consts` are bound around `a`. */
export function promotion(a: Alloc, consts: Constants, typeOf: (buffer: string) => FloatType): Promotion | undefined {
  const name = a.buffer.name, floats = shapeSize(a.buffer.shape);
  if (a.buffer.type !== "f32" || floats > MAX_PROMOTED_FLOATS) return undefined;
  let ok = true, vector = false;
  const constant = (index: Expr) => { if (index.kind !== "const" || index.value < 0 || index.value >= floats) ok = false; };
  const scalarLoads = (e: Expr) => loadsOf(e).forEach((l) => l.buffer === name && constant(l.index[0]!));
  /** Loads as the vector emitter makes them: lane-dependent ones as v128 loads, the rest as scalars. */
  const vectorLoads = (e: Expr, v: string): void => {
    if (!varsOf(e).has(v)) return scalarLoads(e);
    if (e.kind === "load") return e.buffer === name ? laneAligned(laneZero(e.index[0]!, v)) : scalarLoads(e.index[0]!);
    if (e.kind === "select") scalarLoads(e.cond);
    const parts = e.kind === "binary" ? [e.a, e.b] : e.kind === "call" ? [e.arg] : e.kind === "select" ? [e.t, e.f] : [];
    parts.forEach((p) => vectorLoads(p, v));
  };
  const laneAligned = (at: Expr) => {
    constant(at);
    if (at.kind !== "const" || at.value % LANES !== 0) ok = false;
    vector = true;
  };
  const walk = (s: Stmt, env: Constants, types: (b: string) => FloatType): void => {
    if (!ok) return;
    switch (s.kind) {
      case "seq": return s.body.forEach((b) => walk(b, env, types));
      case "if": {
        // The emitter drops an if whose condition folds to false (a tail of an unrolled loop).
        const cond = foldConstants(s.cond, env);
        scalarLoads(cond);
        return cond === FALSE ? undefined : walk(s.then, env, types);
      }
      // An inner alloc of the same name shadows this one.
      case "alloc": return s.buffer.name === name ? undefined : walk(s.body, env, (b) => (b === s.buffer.name ? s.buffer.type : types(b)));
      case "store": {
        const index = foldConstants(s.index[0]!, env);
        if (s.buffer === name) constant(index);
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
          if (store.buffer === name) laneAligned(laneZero(store.index[0]!, v));
          else scalarLoads(store.index[0]!);
          vectorLoads(store.value, v);
        }
      }
    }
  };
  walk(a.body, consts, (b) => (b === name ? "f32" : typeOf(b)));
  return ok ? { kind: vector ? "v128" : "f32", floats } : undefined;
}
