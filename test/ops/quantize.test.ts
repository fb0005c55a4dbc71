/** Quantization ops: small cases computed by hand or taken from the ONNX spec's examples. */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { DType } from "../../src/ir/dtype.js";
import type { Attr } from "../../src/ir/graph.js";
import { Tensor } from "../../src/ir/tensor.js";
import type { TensorType } from "../../src/ir/types.js";
import { ops } from "../../src/ops/quantize.js";
import { Attrs, type OpDef } from "../../src/ops/registry.js";

function def(op: string): OpDef {
  const d = ops.find((o) => o.name === op);
  assert.ok(d, `op ${op} is registered`);
  return d;
}

type AttrVals = Record<string, number | number[] | string>;

function node(op: string, nIn: number, nOut: number, attrs: AttrVals) {
  const out: Record<string, Attr> = {};
  for (const [k, v] of Object.entries(attrs)) {
    out[k] = typeof v === "string" ? { type: "string", value: v } : Array.isArray(v) ? { type: "ints", value: v } : { type: "int", value: v };
  }
  return {
    op, name: "",
    inputs: Array.from({ length: nIn }, (_, i) => `i${i}`),
    outputs: Array.from({ length: nOut }, (_, i) => `o${i}`),
    attrs: out,
  };
}

interface RunOpts { attrs?: AttrVals; opset?: number; outputs?: number }

function run(op: string, inputs: (Tensor | null)[], o: RunOpts = {}): Tensor[] {
  const d = def(op);
  const n = node(op, inputs.length, o.outputs ?? 1, o.attrs ?? {});
  const opset = o.opset ?? 21;
  return d.evaluate({
    node: n, opset, inputs, attrs: new Attrs(n, d.attrs, opset), outputCount: n.outputs.length,
    runSubgraph: () => { throw new Error("no subgraphs"); },
  }) as Tensor[];
}

function infer(op: string, inputs: (TensorType | null)[], o: RunOpts = {}): (TensorType | null)[] {
  const d = def(op);
  const n = node(op, inputs.length, o.outputs ?? 1, o.attrs ?? {});
  const opset = o.opset ?? 21;
  let k = 0;
  return d.infer({
    node: n, opset, inputs, constants: inputs.map(() => undefined), attrs: new Attrs(n, d.attrs, opset),
    outputCount: n.outputs.length, fresh: () => `_u${k++}`,
    inferSubgraph: () => { throw new Error("no subgraphs"); },
  });
}

const t = (dtype: DType, shape: number[], v: number[]): Tensor => Tensor.fromNumbers(dtype, shape, v);
const s32 = (v: number): Tensor => Tensor.scalar("float32", v);

function check(x: Tensor, dtype: DType, shape: number[], expected: number[], tol = 0): void {
  assert.equal(x.dtype, dtype);
  assert.deepEqual([...x.shape], shape);
  const got = Array.from(x.numbers());
  assert.equal(got.length, expected.length);
  got.forEach((g, i) => assert.ok(Math.abs(g - expected[i]!) <= tol, `element ${i}: ${g} vs ${expected[i]}`));
}

test("QuantizeLinear: spec example (uint8, saturating) and round half to even", () => {
  const x = t("float32", [6], [0, 2, 3, 1000, -254, -1000]);
  check(run("QuantizeLinear", [x, s32(2), Tensor.scalar("uint8", 128)])[0]!, "uint8", [6], [128, 129, 130, 255, 1, 0]);
  const h = t("float32", [5], [1, 3, 5, -1, -3]);
  check(run("QuantizeLinear", [h, s32(2), Tensor.scalar("int8", 0)])[0]!, "int8", [5], [0, 2, 2, 0, -2]);
  // No zero point: uint8 by default, output_dtype (int8 = 3) from opset 21.
  check(run("QuantizeLinear", [t("float32", [2], [-3, 300]), s32(1)], { opset: 13 })[0]!, "uint8", [2], [0, 255]);
  check(run("QuantizeLinear", [t("float32", [2], [-300, 300]), s32(1)], { attrs: { output_dtype: 3 } })[0]!, "int8", [2], [-128, 127]);
});

