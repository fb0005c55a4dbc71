/** Reductions: Reduce*, ArgMax, ArgMin. */
import { ModelError } from "../ir/errors.js";
import { Tensor, shapeSize, stridesOf } from "../ir/tensor.js";
import type { Dim, TensorType } from "../ir/types.js";
import type { AttrSchema, InferContext, OpDef } from "./registry.js";
import { inputType, normAxes, normAxis, req } from "./util.js";

/**
 * Groups the elements of a tensor of `shape` by their position with `axes` removed: returns,
 * for each output element (row-major over the kept dims), the list of its input values.
 */
export function groupAlong(values: Float64Array, shape: readonly number[], axes: ReadonlySet<number>): number[][] {
  const outShape = shape.map((d, i) => (axes.has(i) ? 1 : d));
  const outStrides = stridesOf(outShape);
  const groups: number[][] = Array.from({ length: shapeSize(outShape) }, () => []);
  const rank = shape.length;
  const counter = new Array<number>(rank).fill(0);
  let off = 0;
  for (let k = 0; k < values.length; k++) {
    groups[off]!.push(values[k]!);
    for (let d = rank - 1; d >= 0; d--) {
      counter[d]!++;
      if (!axes.has(d)) off += outStrides[d]!;
      if (counter[d]! < shape[d]!) break;
      if (!axes.has(d)) off -= outStrides[d]! * counter[d]!;
      counter[d] = 0;
    }
  }
  return groups;
}

/** Where the op's axes come from at this opset. */
function axesFromInput(op: string, opset: number): boolean {
  return op === "ReduceSum" ? opset >= 13 : opset >= 18;
}

/**
 * The normalized reduction axes, or null when they come from an input whose value is unknown.
 * An empty list with noop_with_empty_axes means "reduce nothing"; plain empty means all axes.
 */
export function reductionAxes(
  ctx: Pick<InferContext, "node" | "opset" | "attrs">,
  axesValue: Tensor | null | undefined,
  axesGiven: boolean,
  rank: number,
): number[] | null {
  const op = ctx.node.op;
  let axes: readonly number[] | undefined;
  if (axesFromInput(op, ctx.opset)) {
    if (axesGiven && axesValue === undefined) return null;
    axes = axesValue ? axesValue.ints() : undefined;
  } else {
    axes = ctx.attrs.optInts("axes");
  }
  if (axes === undefined || axes.length === 0) {
    const noop = axesFromInput(op, ctx.opset) && ctx.attrs.int("noop_with_empty_axes") !== 0;
    return noop ? [] : Array.from({ length: rank }, (_, i) => i);
  }
  const norm = normAxes(axes, rank, op);
  if (new Set(norm).size !== norm.length) throw new ModelError(`${op}: repeated axis in [${axes.join(",")}]`);
  return norm;
}

function reduceAttrs(op: string): AttrSchema {
  const moved = op === "ReduceSum" ? 13 : 18;
  return {
    axes: { type: "ints", until: moved },
    keepdims: { type: "int", default: 1 },
    noop_with_empty_axes: { type: "int", default: 0, since: moved },
  };
}

function reduceOutShape<D extends Dim>(shape: readonly D[], axes: readonly number[], keep: boolean): Dim[] {
  const set = new Set(axes);
  const out: Dim[] = [];
  shape.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keep) out.push(1);
  });
  return out;
}

function inferReduce(ctx: InferContext, outDtype?: TensorType["dtype"]): (TensorType | null)[] {
  const x = inputType(ctx, 0);
  const dtype = outDtype ?? x.dtype;
  if (x.shape === null) return [{ dtype, shape: null }];
  const axesGiven = ctx.inputs[1] !== null && ctx.inputs[1] !== undefined;
  const axes = reductionAxes(ctx, ctx.constants[1], axesGiven, x.shape.length);
  const keep = ctx.attrs.int("keepdims") !== 0;
  if (axes === null) {
    // Unknown axes: with keepdims the rank is kept but any dim may become 1.
    return [{ dtype, shape: keep ? x.shape.map(() => ctx.fresh()) : null }];
  }
  return [{ dtype, shape: reduceOutShape(x.shape, axes, keep) }];
}

