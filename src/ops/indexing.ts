/** Indexing, scatter, sort and scan ops: Gather*, Scatter*, OneHot, Compress, NonZero, TopK, Unique, CumSum, CumProd. */
import { f16round } from "@petamoriken/float16";
import { DTYPE_INFO, type DType, isBigInt } from "../ir/dtype.js";
import { dimProduct } from "../ir/dim.js";
import { EvalError, ModelError, UnsupportedError } from "../ir/errors.js";
import { Tensor, checkShape, shapeSize, stridesOf } from "../ir/tensor.js";
import type { Dim, TensorType } from "../ir/types.js";
import type { EvalContext, InferContext, OpDef } from "./registry.js";
import { inputType, normAxis, req, sameAsInput, sameAsInputUpdatedBy } from "./util.js";

// ---------------------------------------------------------------------------------------------
// Element values: int64/uint64 stay bigints so large values survive; everything else goes
// through numbers (float16 bits convert exactly to and from float64).

type Num = number | bigint;
type Vals = Float64Array | BigInt64Array | BigUint64Array;
/** Index-writable view of any Vals (the union itself has no writable element type). */
interface Store {
  [i: number]: Num;
  readonly length: number;
}

function valsOf(t: Tensor): Vals {
  if (t.dtype === "int64") return (t.data as BigInt64Array).slice();
  if (t.dtype === "uint64") return (t.data as BigUint64Array).slice();
  return t.numbers();
}

function emptyVals(dtype: DType, n: number): Vals {
  if (dtype === "int64") return new BigInt64Array(n);
  if (dtype === "uint64") return new BigUint64Array(n);
  return new Float64Array(n);
}

function build(dtype: DType, shape: readonly number[], v: Vals): Tensor {
  if (isBigInt(dtype)) return new Tensor(dtype, [...shape], v as BigInt64Array);
  return Tensor.fromNumbers(dtype, shape, v as Float64Array);
}