test("QuantizeLinear: per-axis and blocked", () => {
  const x = t("float32", [1, 2, 2], [3, 4, 6, 8]);
  check(run("QuantizeLinear", [x, t("float32", [2], [1, 2]), t("uint8", [2], [0, 10])])[0]!, "uint8", [1, 2, 2], [3, 4, 13, 14]);
  // Blocks of 2 along axis 1: scales [1, 10], zero points [0, 1].
  const b = t("float32", [1, 4], [5, 6, 25, -40]);
  const y = run("QuantizeLinear", [b, t("float32", [1, 2], [1, 10]), t("int8", [1, 2], [0, 1])], { attrs: { block_size: 2 } })[0]!;
  check(y, "int8", [1, 4], [5, 6, 3, -3]);
});

test("DequantizeLinear: spec example, per-axis, blocked, int32", () => {
  const x = t("uint8", [4], [0, 3, 128, 255]);
  check(run("DequantizeLinear", [x, s32(2), Tensor.scalar("uint8", 128)])[0]!, "float32", [4], [-256, -250, 0, 254]);
  const pa = t("int8", [1, 2, 2], [1, 2, 3, 4]);
  check(run("DequantizeLinear", [pa, t("float32", [2], [1, 0.5]), t("int8", [2], [0, 1])])[0]!, "float32", [1, 2, 2], [1, 2, 1, 1.5]);
  const bl = t("int8", [1, 4], [2, 4, 3, 5]);
  const y = run("DequantizeLinear", [bl, t("float32", [1, 2], [0.5, 2]), t("int8", [1, 2], [0, 1])], { attrs: { block_size: 2 } })[0]!;
  check(y, "float32", [1, 4], [1, 2, 4, 8]);
  check(run("DequantizeLinear", [t("int32", [2], [-100000, 7]), s32(0.5)])[0]!, "float32", [2], [-50000, 3.5]);
});

test("DynamicQuantizeLinear: spec example", () => {
  const x = t("float32", [6], [0, 2, -3, -2.5, 1.34, 0.5]);
  const [y, scale, zp] = run("DynamicQuantizeLinear", [x], { outputs: 3 });
  check(y!, "uint8", [6], [153, 255, 0, 26, 221, 179]);
  check(scale!, "float32", [], [5 / 255], 1e-7);
  check(zp!, "uint8", [], [153]);
  // All zeros: the scale is 1 and everything quantizes to 0.
  const z = run("DynamicQuantizeLinear", [t("float32", [2], [0, 0])], { outputs: 3 });
  check(z[1]!, "float32", [], [1]);
  check(z[0]!, "uint8", [2], [0, 0]);
});

test("MatMulInteger: spec example and per-row zero points", () => {
  const a = t("uint8", [4, 3], [11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0]);
  const b = t("uint8", [3, 2], [1, 4, 2, 5, 3, 6]);
  const y = run("MatMulInteger", [a, b, Tensor.scalar("uint8", 12), Tensor.scalar("uint8", 0)])[0]!;
  check(y, "int32", [4, 2], [-38, -83, -44, -98, -50, -113, -56, -128]);
  const a2 = t("uint8", [2, 2], [1, 2, 3, 4]), eye = t("uint8", [2, 2], [1, 0, 0, 1]);
  check(run("MatMulInteger", [a2, eye, t("uint8", [2], [1, 3])])[0]!, "int32", [2, 2], [0, 1, 0, 1]);
  check(run("MatMulInteger", [a2, eye, null, t("uint8", [2], [1, 0])])[0]!, "int32", [2, 2], [-2, 2, -4, 4]);
});

