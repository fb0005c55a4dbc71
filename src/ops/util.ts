/** Helpers shared by the op families: broadcasting, axes, elementwise maps and simple inference rules. */
import type { DType } from "../ir/dtype.js";
import { EvalError, ModelError } from "../ir/errors.js";
import { Tensor, shapeSize, stridesOf } from "../ir/tensor.js";
import type { Dim, TensorType } from "../ir/types.js";
import type { InferContext } from "./registry.js";

/** Numpy broadcasting of concrete shapes. */
export function broadcastShapes(shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i]!;
      if (out[o] === 1) out[o] = d;
      else if (d !== 1 && d !== out[o]) {
        throw new EvalError(`shapes ${shapes.map((x) => `[${x.join(",")}]`).join(" and ")} do not broadcast`);
      }
    }
  }
  return out;
}

/** Numpy broadcasting of possibly symbolic shapes (null if any rank is unknown). */
export function broadcastDims(shapes: readonly (readonly Dim[] | null)[]): Dim[] | null {
  if (shapes.some((s) => s === null)) return null;
  const ss = shapes as readonly (readonly Dim[])[];
  const rank = Math.max(0, ...ss.map((s) => s.length));
  const out = new Array<Dim>(rank).fill(1);
  for (const s of ss) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i]!;
      if (out[o] === 1) out[o] = d;
      else if (d !== 1 && d !== out[o]) {
        if (typeof d === "number" && typeof out[o] === "number") {
          throw new ModelError(`shapes ${ss.map((x) => `[${x.join(",")}]`).join(" and ")} do not broadcast`);
        }
        // A symbol against a number (or another symbol): at run time they must agree; keep the number.
        if (typeof d === "number") out[o] = d;
      }
    }
  }
  return out;
}

/** For each flat index of `outShape`, the flat index into a tensor of `inShape` broadcast to it. */
export function broadcastIndex(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const n = shapeSize(outShape);
  const idx = new Int32Array(n);
  const rank = outShape.length;
  const inStrides = stridesOf(inShape);
  const eff = new Array<number>(rank).fill(0);
  for (let i = 0; i < inShape.length; i++) {
    const o = rank - inShape.length + i;
    eff[o] = inShape[i] === 1 ? 0 : inStrides[i]!;
  }
  const counter = new Array<number>(rank).fill(0);
  let off = 0;
  for (let k = 0; k < n; k++) {
    idx[k] = off;
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]!++;
      off += eff[d]!;
      if (counter[d]! < outShape[d]!) break;
      off -= eff[d]! * counter[d]!;
      counter[d] = 0;
    }
  }
  return idx;
}

/** Apply `f` to every element. */
export function mapUnary(x: Tensor, outDtype: DType, f: (v: number) => number): Tensor {
  const v = x.numbers();
  for (let i = 0; i < v.length; i++) v[i] = f(v[i]!);
  return Tensor.fromNumbers(outDtype, x.shape, v);
}

/** Normalize a possibly negative axis against a rank, or throw naming the op. */
export function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ModelError(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function normAxes(axes: readonly number[], rank: number, op: string): number[] {
  return axes.map((a) => normAxis(a, rank, op));
}

/** The type of input i, or throw if it is missing. */
export function inputType(ctx: InferContext, i: number): TensorType {
  const t = ctx.inputs[i];
  if (t === null || t === undefined) throw new ModelError(`${ctx.node.op}: input ${i} is required`);
  return t;
}

/** Output 0 has the type of input i. */
export function sameAsInput(i = 0) {
  return (ctx: InferContext): TensorType[] => [inputType(ctx, i)];
}

/** Output 0 has the type of input i, and input j (the updates of a scatter) must share its dtype. */
export function sameAsInputUpdatedBy(i: number, j: number) {
  return (ctx: InferContext): TensorType[] => {
    const t = inputType(ctx, i), u = inputType(ctx, j);
    if (u.dtype !== t.dtype) throw new ModelError(`${ctx.node.op}: input ${j} is ${u.dtype}, but input ${i} is ${t.dtype}; they must match`);
    return [t];
  };
}

/** Require a tensor input at evaluation time. */
export function req<T>(v: T | null | undefined, op: string, i: number): T {
  if (v === null || v === undefined) throw new ModelError(`${op}: input ${i} is required`);
  return v;
}
