/**
 * Sharing a kernel's parallel loop (kernel-emitter.ts, shareLoop): through the pool, workers
 * take chunks of iterations from its NEXT cell (the `counter` they pass). Every iteration must
 * run exactly once, for extents below and above 8 chunks per worker, on 1 to 3 threads, and a
 * parallel loop nested in a serial one (which runs more than once per call) keeps fixed shares.
 * Called directly: counter 0 runs the fixed share, and with a counter the first caller takes
 * every chunk when it runs alone, leaving none to a later one. Hand-built loop IR that adds 1 to
 * each output element, so an iteration run twice or skipped shows.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { add, ivar, lit, load, mul } from "../../src/loopir/expr.js";
import { type Func, forLoop, seq, store } from "../../src/loopir/stmt.js";
import { compileKernels } from "../../src/codegen/wasm/compile-kernels.js";
import { instantiateKernels } from "../../src/runtime/kernel-module.js";
import { placeAll, runWasm } from "./loopir-wasm-harness.js";
import { tunedFeatures } from "../helpers.js";

const features = await tunedFeatures();
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

  /** `f` compiled alone, called on this thread: X = 0..n-1, Y = NaN, a free i32 for the counter. */
  async function direct(f: Func) {
    const { placement, bytes } = placeAll([f], 4);
    const counter = bytes;
    const memory = new WebAssembly.Memory({ initial: Math.ceil((bytes + 64) / 65536), maximum: 65536, shared: true });
    const [k] = await instantiateKernels(compileKernels([f], placement, features), memory);
    const n = f.inputs[0]!.shape[0]!;
    new Float32Array(memory.buffer, placement.buffers.get("X")!, n).set(Float32Array.from({ length: n }, (_, i) => i));
    const y = () => new Float32Array(memory.buffer, placement.buffers.get("Y")!, n);
    y().fill(NaN);
    return { k: k!, y, counter, cell: () => new Int32Array(memory.buffer, counter, 1)[0]! };
  }
  const once = (y: Float32Array) => y.findIndex((v, i) => v !== i + 1);

  it("counter 0: each caller runs its fixed share (3 shares of 100 iterations, one call each)", async () => {
    const { k, y } = await direct(func(100, 1));
    k(0, 3, 0, 0);
    assert.ok(y().slice(0, 33).every((v, i) => v === i + 1) && y().slice(33).every(Number.isNaN), "share 0 of 3 is iterations 0..32 alone");
    k(1, 3, 1, 0); k(2, 3, 2, 0);
    assert.equal(once(y()), -1);
  });

  it("a counter: the first caller alone takes every chunk, a later caller finds none left", async () => {
    const { k, y, counter, cell } = await direct(func(100, 1));
    k(1, 2, 1, counter);
    assert.equal(once(y()), -1, "one caller did all 100 iterations");
    assert.ok(cell() >= 100);
    y().fill(NaN);
    k(0, 2, 0, counter);
    assert.ok(y().every(Number.isNaN), "the second caller ran nothing");
  });
});