test("QLinearMatMul: requantized product", () => {
  // (a - 0) @ (b - 2) = [2, 4] @ [0, 4] = 16; 16 * 0.5 * 0.25 / 0.5 = 4; + 10.
  const y = run("QLinearMatMul", [
    t("uint8", [1, 2], [2, 4]), s32(0.5), Tensor.scalar("uint8", 0),
    t("uint8", [2, 1], [2, 6]), s32(0.25), Tensor.scalar("uint8", 2),
    s32(0.5), Tensor.scalar("uint8", 10),
  ])[0]!;
  check(y, "uint8", [1, 1], [14]);
  // Saturation at the int8 range.
  const s = run("QLinearMatMul", [
    t("int8", [1, 1], [100]), s32(1), Tensor.scalar("int8", 0),
    t("int8", [1, 2], [100, -100]), s32(1), Tensor.scalar("int8", 0),
    s32(1), Tensor.scalar("int8", 0),
  ])[0]!;
  check(s, "int8", [1, 2], [127, -128]);
});

test("ConvInteger: spec example with and without padding", () => {
  const x = t("uint8", [1, 1, 3, 3], [2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const w = t("uint8", [1, 1, 2, 2], [1, 1, 1, 1]);
  check(run("ConvInteger", [x, w, Tensor.scalar("uint8", 1)])[0]!, "int32", [1, 1, 2, 2], [12, 16, 24, 28]);
  const p = run("ConvInteger", [x, w, Tensor.scalar("uint8", 1)], { attrs: { pads: [1, 1, 1, 1] } })[0]!;
  check(p, "int32", [1, 1, 4, 4], [1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9]);
});

test("QLinearConv: per-channel weight scale, bias, round half to even", () => {
  // Centered x = [0, 2, 4, 6]. Channel 0: 2x + 1 scaled by 0.5; channel 1: 4x - 2 scaled by 0.25.
  const y = run("QLinearConv", [
    t("uint8", [1, 1, 2, 2], [10, 12, 14, 16]), s32(0.5), Tensor.scalar("uint8", 10),
    t("uint8", [2, 1, 1, 1], [2, 4]), t("float32", [2], [1, 0.5]), Tensor.scalar("uint8", 0),
    s32(1), Tensor.scalar("uint8", 100), t("int32", [2], [1, -2]),
  ])[0]!;
  check(y, "uint8", [1, 2, 2, 2], [100, 102, 104, 106, 100, 102, 104, 106]);
});

test("inference: dtypes and symbolic shapes", () => {
  const x: TensorType = { dtype: "float32", shape: ["N", 3] };
  assert.deepEqual(infer("QuantizeLinear", [x, { dtype: "float32", shape: [] }, { dtype: "int8", shape: [] }]), [{ dtype: "int8", shape: ["N", 3] }]);
  assert.deepEqual(infer("QuantizeLinear", [x, { dtype: "float32", shape: [] }]), [{ dtype: "uint8", shape: ["N", 3] }]);
  assert.deepEqual(infer("DequantizeLinear", [{ dtype: "int8", shape: ["N", 3] }, { dtype: "float16", shape: [] }]), [{ dtype: "float16", shape: ["N", 3] }]);
  const q = infer("QLinearConv", [
    { dtype: "uint8", shape: ["N", 3, 224, 224] }, null, null, { dtype: "uint8", shape: [64, 3, 7, 7] }, null, null, null, { dtype: "int8", shape: [] },
  ], { attrs: { strides: [2, 2], pads: [3, 3, 3, 3] } });
  assert.deepEqual(q, [{ dtype: "int8", shape: ["N", 64, 112, 112] }]);
  assert.deepEqual(infer("MatMulInteger", [{ dtype: "uint8", shape: ["B", 4, 3] }, { dtype: "int8", shape: [3, 2] }]), [{ dtype: "int32", shape: ["B", 4, 2] }]);
});

test("pattern kinds", () => {
  const pat = (op: string, attrs: AttrVals): string => {
    const p = def(op).pattern;
    return typeof p === "function" ? p(node(op, 3, 1, attrs)) : p;
  };
  assert.equal(pat("QuantizeLinear", {}), "elementwise");
  assert.equal(pat("DequantizeLinear", { axis: 0 }), "broadcast");
  assert.equal(pat("QuantizeLinear", { block_size: 2 }), "broadcast");
  assert.equal(pat("QLinearConv", {}), "out-elementwise-fusable");
  assert.equal(pat("MatMulInteger", {}), "out-elementwise-fusable");
});
