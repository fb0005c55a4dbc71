/**
 * Lowering of reductions: the Reduce* family, global pooling and Softmax/LogSoftmax. Each
 * reduction is a compute stage shaped like its input with the reduced axes kept as 1; the
 * finishing arithmetic (a mean's division, softmax's normalization) composes on top of it.
 */
import { type Reduce, reduceMax, reduceMin, reduceSum } from "../loopir/compute.js";
import { type Expr, add, and, call, div, exp, ge, le, lit, lt, mul, select, sub, type Var } from "../loopir/expr.js";
import { reductionAxes } from "../ops/reduce.js";
import { normAxis } from "../ops/util.js";
import { broadcastAt } from "./elementwise.js";
import type { Access, OpLowerContext, OpLowering } from "./lowering.js";

/** The largest finite float32. */
const FLT_MAX = 3.4028234663852886e38;

const f32 = (v: number) => lit(v, "f32");
const log = (x: Expr) => call("log", x);

type Kind = "sum" | "max" | "min";
const REDUCE: Record<Kind, (v: Expr, axes: Parameters<typeof reduceSum>[1]) => Reduce> = { sum: reduceSum, max: reduceMax, min: reduceMin };

/**
 * A stage reducing `value(index)` over `axes` of `x`: shaped like x with those axes 1; `value`
 * sees the input index with the reduced axes bound to the reduction variables.
 */
export function reduceStage(ctx: OpLowerContext, x: Access, axes: readonly number[], kind: Kind, value: (index: readonly Expr[]) => Expr): Access {
  const shape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const rs = axes.map((a) => ctx.reduceAxis(x.shape[a]!));
  return ctx.stage(shape, (index: readonly Var[]) => {
    const at = index.map((v, d): Expr => (axes.includes(d) ? rs[axes.indexOf(d)]!.v : v));
    return REDUCE[kind](value(at), rs);
  });
}

/** A Reduce* op's axes (an attribute or a constant input), or why they cannot be lowered. */
function constantAxes(ctx: OpLowerContext, x: Access): number[] | string {
  const given = ctx.node.inputs[1] !== undefined && ctx.node.inputs[1] !== "";
  const axes = reductionAxes(ctx, given ? ctx.constants[1] ?? undefined : null, given, x.shape.length);
  if (axes === null) return "reduction axes are not constant";
  if (axes.some((a) => x.shape[a] === 0)) return "reduction over an empty axis";
  return axes;
}

/** The index of a reduction result (reduced axes kept as 1) for an index of its input. */
const keepAt = (axes: readonly number[]) => (index: readonly Expr[]) => index.map((e, d) => (axes.includes(d) ? lit(0, "int") : e));

/** Drop the kept-as-1 axes of a reduction result (keepdims = 0). */
function squeezed(r: Access, axes: readonly number[], shape: readonly number[]): Access {
  return {
    shape,
    at: (index: readonly Expr[]) => {
      let k = 0;
      return r.at(r.shape.map((_, d) => (axes.includes(d) ? lit(0, "int") : index[k++]!)));
    },
  };
}

/** A Reduce* op: `kind` over `value(x)`, then `finish(result, count)`. */
function reduceOp(kind: Kind, value: (x: Expr) => Expr, finish: (r: Expr, count: number) => Expr = (r) => r): OpLowering {
  return (ctx) => {
    const x = ctx.inputs[0]!;
    const axes = constantAxes(ctx, x);
    if (typeof axes === "string") return axes;
    const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
    const r = reduceStage(ctx, x, axes, kind, (index) => value(x.at(index)));
    const done: Access = { shape: r.shape, at: (index: readonly Expr[]) => finish(r.at(index), count) };
    return [ctx.attrs.int("keepdims") ? done : squeezed(done, axes, ctx.outputShapes[0]!)];
  };
}

const square = (x: Expr) => mul(x, x);

/** GlobalAveragePool/GlobalMaxPool: over every axis after the first two. */
function globalPool(kind: "sum" | "max"): OpLowering {
  return (ctx) => {
    const x = ctx.inputs[0]!;
    const axes = x.shape.map((_, d) => d).slice(2);
    const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
    const r = reduceStage(ctx, x, axes, kind, (index) => x.at(index));
    return [kind === "sum" ? { shape: r.shape, at: (index: readonly Expr[]) => div(r.at(index), f32(count)) } : r];
  };
}

