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

  it("stacks separate rows that do not depend on the group's products, and leaves a fed-back row alone", () => {
    // y0 = x W and z = relu(x) W are independent; y1 = tanh(y0) W reads y0, so it stays a product of its own.
    const b = new GraphBuilder("t", { "": 17 });
    const x = b.input("x", "float32", [1, 6]);
    const w = b.weight("W", rand([6, 6], 1));
    const y0 = b.node("MatMul", [x, w]);
    const y1 = b.node("MatMul", [b.node("Tanh", [y0]), w]);
    b.output(y1);
    b.output(b.node("MatMul", [b.node("Relu", [x]), w]));
    const m = typed(b.build());
    const g = eliminateDeadCode(batchSharedWeights.run(m).graph);
    const products = g.nodes.filter((n) => n.op === "MatMul");
    assert.equal(products.length, 2, opsOf({ ...m, graph: g }).join(" "));
    assert.equal(g.nodes.filter((n) => n.op === "Concat").length, 1);
    // The stacked product comes after both of its rows' producers (the graph was reordered).
    const at = (v: string) => g.nodes.findIndex((n) => n.outputs.includes(v));
    const concat = g.nodes.find((n) => n.op === "Concat")!;
    assert.ok(concat.inputs.every((v) => v === "x" || at(v) < at(concat.outputs[0]!)));
    assertSameOutputs(m, { ...m, graph: g }, new Map([["x", rand([1, 6], 7)]]));
  });

  it("stacks at most 32 separate rows to a product, split evenly, so the rows' consumers can start before the last row", () => {
    // 70 independent rows (a layer's inputs from the layer below): three products of 24, 24 and 22 rows.
    const b = new GraphBuilder("t", { "": 17 });
    const x = b.input("x", "float32", [70, 4]);
    const w = b.weight("W", rand([4, 3], 1));
    const tanh = b.node("Tanh", [x]);
    for (let t = 0; t < 70; t++) {
      const row = b.node("Slice", [tanh, b.weight(`s${t}`, i64([t])), b.weight(`e${t}`, i64([t + 1])), b.weight("axis0", i64([0]))]);
      b.output(b.node("MatMul", [b.node("Relu", [row]), w]));
    }
    const m = typed(b.build());
    const g = eliminateDeadCode(batchSharedWeights.run(m).graph);
    const stacks = g.nodes.filter((n) => n.op === "Concat");
    assert.deepEqual(stacks.map((n) => n.inputs.length), [24, 24, 22]);
    assert.equal(g.nodes.filter((n) => n.op === "MatMul").length, 3);
    assertSameOutputs(m, { ...m, graph: g }, new Map([["x", rand([70, 4], 7)]]));
  });

  it("leaves products alone when every row depends on the one before (a decoder's feedback)", () => {
    const b = new GraphBuilder("t", { "": 17 });
    let y = b.input("x", "float32", [1, 6]);
    const w = b.weight("W", rand([6, 6], 1));
    for (let t = 0; t < 3; t++) y = b.node("Tanh", [b.node("MatMul", [y, w])]);
    b.output(y);
    const m = typed(b.build());
    assert.equal(batchSharedWeights.run(m).graph, m.graph);
  });
});
