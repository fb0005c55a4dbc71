/** Shared helpers for the optimizer tests: small graphs, typed models, and numeric comparison. */
import assert from "node:assert/strict";
import { compareTensors } from "../../src/conformance/compare.js";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import type { Model } from "../../src/ir/graph.js";
import { randomTensor, rng } from "../../src/ir/random.js";
import { Tensor } from "../../src/ir/tensor.js";
import { verifyGraph } from "../../src/ir/verify.js";
import { inferModel } from "../../src/ops/inference.js";
import { runModel } from "../../src/ops/interpreter.js";
import "../../src/ops/index.js";

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

/**
 * A seeded random DAG over inputs x, y of shape [R, C] mixing every pattern kind: elementwise,
 * broadcast, injective (Reshape), reduction (ReduceSum then a broadcasting Add back to [R, C]),
 * opaque (Softmax) and anchors (MatMul); some intermediate values are graph outputs too.
 */
export function randomGraph(seed: number, [rows, cols]: readonly [number, number]): Model {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const b = new GraphBuilder(`random${seed}`);
  const values = [b.input("x", "float32", [rows, cols]), b.input("y", "float32", [rows, cols])];
  const outputs = new Set<string>();
  const axes = b.weight("axes", i64([1]));
  const shape = b.weight("shape", i64([rows, cols]));
  const w = b.weight("W", rand([cols, cols], seed, -0.5, 0.5));
  for (let k = 0; k < 14; k++) {
    const a = pick(values), c = pick(values);
    const v = pick([
      () => b.node(pick(["Neg", "Abs", "Relu"]), [a]),
      () => b.node(pick(["Add", "Sub", "Mul"]), [a, c]),
      () => b.node("Reshape", [a, shape]),
      () => b.node("Add", [b.node("ReduceSum", [a, axes]), c]),
      () => b.node("Softmax", [a], { axis: 1 }),
      () => b.node("MatMul", [a, w]),
    ])();
    values.push(v);
    if (r() < 0.2) outputs.add(v);
  }
  outputs.add(values.at(-1)!);
  for (const o of outputs) b.output(o);
  return b.build();
}
