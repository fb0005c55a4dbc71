/**
 * Malformed and hostile models get typed errors that name the problem, on every backend; and the
 * legacy and edge-case semantics that real models rely on (opset-6 PRelu, a feature map pooled
 * to nothing) compute what the reference interpreter computes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { InferenceSession } from "../../src/api.js";
import { Tensor } from "../../src/ir/tensor.js";
import { type OnnxTypes } from "../../src/frontend/onnx/proto.js";
import { modelBytes, ROOT, vinfo, worst } from "../helpers.js";

const BACKENDS = ["reference", "wasm", "js"] as const;

async function rejects(what: string, graph: OnnxTypes.IGraphProto, name: string, message: RegExp, options: object = {}) {
  for (const backend of BACKENDS) {
    await assert.rejects(InferenceSession.create(modelBytes(graph), { backend, ...options }), (e: Error) => {
      assert.equal(e.name, name, `${what} on ${backend}: ${e.name}: ${e.message}`);
      assert.match(e.message, message, `${what} on ${backend}`);
      return true;
    });
  }
}

test("kiln's internal ops are never taken from a model file", async () => {
  // Both spellings: the kiln domain, and the internal "kiln:" name written into the default domain.
  for (const op of ["FromBlocked", "ToBlocked", "Fused", "InLayout"]) {
    for (const [domain, opType] of [["kiln", op], ["", `kiln:${op}`]]) {
      await rejects(`kiln:${op} in domain '${domain}'`, {
        name: "g", input: [vinfo("x", 1, [1, 16, 2, 2])], output: [vinfo("y", 1, [1, 16, 2, 2])],
        node: [{ opType, domain, input: ["x"], output: ["y"], attribute: [{ name: "block", type: 2, i: 0 }] }],
      }, "ModelError", new RegExp(`kiln:${op} is internal to kiln`));
    }
  }
});

test("a Conv bias of the wrong length is a ModelError at load, on the compiled path too", async () => {
  for (const length of [2, 5]) {
    await rejects(`bias of ${length}`, {
      name: "g", input: [vinfo("x", 1, [1, 2, 4, 4])], output: [vinfo("y", 1, [1, 3, 4, 4])],
      initializer: [{ name: "w", dataType: 1, dims: [3, 2, 1, 1], floatData: new Array(6).fill(1) }, { name: "b", dataType: 1, dims: [length], floatData: new Array(length).fill(1) }],
      node: [{ opType: "Conv", input: ["x", "w", "b"], output: ["y"] }],
    }, "ModelError", new RegExp(`bias shape \\[${length}\\] must be \\[3\\]`));
  }
});

test("scatter updates of another dtype than the data are ModelErrors", async () => {
  for (const op of ["ScatterElements", "ScatterND"]) {
    await rejects(op, {
      name: "g", input: [vinfo("x", 1, [3])], output: [vinfo("y", 1, [3])],
      initializer: [{ name: "i", dataType: 7, dims: op === "ScatterND" ? [1, 1] : [1], int64Data: [1] }, { name: "u", dataType: 13, dims: [1], uint64Data: [5] }],
      node: [{ opType: op, input: ["x", "i", "u"], output: ["y"] }],
    }, "ModelError", /inputs 0 and 2 are float32 and uint64, but .* takes one type T for both/);
  }
});

test("pads that crop more than a dimension holds are a ModelError naming the shape", async () => {
  await rejects("Pad", {
    name: "g", input: [vinfo("x", 1, [2, 3])], output: [vinfo("y", 1, [2, 3])],
    initializer: [{ name: "p", dataType: 7, dims: [4], int64Data: [0, -4, 0, -3] }],
    node: [{ opType: "Pad", input: ["x", "p"], output: ["y"] }],
  }, "ModelError", /invalid shape \[2,-4\]/);
});

test("int64 values in messages are printed exactly", async () => {
  await rejects("Reshape", {
    name: "g", input: [vinfo("x", 1, [2, 3])], output: [vinfo("y", 1, [2, 3])],
    initializer: [{ name: "s", dataType: 7, dims: [2], int64Data: ["9223372036854775807", "3"] }],
    node: [{ opType: "Reshape", input: ["x", "s"], output: ["y"] }],
  }, "ModelError", /\[9223372036854775807,3\]/);
});

test("an initializer larger than the engine can allocate is a LimitError, even with maxTensorBytes raised", async () => {
  await rejects("100 GB", {
    name: "g", input: [vinfo("x", 1, [1])], output: [vinfo("y", 1, [1])],
    initializer: [{ name: "w", dataType: 1, dims: [25e9] }],
    node: [{ opType: "Identity", input: ["x"], output: ["y"] }],
  }, "LimitError", /cannot allocate 25000000000 elements/, { maxTensorBytes: 2e11 });
});

test("opset-6 PRelu applies a per-channel slope of shape [C] along axis 1", async () => {
  const x = Tensor.fromNumbers("float32", [1, 3, 2, 4], Array.from({ length: 24 }, (_, i) => i - 12));
  const slopes = [0.5, 2, -1];
  const want = Array.from(x.numbers(), (v, i) => (v < 0 ? v * slopes[Math.floor(i / 8)]! : v));
  const bytes = modelBytes({
    name: "g", input: [vinfo("x", 1, [1, 3, 2, 4])], output: [vinfo("y", 1, [1, 3, 2, 4])],
    initializer: [{ name: "s", dataType: 1, dims: [3], floatData: slopes }],
    node: [{ opType: "PRelu", input: ["x", "s"], output: ["y"] }],
  }, [{ domain: "", version: 6 }]);
  for (const backend of BACKENDS) {
    const s = await InferenceSession.create(bytes, { backend, threads: 1 });
    const y = (await s.run({ x })).y!;
    assert.deepEqual(y.shape, [1, 3, 2, 4], backend);
    assert.deepEqual(Array.from(y.numbers()), want, backend);
    await s.release();
  }
});

test("the PP-OCR direction classifier at 16x16 (feature maps pooled to nothing) runs compiled as on the reference", { timeout: 120_000 }, async () => {
  const path = join(ROOT, "node_modules", "@gutenye", "ocr-models", "assets", "ch_ppocr_mobile_v2.0_cls_infer.onnx");
  const x = Tensor.fromNumbers("float32", [1, 3, 16, 16], Array.from({ length: 768 }, (_, i) => Math.sin(i)));
  const ref = await InferenceSession.create(path, { backend: "reference" });
  const want = Object.values(await ref.run({ x }))[0]!;
  const wasm = await InferenceSession.create(path, { threads: 2 });
  const got = Object.values(await wasm.run({ x }))[0]!;
  assert.deepEqual(got.shape, want.shape);
  assert.ok(worst(got, want) < 1e-4, `worst error ${worst(got, want)}`);
  await wasm.release();
});
