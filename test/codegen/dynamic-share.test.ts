/**
 * Dynamic sharing of a kernel's parallel loop (kernel-emitter.ts, take): workers take chunks of
 * iterations from the pool's NEXT cell. Every iteration must run exactly once, for extents
 * below and above 8 chunks per worker, on 1 to 3 threads, and a parallel loop nested in a
 * serial one (which runs more than once per call) keeps fixed shares. Hand-built loop IR that
 * adds 1 to each output element, so an iteration run twice or skipped shows.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { detectFeatures } from "../../src/codegen/wasm/features.js";
import { add, ivar, lit, load, mul } from "../../src/loopir/expr.js";
import { type Func, forLoop, seq, store } from "../../src/loopir/stmt.js";
import { runWasm } from "./loopir-wasm-harness.js";

const features = await detectFeatures();
const f32 = (name: string, shape: number[]) => ({ name, type: "f32" as const, shape });

/** Y[i] = X[i] + 1 over a parallel loop of n iterations, inside a serial loop of `outer` iterations writing rows. */
function func(n: number, outer: number): Func {
  const i = ivar("i"), o = ivar("o");
  const at = outer > 1 ? add(mul(o, n), i) : i;
  const body = store("Y", [at], add(load("X", [at], "f32"), lit(1, "f32")));
  const par = forLoop("i", n, body, "parallel");
  return { name: "inc", inputs: [f32("X", [n * outer])], outputs: [f32("Y", [n * outer])], body: seq([outer > 1 ? forLoop("o", outer, par) : par]) };
}

describe("dynamic sharing of parallel loops", { timeout: 60_000 }, () => {
  for (const [n, outer] of [[1, 1], [5, 1], [16, 1], [17, 1], [100, 1], [1000, 1], [7, 3], [40, 2]] as const) {
    it(`every iteration once: ${n} iterations${outer > 1 ? ` inside a serial loop of ${outer}` : ""}`, async () => {
      const f = func(n, outer);
      const x = Float32Array.from({ length: n * outer }, (_, k) => k);
      for (const threads of [1, 2, 3]) {
        const y = (await runWasm([f], { X: x }, threads, features)).Y!;
        const bad = y.findIndex((v, k) => v !== k + 1);
        assert.equal(bad, -1, `${threads} thread(s): Y[${bad}] = ${y[bad]}`);
      }
    });
  }
});