/** Softmax and LogSoftmax: along one axis from opset 13, over all axes from `axis` before. */
function softmax(logarithm: boolean): OpLowering {
  return (ctx) => {
    const x = ctx.inputs[0]!;
    const rank = x.shape.length;
    if (rank === 0) return "Softmax of a scalar";
    const axis = normAxis(ctx.attrs.int("axis"), rank, ctx.node.op);
    const axes = ctx.opset >= 13 ? [axis] : x.shape.map((_, d) => d).slice(axis);
    const m = reduceStage(ctx, x, axes, "max", (index) => x.at(index));
    const keep = keepAt(axes);
    const s = reduceStage(ctx, x, axes, "sum", (index) => exp(sub(x.at(index), m.at(keep(index)))));
    return [{
      shape: x.shape,
      at: (index: readonly Expr[]) => {
        const shifted = sub(x.at(index), m.at(keep(index)));
        return logarithm ? sub(shifted, log(s.at(keep(index)))) : div(exp(shifted), s.at(keep(index)));
      },
    }];
  };
}

/** LRN: x / (bias + alpha/size * sum of squares over the channel window)^beta. */
const lrn: OpLowering = (ctx) => {
  const x = ctx.inputs[0]!;
  if (x.shape.length < 2) return "LRN of rank < 2";
  const [alpha, beta, bias, size] = [ctx.attrs.float("alpha"), ctx.attrs.float("beta"), ctx.attrs.float("bias"), ctx.attrs.int("size")];
  // The window [c - lo, c + hi] is cut to the channels: no wider than 2C - 1 whatever the size.
  const channels = x.shape[1]!, lo = Math.min(Math.floor((size - 1) / 2), channels - 1);
  const span = lo + Math.min(Math.ceil((size - 1) / 2), channels - 1) + 1;
  const square = (index: readonly Expr[], c: Expr) => {
    const v = x.at([index[0]!, c, ...index.slice(2)]);
    return select(and(ge(c, 0), lt(c, channels)), mul(v, v), f32(0));
  };
  // A short window is summed in the element's own expression: no stage, so the kernel stays
  // elementwise (vectorized, parallel) on any layout; a long one is a reduction stage.
  let sum: (index: readonly Expr[]) => Expr;
  if (span <= INLINE_WINDOW) {
    sum = (index) => Array.from({ length: span }, (_, r) => square(index, add(index[1]!, r - lo))).reduce<Expr>((a, b) => add(a, b), f32(0));
  } else {
    const r = ctx.reduceAxis(span);
    const sq = ctx.stage(x.shape, (index) => reduceSum(square(index, add(sub(index[1]!, lo), r.v)), [r]));
    sum = (index) => sq.at(index);
  }
  return [{
    shape: x.shape,
    at: (index: readonly Expr[]) => div(x.at(index), power(add(mul(sum(index), f32(alpha / size)), f32(bias)), beta)),
  }];
};

/** LRN windows up to this many channels are summed inline. */
const INLINE_WINDOW = 16;

/**
 * base^beta for base > 0 (LRN's base is at least its positive bias). The usual exponents are
 * square roots, single f32x4 instructions; others take exp(beta * log(base)), which runs lane
 * by lane through the f64 log.
 */
function power(base: Expr, beta: number): Expr {
  const root = (v: Expr) => call("sqrt", v);
  if (beta === 1) return base;
  if (beta === 0.5) return root(base);
  if (beta === 0.75) return mul(root(base), root(root(base)));
  return exp(mul(log(base), f32(beta)));
}

/** A constant per-channel vector (axis 1) read at a channel index, or why not. */
function channelVector(ctx: OpLowerContext, i: number): ((c: Expr) => Expr) | string {
  const a = ctx.inputs[i];
  if (!a) return `input ${i} is missing`;
  if (a.shape.length !== 1) return `input ${i} is not a vector`;
  return (c) => a.at([c]);
}

/** BatchNormalization in inference: a per-channel affine map. */
const batchNormalization: OpLowering = (ctx) => {
  const x = ctx.inputs[0]!;
  if (ctx.node.outputs.slice(1).some((o) => o !== "")) return "BatchNormalization with training outputs";
  if ((ctx.opset >= 14 && ctx.attrs.int("training_mode") !== 0) || (ctx.opset < 7 && ctx.attrs.int("is_test") === 0)) return "BatchNormalization in training mode";
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => channelVector(ctx, i));
  for (const v of [scale, bias, mean, variance]) if (typeof v === "string") return v;
  const [sc, b, m, v] = [scale, bias, mean, variance] as ((c: Expr) => Expr)[];
  const eps = f32(ctx.attrs.float("epsilon"));
  return [{
    shape: x.shape,
    at: (index: readonly Expr[]) => {
      const c = index[1]!;
      return add(mul(div(sub(x.at(index), m!(c)), call("sqrt", add(v!(c), eps))), sc!(c)), b!(c));
    },
  }];
};

