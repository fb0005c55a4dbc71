/**
 * Register promotion of small local buffers (codegen/wasm/register-plan.ts): a MatMul tile
 * computed at the tile loop with unrolled and vectorized spatial loops keeps its accumulators in
 * v128 locals, a scalar tile in f32 locals, a buffer read lane by lane in v128 locals through
 * lane extracts, and a buffer indexed by a runtime loop variable stays in scratch. Each is
 * checked against the loop IR interpreter on 1 and 2 threads, tails included.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildKernels } from "../../src/codegen/wasm/compile-kernels.js";
import { promotion } from "../../src/codegen/wasm/register-plan.js";
import { printModule } from "../../src/codegen/wasm/wat.js";
import { type Tensor, compute, placeholder, reduceAxis, reduceSum } from "../../src/loopir/compute.js";
import { exp, max, mul, sub } from "../../src/loopir/expr.js";
import { lower } from "../../src/loopir/lower.js";
import { type Step, replay } from "../../src/loopir/schedule.js";
import type { Alloc, Func, Stmt } from "../../src/loopir/stmt.js";
import { check, placeAll } from "./loopir-wasm-harness.js";
import { tunedFeatures } from "../helpers.js";

const features = await tunedFeatures();

function matmulRelu(m: number, n: number, k: number): Tensor {
  const A = placeholder("A", [m, k]), B = placeholder("B", [k, n]);
  const kk = reduceAxis(k, "k");
  const C = compute("C", [m, n], (i, j) => reduceSum(mul(A.at(i, kk), B.at(kk, j)), [kk]));
  return compute("D", [m, n], (i, j) => max(C.at(i, j), 0));
}

/** A 4x8 register tile: C computed per D tile, its spatial loops inside k, unrolled and vectorized. */
const TILE_4x8: Step[] = [
  { kind: "tile", stage: "D", x: "i", y: "j", xFactor: 4, yFactor: 8 },
  { kind: "split", stage: "D", loop: "j.inner", factor: 4 },
  { kind: "unroll", stage: "D", loop: "i.inner" },
  { kind: "unroll", stage: "D", loop: "j.inner.outer" },
  { kind: "vectorize", stage: "D", loop: "j.inner.inner" },
  { kind: "parallel", stage: "D", loop: "i.outer" },
  { kind: "compute_at", stage: "C", consumer: "D", loop: "j.outer" },
  { kind: "split", stage: "C", loop: "j", factor: 4 },
  { kind: "reorder", stage: "C", loops: ["k", "i", "j.outer", "j.inner"] },
  { kind: "unroll", stage: "C", loop: "i" },
  { kind: "unroll", stage: "C", loop: "j.outer" },
  { kind: "vectorize", stage: "C", loop: "j.inner" },
];

/** A 3x2 scalar tile, everything unrolled. */
const TILE_3x2: Step[] = [
  { kind: "tile", stage: "D", x: "i", y: "j", xFactor: 3, yFactor: 2 },
  { kind: "unroll", stage: "D", loop: "i.inner" },
  { kind: "unroll", stage: "D", loop: "j.inner" },
  { kind: "parallel", stage: "D", loop: "i.outer" },
  { kind: "compute_at", stage: "C", consumer: "D", loop: "j.outer" },
  { kind: "reorder", stage: "C", loops: ["k", "i", "j"] },
  { kind: "unroll", stage: "C", loop: "i" },
  { kind: "unroll", stage: "C", loop: "j" },
];

const allocs = (s: Stmt): Alloc[] =>
  s.kind === "alloc" ? [s, ...allocs(s.body)] : s.kind === "seq" ? s.body.flatMap(allocs) : s.kind === "for" ? allocs(s.body) : s.kind === "if" ? allocs(s.then) : [];

