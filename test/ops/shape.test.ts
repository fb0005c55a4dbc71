/** Shape and movement ops: hand-computed values (many from the ONNX spec's examples) and symbolic inference. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import type { DType } from "../../src/ir/dtype.js";
import type { Attr, Node } from "../../src/ir/graph.js";
import { Tensor } from "../../src/ir/tensor.js";
import type { Dim } from "../../src/ir/types.js";
import { inferModel } from "../../src/ops/inference.js";
import { evaluateNode } from "../../src/ops/interpreter.js";
import "../../src/ops/index.js";

const f32 = (shape: number[], v: number[]) => Tensor.fromNumbers("float32", shape, v);
const i64 = (v: number[], shape = [v.length]) => Tensor.fromNumbers("int64", shape, v);
const iota = (shape: number[], dtype: DType = "float32") => {
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.fromNumbers(dtype, shape, Array.from({ length: n }, (_, i) => i));
};

type AttrValue = number | string | number[] | Tensor;

function toAttrs(attrs: Record<string, AttrValue>): Node["attrs"] {
  const out: Record<string, Attr> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "number") out[k] = Number.isInteger(v) ? { type: "int", value: v } : { type: "float", value: v };
    else if (typeof v === "string") out[k] = { type: "string", value: v };
    else if (Array.isArray(v)) out[k] = { type: "ints", value: v };
    else out[k] = { type: "tensor", value: v };
  }
  return out;
}

/** Evaluate one node; `outputs` names how many outputs it has ("" for unrequested ones). */
function run(op: string, inputs: (Tensor | null)[], attrs: Record<string, AttrValue> = {}, opset = 21, outputs: string[] = ["y"]): (Tensor | null)[] {
  const node: Node = { op, name: "", inputs: inputs.map((t, i) => (t ? `x${i}` : "")), outputs, attrs: toAttrs(attrs) };
  return evaluateNode(node, inputs, { "": opset });
}

function one(op: string, inputs: (Tensor | null)[], attrs: Record<string, AttrValue> = {}, opset = 21): Tensor {
  return run(op, inputs, attrs, opset)[0]!;
}

function check(t: Tensor, shape: number[], values: number[]): void {
  assert.deepEqual([...t.shape], shape);
  assert.deepEqual(Array.from(t.numbers()), values);
}

/** Infer the output shape of one node whose input 0 is a graph input of `shape`; other inputs are constants. */
function inferShape(op: string, shape: Dim[], consts: Tensor[], attrs: Record<string, AttrValue> = {}, opset = 21, outputs = 1): (readonly Dim[] | null)[] {
  const b = new GraphBuilder("t", { "": opset });
  const x = b.input("x", "float32", shape);
  const ins = [x, ...consts.map((t, i) => b.weight(`c${i}`, t))];
  const outs = b.nodeN(op, ins, outputs, attrs);
  outs.forEach((o) => b.output(o));
  const m = inferModel(b.build());
  return outs.map((o) => m.graph.valueTypes.get(o)?.shape ?? null);
}

describe("Reshape", () => {
  it("copies 0 dims and infers -1", () => {
    check(one("Reshape", [iota([2, 3, 4]), i64([0, -1])]), [2, 12], Array.from({ length: 24 }, (_, i) => i));
  });
  it("allowzero keeps a literal 0", () => {
    const t = one("Reshape", [Tensor.zeros("float32", [0, 3, 4]), i64([3, 4, 0])], { allowzero: 1 });
    assert.deepEqual([...t.shape], [3, 4, 0]);
  });
  it("opset 1 takes the shape attribute", () => {
    check(one("Reshape", [iota([2, 2])], { shape: [4] }, 1), [4], [0, 1, 2, 3]);
  });
  it("keeps symbolic dims", () => {
    assert.deepEqual(inferShape("Reshape", ["N", 2048, 1, 1], [i64([0, -1])])[0], ["N", 2048]);
    assert.deepEqual(inferShape("Reshape", ["N", 3, 4], [i64([-1, 4])])[0], ["(N*3)", 4]);
    assert.deepEqual(inferShape("Reshape", ["N", 3, 4], [i64([0, 0, 2, 2])])[0], ["N", 3, 2, 2]);
  });
});

