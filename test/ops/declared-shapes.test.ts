/**
 * Shapes a model declares for computed values (value_info, graph outputs) are hints: kiln plans
 * and folds by the shapes the ops compute, so a declaration that disagrees, or a shape that
 * depends on an input's values, never changes a result.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { InferenceSession } from "../../src/api.js";
import { Tensor } from "../../src/ir/tensor.js";
import { onnx } from "../../src/frontend/onnx/proto.js";
import { NODE_TESTS } from "../helpers.js";

const BACKENDS = ["reference", "wasm", "js"] as const;
const iota = (n: number) => Array.from({ length: n }, (_, i) => i);

test("Reshape follows its runtime shape input on every backend, and an impossible one is an EvalError", async () => {
  for (const backend of BACKENDS) {
    const s = await InferenceSession.create(join(NODE_TESTS, "test_reshape_extended_dims", "model.onnx"), { backend, threads: 1 });
    const data = Tensor.fromNumbers("float32", [2, 3, 4], iota(24));
    const run = (shape: number[]) => s.run({ data, shape: Tensor.fromBigInts("int64", [shape.length], shape.map(BigInt)) });
    for (const shape of [[4, 6, 1, 1], [2, 3, 2, 2], [1, 1, 24, 1]]) {
      const out = Object.values(await run(shape))[0]!;
      assert.deepEqual(out.shape, shape, `${backend} ${shape}`);
      assert.deepEqual(Array.from(out.numbers()), iota(24), `${backend} ${shape}`);
    }
    await assert.rejects(run([3, 3, 3, 3]), (e: Error) => e.name === "EvalError" && /\[3,3,3,3\]/.test(e.message), backend);
    await s.release();
  }
});

/** s = Shape(Relu(x)), n = Neg(Relu(x)), z = NonZero(x), with value_info and outputs declaring shapes the ops do not compute. */
function lyingModel(): Uint8Array {
  const vi = (name: string, elemType: number, dims: number[]) => ({ name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  return onnx.ModelProto.encode({
    irVersion: 8, opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "g", input: [vi("x", 1, [10, 2, 2])],
      node: [{ opType: "Relu", input: ["x"], output: ["r"] }, { opType: "Shape", input: ["r"], output: ["s"] }, { opType: "Neg", input: ["r"], output: ["n"] },
        { opType: "NonZero", input: ["x"], output: ["z"] }],
      valueInfo: [vi("r", 1, [2, 2, 2])],
      output: [vi("s", 7, [2]), vi("n", 1, [2, 2, 2]), vi("z", 7, [3, 2])],
    },
  }).finish();
}

test("value_info and output shapes that contradict the ops are resolved in favour of the computed shapes", async () => {
  for (const backend of BACKENDS) {
    const s = await InferenceSession.create(lyingModel(), { backend, threads: 2 });
    const x = Tensor.fromNumbers("float32", [10, 2, 2], iota(40).map((i) => i - 20));
    const out = await s.run({ x });
    assert.deepEqual(Array.from(out.s!.numbers()), [10, 2, 2], backend);
    assert.deepEqual(out.n!.shape, [10, 2, 2], backend);
    assert.deepEqual(Array.from(out.n!.numbers()), iota(40).map((i) => -Math.max(0, i - 20)), backend);
    assert.deepEqual(out.z!.shape, [3, 39], backend);
    await s.release();
  }
});
