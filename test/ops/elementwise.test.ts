/** Elementwise and activation ops: hand-computed values (many from the ONNX spec's examples) and inference. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import type { DType } from "../../src/ir/dtype.js";
import type { Attr, Node } from "../../src/ir/graph.js";
import { Tensor } from "../../src/ir/tensor.js";
import type { Dim } from "../../src/ir/types.js";
import { inferModel } from "../../src/ops/inference.js";
import { evaluateNode } from "../../src/ops/interpreter.js";
import { erf } from "../../src/ops/elementwise.js";
import "../../src/ops/index.js";

const T = (dtype: DType, shape: number[], v: number[]) => Tensor.fromNumbers(dtype, shape, v);
const f32 = (v: number[], shape = [v.length]) => T("float32", shape, v);
const i32 = (v: number[], shape = [v.length]) => T("int32", shape, v);
const bool = (v: number[], shape = [v.length]) => T("bool", shape, v);
const i64 = (v: bigint[], shape = [v.length]) => Tensor.fromBigInts("int64", shape, v);

const fl = (value: number): Attr => ({ type: "float", value });
const int = (value: number): Attr => ({ type: "int", value });
const str = (value: string): Attr => ({ type: "string", value });

function one(op: string, inputs: (Tensor | null)[], attrs: Record<string, Attr> = {}, opset = 21): Tensor {
  const node: Node = { op, name: "", inputs: inputs.map((t, i) => (t ? `x${i}` : "")), outputs: ["y"], attrs };
  return evaluateNode(node, inputs, { "": opset })[0]!;
}

function check(t: Tensor, dtype: DType, shape: number[], values: number[], tol = 0): void {
  assert.equal(t.dtype, dtype);
  assert.deepEqual([...t.shape], shape);
  const got = Array.from(t.numbers());
  assert.equal(got.length, values.length);
  got.forEach((g, i) => {
    const e = values[i]!;
    if (Number.isNaN(e)) assert.ok(Number.isNaN(g), `element ${i}: expected NaN, got ${g}`);
    else if (tol === 0) assert.equal(g, e, `element ${i}`);
    else assert.ok(Math.abs(g - e) <= tol * Math.max(1, Math.abs(e)), `element ${i}: expected ${e}, got ${g}`);
  });
}

/** Close to float32 precision. */
const approx = (t: Tensor, values: number[]) => check(t, t.dtype, [...t.shape], values, 1e-6);

