/** Dead code elimination and common subexpression elimination on small hand-built graphs. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import { verifyGraph } from "../../src/ir/verify.js";
import { eliminateCommonSubexpressions } from "../../src/passes/cse.js";
import { eliminateDeadCode } from "../../src/passes/dce.js";
import { assertSameOutputs, f32, i64, opsOf, rand, typed } from "./graph-helpers.js";

const feeds23 = () => new Map([["x", rand([2, 3], 7)]]);

describe("dce", () => {
  it("drops a dead chain of nodes and keeps the live ones", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, 3]);
    b.node("Exp", [b.node("Abs", [x])]);
    b.output(b.node("Neg", [x]));
    const m = typed(b.build());
    const g = eliminateDeadCode(m.graph);
    verifyGraph(g);
    assert.deepEqual(g.nodes.map((n) => n.op), ["Neg"]);
    assert.deepEqual([...g.valueTypes.keys()].sort(), ["neg2"]);
    assertSameOutputs(m, { ...m, graph: g }, feeds23());
  });

  it("drops initializers nobody reads", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, 3]);
    b.weight("unused", f32([2], [1, 2]));
    b.output(b.node("Add", [x, b.weight("used", f32([3], [1, 2, 3]))]));
    const g = eliminateDeadCode(b.build().graph);
    assert.deepEqual([...g.initializers.keys()], ["used"]);
  });

  it("keeps an initializer read only by a dead node's live sibling and drops the one only the dead node read", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, 3]);
    b.node("Mul", [x, b.weight("dead_w", f32([], [2]))]);
    b.output(b.node("Mul", [x, b.weight("live_w", f32([], [3]))]));
    const g = eliminateDeadCode(b.build().graph);
    assert.deepEqual([...g.initializers.keys()], ["live_w"]);
    assert.deepEqual(g.nodes.map((n) => n.inputs[1]), ["live_w"]);
  });

  it("an unread secondary output becomes \"\"", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [4, 3]);
    const [first] = b.nodeN("Split", [x, b.weight("parts", i64([1, 3]))], 2, { axis: 0 });
    b.output(b.node("Neg", [first!]));
    const m = typed(b.build());
    const g = eliminateDeadCode(m.graph);
    assert.deepEqual(g.nodes.map((n) => n.outputs), [[first, ""], ["neg1"]]);
    assert.equal(g.valueTypes.has("split0_1"), false);
    assertSameOutputs(m, { ...m, graph: g }, new Map([["x", rand([4, 3], 8)]]));
  });

  it("keeps a node whose only output is a graph output", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, 3]);
    const y = b.node("Neg", [x]);
    b.output(y);
    b.output(x);
    const g = eliminateDeadCode(b.build().graph);
    assert.deepEqual(g.nodes.map((n) => n.op), ["Neg"]);
  });
});

describe("cse", () => {
  it("merges duplicate nodes, so their consumers read one value", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, 3]);
    const a = b.node("Exp", [b.node("Neg", [x])]);
    const c = b.node("Exp", [b.node("Neg", [x])]);
    b.output(b.node("Sub", [a, c]));
    const m = typed(b.build());
    const g = eliminateDeadCode(eliminateCommonSubexpressions(m.graph));
    verifyGraph(g);
    assert.deepEqual(g.nodes.map((n) => n.op), ["Neg", "Exp", "Sub"]);
    assert.deepEqual(g.nodes[2]!.inputs, [a, a]);
    assertSameOutputs(m, { ...m, graph: g }, feeds23());
  });

  it("merges equal constants, and then the nodes over them", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, 3]);
    const p = b.node("Mul", [x, b.weight("c1", f32([3], [1, 2, 3]))]);
    const q = b.node("Mul", [x, b.weight("c2", f32([3], [1, 2, 3]))]);
    const r = b.node("Mul", [x, b.weight("c3", f32([3], [1, 2, 4]))]);
    b.output(b.node("Sum", [p, q, r]));
    const m = typed(b.build());
    const g = eliminateDeadCode(eliminateCommonSubexpressions(m.graph));
    verifyGraph(g);
    assert.deepEqual([...g.initializers.keys()], ["c1", "c3"]);
    assert.deepEqual(g.nodes.map((n) => n.op), ["Mul", "Mul", "Sum"]);
    assert.deepEqual(g.nodes[2]!.inputs, [p, p, r]);
    assertSameOutputs(m, { ...m, graph: g }, feeds23());
  });

  it("does not merge nodes whose attributes differ", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, 3, 4]);
    b.output(b.node("Add", [b.node("Transpose", [x], { perm: [0, 2, 1] }), b.node("Transpose", [x], { perm: [0, 2, 1] })]));
    b.output(b.node("Transpose", [x], { perm: [2, 1, 0] }));
    const g = eliminateDeadCode(eliminateCommonSubexpressions(b.build().graph));
    assert.deepEqual(g.nodes.map((n) => n.op), ["Transpose", "Add", "Transpose"]);
  });

  it("does not merge away a node that defines a graph output", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, 3]);
    const y1 = b.node("Neg", [x]);
    const y2 = b.node("Neg", [x]);
    b.output(y1);
    b.output(y2);
    const m = typed(b.build());
    const g = eliminateCommonSubexpressions(m.graph);
    verifyGraph(g);
    assert.deepEqual(g.nodes.map((n) => n.outputs[0]), [y1, y2]);
    assertSameOutputs(m, { ...m, graph: g }, feeds23());
  });

  it("a later duplicate reads the graph-output node instead of recomputing", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, 3]);
    const y = b.node("Neg", [x]);
    b.output(y);
    b.output(b.node("Exp", [b.node("Neg", [x])]));
    const m = typed(b.build());
    const g = eliminateDeadCode(eliminateCommonSubexpressions(m.graph));
    assert.deepEqual(opsOf({ ...m, graph: g }), ["Neg", "Exp"]);
    assert.deepEqual(g.nodes[1]!.inputs, [y]);
    assertSameOutputs(m, { ...m, graph: g }, feeds23());
  });

  it("does not confuse input lists whose names contain commas", () => {
    // Concat("a,b", "c") and Concat("a", "b,c") read different values but join to the same text.
    const b = new GraphBuilder("t");
    for (const v of ["a,b", "c", "a", "b,c"]) b.input(v, "float32", [1]);
    b.output(b.node("Concat", ["a,b", "c"], { axis: 0 }));
    b.output(b.node("Exp", [b.node("Concat", ["a", "b,c"], { axis: 0 })]));
    const m = typed(b.build());
    const g = eliminateCommonSubexpressions(m.graph);
    const feeds = new Map([["a,b", f32([1], [1])], ["c", f32([1], [2])], ["a", f32([1], [3])], ["b,c", f32([1], [4])]]);
    assertSameOutputs(m, { ...m, graph: g }, feeds);
  });

  it("never merges random ops", () => {
    const b = new GraphBuilder("t");
    const attrs = { shape: [2, 3], dtype: 1 };
    b.output(b.node("Add", [b.node("RandomUniform", [], attrs), b.node("RandomUniform", [], attrs)]));
    b.output(b.node("Add", [b.node("RandomNormal", [], attrs), b.node("RandomNormal", [], attrs)]));
    const g = eliminateCommonSubexpressions(b.build().graph);
    assert.deepEqual(g.nodes.map((n) => n.op), ["RandomUniform", "RandomUniform", "Add", "RandomNormal", "RandomNormal", "Add"]);
    assert.notEqual(g.nodes[2]!.inputs[0], g.nodes[2]!.inputs[1]);
  });
});
