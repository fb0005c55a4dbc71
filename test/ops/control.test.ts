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
