/**
 * ConvTranspose as a MatMul into Col2Im: the columns Wᵀ·X (every input pixel's contribution to
 * each output channel and kernel tap) come from the GEMM kernel, and Col2Im gathers each output
 * element's few taps from them (src/lower/col2im.ts). Groups are a batch axis of the MatMul.
 * Col2Im's end pads are chosen so that its blocks are exactly the input pixels: negative where
 * output_padding extends the output, whose extra elements then receive no tap (only the bias).
 */
import { Tensor, shapeSize } from "../ir/tensor.js";
import { isStaticShape } from "../ir/types.js";
import { convTransposeGeometry, kernelOf } from "../ops/conv.js";
import { opsetFor } from "../ops/interpreter.js";
import { Attrs, getOp } from "../ops/registry.js";
import { canReshape, ruleEmitter } from "./emitter.js";
import type { Rule } from "./rewrite.js";

/** W [C, Mg, K...] as [G, Mg*K, Cg]: each group's weights transposed for Wᵀ·X. */
function groupedTranspose(w: Tensor, group: number): Tensor {
  const [channels, perGroup] = w.shape as [number, number];
  const cg = channels / group, rows = perGroup * (shapeSize(w.shape) / (channels * perGroup));
  const src = w.numbers(), out = new Float32Array(src.length);
  for (let g = 0; g < group; g++) for (let c = 0; c < cg; c++) for (let r = 0; r < rows; r++) {
    out[(g * rows + r) * cg + c] = src[(g * cg + c) * rows + r]!;
  }
  return new Tensor("float32", [group, rows, cg], out);
}

export const convTransposeAsCol2Im: Rule = {
  name: "conv-transpose-as-col2im",
  op: "ConvTranspose",
  apply: (node, ctx) => {
    const [x, w, bias] = node.inputs;
    const xt = ctx.type(x!), wt = ctx.type(w!), yt = ctx.type(node.outputs[0]!);
    if (xt?.dtype !== "float32" || !isStaticShape(xt.shape) || !wt || !isStaticShape(wt.shape) || !yt || !isStaticShape(yt.shape)) return null;
    if (!canReshape(ctx, xt.shape, wt.shape, yt.shape) || xt.shape.length < 3) return null;
    const attrs = new Attrs(node, getOp("ConvTranspose").attrs, opsetFor(ctx.opsets, "ConvTranspose"));
    const group = attrs.int("group");
    const [n, channels] = xt.shape as [number, number];
    const spatial = xt.shape.slice(2), outSpatial = yt.shape.slice(2);
    const kernel = kernelOf({ node, attrs }, wt.shape, spatial.length);
    if (!kernel || channels % group !== 0 || wt.shape[0] !== channels) return null;
    const { padsBegin } = convTransposeGeometry({ attrs }, kernel, spatial);
    const strides = attrs.optInts("strides") ?? kernel.map(() => 1);
    const dilations = attrs.optInts("dilations") ?? kernel.map(() => 1);
    // The full extent s*(in-1) + d*(k-1) + 1 of the scatter, less the output and its begin pad.
    const padsEnd = spatial.map((d, i) => strides[i]! * (d - 1) + dilations[i]! * (kernel[i]! - 1) + 1 - outSpatial[i]! - padsBegin[i]!);
    const perGroup = wt.shape[1]!, taps = shapeSize(kernel), pixels = shapeSize(spatial), cg = channels / group;

    const e = ruleEmitter(ctx, node.outputs[0]!, opsetFor(ctx.opsets, ""));
    const wc = ctx.constant(w!);
    const weights = wc
      ? e.constant(groupedTranspose(wc, group))
      : e.node("Transpose", [e.reshape(w!, [group, cg, perGroup * taps])], { perm: { type: "ints", value: [0, 2, 1] } });
    const columns = e.node("MatMul", [weights, e.reshape(x!, [n, group, cg, pixels])]);
    const ints = (v: readonly number[]) => ({ type: "ints", value: v }) as const;
    let y = e.node("Col2Im", [e.reshape(columns, [n, group * perGroup * taps, pixels]), e.ints(outSpatial), e.ints(kernel)], {
      strides: ints(strides), dilations: ints(dilations), pads: ints([...padsBegin, ...padsEnd]),
    });
    if (bias) y = e.node("Add", [y, e.reshape(bias, [group * perGroup, ...spatial.map(() => 1)])]);
    return e.rewrite(node.outputs, [y]);
  },
};
