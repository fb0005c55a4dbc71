/**
 * What an op's lowering sees and gives back. Inside a fused function every value is an
 * `Access`: its shape and the expression of its element at an index. Elementwise and injective
 * ops lower by composing accesses (so they are inlined for free); ops that reduce add a compute
 * stage through the context and return an access reading it. The anchors of a fused function
 * (Conv, MatMul, Gemm) are not lowered here but by `anchors.ts`, which owns their schedules.
 *
 * A lowering that cannot handle a case returns a string saying why; the node then runs on the
 * reference interpreter, and `kiln inspect` lists it with that reason.
 */
import type { Node } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";
import type { IterVar, Reduce } from "../loopir/compute.js";
import type { Expr, Var } from "../loopir/expr.js";
import type { Attrs } from "../ops/registry.js";

export interface Access {
  readonly shape: readonly number[];
  /** The element at `index` (one int expression per axis). */
  at(index: readonly Expr[]): Expr;
}

export interface OpLowerContext {
  readonly node: Node;
  readonly attrs: Attrs;
  readonly opset: number;
  /** One access per input; null for an omitted optional input. */
  readonly inputs: readonly (Access | null)[];
  /** Input values known at compile time (weights, folded shapes), for attribute-like inputs. */
  readonly constants: readonly (Tensor | undefined)[];
  readonly outputShapes: readonly (readonly number[])[];
  /** A materialized compute stage of the given shape (a reduction, usually). */
  stage(shape: readonly number[], body: (index: readonly Var[]) => Expr | Reduce): Access;
  /** A fresh reduction axis for a stage's body. */
  reduceAxis(extent: number): IterVar;
  /** A constant f32 table made by the compiler (gather indices, say), as a kernel input. */
  table(values: readonly number[]): Access;
}

/** Output accesses, or why this node cannot be lowered. */
export type OpLowering = (ctx: OpLowerContext) => Access[] | string;

/** An access over a buffer loaded directly (a kernel input, or a stage). */
export const bufferAccess = (shape: readonly number[], load: (index: readonly Expr[]) => Expr): Access => ({ shape, at: load });
