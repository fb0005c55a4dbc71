/**
 * The algebraic simplification rules: each one fires where it should (checked by the op
 * sequence or the printed IR, and numerically against the original through the reference
 * interpreter) and stays put where dropping or changing an op would change the result.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import type { Model } from "../../src/ir/graph.js";
import { printModel } from "../../src/ir/text.js";
import { Tensor } from "../../src/ir/tensor.js";
import { verifyGraph } from "../../src/ir/verify.js";
import { eliminateDeadCode } from "../../src/passes/dce.js";
import { rewriteGraph } from "../../src/passes/rewrite.js";
import { SIMPLIFY_RULES } from "../../src/passes/simplify-rules.js";
import { assertSameOutputs, f32, i64, opsOf, rand, typed } from "./graph-helpers.js";

/** The rewrite rules, then DCE to drop the producers they leave unread (as the pipeline does). */
function simplify(m: Model): { model: Model; fired: Map<string, number> } {
  const { graph, fired } = rewriteGraph(m.graph, m.opsets, SIMPLIFY_RULES);
  verifyGraph(graph);
  return { model: { ...m, graph: eliminateDeadCode(graph) }, fired: new Map(fired) };
}

/** Simplify `m`, check the rule fired (or not) and that the outputs did not change. */
function check(m: Model, feeds: ReadonlyMap<string, Tensor>, rule: string, fires: boolean, rtol = 1e-5): Model {
  const original = typed(m);
  const { model, fired } = simplify(original);
  assert.equal(fired.has(rule), fires, `rule ${rule} ${fires ? "did not fire" : "fired"}; fired: ${[...fired.keys()].join(", ")}`);
  assertSameOutputs(original, model, feeds, rtol);
  return model;
}

/** x: f32[2,3] -> Neg -> <op> -> Exp -> y, so that the op sits between two ordinary nodes. */
function sandwich(build: (b: GraphBuilder, x: string) => string, xShape: readonly number[] = [2, 3]): { model: Model; feeds: Map<string, Tensor> } {
  const b = new GraphBuilder("t");
  const x = b.input("x", "float32", xShape);
  b.output(b.node("Exp", [build(b, b.node("Neg", [x]))]));
  return { model: b.build(), feeds: new Map([["x", rand(xShape, 1)]]) };
}