/** NaN sorts above every number, as in numpy. */
function compare(a: Num, b: Num): number {
  if (typeof a === "number" && typeof b === "number") {
    const an = Number.isNaN(a), bn = Number.isNaN(b);
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

type Reduction = "none" | "add" | "mul" | "max" | "min";

function reductionOf(ctx: EvalContext, op: string): Reduction {
  const r = ctx.attrs.string("reduction");
  if (r === "none" || r === "add" || r === "mul" || r === "max" || r === "min") return r;
  throw new UnsupportedError(`${op}: reduction '${r}' is not supported`, `${op} reduction=${r}`);
}

/** Binary arithmetic rounded to the dtype after every step, so sequential results match the dtype's own math. */
function arithFor(dtype: DType): (r: Reduction, a: Num, b: Num) => Num {
  if (isBigInt(dtype)) {
    // Storing into the BigInt64/BigUint64 array wraps, as the dtype's arithmetic would.
    return (r, a, b) => (r === "add" ? (a as bigint) + (b as bigint) : r === "mul" ? (a as bigint) * (b as bigint) : pick(r, a, b));
  }
  const round = rounder(dtype);
  // 32-bit integer products can exceed 2^53; Math.imul keeps the exact low 32 bits.
  const mul = dtype === "int32" || dtype === "uint32" ? Math.imul : (a: number, b: number) => a * b;
  return (r, a, b) => (r === "add" ? round((a as number) + (b as number)) : r === "mul" ? round(mul(a as number, b as number)) : pick(r, a, b));
}

function pick(r: Reduction, a: Num, b: Num): Num {
  if (r === "max") return compare(b, a) > 0 ? b : a;
  if (r === "min") return compare(b, a) < 0 ? b : a;
  return b;
}

/** Round a number to what the dtype can hold (float rounding, integer wrap-around). */
function rounder(dtype: DType): (v: number) => number {
  if (dtype === "float64") return (v) => v;
  if (dtype === "float16") return f16round;
  if (dtype === "bool") return (v) => (v !== 0 ? 1 : 0);
  const cell = DTYPE_INFO[dtype].make(1) as Float32Array;
  const int = DTYPE_INFO[dtype].isInt;
  return (v) => {
    cell[0] = int && !Number.isFinite(v) ? 0 : v;
    return cell[0]!;
  };
}

/** Wrap a possibly negative index into [0, dim), or throw naming the op. */
function wrapIndex(i: number, dim: number, op: string): number {
  const j = i < 0 ? i + dim : i;
  if (!Number.isInteger(j) || j < 0 || j >= dim) throw new EvalError(`${op}: index ${i} is out of range for a dimension of size ${dim}`);
  return j;
}

function unravel(flat: number, shape: readonly number[], out: number[]): void {
  for (let d = shape.length - 1; d >= 0; d--) {
    const s = shape[d]!;
    out[d] = flat % s;
    flat = Math.floor(flat / s);
  }
}

function ravel(idx: readonly number[], strides: readonly number[]): number {
  let o = 0;
  for (let d = 0; d < idx.length; d++) o += idx[d]! * strides[d]!;
  return o;
}

/** A scalar int input known at compile time, or undefined. */
function constInt(ctx: InferContext, i: number): number | undefined {
  const t = ctx.constants[i];
  return t !== undefined && t.size >= 1 ? t.ints()[0] : undefined;
}

/** Output slots beyond outputCount or named "" get null. */
function wanted(ctx: EvalContext, i: number): boolean {
  return i < ctx.outputCount && (ctx.node.outputs[i] ?? "") !== "";
}

// ---------------------------------------------------------------------------------------------
// Gather family

const gather: OpDef = {
  name: "Gather",
  pattern: "injective",
  attrs: { axis: { type: "int", default: 0 } },
  infer: (ctx) => {
    const data = inputType(ctx, 0), idx = inputType(ctx, 1);
    if (data.shape === null || idx.shape === null) return [{ dtype: data.dtype, shape: null }];
    const axis = normAxis(ctx.attrs.int("axis"), data.shape.length, "Gather");
    return [{ dtype: data.dtype, shape: [...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)] }];
  },
  evaluate: (ctx) => {
    const data = req(ctx.inputs[0], "Gather", 0), indices = req(ctx.inputs[1], "Gather", 1);
    const axis = normAxis(ctx.attrs.int("axis"), data.rank, "Gather");
    const axisLen = data.shape[axis]!;
    const outer = shapeSize(data.shape.slice(0, axis)), inner = shapeSize(data.shape.slice(axis + 1));
    const idx = indices.ints().map((i) => wrapIndex(i, axisLen, "Gather"));
    const src = valsOf(data) as Store;
    const outShape = [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)];
    const out = emptyVals(data.dtype, shapeSize(outShape));
    const dst = out as Store;
    let o = 0;
    for (let a = 0; a < outer; a++) {
      for (const k of idx) {
        const base = (a * axisLen + k) * inner;
        for (let i = 0; i < inner; i++) dst[o++] = src[base + i]!;
      }
    }
    return [build(data.dtype, outShape, out)];
  },
};

const gatherElements: OpDef = {
  name: "GatherElements",
  pattern: "injective",
  attrs: { axis: { type: "int", default: 0 } },
  infer: (ctx) => [{ dtype: inputType(ctx, 0).dtype, shape: inputType(ctx, 1).shape }],
  evaluate: (ctx) => {
    const data = req(ctx.inputs[0], "GatherElements", 0), indices = req(ctx.inputs[1], "GatherElements", 1);
    const axis = normAxis(ctx.attrs.int("axis"), data.rank, "GatherElements");
    if (indices.rank !== data.rank) throw new EvalError(`GatherElements: indices rank ${indices.rank} differs from data rank ${data.rank}`);
    const strides = stridesOf(data.shape);
    const src = valsOf(data) as Store;
    const idx = indices.ints();
    const out = emptyVals(data.dtype, indices.size);
    const dst = out as Store;
    const pos = new Array<number>(data.rank).fill(0);
    for (let k = 0; k < idx.length; k++) {
      unravel(k, indices.shape, pos);
      pos[axis] = wrapIndex(idx[k]!, data.shape[axis]!, "GatherElements");
      dst[k] = src[ravel(pos, strides)]!;
    }
    return [build(data.dtype, indices.shape, out)];
  },
};

