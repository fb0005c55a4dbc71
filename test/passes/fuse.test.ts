/**
 * Operator fusion: which nodes end up in one kiln:Fused group, that no group holds two anchors
 * or an opaque op with others, that groups are convex, and that the fused graph verifies and
 * computes the same numbers as the original.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import type { Graph, Model, Node } from "../../src/ir/graph.js";
import type { Tensor } from "../../src/ir/tensor.js";
import { patternOf } from "../../src/ops/registry.js";
import { fuseOperators } from "../../src/passes/fuse.js";
import { nodeReads } from "../../src/passes/graph-utils.js";
import { assertSameOutputs, i64, opsOf, rand, randomGraph, typed } from "./graph-helpers.js";

const C = 4;
const xFeeds = () => new Map([["x", rand([1, 3, 6, 6], 40)]]);

function conv(b: GraphBuilder, x: string, cin: number, seed: number): string {
  return b.node("Conv", [x, b.weight(`w${seed}`, rand([C, cin, 3, 3], seed))], { pads: [1, 1, 1, 1] });
}

const bodyOps = (n: Node): string[] => {
  const body = n.attrs["body"];
  assert.ok(body?.type === "graph");
  return body.value.nodes.map((m) => m.op);
};

const isAnchor = (n: Node) => ["out-elementwise-fusable", "reduction"].includes(patternOf(n));

/** No path leaves a group and comes back into it (so the groups form a DAG). */
function assertConvex(g: Graph, groups: readonly (readonly Node[])[]): void {
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o !== "") producer.set(o, n);
  const consumers = new Map<Node, Node[]>(g.nodes.map((n) => [n, []]));
  for (const n of g.nodes) for (const v of nodeReads(n)) {
    const p = producer.get(v);
    if (p) consumers.get(p)!.push(n);
  }
  for (const group of groups) {
    const inGroup = new Set(group);
    // Walk from the group's members through outside nodes only; reaching a member again breaks convexity.
    const stack = group.flatMap((m) => consumers.get(m)!).filter((c) => !inGroup.has(c));
    const seen = new Set<Node>();
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const c of consumers.get(n)!) {
        assert.ok(!inGroup.has(c), `group [${group.map((m) => m.name).join(",")}] is not convex: a path leaves it at ${n.name} and re-enters`);
        stack.push(c);
      }
    }
  }
}

/** Fuse, check the invariants every fusion must keep, and return the fused model. */
function fuse(m: Model, feeds: ReadonlyMap<string, Tensor>): { fused: Model; groups: readonly (readonly Node[])[] } {
  const original = typed(m);
  const { graph, groups } = fuseOperators(original.graph);
  const fused = { ...original, graph };
  assertConvex(original.graph, groups);
  assert.equal(groups.flat().length, original.graph.nodes.length, "every node in exactly one group");
  for (const group of groups) {
    assert.ok(group.filter(isAnchor).length <= 1, `group [${group.map((n) => n.op)}] holds two anchors`);
    if (group.length > 1) assert.ok(group.every((n) => patternOf(n) !== "opaque"), `opaque op fused: [${group.map((n) => n.op)}]`);
  }
  assertSameOutputs(original, fused, feeds, 1e-5);
  return { fused, groups };
}