describe("simplify: pass-through rules", () => {
  it("identity: Identity between two nodes disappears (golden text)", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Identity", [x]));
    const out = check(model, feeds, "identity", true);
    assert.equal(printModel(out, { elideTensorBytes: 64 }), [
      'opset "" 21',
      'graph "t" (%x: f32[2,3]) -> (%exp2: f32[2,3]) {',
      '  %neg0: f32[2,3] = Neg "neg0" (%x)',
      '  %exp2: f32[2,3] = Exp "exp2" (%neg0)',
      "}",
      "",
    ].join("\n"));
  });

  it("identity: a graph output that aliases a graph input keeps its Identity", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, 3]);
    b.output(b.node("Identity", [x]));
    const out = check(b.build(), new Map([["x", rand([2, 3], 2)]]), "identity", false);
    assert.deepEqual(opsOf(out), ["Identity"]);
  });

  it("identity: an Identity feeding a graph output is removed by renaming its producer", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, 3]);
    const y = b.node("Identity", [b.node("Neg", [x])]);
    b.output(y);
    const out = check(b.build(), new Map([["x", rand([2, 3], 3)]]), "identity", true);
    assert.deepEqual(opsOf(out), ["Neg"]);
    assert.deepEqual(out.graph.nodes[0]!.outputs, [y]);
  });

  it("dropout: inference Dropout disappears", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Dropout", [x, b.weight("ratio", f32([], [0.5]))]));
    assert.deepEqual(opsOf(check(model, feeds, "dropout", true)), ["Neg", "Exp"]);
  });

  it("dropout: training_mode true keeps it", () => {
    const { model } = sandwich((b, x) => b.node("Dropout", [x, b.weight("ratio", f32([], [0.5])), b.weight("train", Tensor.fromNumbers("bool", [], [1]))]));
    const { model: out, fired } = simplify(typed(model));
    assert.equal(fired.has("dropout"), false);
    assert.deepEqual(opsOf(out), ["Neg", "Dropout", "Exp"]);
  });

  it("dropout: before opset 7, is_test=0 (the default) is training mode and keeps it", () => {
    const build = (isTest: number) => {
      const b = new GraphBuilder("t", { "": 6 });
      const x = b.input("x", "float32", [2, 3]);
      b.output(b.node("Neg", [b.node("Dropout", [x], { is_test: isTest })]));
      return typed(b.build());
    };
    assert.equal(simplify(build(1)).fired.has("dropout"), true);
    assert.equal(simplify(build(0)).fired.has("dropout"), false, "a training-mode Dropout (random mask) was dropped");
  });

  it("dropout: a Dropout whose mask is read is kept", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, 3]);
    const [y, mask] = b.nodeN("Dropout", [x], 2);
    b.output(b.node("Neg", [y!]));
    b.output(mask!, "bool");
    const out = check(b.build(), new Map([["x", rand([2, 3], 4)]]), "dropout", false);
    assert.deepEqual(opsOf(out), ["Dropout", "Neg"]);
  });

  it("cast-same-type: Cast to the input's own type disappears", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Cast", [x], { to: 1 }));
    assert.deepEqual(opsOf(check(model, feeds, "cast-same-type", true)), ["Neg", "Exp"]);
  });

  it("cast-same-type: Cast to another type is kept", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Cast", [x], { to: 11 }));
    assert.deepEqual(opsOf(check(model, feeds, "cast-same-type", false)), ["Neg", "Cast", "Exp"]);
  });

  it("reshape-same-shape: Reshape to the input's shape disappears", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Reshape", [x, b.weight("s", i64([2, -1]))]));
    assert.deepEqual(opsOf(check(model, feeds, "reshape-same-shape", true)), ["Neg", "Exp"]);
  });

  it("reshape-same-shape: Reshape to another shape is kept", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Reshape", [x, b.weight("s", i64([3, 2]))]));
    assert.deepEqual(opsOf(check(model, feeds, "reshape-same-shape", false)), ["Neg", "Reshape", "Exp"]);
  });

  it("expand-same-shape: Expand that adds nothing disappears", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Expand", [x, b.weight("s", i64([1, 3]))]));
    assert.deepEqual(opsOf(check(model, feeds, "expand-same-shape", true)), ["Neg", "Exp"]);
  });

  it("expand-same-shape: Expand to a bigger shape is kept", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Expand", [x, b.weight("s", i64([4, 2, 3]))]));
    assert.deepEqual(opsOf(check(model, feeds, "expand-same-shape", false)), ["Neg", "Expand", "Exp"]);
  });

  it("concat-one: Concat of one input disappears", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Concat", [x], { axis: 0 }));
    assert.deepEqual(opsOf(check(model, feeds, "concat-one", true)), ["Neg", "Exp"]);
  });

  it("concat-one: Concat of two inputs is kept", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Concat", [x, x], { axis: 0 }));
    assert.deepEqual(opsOf(check(model, feeds, "concat-one", false)), ["Neg", "Concat", "Exp"]);
  });
});

describe("simplify: neutral operands", () => {
  it("mul-one: x * 1 (broadcast to x's shape) disappears", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Mul", [x, b.weight("one", f32([3], [1, 1, 1]))]));
    assert.deepEqual(opsOf(check(model, feeds, "mul-one", true)), ["Neg", "Exp"]);
  });

  it("mul-one: 1 * x with the constant first disappears", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Mul", [b.weight("one", f32([], [1])), x]));
    assert.deepEqual(opsOf(check(model, feeds, "mul-one", true)), ["Neg", "Exp"]);
  });

  it("mul-one: x * 1 that broadcasts x to a bigger shape is kept", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Mul", [x, b.weight("one", f32([2, 3], [1, 1, 1, 1, 1, 1]))]), [3]);
    assert.deepEqual(opsOf(check(model, feeds, "mul-one", false)), ["Neg", "Mul", "Exp"]);
  });

  it("mul-one: x * c with c not all ones is kept", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Mul", [x, b.weight("c", f32([3], [1, 2, 1]))]));
    assert.deepEqual(opsOf(check(model, feeds, "mul-one", false)), ["Neg", "Mul", "Exp"]);
  });

  it("add-zero: 0 + x disappears", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Add", [b.weight("z", f32([1, 3], [0, 0, 0])), x]));
    assert.deepEqual(opsOf(check(model, feeds, "add-zero", true)), ["Neg", "Exp"]);
  });

  it("add-zero: x + 0 that broadcasts x to a bigger shape is kept", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Add", [x, b.weight("z", f32([2, 1], [0, 0]))]), [3]);
    assert.deepEqual(opsOf(check(model, feeds, "add-zero", false)), ["Neg", "Add", "Exp"]);
  });

  it("sub-zero: x - 0 disappears", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Sub", [x, b.weight("z", f32([], [0]))]));
    assert.deepEqual(opsOf(check(model, feeds, "sub-zero", true)), ["Neg", "Exp"]);
  });

  it("sub-zero: 0 - x is kept (Sub does not commute)", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Sub", [b.weight("z", f32([], [0])), x]));
    assert.deepEqual(opsOf(check(model, feeds, "sub-zero", false)), ["Neg", "Sub", "Exp"]);
  });

  it("div-one: x / 1 disappears", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Div", [x, b.weight("one", f32([], [1]))]));
    assert.deepEqual(opsOf(check(model, feeds, "div-one", true)), ["Neg", "Exp"]);
  });

  it("div-one: 1 / x is kept (Div does not commute)", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Div", [b.weight("one", f32([], [1])), x]));
    assert.deepEqual(opsOf(check(model, feeds, "div-one", false)), ["Neg", "Div", "Exp"]);
  });
});

