/** Convolutions, pooling and matrix products: small cases computed by hand or taken from the ONNX spec. */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Attr } from "../../src/ir/graph.js";
import { Tensor, withElementLimit } from "../../src/ir/tensor.js";
import type { TensorType } from "../../src/ir/types.js";
import { ops as convOps } from "../../src/ops/conv.js";
import { ops as matmulOps } from "../../src/ops/matmul.js";
import { ops as poolOps } from "../../src/ops/pool.js";
import { Attrs, type OpDef } from "../../src/ops/registry.js";

const ALL = [...convOps, ...poolOps, ...matmulOps];

function def(op: string): OpDef {
  const d = ALL.find((o) => o.name === op);
  assert.ok(d, `op ${op} is registered`);
  return d;
}

type AttrVals = Record<string, number | number[] | string>;

function toAttrs(attrs: AttrVals): Record<string, Attr> {
  const out: Record<string, Attr> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "string") out[k] = { type: "string", value: v };
    else if (Array.isArray(v)) out[k] = { type: "ints", value: v };
    else if (k === "alpha" || k === "beta") out[k] = { type: "float", value: v };
    else out[k] = { type: "int", value: v };
  }
  return out;
}

function node(op: string, nIn: number, nOut: number, attrs: AttrVals) {
  return {
    op, name: "",
    inputs: Array.from({ length: nIn }, (_, i) => `i${i}`),
    outputs: Array.from({ length: nOut }, (_, i) => `o${i}`),
    attrs: toAttrs(attrs),
  };
}

interface RunOpts { attrs?: AttrVals; opset?: number; outputs?: number }

function run(op: string, inputs: (Tensor | null)[], o: RunOpts = {}): Tensor[] {
  const d = def(op);
  const n = node(op, inputs.length, o.outputs ?? 1, o.attrs ?? {});
  const opset = o.opset ?? 22;
  return d.evaluate({
    node: n, opset, inputs, attrs: new Attrs(n, d.attrs, opset), outputCount: n.outputs.length,
    runSubgraph: () => { throw new Error("no subgraphs"); },
  }) as Tensor[];
}

function infer(op: string, inputs: TensorType[], o: RunOpts = {}): (TensorType | null)[] {
  const d = def(op);
  const n = node(op, inputs.length, o.outputs ?? 1, o.attrs ?? {});
  const opset = o.opset ?? 22;
  let k = 0;
  return d.infer({
    node: n, opset, inputs, constants: inputs.map(() => undefined), attrs: new Attrs(n, d.attrs, opset),
    outputCount: n.outputs.length, fresh: () => `_u${k++}`,
    inferSubgraph: () => { throw new Error("no subgraphs"); },
  });
}

const f32 = (shape: number[], v: number[]): Tensor => Tensor.fromNumbers("float32", shape, v);
const iota = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => i + from);

function close(t: Tensor, shape: number[], expected: number[]): void {
  assert.deepEqual([...t.shape], shape);
  const got = Array.from(t.numbers());
  assert.equal(got.length, expected.length);
  got.forEach((g, i) => assert.ok(Math.abs(g - expected[i]!) < 1e-5, `element ${i}: ${g} vs ${expected[i]}`));
}

test("Conv: spec example with and without padding", () => {
  const x = f32([1, 1, 5, 5], iota(25)), w = f32([1, 1, 3, 3], new Array(9).fill(1));
  close(run("Conv", [x, w], { attrs: { pads: [1, 1, 1, 1] } })[0]!, [1, 1, 5, 5], [
    12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84,
  ]);
  close(run("Conv", [x, w])[0]!, [1, 1, 3, 3], [54, 63, 72, 99, 108, 117, 144, 153, 162]);
  // Five output channels with weights 1..5 scale the padded result (covers the blocked and tail paths).
  const padded = [12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84];
  const w5 = f32([5, 1, 3, 3], Array.from({ length: 45 }, (_, i) => Math.floor(i / 9) + 1));
  close(run("Conv", [x, w5], { attrs: { pads: [1, 1, 1, 1] } })[0]!, [1, 5, 5, 5], [1, 2, 3, 4, 5].flatMap((m) => padded.map((v) => v * m)));
});

test("Conv: strides, auto_pad, group and bias", () => {
  const x = f32([1, 1, 7, 5], iota(35)), w = f32([1, 1, 3, 3], new Array(9).fill(1));
  close(run("Conv", [x, w], { attrs: { pads: [1, 1, 1, 1], strides: [2, 2] } })[0]!, [1, 1, 4, 3],
    [12, 27, 24, 63, 108, 81, 123, 198, 141, 112, 177, 124]);
  close(run("Conv", [f32([1, 1, 5, 5], iota(25)), w], { attrs: { auto_pad: "SAME_LOWER", strides: [2, 2] } })[0]!, [1, 1, 3, 3],
    [12, 27, 24, 63, 108, 81, 72, 117, 84]);
  // Depthwise 1-D: each channel scaled by its own weight, plus bias.
  const xd = f32([1, 2, 3], [1, 2, 3, 4, 5, 6]), wd = f32([2, 1, 1], [10, -1]), b = f32([2], [0.5, 1]);
  close(run("Conv", [xd, wd, b], { attrs: { group: 2 } })[0]!, [1, 2, 3], [10.5, 20.5, 30.5, -3, -4, -5]);
});