describe("unary math", () => {
  it("Abs, Neg, Sign on floats and integers", () => {
    check(one("Abs", [f32([-1.5, 0, 2])]), "float32", [3], [1.5, 0, 2]);
    check(one("Neg", [T("int8", [2], [-128, 5])]), "int8", [2], [-128, -5]); // -(-128) wraps
    check(one("Sign", [f32([-3, 0, 2.5, NaN])]), "float32", [4], [-1, 0, 1, NaN]);
    const big = one("Abs", [i64([-(2n ** 62n) - 1n])]);
    assert.deepEqual(big.bigints(), [2n ** 62n + 1n]);
  });
  it("Ceil, Floor, Round (half to even)", () => {
    check(one("Ceil", [f32([-1.5, 1.2])]), "float32", [2], [-1, 2]);
    check(one("Floor", [f32([-1.5, 1.2])]), "float32", [2], [-2, 1]);
    // Spec example.
    check(one("Round", [f32([0.1, 0.5, 0.9, 1.2, 1.5, 1.8, 2.3, 2.5, 2.7, -1.1, -1.5, -1.9, -2.2, -2.5, -2.8])]), "float32", [15],
      [0, 0, 1, 1, 2, 2, 2, 2, 3, -1, -2, -2, -2, -2, -3]);
  });
  it("Reciprocal, Sqrt, Exp, Log", () => {
    check(one("Reciprocal", [f32([-4, 2])]), "float32", [2], [-0.25, 0.5]);
    check(one("Sqrt", [f32([1, 4, 9, -1])]), "float32", [4], [1, 2, 3, NaN]);
    approx(one("Exp", [f32([-1, 0, 1])]), [0.36787944, 1, 2.71828183]);
    approx(one("Log", [f32([1, 10])]), [0, 2.30258509]);
  });
  it("Erf against tabulated values", () => {
    const cases: [number, number][] = [[0, 0], [0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527],
      [3, 0.9999779095030014], [3.5, 0.9999992569016276], [-1, -0.8427007929497149]];
    for (const [x, e] of cases) assert.ok(Math.abs(erf(x) - e) < 1e-14, `erf(${x}) = ${erf(x)}`);
    approx(one("Erf", [f32([-1, 0, 1])]), [-0.84270079, 0, 0.84270079]);
  });
  it("trigonometric and hyperbolic", () => {
    approx(one("Sin", [f32([0, Math.PI / 2])]), [0, 1]);
    approx(one("Cos", [f32([0])]), [1]);
    approx(one("Tan", [f32([Math.PI / 4])]), [1]);
    approx(one("Asin", [f32([1])]), [Math.PI / 2]);
    approx(one("Acos", [f32([0])]), [Math.PI / 2]);
    approx(one("Atan", [f32([1])]), [Math.PI / 4]);
    approx(one("Sinh", [f32([1])]), [1.17520119]);
    approx(one("Cosh", [f32([1])]), [1.54308063]);
    approx(one("Asinh", [f32([1])]), [0.88137359]);
    approx(one("Acosh", [f32([2])]), [1.3169579]);
    approx(one("Atanh", [f32([0.5])]), [0.54930614]);
  });
  it("IsNaN, IsInf with detect flags, Not, BitwiseNot", () => {
    check(one("IsNaN", [f32([1, NaN, Infinity])]), "bool", [3], [0, 1, 0]);
    const x = f32([-1.2, NaN, Infinity, 2.8, -Infinity, Infinity]);
    check(one("IsInf", [x]), "bool", [6], [0, 0, 1, 0, 1, 1]);
    check(one("IsInf", [x], { detect_negative: int(0) }), "bool", [6], [0, 0, 1, 0, 0, 1]);
    check(one("IsInf", [x], { detect_positive: int(0) }), "bool", [6], [0, 0, 0, 0, 1, 0]);
    check(one("Not", [bool([1, 0])]), "bool", [2], [0, 1]);
    check(one("BitwiseNot", [T("uint8", [2], [0, 5])]), "uint8", [2], [255, 250]);
    check(one("BitwiseNot", [i32([0, -1])]), "int32", [2], [-1, 0]);
  });
  it("rejects integer input to float-only ops", () => {
    assert.throws(() => one("Sqrt", [i32([4])]), /Sqrt/);
  });
});

