/**
 * The benchmark's ONNX-to-tfjs translation: a small graph through every layout path (grouped,
 * depthwise and fused-Relu convolutions with uneven pads, ceil-mode pooling, a broadcast Add and
 * a Concat on held NHWC values, a Transpose back, Gemm, Softmax) agrees with kiln's reference
 * interpreter, and a model with an op outside the table is not applicable.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compareOutputs } from "../../bench/models/numerics.js";
import { TfjsRunner } from "../../bench/models/tfjs-runner.js";
import { InferenceSession } from "../../src/api.js";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import { exportOnnx } from "../../src/frontend/onnx/export.js";
import { randomTensor } from "../../src/ir/random.js";

describe("bench: ONNX on tfjs", () => {
  it("computes what the reference interpreter does", async () => {
    const b = new GraphBuilder("layouts", { "": 17 });
    const w = (name: string, shape: number[], seed: number) => b.weight(name, randomTensor("float32", shape, seed));
    const x = b.input("x", "float32", [1, 4, 9, 9]);
    const c1 = b.node("Conv", [x, w("w1", [6, 2, 3, 3], 1), w("b1", [6], 2)], { group: 2, pads: [1, 0, 2, 1], strides: [2, 2] });
    const p1 = b.node("MaxPool", [b.node("Relu", [c1])], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 });
    const a1 = b.node("Add", [p1, w("bias", [6, 1, 1], 3)]);
    const d1 = b.node("Relu", [b.node("Conv", [a1, w("w2", [6, 1, 3, 3], 4)], { group: 6, pads: [1, 1, 1, 1] })]);
    const cat = b.node("Concat", [a1, d1], { axis: 1 });
    const flat = b.node("Flatten", [b.node("Transpose", [cat], { perm: [0, 2, 3, 1] })]);
    const y = b.node("Softmax", [b.node("Gemm", [flat, w("wg", [5, 72], 5)], { transB: 1 })]);
    b.output(cat);
    b.output(y);
    const model = b.build();
    const feeds = { x: randomTensor("float32", [1, 4, 9, 9], 6) };
    const want = await (await InferenceSession.create(model, { backend: "reference" })).run(feeds);
    const got = await (await TfjsRunner.create(exportOnnx(model), feeds)).run();
    const n = compareOutputs(got, want);
    assert.ok(n.ok, JSON.stringify(n));
  });

  it("names the ops it cannot translate", async () => {
    const b = new GraphBuilder("hardmax", { "": 17 });
    b.output(b.node("Hardmax", [b.input("x", "float32", [2, 3])]));
    await assert.rejects(TfjsRunner.create(exportOnnx(b.build()), { x: randomTensor("float32", [2, 3], 1) }), /^Error: not applicable: no tfjs translation for Hardmax$/);
  });
});
