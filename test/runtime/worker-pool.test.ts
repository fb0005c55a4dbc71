import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KernelError } from "../../src/ir/errors.js";
import { CONTROL_BYTES } from "../../src/runtime/control.js";
import type { KernelModule } from "../../src/codegen/kernel-module.js";
import { WorkerPool } from "../../src/runtime/worker-pool.js";

/**
 * Kernel 0 writes worker-dependent values into its share of a float array; kernel 1 adds 1 to
 * every element (read-modify-write, so a missed barrier or a lost write shows up in the sums).
 */
const N = 1000;
const DATA = 64;
const COUNTER = DATA + 4 * N;
const KERNELS: KernelModule = {
  kind: "js",
  source: `(memory) => {
    const share = (w, n) => [Math.floor(${N} * w / n), Math.floor(${N} * (w + 1) / n)];
    return [
      (w, n) => { const a = new Float32Array(memory.buffer, ${DATA}, ${N}); const [lo, hi] = share(w, n); for (let i = lo; i < hi; i++) a[i] = i; },
      (w, n) => { const a = new Float32Array(memory.buffer, ${DATA}, ${N}); const [lo, hi] = share(w, n); for (let i = lo; i < hi; i++) a[i] += 1; },
      // 2, 3: share 1 (a worker) or share 0 (the calling thread) throws, as a wasm trap would.
      (w) => { if (w === 1) throw new Error("boom on share 1"); },
      (w) => { if (w === 0) throw new Error("boom on share 0"); },
      // 4: the worker's thread ends in the middle of the step.
      (w) => { if (w === 1) process.exit(3); },
      // 5: like a Rammer vEU, share 0 waits until share 1 bumps the counter at ${COUNTER}; share 1 throws instead.
      (w) => {
        const c = new Int32Array(memory.buffer, ${COUNTER}, 1);
        if (w === 1) throw new Error("vEU 1 trapped");
        while (Atomics.load(c, 0) < 1) Atomics.wait(c, 0, 0, 10);
      },
      // 6: share 1 takes 300 ms.
      (w) => { if (w === 1) { const end = Date.now() + 300; while (Date.now() < end); } },
      // 7, 8: a Rammer launch whose share 0 waits for share 1's counter, giving its thread back
      // every 10 ms as dispatch.ts does (returns where to resume); it marks ${COUNTER + 4} when
      // it has seen the count. Share 1 bumps the counter after 300 ms (7) or exits (8).
      ...[false, true].map((exits) => (w, n, slot, counter, from) => {
        const c = new Int32Array(memory.buffer, ${COUNTER}, 2);
        if (w === 1) {
          if (exits) process.exit(3);
          const end = Date.now() + 300; while (Date.now() < end);
          Atomics.store(c, 0, 1); Atomics.notify(c, 0);
          return 0;
        }
        if (Atomics.load(c, 0) < 1) Atomics.wait(c, 0, 0, 10);
        if (Atomics.load(c, 0) < 1) return (from ?? 0) + 1;
        c[1] = 1;
        return 0;
      }),
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
        await pool.run(0);
        for (let step = 0; step < 500; step++) await pool.run(1);
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
      await pool.run(0);
      await pool.run(1);
      await pool.close();
      assert.equal(new Float32Array(memory.buffer, DATA, N)[N - 1], N);
    }
  });

  it("rejects an unknown kernel and use after close", { timeout: 20_000 }, async () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const pool = await WorkerPool.create(memory, KERNELS, 2, 0);
    assert.throws(() => pool.run(99), /no kernel 99/);
    await pool.close();
    assert.throws(() => pool.run(0), /after close/);
  });

  const pool2 = async () => WorkerPool.create(new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }), KERNELS, 2, 0);

  for (const [kernel, thread] of [[2, 1], [3, 0]] as const) {
    it(`a share that throws on thread ${thread} rejects the step and every later one with a KernelError`, { timeout: 20_000 }, async () => {
      const pool = await pool2();
      try {
        await assert.rejects(async () => pool.run(kernel), (e: Error) => e instanceof KernelError && e.message.includes(`thread ${thread}`) && e.message.includes(`boom on share ${thread}`));
        await assert.rejects(async () => pool.run(1), (e: Error) => e instanceof KernelError && e.message.includes(`boom on share ${thread}`));
      } finally {
        await pool.close();
      }
    });
  }

  it("a share that throws in a launch releases the vEUs waiting on its progress counter", { timeout: 20_000 }, async () => {
    const pool = await pool2();
    try {
      await assert.rejects(async () => pool.run(5, { offset: COUNTER, bytes: 4 }), (e: Error) => e instanceof KernelError && e.message.includes("vEU 1 trapped"));
    } finally {
      await pool.close();
    }
  });

  it("a worker that exits in the middle of a step rejects it, and every later step, with a KernelError", { timeout: 20_000 }, async () => {
    const pool = await pool2();
    try {
      await assert.rejects(async () => pool.run(4), (e: Error) => e instanceof KernelError && /worker 1 exited \(code 3\)/.test(e.message));
      await assert.rejects(async () => pool.run(1), (e: Error) => e instanceof KernelError && /worker 1 exited/.test(e.message));
    } finally {
      await pool.close();
    }
  });

  it("resumes a launch whose wait gave the thread back, and hears the event loop meanwhile", { timeout: 20_000 }, async () => {
    const pool = await pool2();
    try {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      await pool.run(7, { offset: COUNTER, bytes: 4 });
      clearInterval(timer);
      const c = new Int32Array(pool["control"].buffer, COUNTER, 2);
      assert.deepEqual([...c], [1, 1], "share 0 went on until it saw share 1's count");
      assert.ok(ticks >= 5, `a 5 ms timer fired ${ticks} times while share 0 waited 300 ms`);
    } finally {
      await pool.close();
    }
  });

  it("a worker that dies while a launch's share waits for it rejects the step with a KernelError", { timeout: 20_000 }, async () => {
    const pool = await pool2();
    try {
      await assert.rejects(async () => pool.run(8, { offset: COUNTER, bytes: 4 }), (e: Error) => e instanceof KernelError && /worker 1 exited \(code 3\)/.test(e.message));
    } finally {
      await pool.close();
    }
  });

  it("keeps the event loop running while a step is long", { timeout: 20_000 }, async () => {
    const pool = await pool2();
    try {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 10);
      await pool.run(6);
      clearInterval(timer);
      assert.ok(ticks >= 1, `a 10 ms timer fired ${ticks} times during a 300 ms step`);
    } finally {
      await pool.close();
    }
  });
});
