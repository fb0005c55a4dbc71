/**
 * The differential requirement: each schedule primitive, applied to random shapes
 * (including tails the factor does not divide), gives bit-identical results to the unscheduled
 * loop nest. The workload is P = A*2+1, C = P @ B, D = relu(C + bias).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rng } from "../../src/ir/random.js";
import type { Step } from "../../src/loopir/schedule.js";
import { inputsFor, matmulChain, mismatch, run } from "./harness.js";

interface Dims { m: number; n: number; k: number; f: number }

const PRIMITIVES: Record<string, (d: Dims) => Step[]> = {
  "split with guarded tails": ({ f }) => [
    { kind: "split", stage: "C", loop: "i", factor: f },
    { kind: "split", stage: "C", loop: "k", factor: f + 1 },
    { kind: "split", stage: "D", loop: "j", factor: f },
  ],
  "split with peeled tails": ({ f }) => [
    { kind: "split", stage: "C", loop: "j", factor: f, tail: "peel" },
    { kind: "split", stage: "C", loop: "k", factor: f + 1, tail: "peel" },
    { kind: "split", stage: "D", loop: "i", factor: f, tail: "peel" },
  ],
  reorder: () => [
    { kind: "reorder", stage: "C", loops: ["k", "j", "i"] },
    { kind: "reorder", stage: "D", loops: ["j", "i"] },
  ],
  tile: ({ f }) => [
    { kind: "tile", stage: "C", x: "i", y: "j", xFactor: f, yFactor: f + 1 },
    { kind: "tile", stage: "D", x: "i", y: "j", xFactor: 3, yFactor: f },
  ],
  fuse: ({ f }) => [
    { kind: "fuse", stage: "C", outer: "i", inner: "j" },
    { kind: "split", stage: "D", loop: "j", factor: f },
    { kind: "fuse", stage: "D", outer: "i", inner: "j.outer" },
  ],
  unroll: ({ f }) => [
    { kind: "split", stage: "C", loop: "k", factor: f },
    { kind: "unroll", stage: "C", loop: "k.inner" },
    { kind: "unroll", stage: "D", loop: "j" },
  ],
  vectorize: () => [
    { kind: "split", stage: "C", loop: "j", factor: 4 },
    { kind: "reorder", stage: "C", loops: ["i", "j.outer", "k", "j.inner"] },
    { kind: "vectorize", stage: "C", loop: "j.inner" },
    { kind: "split", stage: "D", loop: "j", factor: 4, tail: "peel" },
    { kind: "vectorize", stage: "D", loop: "j.inner" },
  ],
  parallel: () => [
    { kind: "parallel", stage: "P", loop: "i" },
    { kind: "parallel", stage: "C", loop: "j" },
    { kind: "fuse", stage: "D", outer: "i", inner: "j" },
    { kind: "parallel", stage: "D", loop: "i.j.fused" },
  ],
  "cache_read (pack)": ({ f }) => [
    { kind: "split", stage: "C", loop: "j", factor: f },
    { kind: "reorder", stage: "C", loops: ["j.outer", "i", "j.inner", "k"] },
    { kind: "cache_read", stage: "C", tensor: "B", loop: "j.outer" },
    { kind: "cache_read", stage: "C", tensor: "P", loop: "i" },
  ],
  compute_at: ({ f }) => [
    { kind: "compute_at", stage: "P", consumer: "C", loop: "i" },
    { kind: "tile", stage: "D", x: "i", y: "j", xFactor: f, yFactor: f + 1 },
    { kind: "compute_at", stage: "C", consumer: "D", loop: "j.outer" },
  ],
  compute_inline: () => [{ kind: "compute_inline", stage: "P" }],
  "a whole GEMM schedule": ({ f }) => [
    { kind: "compute_inline", stage: "P" },
    { kind: "tile", stage: "D", x: "i", y: "j", xFactor: f, yFactor: 4 },
    { kind: "parallel", stage: "D", loop: "i.outer" },
    { kind: "vectorize", stage: "D", loop: "j.inner" },
    { kind: "compute_at", stage: "C", consumer: "D", loop: "j.outer" },
    { kind: "split", stage: "C", loop: "j", factor: 4 },
    { kind: "split", stage: "C", loop: "k", factor: 3 },
    { kind: "reorder", stage: "C", loops: ["j.outer", "k.outer", "i", "k.inner", "j.inner"] },
    { kind: "vectorize", stage: "C", loop: "j.inner" },
    { kind: "cache_read", stage: "C", tensor: "B", loop: "k.outer" },
  ],
};

/** Four seeded shapes per primitive; the first always has prime sizes, so every factor leaves a tail. */
function shapes(seed: number): Dims[] {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  return [{ m: 7, n: 11, k: 5, f: 3 }, ...Array.from({ length: 3 }, () => ({ m: int(1, 13), n: int(1, 13), k: int(1, 9), f: int(2, 5) }))];
}

describe("schedule primitives match the unscheduled loop nest", () => {
  Object.entries(PRIMITIVES).forEach(([name, steps], p) => {
    it(name, () => {
      for (const d of shapes(100 + p)) {
        const { D } = matmulChain(d.m, d.n, d.k);
        const inputs = inputsFor([D], p);
        const want = run([D], [], inputs)["D"]!;
        const got = run([D], steps(d), inputs)["D"]!;
        const bad = mismatch(got, want);
        assert.equal(bad, -1, `${JSON.stringify(d)}: D[${bad}] = ${got[bad]}, want ${want[bad]}`);
      }
    });
  });

  it("the unscheduled nest computes the definition", () => {
    const d = { m: 5, n: 6, k: 7 };
    const { D } = matmulChain(d.m, d.n, d.k);
    const inputs = inputsFor([D], 1);
    const [A, B, bias] = [inputs["A"]!, inputs["B"]!, inputs["bias"]!];
    const want = new Float64Array(d.m * d.n);
    for (let i = 0; i < d.m; i++) for (let j = 0; j < d.n; j++) {
      let s = 0;
      for (let k = 0; k < d.k; k++) s += (A[i * d.k + k]! * 2 + 1) * B[k * d.n + j]!;
      want[i * d.n + j] = Math.max(s + bias[j]!, 0);
    }
    assert.equal(mismatch(run([D], [], inputs)["D"]!, want, 1e-5, 1e-6), -1);
  });
});
