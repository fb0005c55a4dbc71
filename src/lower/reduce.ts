/**
 * Lowering of reductions: the Reduce* family, global pooling and Softmax/LogSoftmax. Each
 * reduction is a compute stage shaped like its input with the reduced axes kept as 1; the
 * finishing arithmetic (a mean's division, softmax's normalization) composes on top of it.
 */
import { type Reduce, reduceMax, reduceMin, reduceSum } from "../loopir/compute.js";
import { type Expr, add, and, call, div, exp, ge, lit, lt, mul, select, sub, type Var } from "../loopir/expr.js";
import { reductionAxes } from "../ops/reduce.js";
import { normAxis } from "../ops/util.js";
import type { Access, OpLowerContext, OpLowering } from "./lowering.js";

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
    const axesGiven = ctx.node.inputs[1] !== undefined && ctx.node.inputs[1] !== "";
    const axes = reductionAxes(ctx, axesGiven ? ctx.constants[1] ?? undefined : null, axesGiven, x.shape.length);
    if (axes === null) return "reduction axes are not constant";
    if (axes.some((a) => x.shape[a] === 0)) return "reduction over an empty axis";
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
    const keep = (index: readonly Expr[]) => index.map((e, d) => (axes.includes(d) ? lit(0, "int") : e));
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
  const channels = x.shape[1]!, lo = Math.floor((size - 1) / 2);
  const r = ctx.reduceAxis(size);
  const sq = ctx.stage(x.shape, (index) => {
    const c = add(sub(index[1]!, lo), r.v);
    const v = x.at([index[0]!, c, ...index.slice(2)]);
    return reduceSum(select(and(ge(c, 0), lt(c, channels)), mul(v, v), f32(0)), [r]);
  });
  return [{
    shape: x.shape,
    // base^beta as exp(beta * log(base)); base >= bias > 0 for the usual positive bias.
    at: (index: readonly Expr[]) => div(x.at(index), exp(mul(log(add(mul(sq.at(index), f32(alpha / size)), f32(bias))), f32(beta)))),
  }];
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
};