describe("binary arithmetic", () => {
  it("Add/Sub/Mul/Div broadcast", () => {
    check(one("Add", [f32([1, 2, 3, 4, 5, 6], [2, 3]), f32([10, 20, 30])]), "float32", [2, 3], [11, 22, 33, 14, 25, 36]);
    check(one("Sub", [f32([1, 2, 3]), f32([3, 2, 1])]), "float32", [3], [-2, 0, 2]);
    check(one("Mul", [f32([1, 2, 3]), f32([4, 5, 6])]), "float32", [3], [4, 10, 18]);
    check(one("Div", [f32([3, 4]), f32([2, 8])]), "float32", [2], [1.5, 0.5]);
  });
  it("int32 Add and Mul wrap", () => {
    check(one("Add", [i32([2147483647]), i32([1])]), "int32", [1], [-2147483648]);
    // 65537 * 65537 = 2^32 + 2^17 + 1 -> 131073 mod 2^32.
    check(one("Mul", [i32([65537, 123456789]), i32([65537, 1000])]), "int32", [2], [131073, -1097262584]);
  });
  it("int64 arithmetic is exact", () => {
    const t = one("Add", [i64([2n ** 62n]), i64([3n])]);
    assert.deepEqual(t.bigints(), [2n ** 62n + 3n]);
    assert.deepEqual(one("Mul", [i64([2n ** 62n]), i64([4n])]).bigints(), [0n]);
  });
  it("integer Div truncates toward zero", () => {
    check(one("Div", [i32([7, -7, 7, -7]), i32([2, 2, -2, -2])]), "int32", [4], [3, -3, -3, 3]);
    assert.deepEqual(one("Div", [i64([-7n]), i64([2n])]).bigints(), [-3n]);
    check(one("Div", [T("uint8", [1], [200]), T("uint8", [1], [3])]), "uint8", [1], [66]);
    assert.throws(() => one("Div", [i32([1]), i32([0])]), /division by zero/);
  });
  it("Mod: fmod=0 follows the divisor, fmod=1 the dividend (spec examples)", () => {
    const a = i32([-4, 7, 5, 4, -7, 8]), b = i32([2, -3, 8, -2, 3, 5]);
    check(one("Mod", [a, b]), "int32", [6], [0, -2, 5, 0, 2, 3]);
    check(one("Mod", [a, b], { fmod: int(1) }), "int32", [6], [0, 1, 5, 0, -1, 3]);
    const x = f32([-4.3, 7.2, 5.0, 4.3, -7.2, 8.0]), y = f32([2.1, -3.4, 8.0, -2.1, 3.4, 5.0]);
    approx(one("Mod", [x, y], { fmod: int(1) }), [-0.1, 0.4, 5, 0.1, -0.4, 3]);
    assert.deepEqual(one("Mod", [i64([-7n]), i64([3n])]).bigints(), [2n]);
  });
  it("Pow with mixed dtypes and edge cases", () => {
    check(one("Pow", [f32([1, 2, 3]), f32([4, 5, 6])]), "float32", [3], [1, 32, 729]);
    check(one("Pow", [f32([1, 2, 3]), i64([2n, 3n, 4n])]), "float32", [3], [1, 8, 81]);
    check(one("Pow", [i32([2, 3, -2]), f32([0.5, 2, 3])]), "int32", [3], [1, 9, -8]);
    check(one("Pow", [i32([2]), i32([31])]), "int32", [1], [-2147483648]);
    check(one("Pow", [f32([1, -1, NaN]), f32([NaN, Infinity, 0])]), "float32", [3], [1, 1, 1]);
  });
  it("BitShift (spec example) and bitwise ops", () => {
    check(one("BitShift", [T("uint8", [3], [16, 4, 1]), T("uint8", [3], [1, 2, 3])], { direction: str("RIGHT") }), "uint8", [3], [8, 1, 0]);
    check(one("BitShift", [T("uint8", [3], [16, 4, 1]), T("uint8", [3], [1, 2, 3])], { direction: str("LEFT") }), "uint8", [3], [32, 16, 8]);
    check(one("BitShift", [T("uint8", [1], [255]), T("uint8", [1], [1])], { direction: str("LEFT") }), "uint8", [1], [254]);
    check(one("BitwiseAnd", [i32([12, -1]), i32([10, 7])]), "int32", [2], [8, 7]);
    check(one("BitwiseOr", [i32([12]), i32([10])]), "int32", [1], [14]);
    check(one("BitwiseXor", [T("uint8", [1], [12]), T("uint8", [1], [10])]), "uint8", [1], [6]);
  });
  it("opset 6 broadcast with axis aligns B at that axis", () => {
    const a = f32([1, 2, 3, 4, 5, 6], [2, 3]);
    check(one("Add", [a, f32([10, 20])], { broadcast: int(1), axis: int(0) }, 6), "float32", [2, 3], [11, 12, 13, 24, 25, 26]);
  });
});

describe("logic and comparison", () => {
  it("And, Or, Xor", () => {
    const a = bool([1, 1, 0, 0]), b = bool([1, 0, 1, 0]);
    check(one("And", [a, b]), "bool", [4], [1, 0, 0, 0]);
    check(one("Or", [a, b]), "bool", [4], [1, 1, 1, 0]);
    check(one("Xor", [a, b]), "bool", [4], [0, 1, 1, 0]);
  });
  it("comparisons, NaN compares false", () => {
    const a = f32([1, 2, 3, NaN]), b = f32([2, 2, 2, NaN]);
    check(one("Equal", [a, b]), "bool", [4], [0, 1, 0, 0]);
    check(one("Less", [a, b]), "bool", [4], [1, 0, 0, 0]);
    check(one("LessOrEqual", [a, b]), "bool", [4], [1, 1, 0, 0]);
    check(one("Greater", [a, b]), "bool", [4], [0, 0, 1, 0]);
    check(one("GreaterOrEqual", [a, b]), "bool", [4], [0, 1, 1, 0]);
    // 2^53 and 2^53+1 are equal as doubles; int64 must compare exactly.
    check(one("Equal", [i64([2n ** 53n]), i64([2n ** 53n + 1n])]), "bool", [1], [0]);
  });
  it("Where broadcasts (spec example)", () => {
    const c = bool([1, 0, 1, 1], [2, 2]);
    check(one("Where", [c, f32([1, 2, 3, 4], [2, 2]), f32([9, 8, 7, 6], [2, 2])]), "float32", [2, 2], [1, 8, 3, 4]);
    check(one("Where", [bool([1, 0]), f32([1]), f32([5, 6, 7, 8], [2, 2])]), "float32", [2, 2], [1, 6, 1, 8]);
  });
});

