/**
 * Load reuse in the wasm emitter (kernel-emitter.ts, cachedLoad): within one iteration of a
 * straight-line innermost loop a repeated vector load or broadcast is made once and kept in a
 * local, a store to memory forgets every kept load, and a load first made under a condition is
 * not reused after it. Loop IR built by hand, checked against the interpreter on 1 and 2 threads.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildKernels } from "../../src/codegen/wasm/compile-kernels.js";
import { printModule } from "../../src/codegen/wasm/wat.js";
import { add, ivar, lit, load, lt, mul, select } from "../../src/loopir/expr.js";
import { type Func, forLoop, ifThen, seq, store } from "../../src/loopir/stmt.js";
import { inputsFor, mismatch } from "../loopir/harness.js";
import { interpretAll, placeAll, runWasm } from "./loopir-wasm-harness.js";
import { tunedFeatures } from "../helpers.js";

const features = await tunedFeatures();
const N = 6;
const i = ivar("i"), l = ivar("l"), u = ivar("u");
const x = (lane = l) => load("X", [add(mul(i, 4), lane)], "f32");
const s = (at: number) => load("S", [add(mul(i, 2), at)], "f32");

/** for i { unrolled u in 0..2 { vectorized l { Y[i, u, l] = X[i, l] * S[i, u] + X[i, l] } }; X[i, l] = X*2; Z[i, l] = X[i, l] + S[i, 0];
 *  if i < 3 { W[i, l] = X + S[i, 1] }; V[i, l] = (i < 2 ? X : 1) + X }: the loads after the store of X must see the new X. */
function func(): Func {
  const vec = (body: Parameters<typeof store>) => forLoop("l", 4, store(...body), "vectorized");
  const y = forLoop("u", 2, vec(["Y", [add(add(mul(i, 8), mul(u, 4)), l)], add(mul(x(), load("S", [add(mul(i, 2), u)], "f32")), x())]), "unrolled");
  const body = seq([
    y,
    vec(["X", [add(mul(i, 4), l)], mul(x(), lit(2, "f32"))]),
    vec(["Z", [add(mul(i, 4), l)], add(x(), s(0))]),
    ifThen(lt(i, 3), vec(["W", [add(mul(i, 4), l)], add(x(), s(1))])),
    vec(["V", [add(mul(i, 4), l)], add(select(lt(i, 2), x(), lit(1, "f32")), x())]),
  ]);
  const f32 = (name: string, shape: number[]) => ({ name, type: "f32" as const, shape });
  return {
    name: "reuse",
    inputs: [f32("S", [N * 2])],
    outputs: [f32("X", [N * 4]), f32("Y", [N * 8]), f32("Z", [N * 4]), f32("W", [N * 4]), f32("V", [N * 4])],
    body: forLoop("i", N, body),
  };
}

describe("load reuse", () => {
  it("loads each vector and broadcast once per iteration until a store, and matches the interpreter", async () => {
    const f = func();
    const text = printModule(buildKernels([f], placeAll([f], 1).placement, features));
    const count = (op: string) => text.split("\n").filter((line) => line.trim().split(" ")[0] === op).length;
    // Once per store of Y (each value reads X twice; the store to memory Y forgets it), once for
    // the store of X, then once each for Z, the conditional W, and V's select and V itself.
    assert.equal(count("v128.load"), 7, text);
    assert.equal(count("v128.load32_splat"), 4, text);
    // X is an output that is also read: give the wasm and the interpreter the same start values.
    const inputs = { ...inputsFor([], 1), S: Float32Array.from({ length: N * 2 }, (_, k) => k * 0.5 - 2) };
    const x0 = Float32Array.from({ length: N * 4 }, (_, k) => 1 + k * 0.25);
    const g = withX0(f);
    const want = interpretAll(g, { ...inputs, X0: x0 });
    for (const threads of [1, 2]) {
      const got = await runWasm([g], { ...inputs, X0: x0 }, threads, features);
      for (const o of ["X", "Y", "Z", "V"]) assert.equal(mismatch(got[o]!, want[o]!, 1e-6, 1e-7), -1, `${o} on ${threads} thread(s)`);
      assert.equal(mismatch(got.W!.slice(0, 12), want.W!.slice(0, 12), 1e-6, 1e-7), -1, `W on ${threads} thread(s)`);
    }
  });
});

/** X is read before it is written: `f` with X first copied from an input X0. */
const withX0 = (f: Func): Func => ({
  ...f, inputs: [...f.inputs, { name: "X0", type: "f32", shape: [N * 4] }],
  body: seq([forLoop("c", N * 4, store("X", [ivar("c")], load("X0", [ivar("c")], "f32"))), f.body]),
});
