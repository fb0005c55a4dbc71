/**
 * Tensor expressions: the algorithm of an op, apart from its schedule. A tensor is a
 * placeholder (an input buffer) or a compute definition: an expression over one index variable
 * per output axis, optionally a reduction (sum/max/min) over reduction axes with an init value.
 *
 * ```ts
 * const A = placeholder("A", [M, K]), B = placeholder("B", [K, N]);
 * const k = reduceAxis(K, "k");
 * const C = compute("C", [M, N], (i, j) => reduceSum(mul(A.at(i, k), B.at(k, j)), [k]));
 * ```
 *
 * Axis names come from the callback's parameter names (as in TVM's te.compute), falling back to
 * `i0, i1, ...`; the schedule refers to loops by these names.
 */
import { InternalError, UnsupportedError } from "../ir/errors.js";
import { type Expr, type FloatType, type Operand, type Var, ivar, lit, load } from "./expr.js";

export interface IterVar { readonly name: string; readonly extent: number; readonly reduce: boolean; readonly v: Var }

export type ReduceOp = "sum" | "max" | "min";
export interface Reduce {
  readonly kind: "reduce";
  readonly op: ReduceOp;
  readonly axes: readonly IterVar[];
  readonly value: Expr;
  readonly init: Expr;
}

export interface Tensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly type: FloatType;
  /** One spatial axis per dimension; empty for placeholders. */
  readonly axes: readonly IterVar[];
  /** Undefined for placeholders. */
  readonly body: Expr | Reduce | undefined;
  /** Tensors the body loads from, in first-use order. */
  readonly inputs: readonly Tensor[];
  /** A load of this tensor at the given indices (a reduction axis stands for its variable). */
  at(...index: (Operand | IterVar)[]): Expr;
}

/** Tensors loaded while a compute callback runs (a stack, should callbacks nest). */
const reading: Tensor[][] = [];

function makeTensor(name: string, shape: readonly number[], type: FloatType, axes: readonly IterVar[],
  body: Expr | Reduce | undefined, inputs: readonly Tensor[]): Tensor {
  // Loops have extents of at least one. A stage with no elements (a feature map pooled down to
  // nothing) is left to the interpreter, where it costs nothing; lowerNode falls back on this error.
  if (shape.includes(0)) throw new UnsupportedError(`stage ${name} has no elements`, "empty stage");
  for (const d of shape) if (!Number.isInteger(d) || d < 1) throw new InternalError(`${name}: bad dimension ${d}`);
  const t: Tensor = Object.freeze({
    name, shape: Object.freeze([...shape]), type, axes, body, inputs,
    at(...index: (Operand | IterVar)[]): Expr {
      if (index.length !== shape.length) throw new InternalError(`${name}: ${index.length} indices for rank ${shape.length}`);
      const top = reading[reading.length - 1];
      if (top && !top.includes(t)) top.push(t);
      return load(name, index.map((x) => (typeof x === "object" && "v" in x ? x.v : x)), type);
    },
  });
  return t;
}

export const placeholder = (name: string, shape: readonly number[], type: FloatType = "f32"): Tensor =>
  makeTensor(name, shape, type, [], undefined, []);

export const reduceAxis = (extent: number, name: string): IterVar => ({ name, extent, reduce: true, v: ivar(name) });

function reduce(op: ReduceOp, value: Expr, axes: readonly IterVar[], init: Expr): Reduce {
  if (axes.some((a) => !a.reduce)) throw new InternalError(`${op}: axes must come from reduceAxis`);
  if (init.type !== value.type) throw new InternalError(`${op}: init type ${init.type} differs from ${value.type}`);
  return { kind: "reduce", op, axes, value, init };
}
const initOf = (value: Expr, v: number, init?: Operand): Expr =>
  typeof init === "object" ? init : lit(init ?? v, value.type);
export const reduceSum = (value: Expr, axes: readonly IterVar[], init?: Operand) => reduce("sum", value, axes, initOf(value, 0, init));
export const reduceMax = (value: Expr, axes: readonly IterVar[], init?: Operand) => reduce("max", value, axes, initOf(value, -Infinity, init));
export const reduceMin = (value: Expr, axes: readonly IterVar[], init?: Operand) => reduce("min", value, axes, initOf(value, Infinity, init));

export function compute(name: string, shape: readonly number[], fn: (...axes: Var[]) => Expr | Reduce): Tensor {
  const names = paramNames(fn, shape.length);
  const axes = shape.map((extent, d): IterVar => ({ name: names[d]!, extent, reduce: false, v: ivar(names[d]!) }));
  const inputs: Tensor[] = [];
  reading.push(inputs);
  let body: Expr | Reduce;
  try {
    body = fn(...axes.map((a) => a.v));
  } finally {
    reading.pop();
  }
  const type = body.kind === "reduce" ? body.value.type : body.type;
  if (type !== "f32" && type !== "f64") throw new InternalError(`${name}: body must be a float, not ${type}`);
  const all = [...axes, ...(body.kind === "reduce" ? body.axes : [])];
  if (new Set(all.map((a) => a.name)).size !== all.length) throw new InternalError(`${name}: axis names must be distinct`);
  return makeTensor(name, shape, type, axes, body, inputs);
}

/** The callback's parameter names, or i0, i1, ... when they cannot be read. */
function paramNames(fn: Function, rank: number): string[] {
  const m = /^\s*(?:function\b[^(]*)?\(([^)]*)\)/.exec(fn.toString()) ?? /^\s*([\w$]+)\s*=>/.exec(fn.toString());
  const names = (m?.[1] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  const ok = names.length === rank && names.every((n) => /^[A-Za-z_$][\w$]*$/.test(n));
  return ok ? names : Array.from({ length: rank }, (_, d) => `i${d}`);
}
