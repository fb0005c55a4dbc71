/** Which ops lower to the loop IR, by ONNX op type (and, for kiln:InLayout bodies, on blocked data). */
import { col2im } from "./col2im.js";
import { ELEMENTWISE_LOWERINGS } from "./elementwise.js";
import type { Access, OpLowering } from "./lowering.js";
import { MOVEMENT_LOWERINGS } from "./movement.js";
import { poolLowering } from "./pool.js";
import { REDUCE_LOWERINGS, reduceStage } from "./reduce.js";
import { RESIZE_LOWERINGS } from "./resize.js";
import { type Expr, div, lit } from "../loopir/expr.js";

export const LOWERINGS: Readonly<Record<string, OpLowering>> = {
  ...ELEMENTWISE_LOWERINGS,
  ...MOVEMENT_LOWERINGS,
  ...REDUCE_LOWERINGS,
  ...RESIZE_LOWERINGS,
  MaxPool: poolLowering("max", false),
  AveragePool: poolLowering("avg", false),
  Col2Im: col2im,
};

/** Global pooling over the spatial axes of [N, C/b, spatial..., b]. */
function blockedGlobalPool(kind: "sum" | "max"): OpLowering {
  return (ctx) => {
    const x = ctx.inputs[0]!;
    const axes = x.shape.map((_, d) => d).slice(2, -1);
    const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
    const r = reduceStage(ctx, x, axes, kind, (index) => x.at(index));
    return [kind === "sum" ? { shape: r.shape, at: (index: readonly Expr[]) => div(r.at(index), lit(count, "f32")) } satisfies Access : r];
  };
}

/**
 * Ops of kiln:InLayout bodies that lower straight onto the blocked data (channel-wise ops, whose
 * lanes are independent). Other InLayout bodies lower in NCHW terms through index remapping;
 * Conv is an anchor (anchors.ts).
 */
export const BLOCKED_LOWERINGS: Readonly<Record<string, OpLowering>> = {
  MaxPool: poolLowering("max", true),
  AveragePool: poolLowering("avg", true),
  GlobalAveragePool: blockedGlobalPool("sum"),
  GlobalMaxPool: blockedGlobalPool("max"),
};