describe("simplify: shape op pairs", () => {
  const x234 = [2, 3, 4];

  it("transpose-transpose: a pair that composes to the identity disappears", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Transpose", [b.node("Transpose", [x], { perm: [1, 2, 0] })], { perm: [2, 0, 1] }), x234);
    assert.deepEqual(opsOf(check(model, feeds, "transpose-transpose", true)), ["Neg", "Exp"]);
  });

  it("transpose-transpose: a non-identity pair becomes one Transpose with the composed perm (golden text)", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Transpose", [b.node("Transpose", [x], { perm: [1, 0, 2] })], { perm: [0, 2, 1] }), x234);
    const out = check(model, feeds, "transpose-transpose", true);
    assert.equal(printModel(out, { elideTensorBytes: 64 }), [
      'opset "" 21',
      'graph "t" (%x: f32[2,3,4]) -> (%exp3: f32[3,4,2]) {',
      '  %neg0: f32[2,3,4] = Neg "neg0" (%x)',
      '  %transpose2: f32[3,4,2] = Transpose "transpose2" (%neg0) {perm=ints[1,2,0]}',
      '  %exp3: f32[3,4,2] = Exp "exp3" (%transpose2)',
      "}",
      "",
    ].join("\n"));
  });

  it("reshape-reshape: two Reshapes become one", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Reshape", [b.node("Reshape", [x, b.weight("s1", i64([-1]))]), b.weight("s2", i64([4, 6]))]), x234);
    const out = check(model, feeds, "reshape-reshape", true);
    assert.deepEqual(opsOf(out), ["Neg", "Reshape", "Exp"]);
    assert.deepEqual(out.graph.initializers.get(out.graph.nodes[1]!.inputs[1]!)!.numbers(), new Float64Array([4, 6]));
  });

  it("reshape-reshape: not applied when the outer shape is symbolic", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", ["N", 6]);
    b.output(b.node("Reshape", [b.node("Reshape", [x, b.weight("s1", i64([-1]))]), b.weight("s2", i64([-1, 2]))]));
    const out = check(b.build(), new Map([["x", rand([2, 6], 5)]]), "reshape-reshape", false);
    assert.deepEqual(opsOf(out), ["Reshape", "Reshape"]);
  });

  it("reshape-reshape: a static shape holding a 0 keeps meaning an empty dimension", () => {
    // x [2,0] -> Reshape([0,2], allowzero=1) -> [0,2] -> Reshape([0,1,2]) -> [0,1,2] (0 copies the 0).
    // Rewritten as Reshape(x, [0,1,2]) without allowzero, the 0 copies x's 2 instead.
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, 0]);
    b.output(b.node("Reshape", [b.node("Reshape", [x, b.weight("s1", i64([0, 2]))], { allowzero: 1 }), b.weight("s2", i64([0, 1, 2]))]));
    const original = typed(b.build());
    assertSameOutputs(original, simplify(original).model, new Map([["x", Tensor.zeros("float32", [2, 0])]]));
  });

  it("reshape-reshape: before opset 5 the shape is an attribute, and the merged Reshape must still carry it", () => {
    const b = new GraphBuilder("t", { "": 4 });
    const x = b.input("x", "float32", [2, 3, 4]);
    b.output(b.node("Neg", [b.node("Reshape", [b.node("Reshape", [x], { shape: [-1] })], { shape: [4, 6] })]));
    const original = typed(b.build());
    assertSameOutputs(original, simplify(original).model, new Map([["x", rand([2, 3, 4], 38)]]));
  });

  it("squeeze-inverse: Squeeze(Unsqueeze(x)) on the same axis disappears", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Squeeze", [b.node("Unsqueeze", [x, b.weight("a", i64([1]))]), b.weight("a2", i64([1]))]));
    assert.deepEqual(opsOf(check(model, feeds, "squeeze-inverse", true)), ["Neg", "Exp"]);
  });

  it("squeeze-inverse: a Squeeze that removes more than the Unsqueeze added is kept", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Squeeze", [b.node("Unsqueeze", [x, b.weight("a", i64([0]))])]), [1, 3]);
    assert.deepEqual(opsOf(check(model, feeds, "squeeze-inverse", false)), ["Neg", "Unsqueeze", "Squeeze", "Exp"]);
  });

  it("unsqueeze-inverse: Unsqueeze(Squeeze(x)) restoring x's shape disappears", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Unsqueeze", [b.node("Squeeze", [x, b.weight("a", i64([1]))]), b.weight("a2", i64([1]))]), [2, 1, 3]);
    assert.deepEqual(opsOf(check(model, feeds, "unsqueeze-inverse", true)), ["Neg", "Exp"]);
  });

  it("unsqueeze-inverse: Unsqueeze on another axis is kept", () => {
    const { model, feeds } = sandwich((b, x) => b.node("Unsqueeze", [b.node("Squeeze", [x, b.weight("a", i64([1]))]), b.weight("a2", i64([0]))]), [2, 1, 3]);
    assert.deepEqual(opsOf(check(model, feeds, "unsqueeze-inverse", false)), ["Neg", "Squeeze", "Unsqueeze", "Exp"]);
  });
});