const gatherND: OpDef = {
  name: "GatherND",
  pattern: "injective",
  attrs: { batch_dims: { type: "int", default: 0, since: 12 } },
  infer: (ctx) => {
    const data = inputType(ctx, 0), idx = inputType(ctx, 1);
    const b = ctx.attrs.int("batch_dims");
    if (data.shape === null || idx.shape === null) return [{ dtype: data.dtype, shape: null }];
    const m = idx.shape[idx.shape.length - 1];
    if (typeof m !== "number") return [{ dtype: data.dtype, shape: null }];
    return [{ dtype: data.dtype, shape: [...idx.shape.slice(0, -1), ...data.shape.slice(b + m)] }];
  },
  evaluate: (ctx) => {
    const data = req(ctx.inputs[0], "GatherND", 0), indices = req(ctx.inputs[1], "GatherND", 1);
    const b = ctx.attrs.int("batch_dims");
    const q = indices.rank, m = indices.shape[q - 1]!;
    if (q < 1 || b < 0 || b >= q || b + m > data.rank) {
      throw new EvalError(`GatherND: indices shape [${indices.shape.join(",")}] with batch_dims ${b} does not fit data shape [${data.shape.join(",")}]`);
    }
    for (let d = 0; d < b; d++) {
      if (indices.shape[d] !== data.shape[d]) throw new EvalError(`GatherND: batch dimension ${d} differs between data and indices`);
    }
    const batch = shapeSize(data.shape.slice(0, b));
    const perBatch = shapeSize(indices.shape.slice(b, q - 1));
    const slice = shapeSize(data.shape.slice(b + m));
    const batchSize = shapeSize(data.shape.slice(b));
    const strides = stridesOf(data.shape.slice(b));
    const idx = indices.ints();
    const src = valsOf(data) as Store;
    const outShape = [...indices.shape.slice(0, q - 1), ...data.shape.slice(b + m)];
    const out = emptyVals(data.dtype, shapeSize(outShape));
    const dst = out as Store;
    let o = 0;
    for (let bi = 0; bi < batch; bi++) {
      for (let k = 0; k < perBatch; k++) {
        const row = (bi * perBatch + k) * m;
        let base = bi * batchSize;
        for (let j = 0; j < m; j++) base += wrapIndex(idx[row + j]!, data.shape[b + j]!, "GatherND") * strides[j]!;
        for (let i = 0; i < slice; i++) dst[o++] = src[base + i]!;
      }
    }
    return [build(data.dtype, outShape, out)];
  },
};

// ---------------------------------------------------------------------------------------------
// Scatter family

function scatterElements(op: string, ctx: EvalContext, reduction: Reduction): Tensor {
  const data = req(ctx.inputs[0], op, 0), indices = req(ctx.inputs[1], op, 1), updates = req(ctx.inputs[2], op, 2);
  const axis = normAxis(ctx.attrs.int("axis"), data.rank, op);
  if (indices.rank !== data.rank || updates.shape.join(",") !== indices.shape.join(",")) {
    throw new EvalError(`${op}: indices [${indices.shape.join(",")}] and updates [${updates.shape.join(",")}] must have one shape of data's rank ${data.rank}`);
  }
  const strides = stridesOf(data.shape);
  const out = valsOf(data);
  const dst = out as Store;
  const upd = valsOf(updates) as Store;
  const idx = indices.ints();
  const combine = arithFor(data.dtype);
  const pos = new Array<number>(data.rank).fill(0);
  for (let k = 0; k < idx.length; k++) {
    unravel(k, indices.shape, pos);
    pos[axis] = wrapIndex(idx[k]!, data.shape[axis]!, op);
    const t = ravel(pos, strides);
    dst[t] = combine(reduction, dst[t]!, upd[k]!);
  }
  return build(data.dtype, data.shape, out);
}

