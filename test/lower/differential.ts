/**
 * The differential check of the lowering tests: a model runs on the reference interpreter and
 * on the wasm and js backends, every node must compile to kernels (no fallback), and every
 * output must agree within `tol` relative (worst() in test/helpers.ts).
 */
import assert from "node:assert/strict";
import { InferenceSession } from "../../src/api.js";
import type { Model } from "../../src/ir/graph.js";
import type { Tensor } from "../../src/ir/tensor.js";
import { worst } from "../helpers.js";

export async function assertCompiledMatchesReference(
  model: Model, feeds: Readonly<Record<string, Tensor>>, what: string, { threads = 1, tol = 1e-4 } = {},
): Promise<void> {
  const want = await (await InferenceSession.create(model, { backend: "reference" })).run(feeds);
  for (const backend of ["wasm", "js"] as const) {
    const session = await InferenceSession.create(model, { backend, threads });
    try {
      const got = await session.run(feeds);
      assert.deepEqual(await session.fallbacks(), [], `${what} (${backend}): every node compiles`);
      for (const [name, t] of Object.entries(want)) {
        const err = worst(got[name]!, t);
        assert.ok(err < tol, `${what} (${backend}): output ${name} differs by ${err}`);
      }
    } finally {
      await session.release();
    }
  }
}
