/** Reductions, normalizations and losses: small cases computed by hand or taken from the ONNX spec. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import type { DType } from "../../src/ir/dtype.js";
import type { Attr } from "../../src/ir/graph.js";
import { Tensor } from "../../src/ir/tensor.js";
import type { TensorType } from "../../src/ir/types.js";
import "../../src/ops/index.js";
import { inferModel } from "../../src/ops/inference.js";
import { ops as lossOps } from "../../src/ops/loss.js";
import { ops as normOps } from "../../src/ops/normalization.js";
import { ops as reduceOps } from "../../src/ops/reduce.js";
import { Attrs, type OpDef } from "../../src/ops/registry.js";

const ALL = [...reduceOps, ...normOps, ...lossOps];

function def(op: string): OpDef {
  const d = ALL.find((o) => o.name === op);
  assert.ok(d, `op ${op} is registered`);
  return d;
}

function toAttrs(attrs: Record<string, number | number[] | string>): Record<string, Attr> {
  const out: Record<string, Attr> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "string") out[k] = { type: "string", value: v };
    else if (Array.isArray(v)) out[k] = { type: "ints", value: v };
    else if (Number.isInteger(v) && !["epsilon", "alpha", "beta", "bias", "momentum"].includes(k)) out[k] = { type: "int", value: v };
    else out[k] = { type: "float", value: v };
  }
  return out;
}

function node(op: string, nIn: number, nOut: number, attrs: Record<string, number | number[] | string>) {
  return {
    op, name: "",
    inputs: Array.from({ length: nIn }, (_, i) => `i${i}`),
    outputs: Array.from({ length: nOut }, (_, i) => `o${i}`),
    attrs: toAttrs(attrs),
  };
}

interface RunOpts { attrs?: Record<string, number | number[] | string>; opset?: number; outputs?: number }

function run(op: string, inputs: (Tensor | null)[], o: RunOpts = {}): (Tensor | null)[] {
  const d = def(op);
  const n = node(op, inputs.length, o.outputs ?? 1, o.attrs ?? {});
  const opset = o.opset ?? 23;
  return d.evaluate({
    node: n, opset, inputs, attrs: new Attrs(n, d.attrs, opset), outputCount: n.outputs.length,
    runSubgraph: () => { throw new Error("no subgraphs"); },
  });
}

function infer(op: string, inputs: (TensorType | null)[], constants: (Tensor | undefined)[], o: RunOpts = {}): (TensorType | null)[] {
  const d = def(op);
  const n = node(op, inputs.length, o.outputs ?? 1, o.attrs ?? {});
  const opset = o.opset ?? 23;
  let k = 0;
  return d.infer({
    node: n, opset, inputs, constants, attrs: new Attrs(n, d.attrs, opset), outputCount: n.outputs.length,
    fresh: () => `_u${k++}`,
    inferSubgraph: () => { throw new Error("no subgraphs"); },
  });
}

const t = (shape: number[], values: number[], dtype: DType = "float32"): Tensor => Tensor.fromNumbers(dtype, shape, values);
const i64 = (values: number[]): Tensor => Tensor.fromNumbers("int64", [values.length], values);

function close(actual: Tensor | null, shape: number[], expected: number[], tol = 1e-5): void {
  assert.ok(actual);
  assert.deepEqual(actual.shape, shape);
  const a = Array.from(actual.numbers());
  assert.equal(a.length, expected.length);
  a.forEach((v, i) => {
    const e = expected[i]!;
    if (!Number.isFinite(e)) assert.equal(v, e, `element ${i}`);
    else assert.ok(Math.abs(v - e) <= tol * (1 + Math.abs(e)), `element ${i}: ${v} vs ${e}`);
  });
}

const m22 = () => t([2, 2], [1, 2, 3, 4]);

test("ReduceSum: axes input from opset 13, keepdims, noop_with_empty_axes", () => {
  close(run("ReduceSum", [m22(), i64([1])], { attrs: { keepdims: 0 }, opset: 13 })[0]!, [2], [3, 7]);
  close(run("ReduceSum", [m22(), null], { opset: 13 })[0]!, [1, 1], [10]);
  close(run("ReduceSum", [m22(), i64([])], { attrs: { noop_with_empty_axes: 1 }, opset: 13 })[0]!, [2, 2], [1, 2, 3, 4]);
  close(run("ReduceSum", [m22()], { attrs: { axes: [0] }, opset: 11 })[0]!, [1, 2], [4, 6]);
});

test("ReduceMean and friends: axes attribute before opset 18, input from 18", () => {
  close(run("ReduceMean", [m22()], { attrs: { axes: [0] }, opset: 13 })[0]!, [1, 2], [2, 3]);
  close(run("ReduceMean", [m22(), i64([-1])], { attrs: { keepdims: 0 }, opset: 18 })[0]!, [2], [1.5, 3.5]);
  const v = () => t([2], [3, -4]);
  close(run("ReduceL1", [v()])[0]!, [1], [7]);
  close(run("ReduceL2", [v()])[0]!, [1], [5]);
  close(run("ReduceSumSquare", [v()])[0]!, [1], [25]);
  close(run("ReduceProd", [t([2], [2, 3])])[0]!, [1], [6]);
  close(run("ReduceMax", [v()])[0]!, [1], [3]);
  close(run("ReduceMin", [v()])[0]!, [1], [-4]);
  close(run("ReduceLogSum", [t([2], [1, 1])])[0]!, [1], [Math.LN2]);
  close(run("ReduceLogSumExp", [t([2], [1000, 1000])])[0]!, [1], [1000 + Math.LN2]);
});

test("Reductions of an empty set give the identity of the operation", () => {
  const empty = () => t([2, 0], []);
  const axes = () => i64([1]);
  close(run("ReduceMax", [empty(), axes()])[0]!, [2, 1], [-Infinity, -Infinity]);
  close(run("ReduceMin", [empty(), axes()])[0]!, [2, 1], [Infinity, Infinity]);
  close(run("ReduceProd", [empty(), axes()])[0]!, [2, 1], [1, 1]);
  close(run("ReduceSum", [empty(), axes()])[0]!, [2, 1], [0, 0]);
  close(run("ReduceLogSumExp", [empty(), axes()])[0]!, [2, 1], [-Infinity, -Infinity]);
});

test("Reduce inference keeps symbolic dims and tolerates unknown axes", () => {
  const x: TensorType = { dtype: "float32", shape: ["N", 3, 4] };
  assert.deepEqual(infer("ReduceSum", [x, { dtype: "int64", shape: [1] }], [undefined, i64([2])], { attrs: { keepdims: 0 } })[0], { dtype: "float32", shape: ["N", 3] });
  assert.deepEqual(infer("ReduceMax", [x, { dtype: "int64", shape: [1] }], [undefined, undefined], { attrs: { keepdims: 0 } })[0], { dtype: "float32", shape: null });
  assert.deepEqual(infer("ArgMax", [x], [undefined], { attrs: { axis: 1 } })[0], { dtype: "int64", shape: ["N", 1, 4] });
});

test("ArgMax / ArgMin with keepdims and select_last_index (spec examples)", () => {
  const x = () => t([2, 2], [2, 2, 3, 10]);
  close(run("ArgMax", [x()], { attrs: { axis: 1 } })[0]!, [2, 1], [0, 1]);
  close(run("ArgMax", [x()], { attrs: { axis: 1, select_last_index: 1 } })[0]!, [2, 1], [1, 1]);
  close(run("ArgMin", [t([2, 2], [2, 1, 1, 2])], { attrs: { axis: 1, keepdims: 0 } })[0]!, [2], [1, 0]);
});

test("Softmax, LogSoftmax, Hardmax (spec examples) and pre-13 coercion to 2-D", () => {
  close(run("Softmax", [t([1, 3], [1, 2, 3])])[0]!, [1, 3], [0.09003057, 0.24472847, 0.66524096]);
  close(run("LogSoftmax", [t([1, 3], [1, 2, 3])])[0]!, [1, 3], [-2.40760596, -1.40760596, -0.40760596]);
  close(run("Hardmax", [t([2, 4], [3, 0, 1, 2, 2, 5, 1, 0])])[0]!, [2, 4], [1, 0, 0, 0, 0, 1, 0, 0]);
  const z = () => t([1, 2, 2], [0, 0, 0, 0]);
  close(run("Softmax", [z()], { opset: 11 })[0]!, [1, 2, 2], [0.25, 0.25, 0.25, 0.25]);
  close(run("Softmax", [z()], { attrs: { axis: 1 }, opset: 13 })[0]!, [1, 2, 2], [0.5, 0.5, 0.5, 0.5]);
});

test("BatchNormalization inference and training mode", () => {
  const x = () => t([1, 2, 1, 1], [1, 2]);
  const y = run("BatchNormalization", [x(), t([2], [1, 1]), t([2], [0, 0]), t([2], [0, 1]), t([2], [1, 4])], { attrs: { epsilon: 0 } });
  close(y[0]!, [1, 2, 1, 1], [1, 0.5]);
  // Two samples per channel: batch mean 2 and variance 1 for channel 0.
  const xt = t([2, 1, 1, 1], [1, 3]);
  const r = run("BatchNormalization", [xt, t([1], [1]), t([1], [0]), t([1], [0]), t([1], [1])],
    { attrs: { epsilon: 0, training_mode: 1, momentum: 0.5 }, outputs: 3 });
  close(r[0]!, [2, 1, 1, 1], [-1, 1]);
  close(r[1]!, [1], [1]);
  close(r[2]!, [1], [1]);
});

test("BatchNormalization: running statistics requested outside training, or outputs beyond the opset's, are ModelErrors", () => {
  const ins = () => [t([1, 2, 1, 1], [1, 2]), t([2], [1, 1]), t([2], [0, 0]), t([2], [0, 1]), t([2], [1, 4])];
  const types = (): TensorType[] => ins().map((x) => ({ dtype: x.dtype, shape: x.shape }));
  const noValues = ins().map(() => undefined);
  assert.throws(() => run("BatchNormalization", ins(), { outputs: 2, opset: 15 }),
    { name: "ModelError", message: /BatchNormalization: output 1 \("o1"\) is a running statistic, which it does not compute with training_mode=0/ });
  assert.throws(() => infer("BatchNormalization", types(), noValues, { outputs: 3, opset: 15 }), { name: "ModelError", message: /output 1 .*training_mode=0/ });
  assert.throws(() => run("BatchNormalization", ins(), { outputs: 2, opset: 6, attrs: { is_test: 1 } }), { name: "ModelError", message: /is_test=1/ });
  // Opset 14 has three outputs at most.
  const b = new GraphBuilder("bn", { "": 15 });
  const outs = b.nodeN("BatchNormalization", [b.input("x", "float32", [1, 2, 1, 1]), ...ins().slice(1).map((w, i) => b.weight(`w${i}`, w))], 4, { training_mode: 1 });
  outs.forEach((o) => b.output(o));
  assert.throws(() => inferModel(b.build()), { name: "ModelError", message: /BatchNormalization .* has 4 outputs; BatchNormalization \(opset 15\) makes 1 to 3/ });
});

test("LayerNormalization with Mean and InvStdDev outputs", () => {
  const r = run("LayerNormalization", [t([1, 3], [1, 2, 3]), t([3], [1, 1, 1]), t([3], [0, 0, 0])], { attrs: { epsilon: 0 }, outputs: 3 });
  close(r[0]!, [1, 3], [-1.22474487, 0, 1.22474487]);
  close(r[1]!, [1, 1], [2]);
  close(r[2]!, [1, 1], [1.22474487]);
});

test("RMSNormalization", () => {
  close(run("RMSNormalization", [t([1, 2], [3, 4]), t([2], [1, 2])], { attrs: { epsilon: 0 } })[0]!, [1, 2], [0.8485281, 2.2627417]);
});

test("GroupNormalization (opset 21 per-channel, 18 per-group) and InstanceNormalization", () => {
  const x = () => t([1, 2, 1, 1], [1, 3]);
  close(run("GroupNormalization", [x(), t([2], [1, 2]), t([2], [0, 1])], { attrs: { num_groups: 1, epsilon: 0 }, opset: 21 })[0]!, [1, 2, 1, 1], [-1, 3]);
  close(run("GroupNormalization", [x(), t([1], [2]), t([1], [1])], { attrs: { num_groups: 1, epsilon: 0 }, opset: 18 })[0]!, [1, 2, 1, 1], [-1, 3]);
  close(run("InstanceNormalization", [t([1, 1, 2], [1, 3]), t([1], [2]), t([1], [0.5])], { attrs: { epsilon: 0 } })[0]!, [1, 1, 2], [-1.5, 2.5]);
});

test("LpNormalization, MeanVarianceNormalization, LRN", () => {
  close(run("LpNormalization", [t([1, 2], [1, 3])], { attrs: { p: 1 } })[0]!, [1, 2], [0.25, 0.75]);
  close(run("LpNormalization", [t([1, 2], [3, 4])])[0]!, [1, 2], [0.6, 0.8]);
  close(run("MeanVarianceNormalization", [t([1, 1, 1, 2], [1, 3])])[0]!, [1, 1, 1, 2], [-1, 1]);
  close(run("LRN", [t([1, 2, 1, 1], [1, 2])], { attrs: { size: 2, alpha: 1, beta: 1, bias: 1 } })[0]!, [1, 2, 1, 1], [1 / 3.5, 2 / 3]);
});

test("Dropout: identity in inference and with ratio 0, all-true mask", () => {
  const x = () => t([3], [1, 2, 3]);
  const r = run("Dropout", [x()], { outputs: 2 });
  close(r[0]!, [3], [1, 2, 3]);
  assert.equal(r[1]!.dtype, "bool");
  close(r[1]!, [3], [1, 1, 1]);
  close(run("Dropout", [x(), t([], [0]), Tensor.fromNumbers("bool", [], [1])], { attrs: { seed: 0 } })[0]!, [3], [1, 2, 3]);
  assert.equal(run("Dropout", [x()], { outputs: 2, opset: 7 })[1]!.dtype, "float32");
});

test("Dropout in training mode with a seed draws numpy RandomState(seed) uniforms", () => {
  // numpy.random.RandomState(0).uniform(size=5) = 0.5488, 0.7152, 0.6028, 0.5449, 0.4237.
  const r = run("Dropout", [t([5], [1, 1, 1, 1, 1]), t([], [0.6]), Tensor.fromNumbers("bool", [], [1])], { attrs: { seed: 0 }, outputs: 2 });
  close(r[0]!, [5], [0, 2.5, 2.5, 0, 0]);
  close(r[1]!, [5], [0, 1, 1, 0, 0]);
});

test("NegativeLogLikelihoodLoss: reductions, weights, ignore_index", () => {
  const x = () => t([2, 2], [-1, -2, -3, -4]);
  const y = () => i64([1, 0]);
  close(run("NegativeLogLikelihoodLoss", [x(), y()], { attrs: { reduction: "none" } })[0]!, [2], [2, 3]);
  close(run("NegativeLogLikelihoodLoss", [x(), y()])[0]!, [], [2.5]);
  close(run("NegativeLogLikelihoodLoss", [x(), y()], { attrs: { reduction: "sum" } })[0]!, [], [5]);
  close(run("NegativeLogLikelihoodLoss", [x(), y(), t([2], [1, 2])])[0]!, [], [7 / 3]);
  close(run("NegativeLogLikelihoodLoss", [x(), y()], { attrs: { ignore_index: 1 } })[0]!, [], [3]);
});

test("SoftmaxCrossEntropyLoss with log_prob output", () => {
  const r = run("SoftmaxCrossEntropyLoss", [t([1, 2], [0, 0]), i64([0])], { outputs: 2 });
  close(r[0]!, [], [Math.LN2]);
  close(r[1]!, [1, 2], [-Math.LN2, -Math.LN2]);
});
