/**
 * The nine light models (real architectures with constant weights): each imports, passes the
 * verifier, prints through the textual form and parses back identically, and has every value's
 * shape inferred to concrete numbers.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { importOnnx } from "../src/frontend/onnx/import.js";
import { decodeTensor } from "../src/frontend/onnx/tensor.js";
import { isStaticShape } from "../src/ir/types.js";
import { parseModel, printModel } from "../src/ir/text.js";
import { verifyGraph } from "../src/ir/verify.js";
import { inferModel } from "../src/ops/inference.js";
import { LIGHT } from "./helpers.js";

const models = readdirSync(LIGHT).filter((f) => f.endsWith(".onnx")).sort();

describe("light models", () => {
  it("are all nine there", () => assert.equal(models.length, 9));
  for (const file of models) {
    it(`${file}: imports, verifies, round-trips through text, infers every shape`, () => {
      const model = inferModel(importOnnx(readFileSync(join(LIGHT, file))));
      verifyGraph(model.graph);
      const text = printModel(model);
      assert.equal(printModel(parseModel(text)), text);
      const produced = model.graph.nodes.flatMap((n) => n.outputs).filter((o) => o !== "");
      const missing = produced.filter((o) => {
        const t = model.graph.valueTypes.get(o);
        return !t || !isStaticShape(t.shape);
      });
      assert.deepEqual(missing, [], `values without a concrete shape in ${file}`);
      assert.equal(model.graph.outputs.length, 1);
      const expected = decodeTensor(readFileSync(join(LIGHT, file.replace(".onnx", "_output_0.pb"))));
      assert.deepEqual(model.graph.outputs[0]!.type.shape, expected.shape);
    });
  }
});