/** A reduction defined by what it computes from one group of values (possibly empty). */
function reduceOp(name: string, f: (vals: number[]) => number): OpDef {
  return {
    name,
    pattern: "reduction",
    attrs: reduceAttrs(name),
    infer: (ctx) => inferReduce(ctx),
    evaluate: (ctx) => {
      const x = req(ctx.inputs[0], name, 0);
      const axesT = ctx.inputs[1] ?? null;
      const axes = reductionAxes(ctx, axesT, axesT !== null, x.rank)!;
      const keep = ctx.attrs.int("keepdims") !== 0;
      const groups = groupAlong(x.numbers(), x.shape, new Set(axes));
      const out = groups.map(f);
      return [Tensor.fromNumbers(x.dtype, reduceOutShape(x.shape, axes, keep) as number[], out)];
    },
  };
}

const sum = (v: number[]): number => v.reduce((a, b) => a + b, 0);

/** Largest value (-Infinity if empty); a loop, since spreading a long array overflows the stack. */
export function maxOf(v: readonly number[]): number {
  let m = -Infinity;
  for (const x of v) if (x > m || Number.isNaN(x)) m = x;
  return m;
}

function logSumExp(v: number[]): number {
  const m = maxOf(v);
  if (!Number.isFinite(m)) return Math.log(sum(v.map(Math.exp)));
  return m + Math.log(sum(v.map((x) => Math.exp(x - m))));
}

const reductions: OpDef[] = [
  reduceOp("ReduceSum", sum),
  reduceOp("ReduceMean", (v) => sum(v) / v.length),
  reduceOp("ReduceMax", maxOf),
  reduceOp("ReduceMin", (v) => v.reduce((a, b) => (b < a || Number.isNaN(b) ? b : a), Infinity)),
  reduceOp("ReduceProd", (v) => v.reduce((a, b) => a * b, 1)),
  reduceOp("ReduceL1", (v) => sum(v.map(Math.abs))),
  reduceOp("ReduceL2", (v) => Math.sqrt(sum(v.map((x) => x * x)))),
  reduceOp("ReduceLogSum", (v) => Math.log(sum(v))),
  reduceOp("ReduceLogSumExp", logSumExp),
  reduceOp("ReduceSumSquare", (v) => sum(v.map((x) => x * x))),
];

/** ArgMax / ArgMin: `better(a, b)` says whether a strictly beats b. */
function argOp(name: string, better: (a: number, b: number) => boolean): OpDef {
  return {
    name,
    pattern: "reduction",
    attrs: {
      axis: { type: "int", default: 0 },
      keepdims: { type: "int", default: 1 },
      select_last_index: { type: "int", default: 0, since: 12 },
    },
    infer: (ctx) => {
      const x = inputType(ctx, 0);
      if (x.shape === null) return [{ dtype: "int64", shape: null }];
      const axis = normAxis(ctx.attrs.int("axis"), x.shape.length, name);
      return [{ dtype: "int64", shape: reduceOutShape(x.shape, [axis], ctx.attrs.int("keepdims") !== 0) }];
    },
    evaluate: (ctx) => {
      const x = req(ctx.inputs[0], name, 0);
      const axis = normAxis(ctx.attrs.int("axis"), x.rank, name);
      const last = ctx.attrs.int("select_last_index") !== 0;
      const groups = groupAlong(x.numbers(), x.shape, new Set([axis]));
      const out = groups.map((g) => {
        if (g.length === 0) throw new ModelError(`${name}: cannot reduce an empty axis`);
        let best = 0;
        for (let i = 1; i < g.length; i++) {
          if (better(g[i]!, g[best]!) || (last && g[i] === g[best])) best = i;
        }
        return best;
      });
      return [Tensor.fromNumbers("int64", reduceOutShape(x.shape, [axis], ctx.attrs.int("keepdims") !== 0) as number[], out)];
    },
  };
}

export const ops: OpDef[] = [
  ...reductions,
  argOp("ArgMax", (a, b) => a > b),
  argOp("ArgMin", (a, b) => a < b),
];

