/**
 * The Rammer models of the zoo: each at a small size builds, verifies, infers its output shape,
 * round-trips through ONNX computing the same outputs, and runs fully compiled on wasm matching
 * the reference backend; at the paper's sizes, node counts and output shapes (inference only).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InferenceSession } from "../../src/api.js";
import { exportOnnx } from "../../src/frontend/onnx/export.js";
import { importOnnx } from "../../src/frontend/onnx/import.js";
import type { Model } from "../../src/ir/graph.js";
import type { Tensor } from "../../src/ir/tensor.js";
import { verifyGraph } from "../../src/ir/verify.js";
import { inferModel } from "../../src/ops/inference.js";
import { RAMMER_ZOO, type RammerZooName } from "../../src/zoo/index.js";
import { worst } from "../helpers.js";
import { SMALL, feedsFor } from "./cases.js";

/** Node counts and output shapes at the default (paper) sizes. */
const DEFAULT: Record<RammerZooName, { readonly nodes: number; readonly shape: readonly number[] }> = {
  "lstm-tc": { nodes: 15051, shape: [1, 256] },
  "seq2seq": { nodes: 4052, shape: [30, 128] },
  "nasnet-a": { nodes: 156, shape: [1, 10] },
  "resnext": { nodes: 123, shape: [1, 1000] },
  "alexnet": { nodes: 22, shape: [1, 1000] },
  "deepspeech2": { nodes: 2294, shape: [50, 29] },
};

function outputShapes(model: Model): (readonly unknown[] | null)[] {
  return inferModel(model).graph.outputs.map((o) => o.type.shape);
}

async function runReference(model: Model, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  return (await InferenceSession.create(model, { backend: "reference" })).run(feeds);
}

describe("model zoo at small sizes", { timeout: 600_000 }, () => {
  for (const [name, c] of Object.entries(SMALL)) {
    it(`${name}: builds, verifies and infers its output shape`, () => {
      const model = c.build();
      verifyGraph(model.graph);
      assert.deepEqual(outputShapes(model), [c.shape]);
    });

    it(`${name}: exported to ONNX and imported back, computes the same outputs`, async () => {
      const model = c.build();
      const feeds = feedsFor(model);
      const [want, got] = [await runReference(model, feeds), await runReference(importOnnx(exportOnnx(model)), feeds)];
      for (const [out, t] of Object.entries(want)) assert.deepEqual(got[out]!.numbers(), t.numbers(), out);
    });

    it(`${name}: runs fully compiled on wasm, within 1e-4 of the reference`, async () => {
      const model = c.build();
      const feeds = feedsFor(model);
      const want = await runReference(model, feeds);
      const session = await InferenceSession.create(model, { backend: "wasm", threads: 2 });
      try {
        const got = await session.run(feeds);
        for (const [out, t] of Object.entries(want)) {
          const err = worst(got[out]!, t);
          assert.ok(err < 1e-4, `${out} differs by ${err}`);
        }
        assert.deepEqual(await session.fallbacks(), []);
      } finally {
        await session.release();
      }
    });
  }
});

describe("model zoo at the paper's sizes", { timeout: 120_000 }, () => {
  for (const [name, want] of Object.entries(DEFAULT)) {
    it(`${name}: ${want.nodes} nodes, output [${want.shape.join(", ")}]`, () => {
      const model = RAMMER_ZOO[name as RammerZooName].build();
      assert.equal(model.graph.nodes.length, want.nodes);
      assert.deepEqual(outputShapes(model), [want.shape]);
    });
  }
});
