/** Batching products that share weights over the rows of one value (an RNN's input projections). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import { batchSharedWeights } from "../../src/passes/batch-shared-weights.js";
import { eliminateDeadCode } from "../../src/passes/dce.js";
import { assertSameOutputs, i64, opsOf, rand, typed } from "./graph-helpers.js";

/** Rows 0..3 of x [4, 6] each through Gemm(row, W, b) and a Tanh, plus products that must stay apart. */
function projections() {
  const b = new GraphBuilder("t", { "": 17 });
  const x = b.input("x", "float32", [4, 6]);
  const w = b.weight("W", rand([6, 5], 1)), bias = b.weight("b", rand([5], 2)), other = b.weight("V", rand([6, 5], 3));
  const row = (t: number) => b.node("Slice", [x, b.weight(`s${t}`, i64([t])), b.weight(`e${t}`, i64([t + 1])), b.weight("axis0", i64([0]))]);
  for (let t = 0; t < 4; t++) b.output(b.node("Tanh", [b.node("Gemm", [row(t), w, bias])]));
  b.output(b.node("Gemm", [row(1), other, bias])); // other weights: alone in its group
  b.output(b.node("Gemm", [row(2), w, bias], { alpha: 0.5 })); // other attributes
  b.output(b.node("MatMul", [row(0), w]));
  b.output(b.node("MatMul", [row(3), w]));
  return typed(b.build());
}

describe("batch-shared-weights", () => {
  it("makes one product over all rows for each group of two or more, sliced per row, with the same outputs", () => {
    const m = projections();
    const out = batchSharedWeights.run(m);
    const g = eliminateDeadCode(out.graph);
    const products = g.nodes.filter((n) => n.op === "Gemm" || n.op === "MatMul");
    // The 4 Gemms with W and b become one over x; the MatMul pair one more; the two singletons stay.
    assert.equal(products.length, 4, opsOf({ ...out, graph: g }).join(" "));
    assert.equal(products.filter((n) => n.inputs[0] === "x").length, 2);
    assertSameOutputs(m, { ...m, graph: g }, new Map([["x", rand([4, 6], 7)]]));
  });

  it("leaves products over values that are not rows of one matrix alone", () => {
    const b = new GraphBuilder("t", { "": 17 });
    const x = b.input("x", "float32", [1, 6]);
    const w = b.weight("W", rand([6, 5], 1));
    b.output(b.node("MatMul", [x, w]));
    b.output(b.node("MatMul", [b.node("Relu", [x]), w]));
    const m = typed(b.build());
    assert.equal(batchSharedWeights.run(m).graph, m.graph);
  });
});
