/**
 * Conv over one spatial axis as a 2-D Conv over a height of 1, so that the blocked 2-D conv
 * kernels serve 1-D convolutions (audio front ends, temporal convolutions) too.
 */
import type { Attr } from "../ir/graph.js";
import { Tensor } from "../ir/tensor.js";
import { isStaticShape } from "../ir/types.js";
import { opsetFor } from "../ops/interpreter.js";
import { canReshape, ruleEmitter } from "./emitter.js";
import type { Rule } from "./rewrite.js";

/** A 1-D window attribute with a leading entry for the new height axis (pads: one per side). */
function widened(a: Attr | undefined, height: number): Attr | undefined {
  if (a?.type !== "ints") return a;
  const v = a.value;
  return { type: "ints", value: v.length === 2 ? [height, v[0]!, height, v[1]!] : [height, ...v] };
}

export const conv1dAs2d: Rule = {
  name: "conv-1d-as-2d",
  op: "Conv",
  apply: (node, ctx) => {
    const [x, w, bias] = node.inputs;
    const xt = ctx.type(x!), wt = ctx.type(w!), yt = ctx.type(node.outputs[0]!);
    if (!xt || !isStaticShape(xt.shape) || xt.shape.length !== 3 || !wt || !isStaticShape(wt.shape) || !yt || !isStaticShape(yt.shape)) return null;
    if (!canReshape(ctx, xt.shape, wt.shape, yt.shape)) return null;
    const attrs: Record<string, Attr> = { ...node.attrs };
    for (const [name, height] of [["kernel_shape", 1], ["strides", 1], ["dilations", 1], ["pads", 0]] as const) {
      const a = widened(node.attrs[name], height);
      if (a) attrs[name] = a;
    }
    const e = ruleEmitter(ctx, node.outputs[0]!, opsetFor(ctx.opsets, ""));
    const [N, C, L] = xt.shape;
    const [M, Cg, K] = wt.shape;
    const wc = ctx.constant(w!);
    const w2 = wc ? e.constant(new Tensor(wc.dtype, [M!, Cg!, 1, K!], wc.data)) : e.reshape(w!, [M!, Cg!, 1, K!]);
    const y = e.node("Conv", [e.reshape(x!, [N!, C!, 1, L!]), w2, ...(bias ? [bias] : [])], attrs);
    return e.rewrite(node.outputs, [e.reshape(y, yt.shape)]);
  },
};