describe("Shape, Size", () => {
  it("Shape with start/end (spec example)", () => {
    const x = Tensor.zeros("float32", [2, 3, 4, 5]);
    const s = one("Shape", [x]);
    assert.equal(s.dtype, "int64");
    check(s, [4], [2, 3, 4, 5]);
    check(one("Shape", [x], { start: 1, end: -1 }), [2], [3, 4]);
    check(one("Shape", [x], { start: -10 }), [4], [2, 3, 4, 5]);
    check(one("Shape", [x], { start: 3, end: 1 }), [0], []);
    assert.deepEqual(inferShape("Shape", ["N", 3, 4], [], { start: 1 })[0], [2]);
  });
  it("Size", () => {
    const s = one("Size", [Tensor.zeros("float32", [2, 3, 4])]);
    assert.equal(s.dtype, "int64");
    check(s, [], [24]);
  });
});

describe("Flatten, Squeeze, Unsqueeze", () => {
  it("Flatten", () => {
    assert.deepEqual([...one("Flatten", [iota([2, 3, 4, 5])], { axis: 2 }).shape], [6, 20]);
    assert.deepEqual([...one("Flatten", [iota([2, 3, 4, 5])], { axis: 0 }).shape], [1, 120]);
    assert.deepEqual([...one("Flatten", [iota([2, 3, 4, 5])], { axis: -1 }).shape], [24, 5]);
    assert.deepEqual(inferShape("Flatten", ["N", 512, 1, 1], [])[0], ["N", 512]);
  });
  it("Squeeze with attribute, input and default", () => {
    assert.deepEqual([...one("Squeeze", [iota([1, 3, 1, 5])], { axes: [0] }, 11).shape], [3, 1, 5]);
    assert.deepEqual([...one("Squeeze", [iota([1, 3, 1, 5]), i64([-2])]).shape], [1, 3, 5]);
    assert.deepEqual([...one("Squeeze", [iota([1, 3, 1, 5])]).shape], [3, 5]);
    assert.throws(() => one("Squeeze", [iota([2, 3]), i64([0])]));
    assert.deepEqual(inferShape("Squeeze", ["N", 512, 1, 1], [i64([2, 3])])[0], ["N", 512]);
  });
  it("Unsqueeze with attribute and input, unsorted axes", () => {
    assert.deepEqual([...one("Unsqueeze", [iota([3, 4, 5])], { axes: [2, 0] }, 11).shape], [1, 3, 1, 4, 5]);
    assert.deepEqual([...one("Unsqueeze", [iota([3, 4, 5]), i64([5, 4, 2])]).shape], [3, 4, 1, 5, 1, 1]);
    assert.deepEqual([...one("Unsqueeze", [iota([3]), i64([-1])]).shape], [3, 1]);
    assert.deepEqual(inferShape("Unsqueeze", ["N", 3], [i64([1])])[0], ["N", 1, 3]);
  });
});