test("Conv: symbolic batch flows through inference", () => {
  const [t] = infer("Conv", [{ dtype: "float32", shape: ["N", 3, 224, 224] }, { dtype: "float32", shape: [64, 3, 7, 7] }],
    { attrs: { strides: [2, 2], pads: [3, 3, 3, 3] } });
  assert.deepEqual(t, { dtype: "float32", shape: ["N", 64, 112, 112] });
});

test("ConvTranspose: spec examples (2-D, 1-D)", () => {
  const x = f32([1, 1, 3, 3], iota(9)), w = f32([1, 2, 3, 3], new Array(18).fill(1));
  const plane = [0, 1, 3, 3, 2, 3, 8, 15, 12, 7, 9, 21, 36, 27, 15, 9, 20, 33, 24, 13, 6, 13, 21, 15, 8];
  close(run("ConvTranspose", [x, w])[0]!, [1, 2, 5, 5], [...plane, ...plane]);
  close(run("ConvTranspose", [f32([1, 1, 3], [0, 1, 2]), f32([1, 2, 3], new Array(6).fill(1))])[0]!, [1, 2, 5],
    [0, 1, 3, 3, 2, 0, 1, 3, 3, 2]);
  // Stride 2 on one element per channel: the kernel is stamped at 0 and 2, overlapping at 2.
  close(run("ConvTranspose", [f32([1, 1, 2], [1, 10]), f32([1, 1, 3], [1, 2, 3])], { attrs: { strides: [2] } })[0]!, [1, 1, 5],
    [1, 2, 13, 20, 30]);
  const [t] = infer("ConvTranspose", [{ dtype: "float32", shape: ["N", 1, 3, 3] }, { dtype: "float32", shape: [1, 2, 3, 3] }]);
  assert.deepEqual(t, { dtype: "float32", shape: ["N", 2, 5, 5] });
});

test("ConvTranspose and Conv: a weight of the wrong rank is a ModelError, also with kernel_shape given", () => {
  const xt = { dtype: "float32" as const, shape: [1, 1, 3, 3] };
  assert.throws(() => infer("ConvTranspose", [xt, { dtype: "float32", shape: [1] }]),
    { name: "ModelError", message: /ConvTranspose: weight shape \[1\] has rank 1, expected 4/ });
  assert.throws(() => infer("ConvTranspose", [xt, { dtype: "float32", shape: [] }], { attrs: { kernel_shape: [3, 3] } }),
    { name: "ModelError", message: /ConvTranspose: weight shape \[\] has rank 0/ });
  assert.throws(() => run("ConvTranspose", [f32([1, 1, 3, 3], iota(9)), f32([1], [1])], { attrs: { kernel_shape: [1, 1] } }),
    { name: "ModelError", message: /ConvTranspose: weight shape \[1\]/ });
  assert.throws(() => infer("Conv", [xt, { dtype: "float32", shape: [] }], { attrs: { kernel_shape: [3, 3] } }), { name: "ModelError", message: /Conv: weight shape/ });
});

test("DeformConv: zero offsets equal Conv; fractional offsets interpolate; mask scales", () => {
  const x = f32([1, 1, 2, 2], [1, 2, 3, 4]), w = f32([1, 1, 1, 1], [1]);
  close(run("DeformConv", [x, w, f32([1, 2, 2, 2], new Array(8).fill(0))])[0]!, [1, 1, 2, 2], [1, 2, 3, 4]);
  const off = f32([1, 2, 2, 2], new Array(8).fill(0.5));
  close(run("DeformConv", [x, w, off])[0]!, [1, 1, 2, 2], [2.5, 1.5, 1.75, 1]);
  const mask = f32([1, 1, 2, 2], new Array(4).fill(0.5));
  close(run("DeformConv", [x, w, off, null, mask])[0]!, [1, 1, 2, 2], [1.25, 0.75, 0.875, 0.5]);
});

test("Col2Im: spec example", () => {
  const x = f32([1, 5, 5], iota(25, 1));
  const img = Tensor.fromNumbers("int64", [2], [5, 5]), blk = Tensor.fromNumbers("int64", [2], [1, 5]);
  const expected = Array.from({ length: 25 }, (_, i) => (i % 5) * 5 + Math.floor(i / 5) + 1);
  close(run("Col2Im", [x, img, blk])[0]!, [1, 1, 5, 5], expected);
});