const scatter: OpDef = {
  name: "Scatter",
  pattern: "opaque",
  attrs: { axis: { type: "int", default: 0 } },
  infer: sameAsInputUpdatedBy(0, 2),
  evaluate: (ctx) => [scatterElements("Scatter", ctx, "none")],
};

const scatterElementsOp: OpDef = {
  name: "ScatterElements",
  pattern: "opaque",
  attrs: {
    axis: { type: "int", default: 0 },
    reduction: { type: "string", default: "none", since: 16, values: ["none", "add", "mul", "max", "min"] },
  },
  infer: sameAsInputUpdatedBy(0, 2),
  evaluate: (ctx) => [scatterElements("ScatterElements", ctx, reductionOf(ctx, "ScatterElements"))],
};

const scatterND: OpDef = {
  name: "ScatterND",
  pattern: "opaque",
  attrs: { reduction: { type: "string", default: "none", since: 16, values: ["none", "add", "mul", "max", "min"] } },
  infer: sameAsInputUpdatedBy(0, 2),
  evaluate: (ctx) => {
    const data = req(ctx.inputs[0], "ScatterND", 0), indices = req(ctx.inputs[1], "ScatterND", 1);
    const updates = req(ctx.inputs[2], "ScatterND", 2);
    const reduction = reductionOf(ctx, "ScatterND");
    const q = indices.rank, k = indices.shape[q - 1]!;
    const expect = [...indices.shape.slice(0, q - 1), ...data.shape.slice(k)];
    if (q < 1 || k > data.rank || updates.shape.join(",") !== expect.join(",")) {
      throw new EvalError(`ScatterND: updates shape [${updates.shape.join(",")}] should be [${expect.join(",")}]`);
    }
    const n = shapeSize(indices.shape.slice(0, q - 1));
    const slice = shapeSize(data.shape.slice(k));
    const strides = stridesOf(data.shape);
    const idx = indices.ints();
    const out = valsOf(data);
    const dst = out as Store;
    const upd = valsOf(updates) as Store;
    const combine = arithFor(data.dtype);
    for (let r = 0; r < n; r++) {
      let base = 0;
      for (let j = 0; j < k; j++) base += wrapIndex(idx[r * k + j]!, data.shape[j]!, "ScatterND") * strides[j]!;
      for (let i = 0; i < slice; i++) dst[base + i] = combine(reduction, dst[base + i]!, upd[r * slice + i]!);
    }
    return [build(data.dtype, data.shape, out)];
  },
};

