/** Shared helpers for the optimizer tests: small graphs, typed models, and numeric comparison. */
import assert from "node:assert/strict";
import { compareTensors } from "../../src/conformance/compare.js";
import type { Model } from "../../src/ir/graph.js";
import { randomTensor } from "../../src/ir/random.js";
import { Tensor } from "../../src/ir/tensor.js";
import { verifyGraph } from "../../src/ir/verify.js";
import { inferModel } from "../../src/ops/inference.js";
import { runModel } from "../../src/ops/interpreter.js";
import { findOp } from "../../src/ops/registry.js";
import "../../src/ops/index.js";

/**
 * Relu lives in the activation family, written on another branch; until it lands, Abs (also an
 * elementwise op, which is all these tests rely on) stands in for it.
 */
export const RELU = findOp("Relu") ? "Relu" : "Abs";

export const f32 = (shape: readonly number[], values: readonly number[]) => Tensor.fromNumbers("float32", shape, values);
export const i64 = (values: readonly number[]) => Tensor.fromNumbers("int64", [values.length], values);
export const rand = (shape: readonly number[], seed: number, lo = -1, hi = 1) => randomTensor("float32", shape, seed, lo, hi);

/** The model with every value's type inferred (rules and passes read the types). */
export const typed = (m: Model): Model => inferModel(m);

export const opsOf = (m: Model): string[] => m.graph.nodes.map((n) => n.op);

/** Same outputs through the reference interpreter, within a float32-rounding tolerance. */
export function assertSameOutputs(original: Model, transformed: Model, feeds: ReadonlyMap<string, Tensor>, rtol = 1e-5): void {
  verifyGraph(transformed.graph);
  const want = runModel(original, feeds);
  const got = runModel(transformed, feeds);
  assert.deepEqual([...got.keys()], [...want.keys()]);
  for (const [name, w] of want) {
    const diff = compareTensors(w, got.get(name)!, { rtol, atol: 1e-6 });
    assert.equal(diff, null, `output ${name}: ${diff}`);
  }
}