describe("simplify: folding into convolutions and matrix products", () => {
  const C = 4;
  /** x: [1,3,5,5] -> Conv(3x3, C out channels, bias) -> conv output. */
  function convGraph(b: GraphBuilder, bias = true): string {
    const x = b.input("x", "float32", [1, 3, 5, 5]);
    const w = b.weight("w", rand([C, 3, 3, 3], 10));
    const inputs = bias ? [x, w, b.weight("b", rand([C], 11))] : [x, w];
    return b.node("Conv", inputs, { pads: [1, 1, 1, 1] });
  }
  const bnWeights = (b: GraphBuilder, n: number) => [
    b.weight("gamma", rand([n], 12, 0.5, 1.5)), b.weight("beta", rand([n], 13)),
    b.weight("mean", rand([n], 14)), b.weight("var", rand([n], 15, 0.5, 2)),
  ];
  const xFeeds = () => new Map([["x", rand([1, 3, 5, 5], 16)]]);

  it("batchnorm-into-conv: BN after a Conv folds into its weights", () => {
    const b = new GraphBuilder("t");
    const bn = bnWeights(b, C);
    b.output(b.node("BatchNormalization", [convGraph(b), ...bn], { epsilon: 0.001 }));
    const m = b.build();
    const out = check(m, xFeeds(), "batchnorm-into-conv", true, 1e-4);
    const lines = printModel(out, { elideTensorBytes: 64 }).split("\n");
    assert.deepEqual([...lines.slice(0, 3), lines[3]!.replace(/init \[.*\]$/, "init [...]"), ...lines.slice(4)], [
      'opset "" 21',
      'graph "t" (%x: f32[1,3,5,5]) -> (%batchnormalization1: f32[1,4,5,5]) {',
      "  %w_folded_0: f32[4,3,3,3] = init <432 bytes>",
      "  %w_bias_folded_1: f32[4] = init [...]",
      '  %batchnormalization1: f32[1,4,5,5] = Conv "conv0" (%x, %w_folded_0, %w_bias_folded_1) {pads=ints[1,1,1,1]}',
      "}",
      "",
    ]);
    // The new bias is (b - mean) * gamma / sqrt(var + eps) + beta.
    const [gamma, beta, mean, variance] = bn.map((v) => m.graph.initializers.get(v)!.numbers());
    const bias = m.graph.initializers.get("b")!.numbers();
    const want = bias.map((bi, i) => (bi - mean![i]!) * gamma![i]! / Math.sqrt(variance![i]! + 0.001) + beta![i]!);
    out.graph.initializers.get("w_bias_folded_1")!.numbers().forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `bias ${i}: ${v} vs ${want[i]}`));
  });

  it("batchnorm-into-conv: a Conv without bias gets one", () => {
    const b = new GraphBuilder("t");
    b.output(b.node("BatchNormalization", [convGraph(b, false), ...bnWeights(b, C)]));
    const out = check(b.build(), xFeeds(), "batchnorm-into-conv", true, 1e-4);
    assert.deepEqual(opsOf(out), ["Conv"]);
    assert.equal(out.graph.nodes[0]!.inputs.length, 3);
  });

  it("batchnorm-into-conv: not when the conv output has another consumer", () => {
    const b = new GraphBuilder("t");
    const c = convGraph(b);
    b.output(b.node("BatchNormalization", [c, ...bnWeights(b, C)]));
    b.output(b.node("Neg", [c]));
    const original = typed(b.build());
    const { model: out, fired } = simplify(original);
    assert.equal(fired.has("batchnorm-into-conv"), false);
    assert.ok(out.graph.nodes.some((n) => n.op === "Conv" && n.inputs[1] === "w"), "the shared Conv keeps its weights");
    assertSameOutputs(original, out, xFeeds(), 1e-4);
  });

  it("batchnorm-into-gemm: BN over a Gemm (transB, bias) folds into it", () => {
    const b = new GraphBuilder("t");
    const a = b.input("a", "float32", [2, 5]);
    const g = b.node("Gemm", [a, b.weight("B", rand([C, 5], 20)), b.weight("Cb", rand([C], 21))], { transB: 1, beta: 0.5 });
    b.output(b.node("BatchNormalization", [g, ...bnWeights(b, C)]));
    const out = check(b.build(), new Map([["a", rand([2, 5], 22)]]), "batchnorm-into-gemm", true, 1e-4);
    assert.deepEqual(opsOf(out), ["Gemm"]);
  });

  it("batchnorm-into-gemm: not when B is not a constant", () => {
    const b = new GraphBuilder("t");
    const a = b.input("a", "float32", [2, 5]);
    const g = b.node("Gemm", [a, b.input("B", "float32", [5, C])]);
    b.output(b.node("BatchNormalization", [g, ...bnWeights(b, C)]));
    const out = check(b.build(), new Map([["a", rand([2, 5], 23)], ["B", rand([5, C], 24)]]), "batchnorm-into-gemm", false, 1e-4);
    assert.equal(opsOf(out)[0], "Gemm");
    assert.equal(out.graph.nodes[0]!.inputs[1], "B");
  });

  it("batchnorm-into-matmul: BN over a 2-D MatMul becomes MatMul + Add", () => {
    const b = new GraphBuilder("t");
    const a = b.input("a", "float32", [2, 5]);
    b.output(b.node("BatchNormalization", [b.node("MatMul", [a, b.weight("W", rand([5, C], 25))]), ...bnWeights(b, C)]));
    const out = check(b.build(), new Map([["a", rand([2, 5], 26)]]), "batchnorm-into-matmul", true, 1e-4);
    assert.deepEqual(opsOf(out), ["MatMul", "Add"]);
  });

  it("batchnorm-into-matmul: not for a 3-D MatMul output", () => {
    const b = new GraphBuilder("t");
    const a = b.input("a", "float32", [2, C, 5]);
    b.output(b.node("BatchNormalization", [b.node("MatMul", [a, b.weight("W", rand([5, 3], 27))]), ...bnWeights(b, C)]));
    const out = check(b.build(), new Map([["a", rand([2, C, 5], 28)]]), "batchnorm-into-matmul", false, 1e-4);
    assert.equal(opsOf(out)[0], "MatMul");
    assert.equal(out.graph.nodes[0]!.inputs[1], "W");
  });

  it("gemm-computed-c: a Gemm whose C is computed becomes Gemm + Add, alpha and transB kept", () => {
    const b = new GraphBuilder("t", { "": 17 });
    const a = b.input("a", "float32", [2, 5]), c = b.input("c", "float32", [2, 4]);
    b.output(b.node("Gemm", [a, b.weight("W", rand([4, 5], 29)), b.node("Neg", [c])], { alpha: 0.5, transB: 1 }));
    const out = check(b.build(), new Map([["a", rand([2, 5], 30)], ["c", rand([2, 4], 31)]]), "gemm-computed-c", true);
    assert.deepEqual(opsOf(out), ["Neg", "Gemm", "Add"]);
    assert.equal(out.graph.nodes[1]!.inputs.length, 2);
  });

  it("gemm-computed-c: not for a constant C, nor for beta other than 1", () => {
    for (const [cOf, attrs] of [[(b: GraphBuilder) => b.weight("C", rand([2, 4], 32)), {}], [(b: GraphBuilder, c: string) => b.node("Neg", [c]), { beta: 2.5 }]] as const) {
      const b = new GraphBuilder("t", { "": 17 });
      const a = b.input("a", "float32", [2, 5]), c = b.input("c", "float32", [2, 4]);
      b.output(b.node("Gemm", [a, b.weight("W", rand([5, 4], 33)), cOf(b, c)], attrs));
      check(b.build(), new Map([["a", rand([2, 5], 34)], ["c", rand([2, 4], 35)]]), "gemm-computed-c", false);
    }
  });

  it("batchnorm-to-affine: BN on a graph input becomes Mul + Add", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, C, 3, 3]);
    b.output(b.node("BatchNormalization", [x, ...bnWeights(b, C)]));
    const out = check(b.build(), new Map([["x", rand([2, C, 3, 3], 29)]]), "batchnorm-to-affine", true, 1e-4);
    assert.deepEqual(opsOf(out), ["Mul", "Add"]);
  });

  it("batchnorm-to-affine: before opset 7, is_test=0 (the default) is training mode and is not folded", () => {
    const build = (isTest: number) => {
      const b = new GraphBuilder("t", { "": 6 });
      const x = b.input("x", "float32", [2, C, 3, 3]);
      b.output(b.node("BatchNormalization", [x, ...bnWeights(b, C)], { is_test: isTest }));
      return b.build();
    };
    const feeds = new Map([["x", rand([2, C, 3, 3], 37)]]);
    check(build(1), feeds, "batchnorm-to-affine", true, 1e-4);
    check(build(0), feeds, "batchnorm-to-affine", false, 1e-4);
  });

  it("batchnorm-to-affine: not when the statistics are not constants", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [2, C, 3, 3]);
    const [gamma, beta, , v] = bnWeights(b, C);
    b.output(b.node("BatchNormalization", [x, gamma!, beta!, b.input("m", "float32", [C]), v!]));
    const feeds = new Map([["x", rand([2, C, 3, 3], 30)], ["m", rand([C], 31)]]);
    assert.deepEqual(opsOf(check(b.build(), feeds, "batchnorm-to-affine", false)), ["BatchNormalization"]);
  });

  it("mul-into-conv: a per-channel scale folds into the Conv", () => {
    const b = new GraphBuilder("t");
    b.output(b.node("Mul", [b.weight("s", rand([C, 1, 1], 32)), convGraph(b)]));
    assert.deepEqual(opsOf(check(b.build(), xFeeds(), "mul-into-conv", true, 1e-4)), ["Conv"]);
  });

  it("mul-into-conv: a scale that varies over space is kept", () => {
    const b = new GraphBuilder("t");
    b.output(b.node("Mul", [convGraph(b), b.weight("s", rand([1, 5], 33))]));
    assert.deepEqual(opsOf(check(b.build(), xFeeds(), "mul-into-conv", false)), ["Conv", "Mul"]);
  });

  it("add-into-conv: a per-channel shift folds into the Conv bias", () => {
    const b = new GraphBuilder("t");
    b.output(b.node("Add", [convGraph(b, false), b.weight("s", rand([1, C, 1, 1], 34))]));
    assert.deepEqual(opsOf(check(b.build(), xFeeds(), "add-into-conv", true, 1e-4)), ["Conv"]);
  });

  it("add-into-conv: not when the Add broadcasts the conv output to a bigger shape", () => {
    const b = new GraphBuilder("t");
    b.output(b.node("Add", [convGraph(b), b.weight("s", rand([2, C, 1, 1], 35))]));
    assert.deepEqual(opsOf(check(b.build(), xFeeds(), "add-into-conv", false)), ["Conv", "Add"]);
  });
});