/** KV-cache update: per batch entry b, writes update's sequence into the cache at write_indices[b] along axis. */
const tensorScatter: OpDef = {
  name: "TensorScatter",
  pattern: "opaque",
  attrs: {
    axis: { type: "int", default: -2 },
    mode: { type: "string", default: "linear", values: ["linear", "circular"] },
  },
  infer: sameAsInputUpdatedBy(0, 1),
  evaluate: (ctx) => {
    const cache = req(ctx.inputs[0], "TensorScatter", 0), update = req(ctx.inputs[1], "TensorScatter", 1);
    const mode = ctx.attrs.string("mode");
    const axis = normAxis(ctx.attrs.int("axis"), cache.rank, "TensorScatter");
    if (axis === 0) throw new ModelError("TensorScatter: axis must not be the batch axis 0");
    if (update.rank !== cache.rank || cache.shape.some((d, i) => (i === axis ? update.shape[i]! > d : update.shape[i] !== d))) {
      throw new EvalError(`TensorScatter: update shape [${update.shape.join(",")}] does not fit cache shape [${cache.shape.join(",")}] on axis ${axis}`);
    }
    const batch = cache.shape[0]!;
    const wi = ctx.inputs[2] ? ctx.inputs[2].ints() : new Array<number>(batch).fill(0);
    if (wi.length !== batch) throw new EvalError(`TensorScatter: write_indices has ${wi.length} entries for batch ${batch}`);
    const maxLen = cache.shape[axis]!, seqLen = update.shape[axis]!;
    const outer = shapeSize(cache.shape.slice(0, axis)), perBatch = outer / batch;
    const inner = shapeSize(cache.shape.slice(axis + 1));
    const out = valsOf(cache);
    const dst = out as Store;
    const upd = valsOf(update) as Store;
    for (let o = 0; o < outer; o++) {
      const start = wi[Math.floor(o / perBatch)]!;
      for (let s = 0; s < seqLen; s++) {
        let t = start + s;
        if (mode === "circular") t = ((t % maxLen) + maxLen) % maxLen;
        else if (t < 0 || t >= maxLen) throw new EvalError(`TensorScatter: write position ${t} is outside the cache length ${maxLen}`);
        for (let i = 0; i < inner; i++) dst[(o * maxLen + t) * inner + i] = upd[(o * seqLen + s) * inner + i]!;
      }
    }
    return [build(cache.dtype, cache.shape, out)];
  },
};

// ---------------------------------------------------------------------------------------------
// OneHot, Compress, NonZero

/** OneHot's depth, truncated as ONNX does for a float depth; a non-finite one would size no tensor. */
function oneHotDepth(v: number): number {
  const depth = Math.trunc(v);
  if (!Number.isFinite(depth) || depth < 1) throw new EvalError(`OneHot: depth ${v} must be a positive finite number`);
  return depth;
}

const oneHot: OpDef = {
  name: "OneHot",
  pattern: "injective",
  attrs: { axis: { type: "int", default: -1 } },
  infer: (ctx) => {
    const ind = inputType(ctx, 0), values = inputType(ctx, 2);
    if (ind.shape === null) return [{ dtype: values.dtype, shape: null }];
    const axis = normAxis(ctx.attrs.int("axis"), ind.shape.length + 1, "OneHot");
    const depth = constInt(ctx, 1);
    const shape: Dim[] = [...ind.shape];
    shape.splice(axis, 0, depth !== undefined ? oneHotDepth(depth) : ctx.fresh());
    return [{ dtype: values.dtype, shape }];
  },
  evaluate: (ctx) => {
    const ind = req(ctx.inputs[0], "OneHot", 0), depthT = req(ctx.inputs[1], "OneHot", 1), values = req(ctx.inputs[2], "OneHot", 2);
    if (depthT.size !== 1) throw new EvalError("OneHot: depth must hold one value");
    if (values.size !== 2) throw new EvalError("OneHot: values must hold [off_value, on_value]");
    const depth = oneHotDepth(depthT.numbers()[0]!);
    const axis = normAxis(ctx.attrs.int("axis"), ind.rank + 1, "OneHot");
    const vals = valsOf(values) as Store;
    const off = vals[0]!, on = vals[1]!;
    const outer = shapeSize(ind.shape.slice(0, axis)), inner = shapeSize(ind.shape.slice(axis));
    const outShape = [...ind.shape];
    outShape.splice(axis, 0, depth);
    checkShape(outShape, "OneHot output");
    const out = emptyVals(values.dtype, shapeSize(outShape));
    const dst = out as Store;
    const idx = ind.numbers();
    for (let a = 0; a < outer; a++) {
      for (let d = 0; d < depth; d++) {
        for (let i = 0; i < inner; i++) {
          let v = Math.trunc(idx[a * inner + i]!);
          if (v < 0) v += depth;
          dst[(a * depth + d) * inner + i] = v === d ? on : off;
        }
      }
    }
    return [build(values.dtype, outShape, out)];
  },
};

