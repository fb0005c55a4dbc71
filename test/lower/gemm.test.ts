/**
 * gemmKernel lowered, compiled to wasm and run through the worker pool on 1 and 2 threads,
 * against a plain f64 reference: random shapes with and without tails (M = 1 matvec, N = 1000),
 * transposed operands, broadcast batch dims, B prepacked into panels (as constant weights are),
 * and a bias + relu epilogue.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rng } from "../../src/ir/random.js";
import { shapeSize, stridesOf } from "../../src/ir/tensor.js";
import { placeholder } from "../../src/loopir/compute.js";
import { add, max } from "../../src/loopir/expr.js";
import { lower } from "../../src/loopir/lower.js";
import { replay } from "../../src/loopir/schedule.js";
import { gemmKernel, packGemmB } from "../../src/lower/schedule-gemm.js";
import { runWasm } from "../codegen/loopir-wasm-harness.js";
import { mismatch } from "../loopir/harness.js";
import { tunedFeatures } from "../helpers.js";

const features = await tunedFeatures();

interface Case { m: number; n: number; k: number; transA?: boolean; transB?: boolean; batch?: number[]; aBatch?: number[]; bBatch?: number[]; bias?: boolean; prepacked?: boolean }

const random = (n: number, r: () => number) => Float32Array.from({ length: n }, () => 2 * r() - 1);

/** The reference in f64: out[b, i, j] = sum_k A[b, i, k] B[b, k, j] (+ bias[j], relu). */
function reference(c: Case, a: Float32Array, b: Float32Array, bias: Float32Array | undefined): Float64Array {
  const batch = c.batch ?? [], aBatch = c.aBatch ?? [], bBatch = c.bBatch ?? [];
  const out = new Float64Array(shapeSize(batch) * c.m * c.n);
  const sa = stridesOf([...aBatch, ...(c.transA ? [c.k, c.m] : [c.m, c.k])]), sb = stridesOf([...bBatch, ...(c.transB ? [c.n, c.k] : [c.k, c.n])]);
  const bs = stridesOf(batch);
  const base = (dims: number[], strides: number[], flat: number) =>
    dims.reduce((acc, d, i) => acc + (d === 1 ? 0 : Math.floor(flat / bs[batch.length - dims.length + i]!) % batch[batch.length - dims.length + i]!) * strides[i]!, 0);
  for (let p = 0; p < shapeSize(batch); p++) {
    const ao = base(aBatch, sa, p), bo = base(bBatch, sb, p);
    for (let i = 0; i < c.m; i++) for (let j = 0; j < c.n; j++) {
      let s = 0;
      for (let k = 0; k < c.k; k++) {
        const av = a[ao + (c.transA ? k * c.m + i : i * c.k + k)]!, bv = b[bo + (c.transB ? j * c.k + k : k * c.n + j)]!;
        s += av * bv;
      }
      out[(p * c.m + i) * c.n + j] = bias ? Math.max(s + bias[j]!, 0) : s;
    }
  }
  return out;
}

async function check(c: Case, seed: number): Promise<void> {
  const r = rng(seed);
  const aShape = [...(c.aBatch ?? []), ...(c.transA ? [c.k, c.m] : [c.m, c.k])], bShape = [...(c.bBatch ?? []), ...(c.transB ? [c.n, c.k] : [c.k, c.n])];
  const inputs = { A: random(shapeSize(aShape), r), B: random(shapeSize(bShape), r), bias: random(c.n, r) };
  const want = reference(c, inputs.A, inputs.B, c.bias ? inputs.bias : undefined);
  const panels = c.prepacked ? packGemmB(inputs.B, c.k, c.n, c.m, c.transB ?? false) : undefined;
  const A = placeholder("A", aShape), B = placeholder("B", panels?.shape ?? bShape), Bias = placeholder("bias", [c.n]);
  const kernel = gemmKernel({
    name: "G", a: A, b: B, transA: c.transA, transB: !panels && c.transB, batch: c.batch, prepackedB: panels && { n: c.n },
    epilogue: c.bias ? (acc, ix) => max(add(acc, Bias.at(ix[ix.length - 1]!)), 0) : undefined,
  });
  const f = lower(replay(kernel.outputs, kernel.steps));
  for (const threads of [1, 2]) {
    const got = (await runWasm([f], { ...inputs, B: panels?.data ?? inputs.B }, threads, features)).G!;
    const bad = mismatch(got, want, 1e-5, 1e-6 * c.k);
    assert.equal(bad, -1, `${JSON.stringify(c)}, ${threads} thread(s): G[${bad}] = ${got[bad]}, want ${want[bad]}`);
  }
}

describe("gemmKernel against a plain reference", { timeout: 300_000 }, () => {
  const fixed: Case[] = [
    { m: 16, n: 16, k: 16 },
    { m: 1, n: 1000, k: 64, bias: true },
    { m: 1, n: 13, k: 7 },
    { m: 3, n: 40, k: 9, bias: true },
    { m: 37, n: 1000, k: 20 },
    { m: 33, n: 17, k: 65, transA: true, transB: true, bias: true },
    { m: 5, n: 12, k: 3, transB: true },
    { m: 6, n: 9, k: 4, batch: [2, 3], aBatch: [2, 3], bBatch: [3], bias: true },
    { m: 4, n: 8, k: 5, batch: [3], aBatch: [1], bBatch: [3], transA: true },
    { m: 2, n: 1, k: 1, batch: [2], aBatch: [2], bBatch: [2] },
    { m: 1, n: 1024, k: 64, bias: true, prepacked: true },
    { m: 1, n: 13, k: 7, transB: true, prepacked: true },
    { m: 37, n: 1000, k: 20, transA: true, prepacked: true },
    { m: 6, n: 9, k: 4, batch: [2, 3], aBatch: [2, 3], bias: true, prepacked: true },
  ];
  for (const c of fixed) it(JSON.stringify(c), () => check(c, c.m * 131 + c.n));

  it("random shapes, transposes, batches and epilogues", async () => {
    const r = rng(2024);
    const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
    for (let trial = 0; trial < 24; trial++) {
      const nb = int(0, 2);
      const batch = Array.from({ length: nb }, () => int(1, 3));
      const sub = () => { const d = int(0, nb); return batch.slice(nb - d).map((x) => (r() < 0.3 ? 1 : x)); };
      const bBatch = sub();
      const c: Case = { m: int(1, 21), n: int(1, 37), k: int(1, 19), transA: r() < 0.3, transB: r() < 0.3, batch, aBatch: sub(), bBatch, bias: r() < 0.5, prepacked: bBatch.length === 0 && r() < 0.5 };
      await check(c, trial);
    }
  });
});