describe("fusion", () => {
  it("Conv + Add(bias) + Relu becomes one kiln:Fused group", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [1, 3, 6, 6]);
    b.output(b.node("Relu", [b.node("Add", [conv(b, x, 3, 1), b.weight("bias", rand([1, C, 1, 1], 2))])]));
    const { fused } = fuse(b.build(), xFeeds());
    assert.deepEqual(opsOf(fused), ["kiln:Fused"]);
    const f = fused.graph.nodes[0]!;
    assert.deepEqual(bodyOps(f), ["Conv", "Add", "Relu"]);
    assert.deepEqual(f.attrs["kind"], { type: "string", value: "out-elementwise-fusable" });
    assert.deepEqual(f.inputs, ["x", "w1", "bias"]);
  });

  it("a Conv whose output two elementwise branches read, rejoining, is fused with both branches", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [1, 3, 6, 6]);
    const c = conv(b, x, 3, 3);
    b.output(b.node("Add", [b.node("Relu", [c]), b.node("Neg", [c])]));
    const { fused } = fuse(b.build(), xFeeds());
    assert.deepEqual(opsOf(fused), ["kiln:Fused"]);
    assert.deepEqual([...bodyOps(fused.graph.nodes[0]!)].sort(), ["Add", "Conv", "Neg", "Relu"].sort());
  });

  it("a Conv whose output two separate outputs read stays unfused, and so do its consumers", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [1, 3, 6, 6]);
    const c = conv(b, x, 3, 4);
    b.output(b.node("Relu", [c]));
    b.output(b.node("Neg", [c]));
    const { fused } = fuse(b.build(), xFeeds());
    assert.deepEqual(opsOf(fused), ["Conv", "Relu", "Neg"]);
  });

  it("a Conv whose output is also a graph output is not fused with its consumer", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [1, 3, 6, 6]);
    const c = conv(b, x, 3, 5);
    b.output(c);
    b.output(b.node("Relu", [c]));
    const { fused } = fuse(b.build(), xFeeds());
    assert.deepEqual(opsOf(fused), ["Conv", "Relu"]);
  });

  it("two anchors are never in one group: Conv -> Relu -> Conv -> Relu gives two groups", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [1, 3, 6, 6]);
    b.output(b.node("Relu", [conv(b, b.node("Relu", [conv(b, x, 3, 6)]), C, 7)]));
    const { fused, groups } = fuse(b.build(), xFeeds());
    assert.deepEqual(opsOf(fused), ["kiln:Fused", "kiln:Fused"]);
    assert.deepEqual(groups.map((g) => g.map((n) => n.op)), [["Conv", "Relu"], ["Conv", "Relu"]]);
  });

  it("an epilogue after an anchor does not absorb a reduction", () => {
    const b = new GraphBuilder("t");
    const a = b.input("x", "float32", [4, 5]);
    const mm = b.node("MatMul", [a, b.weight("W", rand([5, 6], 8))]);
    b.output(b.node("ReduceSum", [b.node("Exp", [mm]), b.weight("axes", i64([1]))]));
    const { groups } = fuse(b.build(), new Map([["x", rand([4, 5], 9)]]));
    assert.deepEqual(groups.map((g) => g.map((n) => n.op)), [["MatMul", "Exp"], ["ReduceSum"]]);
  });

  it("opaque ops stand alone", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, 5]);
    b.output(b.node("Exp", [b.node("Softmax", [b.node("Neg", [x])], { axis: 1 })]));
    const { fused } = fuse(b.build(), new Map([["x", rand([2, 5], 10)]]));
    assert.deepEqual(opsOf(fused), ["Neg", "Softmax", "Exp"]);
  });

  it("an elementwise chain fuses into the reduction it feeds, which takes an epilogue", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [3, 5]);
    const e = b.node("Mul", [b.node("Exp", [x]), b.weight("c", rand([5], 11))]);
    b.output(b.node("Neg", [b.node("ReduceSum", [e, b.weight("axes", i64([1]))])]));
    const { fused } = fuse(b.build(), new Map([["x", rand([3, 5], 12)]]));
    assert.deepEqual(opsOf(fused), ["kiln:Fused"]);
    assert.deepEqual(bodyOps(fused.graph.nodes[0]!), ["Exp", "Mul", "ReduceSum", "Neg"]);
    assert.deepEqual(fused.graph.nodes[0]!.attrs["kind"], { type: "string", value: "reduction" });
  });

  it("a diamond with an opaque op on one branch is not fused across it (groups stay convex)", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, 5]);
    const e = b.node("Exp", [x]);
    const s = b.node("Softmax", [b.node("Neg", [e])], { axis: 1 });
    b.output(b.node("Relu", [b.node("Add", [b.node("Abs", [e]), s])]));
    const { fused, groups } = fuse(b.build(), new Map([["x", rand([2, 5], 13)]]));
    assert.ok(!groups.some((g) => g.some((n) => n.op === "Exp") && g.some((n) => n.op === "Add")));
    assert.ok(fused.graph.nodes.some((n) => n.op === "Softmax"));
  });

  it("a residual block (two convs, skip connection) fuses into convex groups with the same numbers", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [1, C, 6, 6]);
    const first = b.node("Relu", [b.node("Add", [conv(b, x, C, 14), b.weight("b14", rand([1, C, 1, 1], 15))])]);
    const second = b.node("Add", [conv(b, first, C, 16), b.weight("b16", rand([1, C, 1, 1], 17))]);
    b.output(b.node("Relu", [b.node("Add", [second, x])]));
    const { fused, groups } = fuse(b.build(), new Map([["x", rand([1, C, 6, 6], 18)]]));
    assert.deepEqual(opsOf(fused), ["kiln:Fused", "kiln:Fused"]);
    assert.deepEqual(groups.map((g) => g.map((n) => n.op)), [["Conv", "Add", "Relu"], ["Conv", "Add", "Add", "Relu"]]);
  });

  it("random DAGs of every pattern kind fuse into convex groups that verify and compute the same numbers", () => {
    for (let seed = 1; seed <= 60; seed++) {
      const m = randomGraph(seed, [2, 4]);
      fuse(m, new Map([["x", rand([2, 4], 100 + seed)], ["y", rand([2, 4], 200 + seed)]]));
    }
  });
});