describe("Expand, ConstantOfShape, Range, EyeLike", () => {
  it("Expand (spec example)", () => {
    check(one("Expand", [f32([3, 1], [1, 2, 3]), i64([2, 1, 6])]), [2, 3, 6],
      [...[1, 2, 3].flatMap((v) => new Array(6).fill(v)), ...[1, 2, 3].flatMap((v) => new Array(6).fill(v))]);
    check(one("Expand", [f32([3, 1], [1, 2, 3]), i64([3, 4])]), [3, 4], [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
    assert.deepEqual(inferShape("Expand", ["N", 1], [i64([1, 4])])[0], ["N", 4]);
  });
  it("ConstantOfShape", () => {
    const t = one("ConstantOfShape", [i64([2, 3])]);
    assert.equal(t.dtype, "float32");
    check(t, [2, 3], [0, 0, 0, 0, 0, 0]);
    const big = one("ConstantOfShape", [i64([2])], { value: Tensor.fromBigInts("int64", [1], [2n ** 60n + 1n]) });
    assert.deepEqual(big.bigints(), [2n ** 60n + 1n, 2n ** 60n + 1n]);
    check(one("ConstantOfShape", [i64([0])], { value: Tensor.fromNumbers("int32", [1], [7]) }), [0], []);
  });
  it("Range (spec examples)", () => {
    check(one("Range", [Tensor.scalar("float32", 3), Tensor.scalar("float32", 9), Tensor.scalar("float32", 3)]), [2], [3, 6]);
    check(one("Range", [Tensor.scalar("int32", 10), Tensor.scalar("int32", 4), Tensor.scalar("int32", -3)]), [2], [10, 7]);
    check(one("Range", [Tensor.scalar("int64", 1), Tensor.scalar("int64", 1), Tensor.scalar("int64", 1)]), [0], []);
  });
  it("Range: a count over the element limit or not finite is a typed error, raised before the values are built", () => {
    const s = (dtype: DType, v: number) => Tensor.scalar(dtype, v);
    const t0 = performance.now();
    assert.throws(() => one("Range", [s("int32", 0), s("int32", 2 ** 31 - 1), s("int32", 1)]), { name: "LimitError", message: /Range output: shape \[2147483647\]/ });
    assert.ok(performance.now() - t0 < 1000, "rejected without building the values");
    assert.throws(() => one("Range", [s("float32", 0), s("float32", Infinity), s("float32", 1)]),
      { name: "EvalError", message: /Range: start 0, limit Infinity and delta 1 give no finite element count/ });
    assert.throws(() => one("Range", [s("float32", NaN), s("float32", 1), s("float32", 1)]), { name: "EvalError", message: /Range: start NaN/ });
  });
  it("EyeLike with k and dtype", () => {
    const t = one("EyeLike", [Tensor.zeros("int32", [3, 4])], { k: 1, dtype: 1 });
    assert.equal(t.dtype, "float32");
    check(t, [3, 4], [0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    check(one("EyeLike", [Tensor.zeros("int32", [3, 2])], { k: -1 }), [3, 2], [0, 0, 1, 0, 0, 1]);
  });
});

describe("Transpose, Concat, Split", () => {
  it("Transpose", () => {
    check(one("Transpose", [iota([2, 3])]), [3, 2], [0, 3, 1, 4, 2, 5]);
    check(one("Transpose", [iota([2, 2, 2])], { perm: [1, 0, 2] }), [2, 2, 2], [0, 1, 4, 5, 2, 3, 6, 7]);
    assert.deepEqual(inferShape("Transpose", ["N", 3, "S"], [], { perm: [2, 0, 1] })[0], ["S", "N", 3]);
  });
  it("Concat", () => {
    check(one("Concat", [f32([2, 2], [1, 2, 3, 4]), f32([2, 1], [5, 6])], { axis: -1 }), [2, 3], [1, 2, 5, 3, 4, 6]);
    check(one("Concat", [f32([1, 2], [1, 2]), f32([1, 2], [3, 4])], { axis: 0 }), [2, 2], [1, 2, 3, 4]);
    assert.deepEqual(inferShape("Concat", ["N", 3], [f32([1, 3], [0, 0, 0])], { axis: 0 })[0], ["(N+1)", 3]);
    assert.deepEqual(inferShape("Concat", ["N", 3], [f32([1, 2], [0, 0])], { axis: 1 })[0], [1, 5]);
  });
  it("Split: attribute, input, equal parts, num_outputs with an uneven last chunk", () => {
    const x = f32([6], [1, 2, 3, 4, 5, 6]);
    const parts = (ts: (Tensor | null)[]) => ts.map((t) => Array.from(t!.numbers()));
    assert.deepEqual(parts(run("Split", [x], { split: [2, 4] }, 11, ["a", "b"])), [[1, 2], [3, 4, 5, 6]]);
    assert.deepEqual(parts(run("Split", [x, i64([1, 5])], {}, 13, ["a", "b"])), [[1], [2, 3, 4, 5, 6]]);
    assert.deepEqual(parts(run("Split", [x], {}, 13, ["a", "b", "c"])), [[1, 2], [3, 4], [5, 6]]);
    const y = f32([7], [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(parts(run("Split", [y], { num_outputs: 3 }, 18, ["a", "b", "c"])), [[1, 2, 3], [4, 5, 6], [7]]);
    assert.equal(run("Split", [x], {}, 13, ["a", ""])[1], null);
    assert.deepEqual(inferShape("Split", ["N", 6], [], { axis: 1 }, 13, 2), [["N", 3], ["N", 3]]);
  });
});

describe("Slice", () => {
  const x = iota([3, 4]);
  it("steps, negative steps, clamping of huge values (spec examples)", () => {
    check(one("Slice", [x, i64([1, 0]), i64([2, 3]), i64([0, 1]), i64([1, 2])]), [1, 2], [4, 6]);
    check(one("Slice", [x, i64([0, 1]), i64([-1, 1000])]), [2, 3], [1, 2, 3, 5, 6, 7]);
    const int64Min = Tensor.fromBigInts("int64", [1], [-(2n ** 63n)]);
    const int64Max = Tensor.fromBigInts("int64", [1], [2n ** 63n - 1n]);
    check(one("Slice", [x, i64([-1]), int64Min, i64([1]), i64([-1])]), [3, 4], [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8]);
    check(one("Slice", [x, int64Max, int64Min, i64([0]), i64([-2])]), [2, 4], [8, 9, 10, 11, 0, 1, 2, 3]);
    check(one("Slice", [x, i64([2]), i64([0]), i64([0]), i64([-1])]), [2, 4], [8, 9, 10, 11, 4, 5, 6, 7]);
    check(one("Slice", [x, i64([10]), i64([20]), i64([0])]), [0, 4], []);
  });
  it("opset 1 attributes", () => {
    check(one("Slice", [x], { starts: [1], ends: [2], axes: [1] }, 1), [3, 1], [1, 5, 9]);
  });
  it("keeps symbolic dims", () => {
    const big = 2 ** 62;
    assert.deepEqual(inferShape("Slice", ["N", 10], [i64([2]), i64([5]), i64([1])])[0], ["N", 3]);
    assert.deepEqual(inferShape("Slice", ["N", 10], [i64([1]), i64([big]), i64([0])])[0], ["(N-1)", 10]);
    assert.deepEqual(inferShape("Slice", ["N", 10], [i64([-1]), i64([big]), i64([0])])[0], [1, 10]);
    assert.deepEqual(inferShape("Slice", ["N", 10], [i64([1]), i64([-1]), i64([0])])[0], ["(N-2)", 10]);
    assert.deepEqual(inferShape("Slice", ["N", 10], [i64([-1]), i64([-big]), i64([0]), i64([-1])])[0], ["N", 10]);
    const s = inferShape("Slice", ["N", 10], [i64([0]), i64([3]), i64([0])])[0]!;
    assert.equal(s[1], 10);
    assert.equal(typeof s[0], "string");
  });
});

describe("Pad", () => {
  const x = f32([3, 2], [1, 1.2, 2.3, 3.4, 4.5, 5.7]);
  it("constant (spec example)", () => {
    check(one("Pad", [x, i64([0, 2, 0, 0])]), [3, 4], [0, 0, 1, 1.2, 0, 0, 2.3, 3.4, 0, 0, 4.5, 5.7].map(Math.fround));
    check(one("Pad", [f32([2], [1, 2]), i64([1, 1]), f32([], [9])]), [4], [9, 1, 2, 9]);
  });
  it("reflect, edge, wrap (spec examples)", () => {
    const r = [1, 1.2, 1, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7, 4.5, 5.7].map(Math.fround);
    check(one("Pad", [x, i64([0, 2, 0, 0])], { mode: "reflect" }), [3, 4], r);
    const e = [1, 1, 1, 1.2, 2.3, 2.3, 2.3, 3.4, 4.5, 4.5, 4.5, 5.7].map(Math.fround);
    check(one("Pad", [x, i64([0, 2, 0, 0])], { mode: "edge" }), [3, 4], e);
    check(one("Pad", [f32([3], [1, 2, 3]), i64([2, 2])], { mode: "wrap" }), [7], [2, 3, 1, 2, 3, 1, 2]);
  });
  it("axes input, negative pads, opset 2 attributes", () => {
    check(one("Pad", [iota([2, 2]), i64([1, 0]), null, i64([-1])]), [2, 3], [0, 0, 1, 0, 2, 3]);
    check(one("Pad", [iota([4]), i64([-1, 1])]), [4], [1, 2, 3, 0]);
    check(one("Pad", [iota([2])], { pads: [1, 0], value: 5.5 }, 2), [3], [5.5, 0, 1]);
    assert.deepEqual(inferShape("Pad", ["N", 3], [i64([0, 1, 0, 1])])[0], ["N", 5]);
  });
});

describe("Tile, DepthToSpace, SpaceToDepth, ReverseSequence, Trilu, CenterCropPad", () => {
  it("Tile", () => {
    check(one("Tile", [f32([2, 2], [0, 1, 2, 3]), i64([2, 2])]), [4, 4], [0, 1, 0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3, 2, 3]);
    assert.deepEqual(inferShape("Tile", ["N", 3], [i64([1, 2])])[0], ["N", 6]);
  });
  it("Tile copies storage as is (int64 beyond 2^53, scalars, zero repeats) and tiles millions of elements quickly", () => {
    const big = Tensor.fromBigInts("int64", [2], [2n ** 60n + 1n, -3n]);
    assert.deepEqual(one("Tile", [big, i64([3])]).bigints(), [2n ** 60n + 1n, -3n, 2n ** 60n + 1n, -3n, 2n ** 60n + 1n, -3n]);
    check(one("Tile", [f32([], [5]), i64([])]), [], [5]);
    check(one("Tile", [iota([2, 3]), i64([0, 2])]), [0, 6], []);
    const t0 = performance.now();
    const t = one("Tile", [iota([2, 3, 4, 5]), i64([7, 1000, 4, 2])]);
    assert.deepEqual([...t.shape], [14, 3000, 16, 10]);
    assert.equal(t.numbers()[t.size - 1], 119);
    assert.ok(performance.now() - t0 < 1000, `took ${Math.round(performance.now() - t0)} ms`);
  });
  it("Tile-1 without its axis input, or with more than one tile count, is a typed error", () => {
    const x = f32([2, 2], [0, 1, 2, 3]);
    check(one("Tile", [x, i64([2]), i64([1])], {}, 1), [2, 4], [0, 1, 0, 1, 2, 3, 2, 3]);
    assert.throws(() => one("Tile", [x, i64([2])], {}, 1), { name: "ModelError", message: /Tile: input 2 is required/ });
    assert.throws(() => inferShape("Tile", [2, 2], [i64([2])], {}, 1), { name: "ModelError", message: /has 2 inputs; Tile \(opset 1\) takes 3/ });
    assert.throws(() => one("Tile", [x, i64([2, 2]), i64([1])], {}, 1), { name: "EvalError", message: /Tile-1: tiles \[2,2\] and axis \[1\] must be single values/ });
  });
  it("DepthToSpace DCR and CRD", () => {
    // [1,4,1,1] with blocksize 2: channels become a 2x2 block.
    check(one("DepthToSpace", [iota([1, 4, 1, 1])], { blocksize: 2 }), [1, 1, 2, 2], [0, 1, 2, 3]);
    // 8 channels: DCR takes channel (i*2+j)*2+c, CRD takes c*4+i*2+j.
    check(one("DepthToSpace", [iota([1, 8, 1, 1])], { blocksize: 2 }), [1, 2, 2, 2], [0, 2, 4, 6, 1, 3, 5, 7]);
    check(one("DepthToSpace", [iota([1, 8, 1, 1])], { blocksize: 2, mode: "CRD" }), [1, 2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(inferShape("DepthToSpace", ["N", 8, 3, 3], [], { blocksize: 2 })[0], ["N", 2, 6, 6]);
  });
  it("SpaceToDepth inverts DCR DepthToSpace", () => {
    check(one("SpaceToDepth", [iota([1, 1, 2, 2])], { blocksize: 2 }), [1, 4, 1, 1], [0, 1, 2, 3]);
    const x = iota([1, 2, 4, 4]);
    const back = one("DepthToSpace", [one("SpaceToDepth", [x], { blocksize: 2 })], { blocksize: 2 });
    assert.deepEqual(Array.from(back.numbers()), Array.from(x.numbers()));
  });
  it("ReverseSequence (spec example, time_axis 0)", () => {
    const x = f32([4, 4], [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15]);
    check(one("ReverseSequence", [x, i64([4, 3, 2, 1])], { time_axis: 0, batch_axis: 1 }), [4, 4],
      [3, 6, 9, 12, 2, 5, 8, 13, 1, 4, 10, 14, 0, 7, 11, 15]);
  });
  it("Trilu upper/lower with k", () => {
    const x = iota([3, 3], "int64");
    check(one("Trilu", [x]), [3, 3], [0, 1, 2, 0, 4, 5, 0, 0, 8]);
    check(one("Trilu", [x, i64([1], [])], { upper: 0 }), [3, 3], [0, 1, 0, 3, 4, 5, 6, 7, 8]);
    check(one("Trilu", [x, i64([-1], [])]), [3, 3], [0, 1, 2, 3, 4, 5, 0, 7, 8]);
  });
  it("CenterCropPad crops and pads around the centre", () => {
    check(one("CenterCropPad", [iota([5]), i64([2])]), [2], [1, 2]);
    check(one("CenterCropPad", [iota([2]), i64([5])]), [5], [0, 0, 1, 0, 0]);
    check(one("CenterCropPad", [iota([3, 4]), i64([2])], { axes: [-1] }), [3, 2], [1, 2, 5, 6, 9, 10]);
  });
});
