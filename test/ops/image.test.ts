/** Image family: expected values come from the ONNX spec's examples or are worked out by hand. */
import { test } from "node:test";
import assert from "node:assert/strict";
import "../../src/ops/index.js";
import type { Attr, Node } from "../../src/ir/graph.js";
import { Tensor } from "../../src/ir/tensor.js";
import type { TensorType } from "../../src/ir/types.js";
import { ops } from "../../src/ops/image.js";
import { evaluateNode } from "../../src/ops/interpreter.js";
import { Attrs } from "../../src/ops/registry.js";

type A = Record<string, Attr>;
const int = (value: number): Attr => ({ type: "int", value });
const float = (value: number): Attr => ({ type: "float", value });
const str = (value: string): Attr => ({ type: "string", value });
const ints = (value: number[]): Attr => ({ type: "ints", value });

function node(op: string, n: number, attrs: A, absent: number[] = []): Node {
  return {
    op, name: "", attrs,
    inputs: Array.from({ length: n }, (_, i) => (absent.includes(i) ? "" : `i${i}`)),
    outputs: ["o0"],
  };
}

function run(op: string, inputs: (Tensor | null)[], attrs: A = {}, opset = 21): Tensor {
  const absent = inputs.flatMap((t, i) => (t === null ? [i] : []));
  return evaluateNode(node(op, inputs.length, attrs, absent), inputs, { "": opset })[0]!;
}

const f32 = (shape: number[], v: number[]) => Tensor.fromNumbers("float32", shape, v);
const i64 = (shape: number[], v: number[]) => Tensor.fromNumbers("int64", shape, v);

function close(actual: Tensor, shape: number[], values: number[]): void {
  assert.deepEqual(actual.shape, shape);
  const got = Array.from(actual.numbers());
  assert.equal(got.length, values.length);
  got.forEach((g, i) => assert.ok(Math.abs(g - values[i]!) < 1e-5, `element ${i}: got ${g}, want ${values[i]}`));
}

const X22 = f32([1, 1, 2, 2], [1, 2, 3, 4]);

test("Resize nearest upsample (spec example)", () => {
  const y = run("Resize", [X22, null, f32([4], [1, 1, 2, 3])], { mode: str("nearest") });
  close(y, [1, 1, 4, 6], [1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4]);
});

