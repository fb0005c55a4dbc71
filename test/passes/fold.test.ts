/** Constant folding: all-constant subgraphs become initializers, Shape of static values folds, the size cap holds. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import { verifyGraph } from "../../src/ir/verify.js";
import { eliminateDeadCode } from "../../src/passes/dce.js";
import { foldConstants } from "../../src/passes/fold-constants.js";
import { assertSameOutputs, f32, i64, opsOf, rand, typed } from "./graph-helpers.js";
import type { Model } from "../../src/ir/graph.js";

function fold(m: Model, cap?: number): Model {
  const graph = eliminateDeadCode(foldConstants(m.graph, m.opsets, cap));
  verifyGraph(graph);
  return { ...m, graph };
}

describe("fold-constants", () => {
  it("folds an all-constant subgraph into one initializer", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, 3]);
    const c = b.node("Neg", [b.node("Add", [b.weight("a", f32([3], [1, 2, 3])), b.weight("b", f32([3], [10, 20, 30]))])]);
    b.output(b.node("Mul", [x, c]));
    const m = typed(b.build());
    const out = fold(m);
    assert.deepEqual(opsOf(out), ["Mul"]);
    assert.deepEqual([...out.graph.initializers.keys()], [c]);
    assert.deepEqual(out.graph.initializers.get(c)!.numbers(), new Float64Array([-11, -22, -33]));
    assertSameOutputs(m, out, new Map([["x", rand([2, 3], 1)]]));
  });

  it("keeps a constant node that defines a graph output", () => {
    const b = new GraphBuilder("t");
    b.input("x", "float32", [2]);
    b.output(b.node("Add", [b.weight("a", f32([2], [1, 2])), b.weight("b", f32([2], [3, 4]))]));
    const m = typed(b.build());
    const out = fold(m);
    assert.deepEqual(opsOf(out), ["Add"]);
    assertSameOutputs(m, out, new Map([["x", rand([2], 2)]]));
  });

  it("folds Shape and Size of a statically shaped value", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, 3, 4]);
    const e = b.node("Exp", [x]);
    const shape = b.node("Shape", [e], { start: 1 });
    b.output(b.node("Reshape", [b.node("Neg", [e]), b.node("Concat", [b.weight("minus1", i64([-1])), shape], { axis: 0 })]));
    b.output(b.node("Size", [e]), "int64");
    const m = typed(b.build());
    const out = fold(m);
    assert.deepEqual(opsOf(out), ["Exp", "Neg", "Reshape", "Size"]);
    const newShape = out.graph.initializers.get(out.graph.nodes[2]!.inputs[1]!)!;
    assert.deepEqual(Array.from(newShape.numbers()), [-1, 3, 4]);
    assertSameOutputs(m, out, new Map([["x", rand([2, 3, 4], 3)]]));
  });

  it("folds Shape of a static value of any size (Whisper's [1,1500,384] activations have 576,000 elements)", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [1, 1500, 384]);
    const e = b.node("Exp", [x]);
    const batch = b.node("Gather", [b.node("Shape", [e]), b.weight("zero", i64([0]))], { axis: 0 });
    const shape = b.node("Concat", [batch, b.weight("rest", i64([1500, 384]))], { axis: 0 });
    b.output(b.node("Reshape", [e, shape]));
    const out = fold(typed(b.build()));
    assert.deepEqual(opsOf(out), ["Exp", "Reshape"]);
    assert.deepEqual(Array.from(out.graph.initializers.get(out.graph.nodes[1]!.inputs[1]!)!.numbers()), [1, 1500, 384]);
  });

  it("does not fold Shape of a value with a symbolic dimension", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", ["N", 3]);
    b.output(b.node("Reshape", [x, b.node("Shape", [x])]));
    const m = typed(b.build());
    assert.deepEqual(opsOf(fold(m)), ["Shape", "Reshape"]);
  });

  it("respects the size cap", () => {
    const build = () => {
      const b = new GraphBuilder("t");
      const x = b.input("x", "float32", [4, 8]);
      const big = b.node("ConstantOfShape", [b.weight("shape", i64([4, 8]))], { value: f32([1], [2]) });
      b.output(b.node("Mul", [x, big]));
      return typed(b.build());
    };
    const feeds = new Map([["x", rand([4, 8], 4)]]);
    const m = build();
    // 32 float32 values are 128 bytes.
    const capped = fold(m, 127);
    assert.deepEqual(opsOf(capped), ["ConstantOfShape", "Mul"]);
    assertSameOutputs(m, capped, feeds);
    const folded = fold(m, 128);
    assert.deepEqual(opsOf(folded), ["Mul"]);
    assertSameOutputs(m, folded, feeds);
  });

  it("respects the size cap when the output type is unknown (checked after evaluation)", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [4, 8]);
    b.output(b.node("Mul", [x, b.node("ConstantOfShape", [b.weight("shape", i64([4, 8]))], { value: f32([1], [2]) })]));
    const m = b.build(); // no inferred types
    assert.deepEqual(opsOf(fold(m, 127)), ["ConstantOfShape", "Mul"]);
  });
});