const compress: OpDef = {
  name: "Compress",
  pattern: "opaque",
  attrs: { axis: { type: "int" } },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const cond = ctx.constants[1];
    const count: Dim = cond !== undefined ? cond.ints().filter((v) => v !== 0).length : ctx.fresh();
    const axisAttr = ctx.attrs.optInt("axis");
    if (axisAttr === undefined) return [{ dtype: x.dtype, shape: [count] }];
    if (x.shape === null) return [{ dtype: x.dtype, shape: null }];
    const axis = normAxis(axisAttr, x.shape.length, "Compress");
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (i === axis ? count : d)) }];
  },
  evaluate: (ctx) => {
    const x0 = req(ctx.inputs[0], "Compress", 0), cond = req(ctx.inputs[1], "Compress", 1);
    if (cond.rank !== 1) throw new EvalError(`Compress: condition must be 1-D, got rank ${cond.rank}`);
    const axisAttr = ctx.attrs.optInt("axis");
    const x = axisAttr === undefined ? x0.reshape([x0.size]) : x0;
    const axis = axisAttr === undefined ? 0 : normAxis(axisAttr, x.rank, "Compress");
    const axisLen = x.shape[axis]!;
    if (cond.size > axisLen) throw new EvalError(`Compress: condition has ${cond.size} entries for an axis of ${axisLen}`);
    const keep = cond.ints().flatMap((v, i) => (v !== 0 ? [i] : []));
    const outer = shapeSize(x.shape.slice(0, axis)), inner = shapeSize(x.shape.slice(axis + 1));
    const outShape = x.shape.map((d, i) => (i === axis ? keep.length : d));
    const src = valsOf(x) as Store;
    const out = emptyVals(x.dtype, shapeSize(outShape));
    const dst = out as Store;
    let o = 0;
    for (let a = 0; a < outer; a++) {
      for (const k of keep) for (let i = 0; i < inner; i++) dst[o++] = src[(a * axisLen + k) * inner + i]!;
    }
    return [build(x.dtype, outShape, out)];
  },
};

const nonZero: OpDef = {
  name: "NonZero",
  pattern: "opaque",
  attrs: {},
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    if (x.shape === null) return [{ dtype: "int64", shape: null }];
    const c = ctx.constants[0];
    const count: Dim = c !== undefined ? c.numbers().filter((v) => v !== 0).length : ctx.fresh();
    return [{ dtype: "int64", shape: [x.shape.length, count] }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "NonZero", 0);
    const v = x.numbers();
    const hits: number[] = [];
    for (let i = 0; i < v.length; i++) if (v[i] !== 0) hits.push(i);
    const r = x.rank, n = hits.length;
    const out = new Float64Array(r * n);
    const pos = new Array<number>(r).fill(0);
    hits.forEach((flat, j) => {
      unravel(flat, x.shape, pos);
      for (let d = 0; d < r; d++) out[d * n + j] = pos[d]!;
    });
    return [Tensor.fromNumbers("int64", [r, n], out)];
  },
};

// ---------------------------------------------------------------------------------------------
// TopK, Unique

function topKCount(ctx: { opset: number; attrs: InferContext["attrs"] }, kInput: Tensor | undefined): number | undefined {
  if (ctx.opset < 10) return ctx.attrs.int("k");
  return kInput !== undefined && kInput.size >= 1 ? kInput.ints()[0] : undefined;
}