test("MaxPool: values, indices (both storage orders), ceil_mode, uint8", () => {
  const x = f32([1, 1, 4, 4], iota(16, 1));
  const [y, i] = run("MaxPool", [x], { attrs: { kernel_shape: [2, 2], strides: [2, 2] }, outputs: 2 });
  close(y!, [1, 1, 2, 2], [6, 8, 14, 16]);
  assert.equal(i!.dtype, "int64");
  close(i!, [1, 1, 2, 2], [5, 7, 13, 15]);
  const [, ic] = run("MaxPool", [x], { attrs: { kernel_shape: [2, 2], strides: [2, 2], storage_order: 1 }, outputs: 2 });
  close(ic!, [1, 1, 2, 2], [5, 13, 7, 15]);
  close(run("MaxPool", [x], { attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 } })[0]!, [1, 1, 2, 2], [11, 12, 15, 16]);
  const u = run("MaxPool", [Tensor.fromNumbers("uint8", [1, 1, 3], [200, 7, 255])], { attrs: { kernel_shape: [2] } })[0]!;
  assert.equal(u.dtype, "uint8");
  close(u, [1, 1, 2], [200, 255]);
});

test("AveragePool: count_include_pad on and off", () => {
  const x = f32([1, 1, 2, 2], [1, 2, 3, 4]);
  const attrs = { kernel_shape: [2, 2], pads: [1, 1, 1, 1] };
  close(run("AveragePool", [x], { attrs })[0]!, [1, 1, 3, 3], [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]);
  close(run("AveragePool", [x], { attrs: { ...attrs, count_include_pad: 1 } })[0]!, [1, 1, 3, 3],
    [0.25, 0.75, 0.5, 1, 2.5, 1.5, 0.75, 1.75, 1]);
  const [t] = infer("AveragePool", [{ dtype: "float32", shape: ["N", 64, 112, 112] }], { attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } });
  assert.deepEqual(t, { dtype: "float32", shape: ["N", 64, 56, 56] });
});

test("LpPool and the global pools", () => {
  close(run("LpPool", [f32([1, 1, 3], [3, -4, 12])], { attrs: { kernel_shape: [2] } })[0]!, [1, 1, 2], [5, Math.sqrt(160)]);
  const x = f32([1, 2, 2, 2], [1, 2, 3, 4, -1, -2, -3, -4]);
  close(run("GlobalMaxPool", [x])[0]!, [1, 2, 1, 1], [4, -1]);
  close(run("GlobalAveragePool", [x])[0]!, [1, 2, 1, 1], [2.5, -2.5]);
  close(run("GlobalLpPool", [x])[0]!, [1, 2, 1, 1], [Math.sqrt(30), Math.sqrt(30)]);
  const [t] = infer("GlobalAveragePool", [{ dtype: "float32", shape: ["N", 2048, 7, 7] }]);
  assert.deepEqual(t, { dtype: "float32", shape: ["N", 2048, 1, 1] });
});

test("pooling windows: a non-positive kernel, a kernel beyond the input and an oversized window table are typed errors", () => {
  const x = f32([1, 1, 4, 4], iota(16));
  const xt = { dtype: "float32" as const, shape: [1, 1, 4, 4] };
  // Two negative dims multiply out to a large positive kernel size: rejected before any window is built.
  assert.throws(() => run("LpPool", [x], { attrs: { kernel_shape: [-1000, -1] } }), { name: "ModelError", message: /LpPool: kernel_shape \[-1000,-1\] must be positive/ });
  assert.throws(() => infer("MaxPool", [xt], { attrs: { kernel_shape: [0, 2] } }), { name: "ModelError", message: /MaxPool: kernel_shape \[0,2\]/ });
  assert.throws(() => infer("LpPool", [xt], { attrs: { kernel_shape: [6, 6] } }), { name: "EvalError", message: /LpPool: kernel_shape \[6,6\] over input \[4,4\].*negative output size/ });
  // 4 output positions x 9 taps = 36 table entries, over a limit of 30.
  assert.throws(() => withElementLimit(30, () => run("LpPool", [x], { attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] } })),
    { name: "LimitError", message: /LpPool: window table .* 36 elements, over the limit of 30/ });
});

