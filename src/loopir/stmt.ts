/**
 * Loop statements: what lowering produces and code generators consume. Loops run from 0 to a
 * constant extent; a loop's kind says how a backend may execute it (parallel iterations are
 * independent, vectorized loops have LANES iterations). Buffer indices are flat (row-major).
 */
import type { Expr, FloatType } from "./expr.js";

export type ForKind = "serial" | "unrolled" | "vectorized" | "parallel";
/** Width of a vectorized loop (f32x4 in WebAssembly SIMD128). */
export const LANES = 4;

export interface BufferDecl { readonly name: string; readonly type: FloatType; readonly shape: readonly number[] }

export interface For { readonly kind: "for"; readonly v: string; readonly extent: number; readonly loop: ForKind; readonly body: Stmt }
export interface Seq { readonly kind: "seq"; readonly body: readonly Stmt[] }
export interface Store { readonly kind: "store"; readonly buffer: string; readonly index: readonly Expr[]; readonly value: Expr }
/** A buffer that lives for the extent of `body`. */
export interface Alloc { readonly kind: "alloc"; readonly buffer: BufferDecl; readonly body: Stmt }
export interface If { readonly kind: "if"; readonly cond: Expr; readonly then: Stmt }
export type Stmt = For | Seq | Store | Alloc | If;

/** A lowered kernel: parameters (inputs, then outputs) and a body. */
export interface Func {
  readonly name: string;
  readonly inputs: readonly BufferDecl[];
  readonly outputs: readonly BufferDecl[];
  readonly body: Stmt;
}

export const forLoop = (v: string, extent: number, body: Stmt, loop: ForKind = "serial"): For => ({ kind: "for", v, extent, loop, body });
export const store = (buffer: string, index: readonly Expr[], value: Expr): Store => ({ kind: "store", buffer, index, value });
export const alloc = (buffer: BufferDecl, body: Stmt): Alloc => ({ kind: "alloc", buffer, body });
export const ifThen = (cond: Expr, then: Stmt): If => ({ kind: "if", cond, then });
/** A sequence with nested sequences flattened; a single statement stands for itself. */
export function seq(body: readonly Stmt[]): Stmt {
  const flat = body.flatMap((s) => (s.kind === "seq" ? s.body : [s]));
  return flat.length === 1 ? flat[0]! : { kind: "seq", body: flat };
}

/** Rewrite every expression of a statement tree. */
export function mapStmtExprs(s: Stmt, fn: (e: Expr) => Expr): Stmt {
  switch (s.kind) {
    case "for": return { ...s, body: mapStmtExprs(s.body, fn) };
    case "seq": return seq(s.body.map((b) => mapStmtExprs(b, fn)));
    case "store": return { ...s, index: s.index.map(fn), value: fn(s.value) };
    case "alloc": return { ...s, body: mapStmtExprs(s.body, fn) };
    case "if": return { ...s, cond: fn(s.cond), then: mapStmtExprs(s.then, fn) };
  }
}
