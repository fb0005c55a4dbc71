/**
 * The graph optimizer, top to bottom. Each stage is a named pass; the manager verifies the IR
 * after each one and can dump it.
 */
import type { Model } from "../ir/graph.js";
import { inferModel } from "../ops/inference.js";
import { batchSharedWeights } from "./batch-shared-weights.js";
import { cse } from "./cse.js";
import { dce } from "./dce.js";
import { expandPass } from "./expand.js";
import { foldConstantsPass } from "./fold-constants.js";
import { fusePass } from "./fuse.js";
import { waveOrder } from "./graph-utils.js";
import { inlineIfPass } from "./inline-if.js";
import { layoutPass } from "./layout.js";
import { runPasses, type Pass, type PassManagerOptions, type PassStats } from "./pass.js";
import { rewritePass } from "./rewrite.js";
import { SIMPLIFY_RULES } from "./simplify-rules.js";

/** Re-inference between passes: kiln's rewrites were checked when made, not against the model's opset. */
export const inferShapes: Pass = { name: "infer-shapes", run: (m) => inferModel(m, { signatures: false }) };

/** Everything up to (not including) fusion: the optimized graph in plain ONNX ops. */
export const SIMPLIFY_PIPELINE: readonly Pass[] = [
  inferShapes,
  foldConstantsPass,
  inlineIfPass,
  expandPass,
  rewritePass("simplify", SIMPLIFY_RULES),
  dce,
  cse,
  foldConstantsPass,
  batchSharedWeights,
  dce,
  inferShapes,
];

/**
 * The fused graph's nodes wave by wave: the memory plan keeps apart the buffers of nodes that may
 * run at the same time, so a scheduler that runs a wave's nodes side by side finds them
 * independent (see memory-plan.ts).
 */
export const waveOrderPass: Pass = { name: "wave-order", run: (m: Model) => ({ ...m, graph: { ...m.graph, nodes: waveOrder(m.graph.nodes) } }) };

export const DEFAULT_PIPELINE: readonly Pass[] = [...SIMPLIFY_PIPELINE, layoutPass, inferShapes, fusePass, waveOrderPass];

export function optimize(model: Model, options: PassManagerOptions & { passes?: readonly Pass[] } = {}): { model: Model; stats: PassStats[] } {
  return runPasses(model, options.passes ?? DEFAULT_PIPELINE, options);
}
