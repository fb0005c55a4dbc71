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
import { inlineIfPass } from "./inline-if.js";
import { layoutPass } from "./layout.js";
import { runPasses, type Pass, type PassManagerOptions, type PassStats } from "./pass.js";
import { rewritePass } from "./rewrite.js";
import { SIMPLIFY_RULES } from "./simplify-rules.js";

export const inferShapes: Pass = { name: "infer-shapes", run: inferModel };

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

export const DEFAULT_PIPELINE: readonly Pass[] = [...SIMPLIFY_PIPELINE, layoutPass, inferShapes, fusePass];

export function optimize(model: Model, options: PassManagerOptions & { passes?: readonly Pass[] } = {}): { model: Model; stats: PassStats[] } {
  return runPasses(model, options.passes ?? DEFAULT_PIPELINE, options);
}