describe("Clip, Cast, variadic", () => {
  it("Clip with inputs (opset 11+) and attributes (opset 6)", () => {
    check(one("Clip", [f32([-2, 0, 2]), f32([-1]), f32([1])]), "float32", [3], [-1, 0, 1]);
    check(one("Clip", [f32([-2, 0, 2]), null, f32([1])]), "float32", [3], [-2, 0, 1]);
    check(one("Clip", [f32([-2, NaN, 2]), f32([2]), f32([1])]), "float32", [3], [1, NaN, 1]);
    check(one("Clip", [f32([-2, 0, 2])], { min: fl(-1), max: fl(1) }, 6), "float32", [3], [-1, 0, 1]);
    // Opset 6 defaults are +/-FLT_MAX, so infinity clips to it.
    check(one("Clip", [f32([-5, Infinity])], {}, 6), "float32", [2], [-5, 3.4028234663852886e38]);
    check(one("Clip", [T("int8", [3], [-128, 0, 127]), T("int8", [], [-5]), T("int8", [], [5])]), "int8", [3], [-5, 0, 5]);
  });
  it("Cast: float->int truncates, float16 rounds to nearest even, ints wrap, bool", () => {
    const code = (d: number) => ({ to: int(d) });
    check(one("Cast", [f32([-1.7, 2.9])], code(6)), "int32", [2], [-1, 2]);
    // 1 + 2^-11 is halfway between float16 1 and 1 + 2^-10: ties to even gives 1.
    check(one("Cast", [T("float64", [2], [1 + 2 ** -11, 1 + 3 * 2 ** -11])], code(10)), "float16", [2], [1, 1 + 2 ** -9]);
    check(one("Cast", [i32([300, -1])], code(2)), "uint8", [2], [44, 255]);
    check(one("Cast", [f32([0, -2, NaN])], code(9)), "bool", [3], [0, 1, 1]);
    assert.deepEqual(one("Cast", [T("uint64", [1], [0])], code(7)).bigints(), [0n]);
    check(one("Cast", [i64([2n ** 32n + 5n])], code(6)), "int32", [1], [5]);
    check(one("Cast", [f32([2.5])], { to: str("INT32") }, 1), "int32", [1], [2]);
    check(one("CastLike", [f32([1.5]), i32([0])]), "int32", [1], [1]);
  });
  it("Sum, Mean, Max, Min broadcast; Max/Min propagate NaN", () => {
    check(one("Sum", [f32([3, 0, 2]), f32([1, 3, 4]), f32([2, 6, 6])]), "float32", [3], [6, 9, 12]);
    check(one("Mean", [f32([3, 0, 2]), f32([1, 3, 4]), f32([2, 6, 6])]), "float32", [3], [2, 3, 4]);
    check(one("Max", [f32([3, 2, 1]), f32([1, 4, 4]), f32([2, 5, 3])]), "float32", [3], [3, 5, 4]);
    check(one("Min", [f32([3, 2, 1]), f32([1, 4, 4]), f32([2, 5, 3])]), "float32", [3], [1, 2, 1]);
    check(one("Max", [f32([1, NaN]), f32([NaN, 1])]), "float32", [2], [NaN, NaN]);
    check(one("Min", [f32([1, 2, 3, 4], [2, 2]), f32([2.5])]), "float32", [2, 2], [1, 2, 2.5, 2.5]);
    check(one("Max", [i32([3])]), "int32", [1], [3]);
  });
});

