import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CONTROL_BYTES } from "../../src/runtime/control.js";
import type { KernelModule } from "../../src/codegen/kernel-module.js";
import { WorkerPool } from "../../src/runtime/worker-pool.js";

/**
 * Kernel 0 writes worker-dependent values into its share of a float array; kernel 1 adds 1 to
 * every element (read-modify-write, so a missed barrier or a lost write shows up in the sums).
 */
const N = 1000;
const DATA = 64;
const KERNELS: KernelModule = {
  kind: "js",
  source: `(memory) => {
    const share = (w, n) => [Math.floor(${N} * w / n), Math.floor(${N} * (w + 1) / n)];
    return [
      (w, n) => { const a = new Float32Array(memory.buffer, ${DATA}, ${N}); const [lo, hi] = share(w, n); for (let i = lo; i < hi; i++) a[i] = i; },
      (w, n) => { const a = new Float32Array(memory.buffer, ${DATA}, ${N}); const [lo, hi] = share(w, n); for (let i = lo; i < hi; i++) a[i] += 1; },
    ];
  }`,
};

describe("worker pool", () => {
  for (const threads of [1, 2, 3]) {
    it(`runs every share of every step with ${threads} thread(s)`, { timeout: 20_000 }, async () => {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
      const pool = await WorkerPool.create(memory, KERNELS, threads, 0);
      try {
        assert.ok(CONTROL_BYTES <= DATA);
        pool.run(0);
        for (let step = 0; step < 500; step++) pool.run(1);
        const a = new Float32Array(memory.buffer, DATA, N);
        for (let i = 0; i < N; i++) assert.equal(a[i], i + 500, `element ${i}`);
        assert.equal(pool.stats.steps, 501);
      } finally {
        await pool.close();
      }
    });
  }

  it("takes the first step right after start-up without losing it (20 pools)", { timeout: 30_000 }, async () => {
    for (let round = 0; round < 20; round++) {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
      const pool = await WorkerPool.create(memory, KERNELS, 2 + (round % 2), 0);
      pool.run(0);
      pool.run(1);
      await pool.close();
      assert.equal(new Float32Array(memory.buffer, DATA, N)[N - 1], N);
    }
  });

  it("rejects an unknown kernel and use after close", { timeout: 20_000 }, async () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const pool = await WorkerPool.create(memory, KERNELS, 2, 0);
    assert.throws(() => pool.run(7), /no kernel 7/);
    await pool.close();
    assert.throws(() => pool.run(0), /after close/);
  });
});