const topK: OpDef = {
  name: "TopK",
  pattern: "opaque",
  attrs: {
    k: { type: "int", until: 10 },
    axis: { type: "int", default: -1 },
    largest: { type: "int", default: 1, since: 11 },
    sorted: { type: "int", default: 1, since: 11 },
  },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    let shape: Dim[] | null = null;
    if (x.shape !== null) {
      const axis = normAxis(ctx.attrs.int("axis"), x.shape.length, "TopK");
      const k: Dim = topKCount(ctx, ctx.constants[1]) ?? ctx.fresh();
      shape = x.shape.map((d, i) => (i === axis ? k : d));
    }
    const types: TensorType[] = [{ dtype: x.dtype, shape }, { dtype: "int64", shape }];
    return types.slice(0, Math.max(1, ctx.outputCount));
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "TopK", 0);
    const k = topKCount(ctx, ctx.opset < 10 ? undefined : req(ctx.inputs[1], "TopK", 1))!;
    const axis = normAxis(ctx.attrs.int("axis"), x.rank, "TopK");
    const largest = ctx.attrs.int("largest") !== 0;
    const axisLen = x.shape[axis]!;
    if (!Number.isInteger(k) || k < 0 || k > axisLen) throw new EvalError(`TopK: k ${k} is out of range for an axis of ${axisLen}`);
    const outer = shapeSize(x.shape.slice(0, axis)), inner = shapeSize(x.shape.slice(axis + 1));
    const outShape = x.shape.map((d, i) => (i === axis ? k : d));
    const src = valsOf(x) as Store;
    const out = emptyVals(x.dtype, shapeSize(outShape));
    const dst = out as Store;
    const outIdx = new Float64Array(out.length);
    // Results are always sorted (sorted=0 leaves the order unspecified); ties keep the smaller index first.
    const order = Array.from({ length: axisLen }, (_, i) => i);
    for (let a = 0; a < outer; a++) {
      for (let i = 0; i < inner; i++) {
        const at = (j: number) => src[(a * axisLen + j) * inner + i]!;
        order.sort((p, q) => (largest ? compare(at(q), at(p)) : compare(at(p), at(q))) || p - q);
        for (let j = 0; j < k; j++) {
          const o = (a * k + j) * inner + i;
          dst[o] = at(order[j]!);
          outIdx[o] = order[j]!;
        }
      }
    }
    return [wanted(ctx, 0) ? build(x.dtype, outShape, out) : null, wanted(ctx, 1) ? Tensor.fromNumbers("int64", outShape, outIdx) : null];
  },
};

const unique: OpDef = {
  name: "Unique",
  pattern: "opaque",
  attrs: { sorted: { type: "int", default: 1 }, axis: { type: "int" } },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const n = ctx.fresh();
    const axisAttr = ctx.attrs.optInt("axis");
    let y: Dim[] | null = [n];
    let inv: Dim[] | null = x.shape === null ? null : [dimProduct(x.shape)];
    if (axisAttr !== undefined) {
      if (x.shape === null) {
        y = null;
      } else {
        const axis = normAxis(axisAttr, x.shape.length, "Unique");
        y = x.shape.map((d, i) => (i === axis ? n : d));
        inv = [x.shape[axis]!];
      }
    }
    const types: TensorType[] = [{ dtype: x.dtype, shape: y }, { dtype: "int64", shape: [n] }, { dtype: "int64", shape: inv }, { dtype: "int64", shape: [n] }];
    return types.slice(0, Math.max(1, ctx.outputCount));
  },
  evaluate: (ctx) => {
    const x0 = req(ctx.inputs[0], "Unique", 0);
    const axisAttr = ctx.attrs.optInt("axis");
    const x = axisAttr === undefined ? x0.reshape([x0.size]) : x0;
    const axis = axisAttr === undefined ? 0 : normAxis(axisAttr, x.rank, "Unique");
    const axisLen = x.shape[axis]!;
    const outer = shapeSize(x.shape.slice(0, axis)), inner = shapeSize(x.shape.slice(axis + 1));
    const src = valsOf(x) as Store;
    // Slice j along the axis, flattened in row-major order of the remaining dims.
    const slices: Num[][] = [];
    for (let j = 0; j < axisLen; j++) {
      const s: Num[] = [];
      for (let a = 0; a < outer; a++) for (let i = 0; i < inner; i++) s.push(src[(a * axisLen + j) * inner + i]!);
      slices.push(s);
    }
    const cmpSlices = (p: Num[], q: Num[]) => {
      for (let i = 0; i < p.length; i++) {
        const c = compare(p[i]!, q[i]!);
        if (c !== 0) return c;
      }
      return 0;
    };
    // Unique groups in order of first occurrence; the key treats -0 as 0 and NaNs as equal, as numpy does.
    const groups = new Map<string, number>();
    const firsts: number[] = [];
    const inverse = new Array<number>(axisLen);
    const counts: number[] = [];
    for (let j = 0; j < axisLen; j++) {
      const key = slices[j]!.join(",");
      const g = groups.get(key);
      if (g !== undefined) {
        inverse[j] = g;
        counts[g]!++;
      } else {
        inverse[j] = firsts.length;
        groups.set(key, firsts.length);
        firsts.push(j);
        counts.push(1);
      }
    }
    let order = firsts.map((_, g) => g);
    if (ctx.attrs.int("sorted") !== 0) order = order.sort((p, q) => cmpSlices(slices[firsts[p]!]!, slices[firsts[q]!]!));
    const rank = new Array<number>(order.length);
    order.forEach((g, r) => (rank[g] = r));
    const n = order.length;
    const yShape = x.shape.map((d, i) => (i === axis ? n : d));
    const y = emptyVals(x.dtype, shapeSize(yShape));
    const dst = y as Store;
    order.forEach((g, r) => {
      const s = slices[firsts[g]!]!;
      let t = 0;
      for (let a = 0; a < outer; a++) for (let i = 0; i < inner; i++) dst[(a * n + r) * inner + i] = s[t++]!;
    });
    const outs = [
      build(x.dtype, yShape, y),
      Tensor.fromNumbers("int64", [n], order.map((g) => firsts[g]!)),
      Tensor.fromNumbers("int64", [axisLen], inverse.map((g) => rank[g]!)),
      Tensor.fromNumbers("int64", [n], order.map((g) => counts[g]!)),
    ];
    return outs.map((t, i) => (wanted(ctx, i) ? t : null));
  },
};