const kindOf = (f: Func) => allocs(f.body).map((a) => promotion(a, new Map(), () => "f32")?.kind ?? "scratch");
const wat = (f: Func) => printModule(buildKernels([f], placeAll([f], 1).placement, features));
const count = (text: string, op: string) => text.split("\n").filter((l) => l.trim().split(" ")[0] === op).length;

describe("register promotion", { timeout: 60_000 }, () => {
  it("puts a 4x8 accumulator tile in 8 v128 locals: only the output is stored", () => {
    const f = lower(replay([matmulRelu(8, 16, 5)], TILE_4x8));
    assert.deepEqual(kindOf(f), ["v128"]);
    const text = wat(f);
    for (let i = 0; i < 8; i++) assert.ok(text.includes(`(local $C.${i} v128)`), text);
    // 8 stores of D per tile; the accumulators are never stored or reloaded.
    assert.equal(count(text, "v128.store"), 8, text);
    // Each k step loads the 2 vectors of B and the 4 broadcasts of A once (load reuse in the emitter).
    assert.equal(count(text, "v128.load"), 2, text);
    assert.equal(count(text, "v128.load32_splat"), 4, text);
  });

  for (const [m, n, k] of [[8, 16, 5], [7, 13, 6], [5, 16, 3], [1, 8, 9]] as const) {
    it(`4x8 tile matches the interpreter (${m}x${n}x${k})`, async () => check([matmulRelu(m, n, k)], TILE_4x8, m + n + k));
  }

  it("puts a scalar tile in f32 locals", async () => {
    const f = lower(replay([matmulRelu(7, 5, 4)], TILE_3x2));
    assert.deepEqual(kindOf(f), ["f32"]);
    const text = wat(f);
    assert.ok(text.includes("(local $C.5 f32)"), text);
    assert.equal(count(text, "f32.store"), 6, "only the 3x2 stores of D");
    await check([matmulRelu(7, 5, 4)], TILE_3x2, 3);
    await check([matmulRelu(6, 4, 2)], TILE_3x2, 4);
  });

  it("reads a v128-promoted buffer lane by lane where a vector loop cannot be planned", async () => {
    const X = placeholder("X", [3, 8]);
    const T = compute("T", [3, 8], (r, c) => exp(X.at(r, c)));
    const Y = compute("Y", [3, 8], (r, c) => sub(T.at(r, sub(7, c)), X.at(r, c)));
    const steps: Step[] = [
      { kind: "split", stage: "Y", loop: "c", factor: 4 },
      { kind: "unroll", stage: "Y", loop: "c.outer" },
      { kind: "vectorize", stage: "Y", loop: "c.inner" },
      { kind: "parallel", stage: "Y", loop: "r" },
      { kind: "compute_at", stage: "T", consumer: "Y", loop: "r" },
      { kind: "split", stage: "T", loop: "c", factor: 4 },
      { kind: "unroll", stage: "T", loop: "c.outer" },
      { kind: "vectorize", stage: "T", loop: "c.inner" },
    ];
    const f = lower(replay([Y], steps));
    assert.deepEqual(kindOf(f), ["v128"]);
    assert.ok(wat(f).includes("f32x4.extract_lane"), wat(f));
    await check([Y], steps, 5);
  });

  it("leaves a buffer indexed by a runtime loop variable in scratch", async () => {
    const steps: Step[] = [
      { kind: "parallel", stage: "D", loop: "i" },
      { kind: "compute_at", stage: "C", consumer: "D", loop: "i" },
    ];
    const f = lower(replay([matmulRelu(5, 6, 3)], steps));
    assert.deepEqual(kindOf(f), ["scratch"]);
    await check([matmulRelu(5, 6, 3)], steps, 6);
  });

  it("leaves tiles over the register budget in scratch", () => {
    const big: Step[] = TILE_4x8.map((s) => (s.kind === "tile" ? { ...s, xFactor: 8 } : s));
    const f = lower(replay([matmulRelu(16, 16, 3)], big));
    assert.deepEqual(kindOf(f), ["scratch"]);
  });
});