describe("activations", () => {
  const x = f32([-1, 0, 1]);
  it("Relu family", () => {
    check(one("Relu", [x]), "float32", [3], [0, 0, 1]);
    check(one("Relu", [T("int8", [2], [-3, 3])]), "int8", [2], [0, 3]);
    approx(one("LeakyRelu", [x], { alpha: fl(0.1) }), [-0.1, 0, 1]);
    approx(one("LeakyRelu", [x]), [-0.01, 0, 1]);
    check(one("PRelu", [f32([-2, -1, 1, 2], [2, 2]), f32([0.5, 0.25])]), "float32", [2, 2], [-1, -0.25, 1, 2]);
    approx(one("Elu", [x], { alpha: fl(2) }), [2 * (Math.exp(-1) - 1), 0, 1]);
    // Spec example: alpha 2, gamma 3.
    approx(one("Selu", [x], { alpha: fl(2), gamma: fl(3) }), [-3.79272318, 0, 3]);
    approx(one("Selu", [f32([-1])]), [-1.11133074]);
    approx(one("Celu", [f32([-1, 1])], { alpha: fl(2) }), [2 * (Math.exp(-0.5) - 1), 1]);
    check(one("ThresholdedRelu", [f32([-1, 1, 2, 3])], { alpha: fl(2) }), "float32", [4], [0, 0, 0, 3]);
  });
  it("sigmoid-like", () => {
    approx(one("Sigmoid", [x]), [0.26894142, 0.5, 0.73105858]);
    approx(one("Tanh", [x]), [-0.76159416, 0, 0.76159416]);
    approx(one("HardSigmoid", [x], { alpha: fl(0.5), beta: fl(0.6) }), [0.1, 0.6, 1]);
    approx(one("HardSwish", [f32([-4, 0, 1, 4])]), [0, 0, 2 / 3, 4]);
    approx(one("Softplus", [x]), [0.31326169, 0.69314718, 1.31326169]);
    check(one("Softplus", [f32([1000])]), "float32", [1], [1000]);
    approx(one("Softsign", [x]), [-0.5, 0, 0.5]);
    approx(one("Mish", [x]), [-0.30340147, 0, 0.86509839]);
    approx(one("Swish", [f32([3, 4, 5])], { alpha: fl(1) }, 24), [2.85772238, 3.92805516, 4.96653575]);
  });
  it("Gelu exact and tanh, Shrink", () => {
    approx(one("Gelu", [x]), [-0.15865525, 0, 0.84134475]);
    approx(one("Gelu", [x], { approximate: str("tanh") }), [-0.15880801, 0, 0.84119199]);
    check(one("Shrink", [f32([-2, -1, 0, 1, 2])], { lambd: fl(1.5) }), "float32", [5], [-2, 0, 0, 0, 2]);
    check(one("Shrink", [f32([-2, -1, 0, 1, 2])], { lambd: fl(1.5), bias: fl(1.5) }), "float32", [5], [-0.5, 0, 0, 0, 0.5]);
  });
});

describe("inference", () => {
  function inferOut(op: string, shapes: Dim[][], dtype: DType = "float32", attrs: Record<string, number | string> = {}, opset = 21) {
    const b = new GraphBuilder("t", { "": opset });
    const ins = shapes.map((s, i) => b.input(`x${i}`, i === 0 && op === "Where" ? "bool" : dtype, s));
    const y = b.node(op, ins, attrs);
    b.output(y);
    return inferModel(b.build()).graph.valueTypes.get(y);
  }
  it("broadcasts symbolic dims", () => {
    assert.deepEqual(inferOut("Add", [["N", 3, 1], [4]]), { dtype: "float32", shape: ["N", 3, 4] });
    assert.deepEqual(inferOut("Less", [["N", 3], [3]])?.dtype, "bool");
    assert.deepEqual(inferOut("Where", [["N", 1], [1, 5], [5]]), { dtype: "float32", shape: ["N", 5] });
    assert.deepEqual(inferOut("Max", [["N", 1], [1, 5], [5]])?.shape, ["N", 5]);
    assert.deepEqual(inferOut("Relu", [["N", 3]]), { dtype: "float32", shape: ["N", 3] });
    assert.deepEqual(inferOut("Cast", [["N", 3]], "float32", { to: 7 }), { dtype: "int64", shape: ["N", 3] });
  });
});
