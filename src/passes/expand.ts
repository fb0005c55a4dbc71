/**
 * Ops the loop IR has no lowering for (or no fast one), rewritten into ops it has: the ONNX LSTM
 * unrolled into its cells, 1-D convolutions as 2-D ones, ConvTranspose as a MatMul into
 * Col2Im. Types are inferred again when a rule fired, for
 * the simplifications after it.
 */
import type { Model } from "../ir/graph.js";
import { inferModel } from "../ops/inference.js";
import { conv1dAs2d } from "./conv-1d.js";
import { convTransposeAsCol2Im } from "./conv-transpose.js";
import { expandLstm } from "./expand-lstm.js";
import type { Pass } from "./pass.js";
import { rewriteGraph } from "./rewrite.js";

export const EXPAND_RULES = [expandLstm, conv1dAs2d, convTransposeAsCol2Im];

export const expandPass: Pass = {
  name: "expand",
  run: (m: Model) => {
    const { graph, fired } = rewriteGraph(m.graph, m.opsets, EXPAND_RULES);
    return fired.size === 0 ? m : inferModel({ ...m, graph }, { signatures: false });
  },
};