test("MaxUnpool: default shape and spec output_shape example", () => {
  const x = f32([1, 1, 2, 2], [5, 6, 7, 8]), ind = Tensor.fromNumbers("int64", [1, 1, 2, 2], [5, 7, 13, 15]);
  const attrs = { kernel_shape: [2, 2], strides: [2, 2] };
  close(run("MaxUnpool", [x, ind], { attrs })[0]!, [1, 1, 4, 4], [0, 0, 0, 0, 0, 5, 0, 6, 0, 0, 0, 0, 0, 7, 0, 8]);
  const os = Tensor.fromNumbers("int64", [4], [1, 1, 5, 5]);
  close(run("MaxUnpool", [x, ind, os], { attrs })[0]!, [1, 1, 5, 5],
    [0, 0, 0, 0, 0, 0, 5, 0, 6, 0, 0, 0, 0, 0, 0, 0, 7, 0, 8, 0, 0, 0, 0, 0, 0]);
});

test("MaxUnpool: non-positive strides or kernel, oversized pads and a negative output_shape are typed errors", () => {
  const x = f32([1, 1, 2, 2], [5, 6, 7, 8]), ind = Tensor.fromNumbers("int64", [1, 1, 2, 2], [5, 7, 13, 15]);
  assert.throws(() => run("MaxUnpool", [x, ind], { attrs: { kernel_shape: [2, 2], strides: [-1000, 2] } }),
    { name: "ModelError", message: /MaxUnpool: strides \[-1000,2\] must be positive/ });
  assert.throws(() => run("MaxUnpool", [x, ind], { attrs: { kernel_shape: [2, -1] } }), { name: "ModelError", message: /MaxUnpool: kernel_shape \[2,-1\]/ });
  assert.throws(() => infer("MaxUnpool", [{ dtype: "float32", shape: [1, 1, 2, 2] }], { attrs: { kernel_shape: [2, 2], pads: [4, 0, 4, 0] } }),
    { name: "ModelError", message: /MaxUnpool: pads \[4,0,4,0\] exceed the unpooled size \[-5,3\]/ });
  assert.throws(() => run("MaxUnpool", [x, ind, Tensor.fromNumbers("int64", [4], [1, 1, -4, 4])], { attrs: { kernel_shape: [2, 2], strides: [2, 2] } }),
    { name: "EvalError", message: /MaxUnpool output: invalid dimension -4/ });
});

test("MatMul: 2-D, 1-D operands, batch broadcasting, symbolic inference", () => {
  const a = f32([2, 3], [1, 2, 3, 4, 5, 6]), b = f32([3, 2], [7, 8, 9, 10, 11, 12]);
  close(run("MatMul", [a, b])[0]!, [2, 2], [58, 64, 139, 154]);
  close(run("MatMul", [f32([3], [1, 2, 3]), f32([3], [4, 5, 6])])[0]!, [], [32]);
  close(run("MatMul", [f32([3], [1, 2, 3]), b])[0]!, [2], [58, 64]);
  close(run("MatMul", [a, f32([3], [1, 0, -1])])[0]!, [2], [-2, -2]);
  // [2,1,2] x [2,1]: batch of two 1x2 rows times one column.
  close(run("MatMul", [f32([2, 1, 2], [1, 2, 3, 4]), f32([2, 1], [10, 1])])[0]!, [2, 1, 1], [12, 34]);
  // 5x4 (identity rows, then a row of ones) times 4x5 B[k][j] = 10k + j: B's rows, then column sums.
  const ai = f32([5, 4], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  const bi = Array.from({ length: 20 }, (_, i) => 10 * Math.floor(i / 5) + (i % 5));
  close(run("MatMul", [ai, f32([4, 5], bi)])[0]!, [5, 5], [...bi, ...[0, 1, 2, 3, 4].map((j) => 60 + 4 * j)]);
  const [t] = infer("MatMul", [{ dtype: "float32", shape: ["N", "seq", 512] }, { dtype: "float32", shape: [512, 64] }]);
  assert.deepEqual(t, { dtype: "float32", shape: ["N", "seq", 64] });
});

test("Gemm: transposes, alpha/beta, broadcast C, no C", () => {
  const a = f32([3, 2], [1, 4, 2, 5, 3, 6]); // transposed [[1,2,3],[4,5,6]]
  const b = f32([2, 3], [7, 9, 11, 8, 10, 12]); // transposed [[7,8],[9,10],[11,12]]
  const c = f32([2], [1, -1]);
  close(run("Gemm", [a, b, c], { attrs: { transA: 1, transB: 1, alpha: 0.5, beta: 2 } })[0]!, [2, 2], [31, 30, 71.5, 75]);
  close(run("Gemm", [f32([1, 2], [1, 2]), f32([2, 1], [3, 4])])[0]!, [1, 1], [11]);
});

test("Det: 2-D and batched", () => {
  close(run("Det", [f32([2, 2], [1, 2, 3, 4])])[0]!, [], [-2]);
  close(run("Det", [f32([2, 3, 3], [0, 1, 0, 1, 0, 0, 0, 0, 1, 2, 0, 0, 0, 3, 0, 1, 0, 4])])[0]!, [2], [-1, 24]);
});
