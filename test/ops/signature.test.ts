/**
 * Every node meets its op's ONNX signature before any rule or kernel sees it: a dtype outside a
 * type constraint, two inputs bound to one type parameter with different dtypes, too many inputs
 * or outputs, or a required input left empty is a ModelError on every backend (each of these once
 * ran on the compiled path with a result that differed from the reference interpreter's).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { InferenceSession } from "../../src/api.js";
import { Tensor } from "../../src/ir/tensor.js";
import { allOps } from "../../src/ops/index.js";
import { opDomain } from "../../src/ir/graph.js";
import { signatureAt } from "../../src/ops/signature.js";
import { ONNX_SIGNATURES } from "../../src/ops/signatures.js";
import { type OnnxTypes } from "../../src/frontend/onnx/proto.js";
import { modelBytes, vinfo } from "../helpers.js";

const BACKENDS = ["reference", "wasm", "js"] as const;

async function rejects(what: string, graph: OnnxTypes.IGraphProto, message: RegExp, opset = 17) {
  for (const backend of BACKENDS) {
    await assert.rejects(InferenceSession.create(modelBytes(graph, [{ domain: "", version: opset }]), { backend }), (e: Error) => {
      assert.equal(e.name, "ModelError", `${what} on ${backend}: ${e.name}: ${e.message}`);
      assert.match(e.message, message, `${what} on ${backend}`);
      return true;
    });
  }
}

test("every ONNX op kiln registers has a signature, and only kiln's own ops have none", () => {
  for (const def of allOps()) {
    if (opDomain(def.name) === "kiln") assert.equal(ONNX_SIGNATURES[def.name], undefined, def.name);
    else assert.ok(ONNX_SIGNATURES[def.name]?.length, `${def.name} has no signature`);
  }
});

test("the signature in force is the newest at or below the opset, and an op used before it exists is refused", () => {
  assert.equal(signatureAt("LayerNormalization", 16), null);
  assert.equal(signatureAt("LayerNormalization", 17)?.since, 17);
  assert.equal(signatureAt("Split", 12)?.inputs.length, 1);
  assert.equal(signatureAt("Split", 13)?.inputs[1], "int64?");
  assert.equal(signatureAt("kiln:Fused", 1), undefined);
});

test("a dtype outside the op's type constraint is a ModelError naming the input and the allowed types", async () => {
  await rejects("Conv over int32", {
    name: "g", input: [vinfo("x", 6, [1, 1, 3, 3]), vinfo("w", 6, [1, 1, 1, 1])], output: [vinfo("y", 6, [1, 1, 3, 3])],
    node: [{ opType: "Conv", input: ["x", "w"], output: ["y"] }],
  }, /input 0 \("x"\) is int32, but Conv \(opset 17\) takes T in \{float32, float64, float16\}/);
  await rejects("Reshape with a float shape", {
    name: "g", input: [vinfo("x", 1, [2, 3]), vinfo("s", 1, [2])], output: [vinfo("y", 1, [3, 2])],
    node: [{ opType: "Reshape", input: ["x", "s"], output: ["y"] }],
  }, /input 1 \("s"\) is float32, but Reshape \(opset 17\) takes int64 there/);
});

test("two inputs of one type parameter with different dtypes are a ModelError", async () => {
  await rejects("Where over float32 and int64", {
    name: "g", input: [vinfo("c", 9, [2, 3]), vinfo("a", 1, [2, 3]), vinfo("b", 7, [2, 3])], output: [vinfo("y", 1, [2, 3])],
    node: [{ opType: "Where", input: ["c", "a", "b"], output: ["y"] }],
  }, /inputs 1 and 2 are float32 and int64, but Where takes one type T for both/);
  await rejects("Concat over float32 and float64", {
    name: "g", input: [vinfo("a", 1, [2, 3]), vinfo("b", 11, [2, 3])], output: [vinfo("y", 1, [4, 3])],
    node: [{ opType: "Concat", input: ["a", "b"], output: ["y"], attribute: [{ name: "axis", type: 2, i: 0 }] }],
  }, /inputs 0 and 1 are float32 and float64/);
});

test("too many inputs or outputs, and an empty required input, are ModelErrors", async () => {
  await rejects("LayerNormalization with four outputs", {
    name: "g", input: [vinfo("x", 1, [2, 3]), vinfo("s", 1, [3])], output: [vinfo("y", 1, [2, 3])],
    node: [{ opType: "LayerNormalization", input: ["x", "s"], output: ["y", "m", "r", "extra"] }],
  }, /has 4 outputs; LayerNormalization \(opset 17\) makes 1 to 3/);
  await rejects("Relu with two inputs", {
    name: "g", input: [vinfo("x", 1, [2, 3])], output: [vinfo("y", 1, [2, 3])],
    node: [{ opType: "Relu", input: ["x", "x"], output: ["y"] }],
  }, /has 2 inputs; Relu \(opset 17\) takes 1/);
  await rejects("Gemm with an empty B", {
    name: "g", input: [vinfo("a", 1, [2, 3]), vinfo("c", 1, [3])], output: [vinfo("y", 1, [2, 3])],
    node: [{ opType: "Gemm", input: ["a", "", "c"], output: ["y"] }],
  }, /input 1 of Gemm is required but empty/);
  await rejects("LayerNormalization at opset 16", {
    name: "g", input: [vinfo("x", 1, [2, 3]), vinfo("s", 1, [3])], output: [vinfo("y", 1, [2, 3])],
    node: [{ opType: "LayerNormalization", input: ["x", "s"], output: ["y"] }],
  }, /LayerNormalization does not exist in opset 16/, 16);
});

test("optional inputs may be empty and trailing empty names do not count", async () => {
  const s = await InferenceSession.create(modelBytes({
    name: "g", input: [vinfo("x", 1, [2, 3]), vinfo("hi", 1, [])], output: [vinfo("y", 1, [2, 3])],
    node: [{ opType: "Clip", input: ["x", "", "hi"], output: ["c"] }, { opType: "Identity", input: ["c"], output: ["y", ""] }],
  }), { backend: "reference" });
  const { y } = await s.run({ x: Tensor.fromNumbers("float32", [2, 3], [-5, 0, 1, 2, 3, 4]), hi: Tensor.fromNumbers("float32", [], [2]) });
  assert.deepEqual(Array.from(y!.numbers()), [-5, 0, 1, 2, 2, 2]);
  await s.release();
});
