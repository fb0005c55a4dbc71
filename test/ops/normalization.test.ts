/** Normalizations refuse scale and bias that do not broadcast to X (the kernels would read past them). */
import assert from "node:assert/strict";
import { it } from "node:test";
import { InferenceSession } from "../../src/api.js";
import { ModelError } from "../../src/ir/errors.js";
import { modelBytes, vinfo } from "../helpers.js";

it("LayerNormalization and RMSNormalization with a scale that does not broadcast to X are ModelErrors", async () => {
  for (const [op, opset] of [["LayerNormalization", 17], ["RMSNormalization", 23]] as const) {
    const bytes = modelBytes({
      name: "ln",
      input: [vinfo("x", 1, [1, 1, 7, 5]), vinfo("w", 1, [1, 1, 3, 3])],
      output: [vinfo("y", 1, [1, 1, 7, 5])],
      node: [{ opType: op, input: ["x", "w"], output: ["y"] }],
    }, [{ domain: "", version: opset }]);
    await assert.rejects(InferenceSession.create(bytes, { backend: "reference" }), (e: Error) => e instanceof ModelError && /input 1 of shape \[1,1,3,3\] does not broadcast to X's \[1,1,7,5\]/.test(e.message));
  }
});
