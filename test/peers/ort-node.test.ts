/**
 * Numerics against onnxruntime-node (native CPU provider) on the same seeded inputs: the zoo
 * models at small sizes, exported to ONNX, and light_squeezenet. Float outputs must agree
 * within 1e-3 relative (relative to max(|expected|, 1% of the largest |expected|)).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { exportOnnx } from "../../src/frontend/onnx/export.js";
import { Tensor } from "../../src/ir/tensor.js";
import { LIGHT } from "../helpers.js";
import { SMALL, feedsFor } from "../zoo/cases.js";
import { compareWithOrt } from "./ort-compare.js";

async function compare(bytes: Uint8Array, feeds: Record<string, Tensor>): Promise<number> {
  return Math.max(...Object.values((await compareWithOrt(bytes, feeds)).errors));
}

describe("kiln against onnxruntime-node", { timeout: 600_000 }, () => {
  for (const [name, c] of Object.entries(SMALL)) {
    it(`${name} (small) agrees within 1e-3`, async () => {
      const model = c.build();
      const err = await compare(exportOnnx(model), feedsFor(model));
      assert.ok(err < 1e-3, `max relative error ${err}`);
    });
  }
  it("light_squeezenet agrees within 1e-3", async () => {
    const bytes = new Uint8Array(readFileSync(join(LIGHT, "light_squeezenet.onnx")));
    const x = Tensor.fromNumbers("float32", [1, 3, 224, 224], Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i) * 0.5 + 0.5));
    const err = await compare(bytes, { data_0: x });
    assert.ok(err < 1e-3, `max relative error ${err}`);
  });
});
