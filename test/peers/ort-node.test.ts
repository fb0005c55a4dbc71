/**
 * Numerics against onnxruntime-node (native CPU provider) on the same seeded inputs: the zoo
 * models at small sizes, exported to ONNX, and light_squeezenet. Float outputs must agree
 * within 1e-3 relative (relative to max(|expected|, 1% of the largest |expected|)).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import * as ort from "onnxruntime-node";
import { InferenceSession } from "../../src/api.js";
import { exportOnnx } from "../../src/frontend/onnx/export.js";
import { Tensor } from "../../src/ir/tensor.js";
import { LIGHT, worst } from "../helpers.js";
import { SMALL, feedsFor } from "../zoo/cases.js";

async function compare(bytes: Uint8Array, feeds: Record<string, Tensor>): Promise<number> {
  const peer = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const want = await peer.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor("float32", t.data as Float32Array, [...t.shape])])));
  const session = await InferenceSession.create(bytes, { threads: 2 });
  try {
    const got = await session.run(feeds);
    let err = 0;
    for (const [name, t] of Object.entries(want)) err = Math.max(err, worst(got[name]!, Tensor.fromNumbers("float32", t.dims as number[], t.data as Float32Array)));
    return err;
  } finally {
    await session.release();
    await peer.release();
  }
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