/** (x - mean) / sqrt(var + eps) over `axes`, from a mean stage and a variance stage. */
function normalized(ctx: OpLowerContext, x: Access, axes: readonly number[], eps: number): Access {
  const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
  const keep = keepAt(axes);
  const sum = reduceStage(ctx, x, axes, "sum", (index) => x.at(index));
  const mean = (index: readonly Expr[]) => div(sum.at(keep(index)), f32(count));
  const sq = reduceStage(ctx, x, axes, "sum", (index) => {
    const d = sub(x.at(index), mean(index));
    return mul(d, d);
  });
  return { shape: x.shape, at: (index) => div(sub(x.at(index), mean(index)), call("sqrt", add(div(sq.at(keep(index)), f32(count)), f32(eps)))) };
}

const layerNormalization: OpLowering = (ctx) => {
  const x = ctx.inputs[0]!;
  if (ctx.node.outputs.slice(1).some((o) => o !== "")) return "LayerNormalization with mean or inverse std outputs";
  const axis = normAxis(ctx.attrs.int("axis"), x.shape.length, "LayerNormalization");
  const n = normalized(ctx, x, x.shape.map((_, d) => d).slice(axis), ctx.attrs.float("epsilon"));
  const [scale, bias] = [ctx.inputs[1]!, ctx.inputs[2]];
  return [{ shape: x.shape, at: (index: readonly Expr[]) => {
    const y = mul(n.at(index), broadcastAt(scale, index));
    return bias ? add(y, broadcastAt(bias, index)) : y;
  } }];
};

const instanceNormalization: OpLowering = (ctx) => {
  const x = ctx.inputs[0]!;
  if (x.shape.length < 3) return "InstanceNormalization of rank < 3";
  const n = normalized(ctx, x, x.shape.map((_, d) => d).slice(2), ctx.attrs.float("epsilon"));
  const [scale, bias] = [channelVector(ctx, 1), channelVector(ctx, 2)];
  if (typeof scale === "string") return scale;
  if (typeof bias === "string") return bias;
  return [{ shape: x.shape, at: (index: readonly Expr[]) => add(mul(n.at(index), scale(index[1]!)), bias(index[1]!)) }];
};

/**
 * log(sum(exp(x))) as shift + log(sum(exp(x - shift))), stable for large inputs, with shift the
 * max when it is finite and 0 otherwise (as the reference: all -inf gives -inf, a +inf gives
 * +inf, where subtracting an infinite max would give NaN).
 */
const reduceLogSumExp: OpLowering = (ctx) => {
  const x = ctx.inputs[0]!;
  const axes = constantAxes(ctx, x);
  if (typeof axes === "string") return axes;
  const keep = keepAt(axes);
  const m = reduceStage(ctx, x, axes, "max", (index) => x.at(index));
  const shift = (index: readonly Expr[]) => {
    const v = m.at(index);
    return select(le(call("abs", v), lit(FLT_MAX, "f32")), v, lit(0, "f32"));
  };
  const s = reduceStage(ctx, x, axes, "sum", (index) => exp(sub(x.at(index), shift(keep(index)))));
  const done: Access = { shape: s.shape, at: (index) => add(shift(index), log(s.at(index))) };
  return [ctx.attrs.int("keepdims") ? done : squeezed(done, axes, ctx.outputShapes[0]!)];
};

export const REDUCE_LOWERINGS: Readonly<Record<string, OpLowering>> = {
  ReduceSum: reduceOp("sum", (x) => x),
  ReduceMean: reduceOp("sum", (x) => x, (r, n) => div(r, f32(n))),
  ReduceMax: reduceOp("max", (x) => x),
  ReduceMin: reduceOp("min", (x) => x),
  ReduceL1: reduceOp("sum", (x) => call("abs", x)),
  ReduceL2: reduceOp("sum", square, (r) => call("sqrt", r)),
  ReduceSumSquare: reduceOp("sum", square),
  ReduceLogSum: reduceOp("sum", (x) => x, (r) => log(r)),
  GlobalAveragePool: globalPool("sum"),
  GlobalMaxPool: globalPool("max"),
  Softmax: softmax(false),
  LogSoftmax: softmax(true),
  LRN: lrn,
  BatchNormalization: batchNormalization,
  LayerNormalization: layerNormalization,
  InstanceNormalization: instanceNormalization,
  ReduceLogSumExp: reduceLogSumExp,
};
