/**
 * One model on kiln and on onnxruntime-node (native CPU provider) with the same inputs: the
 * worst relative error of each float output (worst() in test/helpers.ts), integer and bool
 * outputs exactly equal, and what ran on kiln's reference interpreter.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { InferenceSession } from "../../src/api.js";
import { DTYPE_INFO } from "../../src/ir/dtype.js";
import { Tensor } from "../../src/ir/tensor.js";
import { worst } from "../helpers.js";

export interface Agreement {
  /** Worst relative error by float output. */
  readonly errors: Readonly<Record<string, number>>;
  readonly fallbacks: readonly string[];
  /** The first run, which compiles, and a second one. */
  readonly firstRunMs: number;
  readonly runMs: number;
}

export async function compareWithOrt(bytes: Uint8Array, feeds: Readonly<Record<string, Tensor>>, threads = 2): Promise<Agreement> {
  const peer = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const session = await InferenceSession.create(bytes, { threads });
  try {
    const want = await peer.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data, [...t.shape])])));
    const t0 = performance.now();
    const got = await session.run(feeds);
    const t1 = performance.now();
    await session.run(feeds);
    const t2 = performance.now();
    const errors: Record<string, number> = {};
    for (const [name, t] of Object.entries(want)) {
      const mine = got[name]!;
      const theirs = new Tensor(mine.dtype, t.dims as number[], t.data as Tensor["data"]);
      if (DTYPE_INFO[mine.dtype].isFloat) errors[name] = worst(mine, theirs);
      else assert.deepEqual(mine.data, theirs.data, `${name} (${mine.dtype}) must agree exactly`);
    }
    return { errors, fallbacks: await session.fallbacks(), firstRunMs: t1 - t0, runMs: t2 - t1 };
  } finally {
    await session.release();
    await peer.release();
  }
}
