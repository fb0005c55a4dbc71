/**
 * Lowering of MaxPool and AveragePool, in NCHW or in the blocked layout NCHW[b]c (where the
 * trailing lane axis is one more independent axis, so the lanes vectorize). A pool is a
 * reduction over the kernel taps; taps in the padding are skipped by a select.
 */
import { reduceMax, reduceSum } from "../loopir/compute.js";
import { type Expr, add, and, cast, div, ge, lit, lt, max, min, mul, select, sub } from "../loopir/expr.js";
import { readWindowAttrs, resolveWindow } from "../ops/conv.js";
import type { OpLowering } from "./lowering.js";

const int = (v: number) => lit(v, "int");

/** `blocked`: the input is [N, C/b, spatial..., b] rather than [N, C, spatial...]. */
export function poolLowering(kind: "max" | "avg", blocked: boolean): OpLowering {
  return (ctx) => {
    const x = ctx.inputs[0]!;
    if (ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== "") return "MaxPool with an Indices output";
    const spatial = x.shape.map((_, d) => d).slice(2, blocked ? -1 : undefined);
    const inDims = spatial.map((d) => x.shape[d]!);
    const ceil = ctx.opset >= 10 && ctx.attrs.int("ceil_mode") !== 0;
    const kernel = ctx.attrs.ints("kernel_shape");
    const win = resolveWindow(readWindowAttrs(ctx, kernel, ceil, ctx.attrs.string("auto_pad")), inDims);
    if (kind === "avg" && win.dilations.some((d) => d !== 1)) return "AveragePool with dilations";
    if (ctx.node.op === "MaxPool" && ctx.attrs.int("storage_order") !== 0) return "MaxPool storage_order";
    const includePad = kind === "avg" && ctx.opset >= 7 && ctx.attrs.int("count_include_pad") !== 0;
    const outShape = [...x.shape];
    spatial.forEach((d, i) => (outShape[d] = win.outShape[i]!));
    const taps = kernel.map((k) => ctx.reduceAxis(k));

    /** The first input position of each spatial axis's window for output index `index`. */
    const starts = (index: readonly Expr[]) => spatial.map((d, i) => sub(mul(index[d]!, win.strides[i]!), win.padsBegin[i]!));
    const r = ctx.stage(outShape, (index) => {
      const s = starts(index);
      const pos = spatial.map((_, i) => add(s[i]!, mul(taps[i]!.v, win.dilations[i]!)));
      const src = index.map((e, d) => (spatial.includes(d) ? pos[spatial.indexOf(d)]! : e));
      const inside = and(...pos.flatMap((p, i) => [ge(p, 0), lt(p, inDims[i]!)]));
      const value = select(inside, x.at(src), lit(kind === "max" ? -Infinity : 0, "f32"));
      return kind === "max" ? reduceMax(value, taps) : reduceSum(value, taps);
    });
    if (kind === "max") return [r];
    // The divisor: taps inside the input, or inside input plus explicit padding (dilation 1).
    const count = (index: readonly Expr[]) => starts(index).reduce<Expr>((acc, s, i) => {
      const end = min(add(s, kernel[i]!), inDims[i]! + (includePad ? win.padsEnd[i]! : 0));
      return mul(acc, sub(end, includePad ? s : max(s, 0)));
    }, int(1));
    return [{ shape: outShape, at: (index: readonly Expr[]) => div(r.at(index), cast("f32", count(index))) }];
  };
}
