/** Ops that only compute or change shapes: Reshape, Shape, Size, Flatten, Squeeze, Unsqueeze, Expand, ConstantOfShape, Range, EyeLike. */
import { DTYPE_INFO, dtypeFromOnnx } from "../ir/dtype.js";
import { dimMul, dimDiv, dimProduct } from "../ir/dim.js";
import { EvalError, ModelError } from "../ir/errors.js";
import { Tensor, checkShape, shapeSize } from "../ir/tensor.js";
import { isStaticShape, type Dim, type TensorType } from "../ir/types.js";
import { constInts, freshDims, rawValue, vectorLength } from "./movement.js";
import type { InferContext, OpDef } from "./registry.js";
import { broadcastDims, broadcastIndex, broadcastShapes, inputType, normAxes, req } from "./util.js";

/** Output shape of a shape-valued input: its value if known, else fresh dims of the known length, else unknown rank. */
function shapeFromInput(ctx: InferContext, i: number): Dim[] | null {
  const v = constInts(ctx, i);
  if (v !== undefined) return v;
  const n = vectorLength(ctx.inputs[i]);
  return n === undefined ? null : freshDims(ctx, n);
}

// ---------------------------------------------------------------- Reshape

/**
 * The dim that -1 stands for: the input's element count over the other output dims. Symbols
 * present on both sides cancel, so `[N,2048,1,1]` to `[N,-1]` gives 2048.
 */
function inferredDim(inDims: readonly Dim[], outDims: readonly Dim[]): Dim {
  let num = 1, den = 1;
  const rest: string[] = [];
  const unmatched: string[] = [];
  for (const d of inDims) {
    if (typeof d === "number") num *= d;
    else rest.push(d);
  }
  const allNumeric = rest.length === 0;
  for (const d of outDims) {
    if (typeof d === "number") den *= d;
    else {
      const k = rest.indexOf(d);
      if (k >= 0) rest.splice(k, 1);
      else unmatched.push(d);
    }
  }
  if (unmatched.length === 0 && den !== 0 && num % den === 0) return dimMul(dimProduct(rest), num / den);
  if (allNumeric && unmatched.length === 0) {
    throw new ModelError(`Reshape: cannot reshape [${inDims.join(",")}] into [${outDims.join(",")}] plus an inferred dimension`);
  }
  return dimDiv(dimProduct(inDims), dimProduct(outDims));
}

/** A requested shape as the model wrote it: int64 values exactly, not rounded to doubles. */
function requestedShape(t: Tensor): string {
  return `[${t.bigints().join(",")}]`;
}

/** Resolve 0 (copy, unless allowzero) and -1 (inferred) in a requested shape; `show` prints it in messages. */
function reshapeDims(inDims: readonly Dim[], requested: readonly number[], allowzero: boolean, show = `[${requested.join(",")}]`): Dim[] {
  if (requested.filter((v) => v === -1).length > 1) throw new ModelError(`Reshape: more than one -1 in shape ${show}`);
  if (allowzero && requested.includes(0) && requested.includes(-1)) throw new ModelError(`Reshape: shape ${show} has both 0 and -1 with allowzero`);
  const out: Dim[] = requested.map((v, i) => {
    if (v === 0 && !allowzero) {
      if (i >= inDims.length) throw new ModelError(`Reshape: shape ${show} copies dim ${i} of a rank-${inDims.length} input`);
      return inDims[i]!;
    }
    if (v < -1 || !Number.isSafeInteger(v)) throw new ModelError(`Reshape: invalid dimension ${i} in shape ${show}`);
    return v;
  });
  const m = requested.indexOf(-1);
  if (m >= 0) out[m] = inferredDim(inDims, out.filter((_, i) => i !== m));
  return out;
}

