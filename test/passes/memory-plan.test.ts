/** Static memory planning: in-place reuse, bounds, no overlap between live buffers, symbolic shapes. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import { ModelError } from "../../src/ir/errors.js";
import type { Graph } from "../../src/ir/graph.js";
import { fuseOperators } from "../../src/passes/fuse.js";
import { waveOrder, waves } from "../../src/passes/graph-utils.js";
import { ALIGNMENT, planMemory, type MemoryPlan } from "../../src/passes/memory-plan.js";
import { i64, rand, randomGraph, typed } from "./graph-helpers.js";

/** Invariants of any plan: bounds, alignment, every value placed, and no two live buffers overlap. */
function assertValidPlan(g: Graph, plan: MemoryPlan): void {
  assert.ok(plan.arenaBytes >= plan.lowerBoundBytes, `arena ${plan.arenaBytes} < lower bound ${plan.lowerBoundBytes}`);
  assert.ok(plan.arenaBytes <= plan.naiveBytes, `arena ${plan.arenaBytes} > naive ${plan.naiveBytes}`);
  for (const n of g.nodes) for (const o of n.outputs) if (o !== "") assert.ok(plan.offsets.has(o), `value ${o} has no offset`);
  for (const p of plan.buffers) {
    assert.equal(p.offset % ALIGNMENT, 0);
    assert.ok(p.offset + p.bytes <= plan.arenaBytes);
  }
  plan.buffers.forEach((a, i) => plan.buffers.slice(i + 1).forEach((b) => {
    const liveTogether = a.start <= b.end && b.start <= a.end;
    const disjoint = a.offset + a.bytes <= b.offset || b.offset + b.bytes <= a.offset;
    assert.ok(!liveTogether || disjoint,
      `buffers [${a.values}] (steps ${a.start}-${a.end}, bytes ${a.offset}+${a.bytes}) and [${b.values}] (steps ${b.start}-${b.end}, bytes ${b.offset}+${b.bytes}) overlap`);
  }));
}

/** The graph with its nodes in wave order, as the pipeline leaves them for planning. */
const inWaves = (g: Graph): Graph => ({ ...g, nodes: waveOrder(g.nodes) });

