/** Control flow: Loop and Scan over small hand-built bodies. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import type { Graph } from "../../src/ir/graph.js";
import { Tensor } from "../../src/ir/tensor.js";
import "../../src/ops/index.js";
import { inferModel } from "../../src/ops/inference.js";
import { runModel } from "../../src/ops/interpreter.js";

const f32 = (shape: number[], v: number[]) => Tensor.fromNumbers("float32", shape, v);

/** Scan body: state s and scan slice x in, (s + x, s + x) out. */
function sumBody(): Graph {
  const b = new GraphBuilder("body", { "": 17 });
  const s = b.node("Add", [b.input("s", "float32", [2]), b.input("x", "float32", [2])]);
  b.output(b.node("Identity", [s]));
  b.output(s);
  return b.build().graph;
}

/** A model of one Scan over a [3, 2] input with an initial state of [2] (and optionally a second state the body lacks). */
function scanModel(attrs: Record<string, number>, extraState = false) {
  const b = new GraphBuilder("scan", { "": 17 });
  const states = [b.input("init", "float32", [2]), ...(extraState ? [b.input("more", "float32", [2])] : [])];
  const [state, ys] = b.nodeN("Scan", [...states, b.input("xs", "float32", [3, 2])], 2,
    { body: { type: "graph", value: sumBody() }, ...attrs });
  b.output(state!);
  b.output(ys!);
  return b.build();
}

test("Scan: running sum", () => {
  const model = inferModel(scanModel({ num_scan_inputs: 1 }));
  const out = runModel(model, new Map([["init", f32([2], [0, 0])], ["xs", f32([3, 2], [1, 2, 3, 4, 5, 6])]]));
  const [state, ys] = model.graph.outputs.map((v) => out.get(v.name)!);
  assert.deepEqual(Array.from(state!.numbers()), [9, 12]);
  assert.deepEqual(Array.from(ys!.numbers()), [1, 2, 4, 6, 9, 12]);
});

test("Scan: num_scan_inputs out of range is a ModelError before any array is sized by it", () => {
  for (const m of [0, -1000, 3, 2 ** 31, 2 ** 40]) {
    assert.throws(() => inferModel(scanModel({ num_scan_inputs: m })), { name: "ModelError", message: new RegExp(`Scan: num_scan_inputs ${m} must be between 1 and the node's 2 inputs`) });
  }
  const model = scanModel({ num_scan_inputs: 1 }, true);
  const message = /Scan: the body takes 2 inputs, but the node passes 2 states and 1 scan inputs/;
  assert.throws(() => inferModel(model), { name: "ModelError", message });
  const feeds = new Map([["init", f32([2], [0, 0])], ["more", f32([2], [0, 0])], ["xs", f32([3, 2], [1, 2, 3, 4, 5, 6])]]);
  assert.throws(() => runModel(model, feeds), { name: "ModelError", message });
});

/** Loop body: (i, cond, x) -> (cond, x, scan) where the scan output is x, or, with `growing`, the range [0, i). */
function loopBody(growing = false): Graph {
  const b = new GraphBuilder("body", { "": 17 });
  const i = b.input("i", "int64", []);
  const cond = b.input("cond", "bool", []);
  const x = b.input("x", "float32", [4]);
  b.output(b.node("Identity", [cond]), "bool");
  b.output(b.node("Identity", [x]));
  b.output(growing ? b.node("Range", [b.weight("zero", Tensor.scalar("int64", 0)), i, b.weight("one", Tensor.scalar("int64", 1))]) : b.node("Identity", [x]));
  return b.build().graph;
}

/** A Loop with optional trip count input `M` and condition `cond`, carrying x of [4]. */
function loopModel(body: Graph, withTrips: boolean) {
  const b = new GraphBuilder("loop", { "": 17 });
  const trips = withTrips ? b.input("M", "int64", []) : "";
  const [final, scan] = b.nodeN("Loop", [trips, b.input("cond", "bool", []), b.input("x", "float32", [4])], 2, { body: { type: "graph", value: body } });
  b.output(final!);
  b.output(scan!);
  return inferModel(b.build());
}

const loopFeeds = (trips?: Tensor) => new Map([
  ...(trips ? [["M", trips] as const] : []),
  ["cond", Tensor.fromNumbers("bool", [], [1])], ["x", f32([4], [1, 2, 3, 4])],
]);

test("Loop: a trip count runs the body that often and stacks the scan outputs", () => {
  const model = loopModel(loopBody(), true);
  const out = runModel(model, loopFeeds(Tensor.scalar("int64", 3)));
  const [final, scan] = model.graph.outputs.map((v) => out.get(v.name)!);
  assert.deepEqual(Array.from(final!.numbers()), [1, 2, 3, 4]);
  assert.deepEqual([...scan!.shape], [3, 4]);
});

test("Loop: a loop that never ends stops quickly at maxLoopIterations with a LimitError", () => {
  const endless = loopModel(loopBody(), false);
  assert.throws(() => runModel(endless, loopFeeds(), { maxLoopIterations: 50 }),
    { name: "LimitError", message: /Loop: still running after 50 iterations \(trip count none\), the maxLoopIterations limit/ });
  const t0 = performance.now();
  // An absurd trip count, under the default limit.
  assert.throws(() => runModel(loopModel(loopBody(), true), loopFeeds(Tensor.scalar("int64", 2 ** 40))),
    { name: "LimitError", message: /Loop: still running after 100000 iterations \(trip count 1099511627776\)/ });
  assert.ok(performance.now() - t0 < 5000, `took ${Math.round(performance.now() - t0)} ms`);
});

test("Loop: scan outputs are checked every iteration, for their shape and for the element limit", () => {
  const t0 = performance.now();
  assert.throws(() => runModel(loopModel(loopBody(true), true), loopFeeds(Tensor.scalar("int64", 2 ** 40))),
    { name: "EvalError", message: /Loop: scan output 0 changes shape between iterations: \[0\] then \[1\]/ });
  // 26 iterations of [4] exceed 100 elements: stopped there, not after the last iteration.
  assert.throws(() => runModel(loopModel(loopBody(), false), loopFeeds(), { maxElements: 100 }),
    { name: "LimitError", message: /Loop: scan output 0 after 26 iterations: shape \[26,4\] has 104 elements, over the limit of 100/ });
  assert.ok(performance.now() - t0 < 1000, `took ${Math.round(performance.now() - t0)} ms`);
});

test("Loop: a trip count that is not one value, and a body of the wrong arity, are typed errors", () => {
  assert.throws(() => runModel(loopModel(loopBody(), true), loopFeeds(Tensor.fromNumbers("int64", [2], [1, 2]))),
    { name: "EvalError", message: /Loop: the trip count M must hold one element, got shape \[2\]/ });
  const b = new GraphBuilder("loop", { "": 17 });
  const [final] = b.nodeN("Loop", ["", b.input("cond", "bool", []), b.input("x", "float32", [4]), b.input("y", "float32", [4])], 3,
    { body: { type: "graph", value: loopBody() } });
  b.output(final!);
  assert.throws(() => inferModel(b.build()), { name: "ModelError", message: /Loop: the body takes 3 inputs, expected 2 \+ 2 carried values/ });
});