const reshape: OpDef = {
  name: "Reshape",
  pattern: "injective",
  attrs: {
    shape: { type: "ints", until: 5 },
    consumed_inputs: { type: "ints", until: 5 },
    allowzero: { type: "int", default: 0, since: 14 },
  },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const requested = ctx.opset < 5 ? [...ctx.attrs.ints("shape")] : constInts(ctx, 1);
    if (requested === undefined) {
      const n = vectorLength(ctx.inputs[1]);
      // An empty shape is a scalar, whatever its values: one element.
      if (n === 0 && isStaticShape(x.shape) && shapeSize(x.shape) !== 1) throw new ModelError(`Reshape: cannot reshape [${x.shape.join(",")}] into []`);
      return [{ dtype: x.dtype, shape: n === undefined ? null : freshDims(ctx, n) }];
    }
    const allowzero = ctx.opset >= 14 && ctx.attrs.int("allowzero") !== 0;
    if (x.shape === null) {
      // Without the input rank, only dims that are given literally are known.
      return [{ dtype: x.dtype, shape: requested.map((v) => (v > 0 || (v === 0 && allowzero) ? v : ctx.fresh())) }];
    }
    const show = ctx.opset < 5 ? undefined : requestedShape(ctx.constants[1]!);
    const out = reshapeDims(x.shape, requested, allowzero, show);
    if (isStaticShape(x.shape) && isStaticShape(out) && shapeSize(x.shape) !== shapeSize(out)) {
      throw new ModelError(`Reshape: cannot reshape [${x.shape.join(",")}] into ${show ?? `[${out.join(",")}]`}`);
    }
    return [{ dtype: x.dtype, shape: out }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "Reshape", 0);
    const requested = ctx.opset < 5 ? [...ctx.attrs.ints("shape")] : req(ctx.inputs[1], "Reshape", 1).ints();
    const show = ctx.opset < 5 ? undefined : requestedShape(ctx.inputs[1]!);
    const allowzero = ctx.opset >= 14 && ctx.attrs.int("allowzero") !== 0;
    const shape = reshapeDims(x.shape, requested, allowzero, show) as number[];
    if (shapeSize(shape) !== x.size) throw new EvalError(`Reshape: cannot reshape [${x.shape.join(",")}] into ${show ?? `[${shape.join(",")}]`}`);
    return [x.reshape(shape)];
  },
};

// ---------------------------------------------------------------- Shape, Size

/** The [start, end) range of dims Shape reports, clamped per the spec. */
function shapeRange(ctx: { opset: number; attrs: { int(n: string): number; optInt(n: string): number | undefined } }, rank: number): [number, number] {
  if (ctx.opset < 15) return [0, rank];
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const start = clamp(ctx.attrs.int("start"));
  const end = clamp(ctx.attrs.optInt("end") ?? rank);
  return [start, Math.max(start, end)];
}

const shapeOp: OpDef = {
  name: "Shape",
  pattern: "opaque",
  attrs: { start: { type: "int", default: 0, since: 15 }, end: { type: "int", since: 15 } },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    if (x.shape === null) return [{ dtype: "int64", shape: [ctx.fresh()] }];
    const [s, e] = shapeRange(ctx, x.shape.length);
    return [{ dtype: "int64", shape: [e - s] }];
  },
  evaluate: (ctx) => shapeOp.fromShapes!(ctx, [req(ctx.inputs[0], "Shape", 0).shape]),
  fromShapes: (ctx, [shape]) => {
    const [s, e] = shapeRange(ctx, shape!.length);
    return [Tensor.fromNumbers("int64", [e - s], shape!.slice(s, e))];
  },
};

const size: OpDef = {
  name: "Size",
  pattern: "opaque",
  attrs: {},
  infer: () => [{ dtype: "int64", shape: [] }],
  evaluate: (ctx) => size.fromShapes!(ctx, [req(ctx.inputs[0], "Size", 0).shape]),
  fromShapes: (_ctx, [shape]) => [Tensor.scalar("int64", shapeSize(shape!))],
};

// ---------------------------------------------------------------- Flatten

function flattenAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a > rank) throw new ModelError(`Flatten: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

const flatten: OpDef = {
  name: "Flatten",
  pattern: "injective",
  attrs: { axis: { type: "int", default: 1 } },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    if (x.shape === null) return [{ dtype: x.dtype, shape: [ctx.fresh(), ctx.fresh()] }];
    const a = flattenAxis(ctx.attrs.int("axis"), x.shape.length);
    return [{ dtype: x.dtype, shape: [dimProduct(x.shape.slice(0, a)), dimProduct(x.shape.slice(a))] }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "Flatten", 0);
    const a = flattenAxis(ctx.attrs.int("axis"), x.rank);
    return [x.reshape([shapeSize(x.shape.slice(0, a)), shapeSize(x.shape.slice(a))])];
  },
};

// ---------------------------------------------------------------- Squeeze, Unsqueeze

/** Squeeze/Unsqueeze axes: the attribute before opset 13, input 1 from 13 (undefined if omitted or unknown). */
function axesOf(ctx: { opset: number; attrs: { optInts(n: string): readonly number[] | undefined } }, input: number[] | undefined): number[] | undefined {
  if (ctx.opset < 13) {
    const a = ctx.attrs.optInts("axes");
    return a === undefined ? undefined : [...a];
  }
  return input;
}

function checkUnique(axes: readonly number[], op: string): void {
  if (new Set(axes).size !== axes.length) throw new ModelError(`${op}: repeated axis in [${axes.join(",")}]`);
}

const squeeze: OpDef = {
  name: "Squeeze",
  pattern: "injective",
  attrs: { axes: { type: "ints", until: 13 } },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const axesInput = ctx.opset >= 13 && ctx.inputs[1] ? constInts(ctx, 1) : undefined;
    if (ctx.opset >= 13 && ctx.inputs[1] && axesInput === undefined) {
      const n = vectorLength(ctx.inputs[1]);
      if (x.shape === null || n === undefined) return [{ dtype: x.dtype, shape: null }];
      // Distinct axes, each of a dim of 1: no more of them than the rank, and all of it only for one element.
      if (n > x.shape.length) throw new ModelError(`Squeeze: ${n} axes for an input of rank ${x.shape.length}`);
      if (n === x.shape.length && isStaticShape(x.shape) && shapeSize(x.shape) !== 1) throw new ModelError(`Squeeze: cannot squeeze all of [${x.shape.join(",")}]`);
      return [{ dtype: x.dtype, shape: freshDims(ctx, x.shape.length - n) }];
    }
    if (x.shape === null) return [{ dtype: x.dtype, shape: null }];
    const shape = x.shape;
    const axes = axesOf(ctx, axesInput);
    if (axes === undefined) {
      // Which symbolic dims are 1 is unknown, so the rank is too.
      if (shape.some((d) => typeof d !== "number")) return [{ dtype: x.dtype, shape: null }];
      return [{ dtype: x.dtype, shape: shape.filter((d) => d !== 1) }];
    }
    const ax = normAxes(axes, shape.length, "Squeeze");
    checkUnique(ax, "Squeeze");
    for (const a of ax) {
      const d = shape[a]!;
      if (typeof d === "number" && d !== 1) throw new ModelError(`Squeeze: dim ${a} of [${shape.join(",")}] is ${d}, not 1`);
    }
    return [{ dtype: x.dtype, shape: shape.filter((_, i) => !ax.includes(i)) }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "Squeeze", 0);
    const axes = axesOf(ctx, ctx.inputs[1]?.ints());
    const ax = axes === undefined ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normAxes(axes, x.rank, "Squeeze");
    checkUnique(ax, "Squeeze");
    for (const a of ax) {
      if (x.shape[a] !== 1) throw new EvalError(`Squeeze: dim ${a} of [${x.shape.join(",")}] is ${x.shape[a]}, not 1`);
    }
    return [x.reshape(x.shape.filter((_, i) => !ax.includes(i)))];
  },
};

/** Insert 1s at `axes` (relative to the output rank). */
function unsqueezeDims<D extends Dim>(shape: readonly D[], axes: readonly number[]): (D | 1)[] {
  const rank = shape.length + axes.length;
  const ax = normAxes(axes, rank, "Unsqueeze");
  checkUnique(ax, "Unsqueeze");
  const out: (D | 1)[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(ax.includes(i) ? 1 : shape[k++]!);
  return out;
}

const unsqueeze: OpDef = {
  name: "Unsqueeze",
  pattern: "injective",
  attrs: { axes: { type: "ints", until: 13 } },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const axes = axesOf(ctx, ctx.opset >= 13 ? constInts(ctx, 1) : undefined);
    if (ctx.opset < 13 && axes === undefined) throw new ModelError("Unsqueeze: attribute 'axes' is required");
    if (x.shape === null) return [{ dtype: x.dtype, shape: null }];
    if (axes === undefined) {
      const n = vectorLength(ctx.inputs[1]);
      return [{ dtype: x.dtype, shape: n === undefined ? null : freshDims(ctx, x.shape.length + n) }];
    }
    return [{ dtype: x.dtype, shape: unsqueezeDims(x.shape, axes) }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "Unsqueeze", 0);
    const axes = axesOf(ctx, ctx.opset >= 13 ? req(ctx.inputs[1], "Unsqueeze", 1).ints() : undefined);
    if (axes === undefined) throw new ModelError("Unsqueeze: attribute 'axes' is required");
    return [x.reshape(unsqueezeDims(x.shape, axes))];
  },
};

// ---------------------------------------------------------------- Expand

const expand: OpDef = {
  name: "Expand",
  pattern: "broadcast",
  attrs: {},
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const target = constInts(ctx, 1);
    if (target !== undefined) return [{ dtype: x.dtype, shape: broadcastDims([x.shape, target]) }];
    const n = vectorLength(ctx.inputs[1]);
    if (n === undefined || x.shape === null) return [{ dtype: x.dtype, shape: null }];
    return [{ dtype: x.dtype, shape: freshDims(ctx, Math.max(n, x.shape.length)) }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "Expand", 0);
    const outShape = broadcastShapes([x.shape, req(ctx.inputs[1], "Expand", 1).ints()]);
    checkShape(outShape, "Expand output");
    const idx = broadcastIndex(x.shape, outShape);
    const data = DTYPE_INFO[x.dtype].make(idx.length);
    const out = data as unknown as { [i: number]: number | bigint };
    const inp = x.data as unknown as { [i: number]: number | bigint };
    for (let k = 0; k < idx.length; k++) out[k] = inp[idx[k]!]!;
    return [new Tensor(x.dtype, outShape, data)];
  },
};

// ---------------------------------------------------------------- ConstantOfShape

function fillValue(ctx: { attrs: { optTensor(n: string): Tensor | undefined } }): Tensor {
  const v = ctx.attrs.optTensor("value") ?? Tensor.scalar("float32", 0);
  if (v.size !== 1) throw new ModelError(`ConstantOfShape: value must hold one element, got shape [${v.shape.join(",")}]`);
  return v;
}

const constantOfShape: OpDef = {
  name: "ConstantOfShape",
  pattern: "opaque",
  attrs: { value: { type: "tensor" } },
  infer: (ctx) => [{ dtype: fillValue(ctx).dtype, shape: shapeFromInput(ctx, 0) }],
  evaluate: (ctx) => {
    const v = fillValue(ctx);
    const shape = req(ctx.inputs[0], "ConstantOfShape", 0).ints();
    checkShape(shape, "ConstantOfShape output");
    const data = DTYPE_INFO[v.dtype].make(shapeSize(shape));
    (data as unknown as { fill(x: number | bigint): void }).fill(rawValue(v.dtype, v));
    return [new Tensor(v.dtype, shape, data)];
  },
};

// ---------------------------------------------------------------- Range

function rangeCount(start: number, limit: number, delta: number): number {
  if (delta === 0) throw new EvalError("Range: delta is 0");
  const n = Math.max(Math.ceil((limit - start) / delta), 0);
  if (!Number.isFinite(n)) throw new EvalError(`Range: start ${start}, limit ${limit} and delta ${delta} give no finite element count`);
  return n;
}

function scalarOf(t: Tensor | null | undefined, i: number): number {
  const v = req(t, "Range", i);
  if (v.size !== 1) throw new EvalError(`Range: input ${i} must be a scalar, got shape [${v.shape.join(",")}]`);
  return v.numbers()[0]!;
}

const range: OpDef = {
  name: "Range",
  pattern: "opaque",
  attrs: {},
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const known = [0, 1, 2].every((i) => ctx.constants[i] !== undefined);
    const n = known ? rangeCount(scalarOf(ctx.constants[0], 0), scalarOf(ctx.constants[1], 1), scalarOf(ctx.constants[2], 2)) : ctx.fresh();
    return [{ dtype: x.dtype, shape: [n] }];
  },
  evaluate: (ctx) => {
    const start = scalarOf(ctx.inputs[0], 0), limit = scalarOf(ctx.inputs[1], 1), delta = scalarOf(ctx.inputs[2], 2);
    const n = rangeCount(start, limit, delta);
    // Checked before the values are built: a count of 2^31 would exhaust the heap first.
    checkShape([n], "Range output");
    const values = Float64Array.from({ length: n }, (_, i) => start + i * delta);
    return [Tensor.fromNumbers(req(ctx.inputs[0], "Range", 0).dtype, [n], values)];
  },
};

// ---------------------------------------------------------------- EyeLike

const eyeLike: OpDef = {
  name: "EyeLike",
  pattern: "opaque",
  attrs: { dtype: { type: "int" }, k: { type: "int", default: 0 } },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const code = ctx.attrs.optInt("dtype");
    if (x.shape !== null && x.shape.length !== 2) throw new ModelError(`EyeLike: input must be 2-D, got rank ${x.shape.length}`);
    const t: TensorType = { dtype: code === undefined ? x.dtype : dtypeFromOnnx(code), shape: x.shape };
    return [t];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "EyeLike", 0);
    if (x.rank !== 2) throw new EvalError(`EyeLike: input must be 2-D, got rank ${x.rank}`);
    const code = ctx.attrs.optInt("dtype");
    const k = ctx.attrs.int("k");
    const [rows, cols] = x.shape as [number, number];
    const values = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      const j = i + k;
      if (j >= 0 && j < cols) values[i * cols + j] = 1;
    }
    return [Tensor.fromNumbers(code === undefined ? x.dtype : dtypeFromOnnx(code), [rows, cols], values)];
  },
};

export const ops: OpDef[] = [reshape, shapeOp, size, flatten, squeeze, unsqueeze, expand, constantOfShape, range, eyeLike];