describe("memory planning", () => {
  it("a chain of elementwise ops runs in place in one buffer", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [8, 16]);
    b.output(b.node("Sqrt", [b.node("Abs", [b.node("Neg", [b.node("Exp", [x])])])]));
    const g = typed(b.build()).graph;
    const plan = planMemory(g);
    assertValidPlan(g, plan);
    assert.equal(plan.buffers.length, 1);
    assert.deepEqual(plan.buffers[0]!.values, ["exp0", "neg1", "abs2", "sqrt3"]);
    assert.equal(plan.arenaBytes, 8 * 16 * 4);
    assert.equal(plan.naiveBytes, 4 * 8 * 16 * 4);
  });

  it("without reuse, buffers of different waves never share memory (in-place chains still do)", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [8, 16]);
    const t = b.node("Transpose", [b.node("Exp", [x])], { perm: [1, 0] });
    b.output(b.node("Transpose", [b.node("Neg", [b.node("Sqrt", [t])])], { perm: [1, 0] }));
    const g = typed(b.build()).graph;
    const [shared, apart] = [planMemory(g), planMemory(g, {}, { reuse: false })];
    assertValidPlan(g, apart);
    assert.ok(shared.arenaBytes < apart.arenaBytes, `shared ${shared.arenaBytes}, apart ${apart.arenaBytes}`);
    assert.equal(apart.arenaBytes, apart.buffers.reduce((n, p) => n + p.bytes, 0), "no two buffers overlap");
    assert.equal(apart.offsets.get("sqrt2"), apart.offsets.get("neg3"), "the in-place chain keeps one buffer");
  });

  it("a value read later is not overwritten in place", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [8, 16]);
    const e = b.node("Exp", [x]);
    b.output(b.node("Add", [b.node("Neg", [e]), e]));
    const g = typed(b.build()).graph;
    const plan = planMemory(g);
    assertValidPlan(g, plan);
    assert.notEqual(plan.offsets.get("exp0"), plan.offsets.get("neg1"));
  });

  it("a graph output is never overwritten in place", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [16]);
    const e = b.node("Exp", [x]);
    b.output(e);
    b.output(b.node("Neg", [e]));
    const g = typed(b.build()).graph;
    const plan = planMemory(g);
    assertValidPlan(g, plan);
    assert.notEqual(plan.offsets.get("exp0"), plan.offsets.get("neg1"));
  });

  it("a non-elementwise op does not run in place", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [4, 4]);
    b.output(b.node("Transpose", [b.node("Exp", [x])], { perm: [1, 0] }));
    const g = typed(b.build()).graph;
    const plan = planMemory(g);
    assertValidPlan(g, plan);
    assert.equal(plan.buffers.length, 2);
    assert.notEqual(plan.offsets.get("exp0"), plan.offsets.get("transpose1"));
  });

  it("a broadcasting op does not write its bigger output over a smaller input of the same aligned size", () => {
    // a: [3,1] (12 bytes) and out: [3,3] (36 bytes) both round up to one 64-byte line, but
    // out[0,1] overwrites a[1] before out[1,0] reads it.
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [3, 1]);
    const a = b.node("Exp", [x]);
    b.output(b.node("Add", [a, b.weight("row", rand([1, 3], 1))]));
    const g = typed(b.build()).graph;
    const plan = planMemory(g);
    assertValidPlan(g, plan);
    assert.notEqual(plan.offsets.get(a), plan.offsets.get("add1"), "a [3,1] input and a [3,3] output share a buffer");
  });

  it("an elementwise op whose output elements are wider than its input's does not run in place", () => {
    // f32[8] (32 bytes) and f64[8] (64 bytes) round up to the same 64-byte line and have the same
    // shape, but writing out[1] (bytes 8-15) clobbers in[2] and in[3] before they are read.
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [8]);
    const a = b.node("Exp", [x]);
    b.output(b.node("Cast", [a], { to: 11 }), "float64");
    const g = typed(b.build()).graph;
    const plan = planMemory(g);
    assertValidPlan(g, plan);
    assert.notEqual(plan.offsets.get(a), plan.offsets.get("cast1"), "f32 input and f64 output share a buffer");
  });

  it("a fused group that permutes elements after reading an input does not overwrite that input", () => {
    // Exp + Transpose fuse into one kernel; its input is read only by the elementwise Exp, but
    // out[0,1] = exp(a[1,0]) is written over a[0,1] before out[1,0] reads it.
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [4, 4]);
    const a = b.node("Softmax", [x], { axis: 1 });
    b.output(b.node("Transpose", [b.node("Exp", [a])], { perm: [1, 0] }));
    const g = fuseOperators(typed(b.build()).graph).graph;
    assert.deepEqual(g.nodes.map((n) => n.op), ["Softmax", "kiln:Fused"]);
    const plan = planMemory(g);
    assertValidPlan(g, plan);
    assert.notEqual(plan.offsets.get(a), plan.offsets.get("transpose2"), "the transposed output overwrites its input in place");
  });

  it("a fused reduction does not overwrite an input that also feeds the reduction", () => {
    // x - log(sum(exp(x))): Sub reads x at the index it writes, but the ReduceSum (through Exp)
    // reads every x, so writing the output over x would corrupt the sum.
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [4, 8]);
    const s = b.node("Neg", [x]);
    const sum = b.node("ReduceSum", [b.node("Exp", [s]), b.weight("axes", i64([1]))], { keepdims: 1 });
    const out = b.node("Sub", [s, b.node("Log", [sum])]);
    b.output(out);
    const g = fuseOperators(typed(b.build()).graph).graph;
    assert.deepEqual(g.nodes.map((n) => n.op), ["Neg", "kiln:Fused"]);
    const plan = planMemory(g);
    assertValidPlan(g, plan);
    assert.ok(plan.offsets.has(s) && plan.offsets.has(out));
    assert.notEqual(plan.offsets.get(s), plan.offsets.get(out), "the output overwrites an input the reduction reads");
  });

  it("overlapping lifetimes never share bytes, and the arena is between the lower bound and the naive size (conv net)", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [1, 3, 8, 8]);
    const c1 = b.node("Relu", [b.node("Conv", [x, b.weight("w1", rand([8, 3, 3, 3], 2))], { pads: [1, 1, 1, 1] })]);
    const c2 = b.node("Conv", [c1, b.weight("w2", rand([8, 8, 3, 3], 3))], { pads: [1, 1, 1, 1] });
    const skip = b.node("Add", [c2, c1]);
    const pooled = b.node("ReduceMean", [skip, b.weight("axes", i64([2, 3]))], { keepdims: 0 });
    const t = b.node("Transpose", [b.node("Reshape", [c1, b.weight("shape", i64([8, 64]))])], { perm: [1, 0] });
    b.output(b.node("MatMul", [b.node("Exp", [t]), b.node("Unsqueeze", [pooled, b.weight("ax", i64([2]))])]));
    b.output(b.node("Neg", [pooled]));
    const g = inWaves(typed(b.build()).graph);
    for (const graph of [g, inWaves(fuseOperators(g).graph)]) {
      const plan = planMemory(graph);
      assertValidPlan(graph, plan);
      assert.ok(plan.arenaBytes < plan.naiveBytes);
    }
  });

  it("random graphs, fused and not: live buffers never overlap and the arena stays within its bounds", () => {
    for (let seed = 1; seed <= 60; seed++) {
      const g = inWaves(typed(randomGraph(seed, [8, 16])).graph);
      for (const graph of [g, inWaves(fuseOperators(g).graph)]) assertValidPlan(graph, planMemory(graph));
    }
  });

  it("nodes of one wave never share a buffer, so a parallel scheduler finds them independent", () => {
    // Four branches from one input: in a step-by-step plan the second branch's Exp would reuse
    // the first branch's dead buffer and so have to wait for the first branch.
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [64]);
    const branches = [0, 1, 2, 3].map(() => b.node("Neg", [b.node("Exp", [b.node("Abs", [x])])]));
    b.output(branches.reduce((acc, v) => b.node("Add", [acc, v])));
    const g = inWaves(typed(b.build()).graph);
    const plan = planMemory(g);
    assertValidPlan(g, plan);
    const wave = waves(g.nodes);
    assert.deepEqual(wave, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 4, 5]);
    for (const [i, n] of g.nodes.entries()) for (const [j, m] of g.nodes.entries()) {
      if (i < j && wave[i] === wave[j]) {
        const at = (v: string) => plan.offsets.get(v);
        assert.notEqual(at(n.outputs[0]!), at(m.outputs[0]!), `${n.outputs[0]} and ${m.outputs[0]} (wave ${wave[i]}) share a buffer`);
      }
    }
  });

  it("nodes out of wave order are refused: the plan would not hold for them", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [16]);
    const e = b.node("Exp", [x]);
    b.output(b.node("Mul", [b.node("Neg", [e]), b.node("Abs", [b.node("Sqrt", [e])])]));
    b.output(b.node("Transpose", [b.node("Sin", [e])], { perm: [0] }));
    const g = typed(b.build()).graph; // Sin (wave 1) comes after Mul (wave 3)
    assert.throws(() => planMemory(g), /wave order/);
    assertValidPlan(inWaves(g), planMemory(inWaves(g)));
  });

  it("a symbolic batch dimension gives one plan per binding", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", ["N", 16]);
    const e = b.node("Exp", [x]);
    b.output(b.node("Mul", [b.node("Neg", [e]), b.node("Abs", [e])]));
    b.output(b.node("Transpose", [e], { perm: [1, 0] }));
    const g = inWaves(typed(b.build()).graph);
    const p4 = planMemory(g, { N: 4 }), p8 = planMemory(g, { N: 8 });
    assertValidPlan(g, p4);
    assertValidPlan(g, p8);
    // Every buffer is N * 64 bytes (already aligned), so the plan scales with N.
    assert.equal(p8.arenaBytes, 2 * p4.arenaBytes);
    assert.equal(p8.naiveBytes, 2 * p4.naiveBytes);
    assert.deepEqual(p8.buffers.map((p) => p.values), p4.buffers.map((p) => p.values));
    assert.throws(() => planMemory(g), ModelError);
  });
});
