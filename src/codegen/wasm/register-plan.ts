/**
 * Register promotion (mem2reg) of small local buffers. An Alloc'd f32 buffer whose every access
 * inside its Alloc is at an index that is a compile-time constant, once the variables of
 * unrolled loops are bound to constants, lives in wasm locals instead of scratch memory, which
 * the engine keeps in registers: the accumulator tile of a register-blocked GEMM (compute_at of
 * the reduction at the tile loop, its spatial loops unrolled and vectorized). V8 never promotes
 * memory on its own. A buffer that an f32x4 loop touches, always at a lane-aligned constant
 * offset, becomes v128 locals (its scalar accesses then extract or replace one lane); any other
 * becomes f32 locals.
 */
import { shapeSize } from "../../ir/tensor.js";
import type { FloatType } from "../../loopir/expr.js";
import { type Alloc, LANES } from "../../loopir/stmt.js";
import { type Constants, visitAccesses } from "./accesses.js";

/**
 * At most 12 v128 (48 floats) live in locals at once: V8 has 15 usable vector registers, and a
 * micro-kernel also needs its broadcasts and the vectors it loads (PERF-NOTES).
 */
export const MAX_PROMOTED_FLOATS = 48;

export interface Promotion { readonly kind: "f32" | "v128"; readonly floats: number }

/** Whether the buffer of `a` can live in locals, and as which kind; `consts` are bound around `a`. */
export function promotion(a: Alloc, consts: Constants, typeOf: (buffer: string) => FloatType): Promotion | undefined {
  const name = a.buffer.name, floats = shapeSize(a.buffer.shape);
  if (a.buffer.type !== "f32" || floats > MAX_PROMOTED_FLOATS) return undefined;
  let ok = true, vector = false, shadowed = false;
  const inner = (b: string) => b === name ? "f32" : typeOf(b);
  visitAccesses(a.body, consts, inner, (x) => {
    if (x.buffer !== name) return;
    const at = x.index;
    if (at.kind !== "const" || at.value < 0 || at.value >= floats) ok = false;
    else if (x.form === "vector") {
      vector = true;
      if (at.value % LANES !== 0) ok = false;
    }
  });
  // An inner alloc of the same name would shadow this one: keep such rare code in memory.
  const visit = (s: Alloc["body"]): void => {
    if (s.kind === "alloc") { if (s.buffer.name === name) shadowed = true; visit(s.body); }
    else if (s.kind === "seq") s.body.forEach(visit);
    else if (s.kind === "for") visit(s.body);
    else if (s.kind === "if") visit(s.then);
  };
  visit(a.body);
  return ok && !shadowed ? { kind: vector ? "v128" : "f32", floats } : undefined;
}
