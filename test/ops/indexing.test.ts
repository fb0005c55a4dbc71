/** Indexing family: expected values come from the ONNX spec examples or are worked out by hand. */
import { test } from "node:test";
import assert from "node:assert/strict";
import "../../src/ops/index.js";
import type { DType } from "../../src/ir/dtype.js";
import type { Attr, Node } from "../../src/ir/graph.js";
import { Tensor, withElementLimit } from "../../src/ir/tensor.js";
import type { TensorType } from "../../src/ir/types.js";
import { ops } from "../../src/ops/indexing.js";
import { evaluateNode } from "../../src/ops/interpreter.js";
import { Attrs } from "../../src/ops/registry.js";

type A = Record<string, Attr>;
const int = (value: number): Attr => ({ type: "int", value });
const str = (value: string): Attr => ({ type: "string", value });

function node(op: string, nIn: number, nOut: number, attrs: A = {}): Node {
  return {
    op, name: "", attrs,
    inputs: Array.from({ length: nIn }, (_, i) => `i${i}`),
    outputs: Array.from({ length: nOut }, (_, i) => `o${i}`),
  };
}

function runAll(op: string, inputs: (Tensor | null)[], attrs: A = {}, nOut = 1, opset = 18): Tensor[] {
  return evaluateNode(node(op, inputs.length, nOut, attrs), inputs, { "": opset }) as Tensor[];
}

const run = (op: string, inputs: (Tensor | null)[], attrs: A = {}, nOut = 1, opset = 18): Tensor =>
  runAll(op, inputs, attrs, nOut, opset)[0]!;

const f32 = (shape: number[], v: number[]) => Tensor.fromNumbers("float32", shape, v);
const i64 = (shape: number[], v: number[]) => Tensor.fromNumbers("int64", shape, v);
const t = (dtype: DType, shape: number[], v: number[]) => Tensor.fromNumbers(dtype, shape, v);

function same(actual: Tensor, shape: number[], values: number[], dtype?: DType): void {
  if (dtype) assert.equal(actual.dtype, dtype);
  assert.deepEqual(actual.shape, shape);
  assert.deepEqual(Array.from(actual.numbers()), values);
}

function infer(op: string, inputs: TensorType[], attrs: A = {}, constants: (Tensor | undefined)[] = [], nOut = 1, opset = 18) {
  const def = ops.find((d) => d.name === op)!;
  const n = node(op, inputs.length, nOut, attrs);
  let k = 0;
  return def.infer({
    node: n, opset, attrs: new Attrs(n, def.attrs, opset), outputCount: nOut,
    inputs, constants, fresh: () => `s${k++}`,
    inferSubgraph: () => [],
  });
}