test("Resize linear downsample, half_pixel (spec example)", () => {
  // Row coordinate (0+0.5)/0.6-0.5 = 1/3; column coordinates 1/3 and 2.
  const x = f32([1, 1, 2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
  const y = run("Resize", [x, null, f32([4], [1, 1, 0.6, 0.6])], { mode: str("linear") });
  close(y, [1, 1, 1, 2], [1 + 1 / 3 + 4 / 3, 3 + 4 / 3]);
});

test("Resize sizes with axes; tf_crop_and_resize extrapolates outside the roi", () => {
  const y = run("Resize", [X22, null, null, i64([2], [1, 4])], { axes: ints([2, 3]), mode: str("nearest") });
  // Height 2 -> 1: (0.5)/0.5-0.5 = 0.5 rounds down to row 0; width doubles.
  close(y, [1, 1, 1, 4], [1, 1, 2, 2]);
  const x = f32([1, 3], [0, 10, 20]);
  // Column coordinate x * 1.5 * 2 / 2 + (-0.5) * 2: -1 (outside), 0.5, 2.
  const z = run("Resize", [x, f32([2], [-0.5, 1]), null, i64([1], [3])], {
    axes: ints([1]), mode: str("linear"), coordinate_transformation_mode: str("tf_crop_and_resize"),
    extrapolation_value: float(7),
  });
  close(z, [1, 3], [7, 5, 20]);
});

test("Resize: absurd scales or sizes are typed errors, raised before the per-axis tap lists are built", () => {
  const t0 = performance.now();
  assert.throws(() => run("Resize", [X22, null, f32([4], [1, 1, 1e30, 2])], { mode: str("linear") }), { name: "LimitError", message: /Resize output: shape \[1,1,[\d.e+]+,4\] .* over the limit/ });
  assert.ok(performance.now() - t0 < 1000, `took ${Math.round(performance.now() - t0)} ms`);
  assert.throws(() => run("Resize", [X22, null, f32([4], [1, 1, NaN, 2])]), { name: "ModelError", message: /Resize: scale NaN must be positive/ });
  assert.throws(() => run("Resize", [X22, null, null, i64([4], [1, 1, -3, 4])]), { name: "EvalError", message: /Resize: sizes \[1,1,-3,4\] must hold non-negative integers/ });
});

test("Upsample nearest (opset 9 scales input, opset 7 attribute)", () => {
  const want = [1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4];
  close(run("Upsample", [X22, f32([4], [1, 1, 2, 3])], {}, 9), [1, 1, 4, 6], want);
  close(run("Upsample", [X22], { scales: { type: "floats", value: [1, 1, 2, 3] } }, 7), [1, 1, 4, 6], want);
});

test("GridSample bilinear with zeros/border padding and align_corners", () => {
  const x = f32([1, 1, 2, 2], [0, 1, 2, 3]);
  // align_corners=1: (0,0) is the centre (value 1.5), (-1,-1) the top-left pixel, (1,-1) the top-right.
  const g1 = f32([1, 1, 3, 2], [0, 0, -1, -1, 1, -1]);
  close(run("GridSample", [x, g1], { align_corners: int(1) }), [1, 1, 1, 3], [1.5, 0, 1]);
  // align_corners=0: (1,1) maps to pixel (1.5,1.5): a quarter of pixel 3, the rest is zero padding.
  const g2 = f32([1, 1, 1, 2], [1, 1]);
  close(run("GridSample", [x, g2]), [1, 1, 1, 1], [0.75]);
  close(run("GridSample", [x, g2], { padding_mode: str("border") }), [1, 1, 1, 1], [3]);
  close(run("GridSample", [x, g2], { mode: str("nearest") }), [1, 1, 1, 1], [0]);
});

test("GridSample padding modes outside the image (align_corners=1)", () => {
  const x = f32([1, 1, 1, 3], [10, 20, 30]);
  // x = -1.5 denormalizes to -0.5: reflected to 0.5 (15), clamped to 0 (10), or half zero padding (5).
  const g = f32([1, 1, 1, 2], [-1.5, 0]);
  const ac = { align_corners: int(1) };
  close(run("GridSample", [x, g], { ...ac, padding_mode: str("reflection") }), [1, 1, 1, 1], [15]);
  close(run("GridSample", [x, g], { ...ac, padding_mode: str("border") }), [1, 1, 1, 1], [10]);
  close(run("GridSample", [x, g], ac), [1, 1, 1, 1], [5]);
});

test("AffineGrid 2-D", () => {
  // Base grid of a 2x2 image without corner alignment is +-0.5; theta scales y by 2 and shifts x by 0.25.
  const theta = f32([1, 2, 3], [1, 0, 0.25, 0, 2, 0]);
  const y = run("AffineGrid", [theta, i64([4], [1, 1, 2, 2])]);
  close(y, [1, 2, 2, 2], [-0.25, -1, 0.75, -1, -0.25, 1, 0.75, 1]);
  const z = run("AffineGrid", [theta, i64([4], [1, 1, 2, 2])], { align_corners: int(1) });
  close(z, [1, 2, 2, 2], [-0.75, -2, 1.25, -2, -0.75, 2, 1.25, 2]);
});

test("AffineGrid: a negative or oversized size is a typed error before the grid is allocated", () => {
  const theta = f32([1, 2, 3], [1, 0, 0, 0, 1, 0]);
  assert.throws(() => run("AffineGrid", [theta, i64([4], [1, 1, -(2 ** 40), 2])]), { name: "EvalError", message: /AffineGrid: size \[1,1,-1099511627776,2\] must hold non-negative integers/ });
  assert.throws(() => run("AffineGrid", [theta, i64([4], [1, 1, 2 ** 20, 2 ** 20])]), { name: "LimitError", message: /AffineGrid output: shape \[1,1048576,1048576,2\]/ });
  assert.throws(() => run("AffineGrid", [theta, i64([3], [1, 1, 2])]), { name: "ModelError", message: /AffineGrid: size must have 4 or 5 values, got 3/ });
});

test("RoiAlign avg: half_pixel and output_half_pixel", () => {
  const x = f32([1, 1, 2, 2], [0, 1, 2, 3]);
  const rois = f32([1, 4], [0, 0, 2, 2]);
  const bi = i64([1], [0]);
  // half_pixel: roi [-0.5, 1.5], single sample at its centre (0.5, 0.5) -> 1.5.
  close(run("RoiAlign", [x, rois, bi], { sampling_ratio: int(1) }, 16), [1, 1, 1, 1], [1.5]);
  // output_half_pixel: roi [0, 2], sample at (1, 1) -> pixel 3.
  close(run("RoiAlign", [x, rois, bi], { sampling_ratio: int(1), coordinate_transformation_mode: str("output_half_pixel") }, 16),
    [1, 1, 1, 1], [3]);
});

test("RoiAlign: non-positive output sizes, a negative sampling_ratio and absurd sampling grids are typed errors", () => {
  const x = f32([1, 1, 2, 2], [1, 2, 3, 4]), bi = i64([1], [0]);
  const roi = (v: number[]) => f32([1, 4], v);
  assert.throws(() => run("RoiAlign", [x, roi([0, 0, 1, 1]), bi], { output_width: int(-105) }), { name: "ModelError", message: /RoiAlign: output_width -105 must be positive/ });
  assert.throws(() => run("RoiAlign", [x, roi([0, 0, 1, 1]), bi], { output_height: int(0) }), { name: "ModelError", message: /RoiAlign: output_height 0 must be positive/ });
  assert.throws(() => run("RoiAlign", [x, roi([0, 0, 1, 1]), bi], { sampling_ratio: int(-1) }), { name: "ModelError", message: /RoiAlign: sampling_ratio -1/ });
  // An adaptive grid grows with the ROI: 1e15 x 1e15 samples per bin are rejected before sampling.
  const t0 = performance.now();
  assert.throws(() => run("RoiAlign", [x, roi([0, 0, 1e15, 1e15]), bi]), { name: "LimitError", message: /RoiAlign: [\d.e+]+ samples .* over the limit/ });
  assert.throws(() => run("RoiAlign", [x, roi([0, 0, Infinity, 1]), bi]), { name: "EvalError", message: /RoiAlign: roi 0 \[0,0,Infinity,1\] gives a sampling grid of 1 x Infinity/ });
  assert.ok(performance.now() - t0 < 1000, `took ${Math.round(performance.now() - t0)} ms`);
});

test("NonMaxSuppression suppress by IOU (spec example) and center_point_box", () => {
  const boxes = f32([1, 6, 4], [0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, -0.1, 1, 0.9, 0, 10, 1, 11, 0, 10.1, 1, 11.1, 0, 100, 1, 101]);
  const scores = f32([1, 1, 6], [0.9, 0.75, 0.6, 0.95, 0.5, 0.3]);
  const y = run("NonMaxSuppression", [boxes, scores, i64([1], [3]), f32([1], [0.5]), f32([1], [0])]);
  assert.equal(y.dtype, "int64");
  close(y, [3, 3], [0, 0, 3, 0, 0, 0, 0, 0, 5]);
  const centers = f32([1, 2, 4], [0.5, 0.5, 1, 1, 0.5, 0.6, 1, 1]);
  const s2 = f32([1, 1, 2], [0.1, 0.2]);
  close(run("NonMaxSuppression", [centers, s2, i64([1], [5]), f32([1], [0.5])], { center_point_box: int(1) }), [1, 3], [0, 0, 1]);
  close(run("NonMaxSuppression", [centers, s2]), [0, 3], []);
});

test("Resize infer keeps a symbolic batch dim", () => {
  const resize = ops.find((o) => o.name === "Resize")!;
  const n = node("Resize", 3, {});
  let k = 0;
  const out = resize.infer({
    node: n, opset: 19, attrs: new Attrs(n, resize.attrs, 19), outputCount: 1,
    inputs: [{ dtype: "float32", shape: ["N", 3, 4, 4] }, null, { dtype: "float32", shape: [4] }] as TensorType[],
    constants: [undefined, undefined, f32([4], [1, 1, 2, 0.5])],
    fresh: () => `s${k++}`,
    inferSubgraph: () => [],
  });
  assert.deepEqual(out, [{ dtype: "float32", shape: ["N", 3, 8, 2] }]);
});