// ---------------------------------------------------------------------------------------------
// CumSum, CumProd

function cumulative(name: string, reduction: "add" | "mul"): OpDef {
  return {
    name,
    pattern: "opaque",
    attrs: { exclusive: { type: "int", default: 0 }, reverse: { type: "int", default: 0 } },
    infer: sameAsInput(0),
    evaluate: (ctx) => {
      const x = req(ctx.inputs[0], name, 0), axisT = req(ctx.inputs[1], name, 1);
      if (axisT.size !== 1) throw new EvalError(`${name}: axis must hold one value`);
      const axis = normAxis(axisT.ints()[0]!, x.rank, name);
      const exclusive = ctx.attrs.int("exclusive") !== 0, reverse = ctx.attrs.int("reverse") !== 0;
      const axisLen = x.shape[axis]!;
      const outer = shapeSize(x.shape.slice(0, axis)), inner = shapeSize(x.shape.slice(axis + 1));
      const src = valsOf(x) as Store;
      const out = emptyVals(x.dtype, x.size);
      const dst = out as Store;
      const big = isBigInt(x.dtype);
      const combine = arithFor(x.dtype);
      const identity: Num = reduction === "add" ? (big ? 0n : 0) : big ? 1n : 1;
      for (let a = 0; a < outer; a++) {
        for (let i = 0; i < inner; i++) {
          let acc = identity;
          for (let s = 0; s < axisLen; s++) {
            const j = reverse ? axisLen - 1 - s : s;
            const at = (a * axisLen + j) * inner + i;
            if (exclusive) {
              dst[at] = acc;
              acc = combine(reduction, acc, src[at]!);
            } else {
              acc = combine(reduction, acc, src[at]!);
              dst[at] = acc;
            }
          }
        }
      }
      return [build(x.dtype, x.shape, out)];
    },
  };
}

export const ops: OpDef[] = [
  gather, gatherElements, gatherND,
  scatter, scatterElementsOp, scatterND, tensorScatter,
  oneHot, compress, nonZero,
  topK, unique,
  cumulative("CumSum", "add"), cumulative("CumProd", "mul"),
];