test("Gather: spec example axis=0 and negative indices on axis 1", () => {
  const data = f32([3, 2], [1.0, 1.2, 2.3, 3.4, 4.5, 5.7]);
  same(run("Gather", [data, i64([2, 2], [0, 1, 1, 2])]), [2, 2, 2], [1.0, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7].map(Math.fround));
  const d2 = f32([3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  same(run("Gather", [d2, i64([1, 2], [0, -1])], { axis: int(1) }), [3, 1, 2], [1, 3, 4, 6, 7, 9]);
  assert.deepEqual(infer("Gather", [{ dtype: "float32", shape: ["N", 5, 7] }, { dtype: "int64", shape: [2, 3] }], { axis: int(1) })[0],
    { dtype: "float32", shape: ["N", 2, 3, 7] });
});

test("GatherElements: spec example axis=1", () => {
  same(run("GatherElements", [f32([2, 2], [1, 2, 3, 4]), i64([2, 2], [0, 0, 1, 0])], { axis: int(1) }), [2, 2], [1, 1, 4, 3]);
  same(run("GatherElements", [f32([3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]), i64([2, 3], [-1, -2, 0, -2, 0, 0])]), [2, 3], [7, 5, 3, 4, 2, 3]);
});

test("GatherND: spec examples including batch_dims=1", () => {
  same(run("GatherND", [i64([2, 2], [0, 1, 2, 3]), i64([2, 2], [0, 0, 1, 1])]), [2], [0, 3]);
  same(run("GatherND", [i64([2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]), i64([2, 1, 2], [0, 1, 1, 0])]), [2, 1, 2], [2, 3, 4, 5]);
  same(run("GatherND", [i64([2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]), i64([2, 1], [1, 0])], { batch_dims: int(1) }), [2, 2], [2, 3, 4, 5]);
});

test("Scatter / ScatterElements: spec example, duplicates with add, negative index", () => {
  const data = f32([1, 5], [1, 2, 3, 4, 5]);
  const upd = f32([1, 2], [1.1, 2.1]);
  same(run("Scatter", [data, i64([1, 2], [1, 3]), upd], { axis: int(1) }, 1, 10), [1, 5], [1, 1.1, 3, 2.1, 5].map(Math.fround));
  same(run("ScatterElements", [data, i64([1, 2], [1, -2]), upd], { axis: int(1) }), [1, 5], [1, 1.1, 3, 2.1, 5].map(Math.fround));
  same(run("ScatterElements", [data, i64([1, 2], [1, 1]), upd], { axis: int(1), reduction: str("add") }), [1, 5], [1, Math.fround(2 + 1.1 + 2.1), 3, 4, 5]);
  same(run("ScatterElements", [data, i64([1, 2], [1, 1]), upd], { axis: int(1), reduction: str("max") }), [1, 5], [1, Math.fround(2.1), 3, 4, 5]);
  same(run("ScatterElements", [data, i64([1, 2], [1, 1]), upd], { axis: int(1), reduction: str("min") }), [1, 5], [1, Math.fround(1.1), 3, 4, 5]);
});

test("ScatterND: spec example 1 and mul reduction", () => {
  const data = f32([8], [1, 2, 3, 4, 5, 6, 7, 8]);
  same(run("ScatterND", [data, i64([4, 1], [4, 3, 1, 7]), f32([4], [9, 10, 11, 12])]), [8], [1, 11, 3, 10, 9, 6, 7, 12]);
  same(run("ScatterND", [data, i64([2, 1], [0, 0]), f32([2], [3, 4])], { reduction: str("mul") }), [8], [12, 2, 3, 4, 5, 6, 7, 8]);
});

test("TensorScatter: linear and circular writes per batch entry", () => {
  const cache = f32([2, 3, 1], [0, 0, 0, 0, 0, 0]);
  const upd = f32([2, 2, 1], [1, 2, 3, 4]);
  same(run("TensorScatter", [cache, upd, i64([2], [1, 0])], {}, 1, 24), [2, 3, 1], [0, 1, 2, 3, 4, 0]);
  same(run("TensorScatter", [cache, upd, i64([2], [2, 0])], { mode: str("circular") }, 1, 24), [2, 3, 1], [2, 0, 1, 3, 4, 0]);
  assert.throws(() => run("TensorScatter", [cache, upd, i64([2], [2, 0])], {}, 1, 24), /outside the cache/);
});

test("OneHot: negative and out-of-range indices, axis 0", () => {
  const vals = f32([2], [0, 5]);
  same(run("OneHot", [i64([3], [1, -1, 7]), f32([], [3]), vals]), [3, 3], [0, 5, 0, 0, 0, 5, 0, 0, 0]);
  same(run("OneHot", [i64([2], [0, 2]), i64([], [3]), vals], { axis: int(0) }), [3, 2], [5, 0, 0, 0, 0, 5]);
  assert.deepEqual(infer("OneHot", [{ dtype: "int64", shape: ["N"] }, { dtype: "int64", shape: [] }, { dtype: "float32", shape: [2] }], {}, [undefined, i64([], [10])])[0],
    { dtype: "float32", shape: ["N", 10] });
});

test("OneHot: a non-finite or non-positive depth, or an output over the element limit, is a typed error", () => {
  const vals = f32([2], [0, 5]), ind = i64([2], [0, 1]);
  for (const d of [NaN, Infinity, -Infinity, 0.5, -3]) {
    assert.throws(() => run("OneHot", [ind, f32([], [d]), vals]), { name: "EvalError", message: new RegExp(`OneHot: depth ${d} must be a positive finite number`) });
  }
  const types: TensorType[] = [{ dtype: "int64", shape: [2] }, { dtype: "float32", shape: [] }, { dtype: "float32", shape: [2] }];
  assert.throws(() => infer("OneHot", types, {}, [undefined, f32([], [Infinity])]), { name: "EvalError", message: /OneHot: depth Infinity/ });
  assert.throws(() => withElementLimit(100, () => run("OneHot", [ind, f32([], [1000]), vals])), { name: "LimitError", message: /OneHot output: shape \[2,1000\]/ });
});

test("Compress: spec examples", () => {
  const x = f32([3, 2], [1, 2, 3, 4, 5, 6]);
  same(run("Compress", [x, t("bool", [3], [0, 1, 1])], { axis: int(0) }), [2, 2], [3, 4, 5, 6]);
  same(run("Compress", [x, t("bool", [2], [0, 1])], { axis: int(1) }), [3, 1], [2, 4, 6]);
  same(run("Compress", [x, t("bool", [5], [0, 1, 0, 0, 1])]), [2], [2, 5]);
});

test("NonZero: spec example, data-dependent dim is fresh", () => {
  same(run("NonZero", [t("bool", [2, 2], [1, 0, 1, 1])]), [2, 3], [0, 1, 1, 0, 0, 1], "int64");
  assert.deepEqual(infer("NonZero", [{ dtype: "float32", shape: ["N", 4] }])[0], { dtype: "int64", shape: [2, "s0"] });
});

test("TopK: largest/smallest, ties keep the smaller index first, opset 1 k attribute", () => {
  const x = f32([2, 4], [3, 1, 3, 2, 0, 5, 5, 1]);
  const [v, i] = runAll("TopK", [x, i64([1], [2])], {}, 2, 11);
  same(v!, [2, 2], [3, 3, 5, 5]);
  same(i!, [2, 2], [0, 2, 1, 2], "int64");
  const [v2, i2] = runAll("TopK", [x, i64([1], [3])], { largest: int(0) }, 2, 11);
  same(v2!, [2, 3], [1, 2, 3, 0, 1, 5]);
  same(i2!, [2, 3], [1, 3, 0, 0, 3, 1]);
  const [v3, i3] = runAll("TopK", [x], { k: int(1), axis: int(0) }, 2, 1);
  same(v3!, [1, 4], [3, 5, 5, 2]);
  same(i3!, [1, 4], [0, 1, 1, 0]);
  const types = infer("TopK", [{ dtype: "float32", shape: ["N", 9] }, { dtype: "int64", shape: [1] }], {}, [undefined, i64([1], [4])], 2, 11);
  assert.deepEqual(types[1], { dtype: "int64", shape: ["N", 4] });
});

test("Unique: spec examples without axis (sorted and not) and with axis", () => {
  const x = f32([6], [2, 1, 1, 3, 4, 3]);
  const [y, idx, inv, cnt] = runAll("Unique", [x], { sorted: int(0) }, 4);
  same(y!, [4], [2, 1, 3, 4]);
  same(idx!, [4], [0, 1, 3, 4]);
  same(inv!, [6], [0, 1, 1, 2, 3, 2]);
  same(cnt!, [4], [1, 2, 2, 1]);
  const [ys, idxs, invs, cnts] = runAll("Unique", [x], {}, 4);
  same(ys!, [4], [1, 2, 3, 4]);
  same(idxs!, [4], [1, 0, 3, 4]);
  same(invs!, [6], [1, 0, 0, 2, 3, 2]);
  same(cnts!, [4], [2, 1, 2, 1]);
  const m = f32([3, 3], [1, 0, 0, 1, 0, 0, 2, 3, 4]);
  const [ya, ia, inva, ca] = runAll("Unique", [m], { axis: int(0) }, 4);
  same(ya!, [2, 3], [1, 0, 0, 2, 3, 4]);
  same(ia!, [2], [0, 2]);
  same(inva!, [3], [0, 0, 1]);
  same(ca!, [2], [2, 1]);
});

test("CumSum / CumProd: exclusive and reverse, int32 wrap-around", () => {
  const x = f32([5], [1, 2, 3, 4, 5]);
  const ax = i64([], [0]);
  same(run("CumSum", [x, ax]), [5], [1, 3, 6, 10, 15]);
  same(run("CumSum", [x, ax], { exclusive: int(1) }), [5], [0, 1, 3, 6, 10]);
  same(run("CumSum", [x, ax], { reverse: int(1) }), [5], [15, 14, 12, 9, 5]);
  same(run("CumSum", [x, ax], { reverse: int(1), exclusive: int(1) }), [5], [14, 12, 9, 5, 0]);
  same(run("CumSum", [f32([2, 3], [1, 2, 3, 4, 5, 6]), t("int32", [], [1])]), [2, 3], [1, 3, 6, 4, 9, 15]);
  same(run("CumProd", [x, ax], {}, 1, 26), [5], [1, 2, 6, 24, 120]);
  same(run("CumProd", [x, ax], { exclusive: int(1), reverse: int(1) }, 1, 26), [5], [120, 60, 20, 5, 1]);
  // 65536 * 65536 = 2^32 wraps to 0 in int32.
  same(run("CumProd", [t("int32", [3], [65536, 65536, 3]), ax], {}, 1, 26), [3], [65536, 0, 0]);
});
