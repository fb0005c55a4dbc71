/**
 * The public API misused every way a caller can: each call must fail with a KilnError subclass
 * whose message names the problem, never hang, never corrupt the session.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InferenceSession, type SessionOptions } from "../../src/api.js";
import { InputError, KernelError, KilnError, LimitError, SessionError } from "../../src/ir/errors.js";
import { Tensor } from "../../src/ir/tensor.js";
import type { WorkerHandle } from "../../src/runtime/platform.js";
import { modelBytes, vinfo } from "../helpers.js";

/** y = MatMul(x, w) + x with x float32 [1,2,3,4] and w a [4,4] weight: a write past x's buffer would land in w. */
function matmulModel(dims: (number | string)[] = [1, 2, 3, 4]): Uint8Array {
  const w = Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 1 : 0.5));
  return modelBytes({
    name: "mm",
    input: [vinfo("x", 1, dims)],
    output: [vinfo("y", 1, dims)],
    initializer: [{ name: "w", dataType: 1, dims: [4, 4], floatData: w }],
    node: [
      { opType: "MatMul", input: ["x", "w"], output: ["m"] },
      { opType: "Add", input: ["m", "x"], output: ["y"] },
    ],
  });
}

const x = (shape = [1, 2, 3, 4]) => Tensor.fromNumbers("float32", shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i / 7));

/** Asserts a rejection of class `cls` whose message matches `message`. */
async function rejects(p: Promise<unknown> | (() => Promise<unknown>), cls: typeof KilnError, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof cls, `${e.constructor.name}: ${e.message} is not a ${cls.name}`);
    assert.match(e.message, message);
    return true;
  });
}

/** Test-only: the worker handles behind a compiled program (Executor.pool, WorkerPool.workers are private). */
async function workersOf(s: InferenceSession, feeds: ReadonlyMap<string, Tensor>): Promise<WorkerHandle[]> {
  const c = await s.compiledFor(feeds);
  assert.equal(c.kind, "compiled");
  return (c as unknown as { executor: { pool: { workers: WorkerHandle[] } } }).executor.pool.workers;
}

describe("API misuse", () => {
  it("rejects bad session options at create with an InputError naming the option", { timeout: 20_000 }, async () => {
    const bad: [SessionOptions, RegExp][] = [
      [{ threads: 0 }, /threads must be an integer from 1 to 64, got 0/],
      [{ threads: 2.5 }, /threads .* got 2.5/],
      [{ threads: 1000 }, /threads .* got 1000/],
      [{ maxElements: -1 }, /maxElements must be a positive integer, got -1/],
      [{ maxLoopIterations: 0.5 }, /maxLoopIterations must be a positive integer/],
      [{ maxTensorBytes: Number.NaN }, /maxTensorBytes must be a positive integer/],
      [{ backend: "gpu" as never }, /backend must be one of wasm, js, reference, got gpu/],
      [{ executor: "fast" as never }, /executor must be one of op-by-op, rammer, got fast/],
      [{ policy: "clustered" as never }, /policy must be a Rammer scheduling policy/],
      [{ thread: 2 } as never, /unknown session option "thread"/],
    ];
    for (const [options, message] of bad) await rejects(InferenceSession.create(matmulModel(), options), InputError, message);
  });

  it("rejects wrong feeds with an InputError naming the input", { timeout: 30_000 }, async () => {
    const s = await InferenceSession.create(matmulModel(), { threads: 2 });
    try {
      const bad: [unknown, RegExp][] = [
        [null, /run\(\) takes an object/],
        ["x", /run\(\) takes an object/],
        [{}, /input "x" is missing/],
        [{ x: x(), z: x() }, /no input named "z"/],
        [{ x: { dtype: "float32", shape: [1, 2, 3, 4], data: new Float32Array(24) } }, /input "x" must be a kiln Tensor/],
        [{ x: Tensor.fromNumbers("int32", [1, 2, 3, 4], new Array(24).fill(1)) }, /input "x" must be float32, got int32/],
        [{ x: x([1, 2, 3, 5]) }, /input "x" must have shape \[1,2,3,4\], got \[1,2,3,5\]/],
        [{ x: x([2, 3, 4]) }, /input "x" must have rank 4/],
      ];
      for (const [feeds, message] of bad) await rejects(s.run(feeds as Record<string, Tensor>), InputError, message);
    } finally {
      await s.release();
    }
  });

  it("rejects mutated and forged tensors with an InputError, and the session's results stay right", { timeout: 30_000 }, async () => {
    for (const backend of ["wasm", "reference"] as const) {
      const s = await InferenceSession.create(matmulModel(), { backend, threads: 2 });
      try {
        const want = (await s.run({ x: x() })).y!.numbers();

        const mutated = x();
        assert.throws(() => { (mutated.shape as number[])[3] = 8; }, TypeError, "a Tensor's shape is frozen");
        assert.deepEqual(mutated.shape, [1, 2, 3, 4]);

        const given = [1, 2, 3, 4];
        const t = Tensor.fromNumbers("float32", given, new Array(24).fill(1));
        given[3] = 8;
        assert.deepEqual(t.shape, [1, 2, 3, 4], "the tensor copied the caller's shape array");

        const swapped = x();
        (swapped as { data: unknown }).data = new Float32Array(3);
        await rejects(s.run({ x: swapped }), InputError, /input "x" of shape \[1,2,3,4\] needs 24 elements, its data has 3/);

        const wrongStorage = x();
        (wrongStorage as { data: unknown }).data = new Int32Array(24);
        await rejects(s.run({ x: wrongStorage }), InputError, /input "x": a float32 tensor cannot hold its data in a Int32Array/);

        const forge = (fields: Record<string, unknown>) => Object.assign(Object.create(Tensor.prototype) as Tensor, fields);
        await rejects(s.run({ x: forge({ dtype: "float32", shape: [1, 2, 3, 8], data: new Float32Array(24) }) }), InputError, /needs 48 elements, its data has 24/);
        await rejects(s.run({ x: forge({ dtype: "float32", shape: [1, 2, 3, 4.5], data: new Float32Array(27) }) }), InputError, /invalid dimension 4.5/);
        await rejects(s.run({ x: forge({ dtype: "float32", shape: "1,2,3,4", data: new Float32Array(24) }) }), InputError, /shape must be an array/);
        await rejects(s.run({ x: forge({ dtype: "complex", shape: [1, 2, 3, 4], data: new Float32Array(24) }) }), InputError, /unknown dtype complex/);
        await rejects(s.run({ x: forge({ dtype: "float32", shape: [1, 2, 3, 4], data: [0, 1] }) }), InputError, /cannot hold its data in a Array/);

        // An output's shape is the tensor's own: changing it cannot reach the next run.
        const out = (await s.run({ x: x() })).y!;
        assert.throws(() => { (out.shape as number[])[0] = 5; }, TypeError);
        assert.deepEqual([...(await s.run({ x: x() })).y!.numbers()], [...want], `${backend}: later results unchanged`);
      } finally {
        await s.release();
      }
    }
  });

  it("runs many concurrent inferences on one session, different symbolic shapes included, all correct", { timeout: 60_000 }, async () => {
    const s = await InferenceSession.create(matmulModel(["n", 2, 3, 4]), { threads: 2 });
    const ref = await InferenceSession.create(matmulModel(["n", 2, 3, 4]), { backend: "reference" });
    try {
      const feeds = Array.from({ length: 40 }, (_, i) => x([1 + (i % 3), 2, 3, 4]));
      const got = await Promise.all(feeds.map((f) => s.run({ x: f })));
      for (const [i, f] of feeds.entries()) {
        const want = (await ref.run({ x: f })).y!;
        assert.deepEqual(got[i]!.y!.shape, want.shape);
        const g = got[i]!.y!.numbers();
        want.numbers().forEach((v, j) => assert.ok(Math.abs(g[j]! - v) <= 1e-5 * Math.max(1, Math.abs(v)), `run ${i} element ${j}: ${g[j]} vs ${v}`));
      }
    } finally {
      await s.release();
    }
  });

  it("after release every run rejects with a SessionError, at every stage, and release twice is fine", { timeout: 60_000 }, async () => {
    const released = /the session was released/;
    // Before the first run.
    let s = await InferenceSession.create(matmulModel(), { threads: 2 });
    await s.release();
    await rejects(s.run({ x: x() }), SessionError, released);
    await s.release();

    // During the first compile: the run in flight rejects cleanly, its workers are stopped.
    s = await InferenceSession.create(matmulModel(), { threads: 2 });
    const during = s.run({ x: x() });
    const rel = s.release();
    await rejects(during, SessionError, released);
    await rel;
    await rejects(s.run({ x: x() }), SessionError, released);

    // During runs: those already running finish, later ones reject.
    s = await InferenceSession.create(matmulModel(), { threads: 2 });
    await s.run({ x: x() });
    const inFlight = Promise.allSettled(Array.from({ length: 5 }, () => s.run({ x: x() })));
    await s.release();
    for (const r of await inFlight) {
      if (r.status === "rejected") assert.ok(r.reason instanceof SessionError, String(r.reason));
    }
    await rejects(s.run({ x: x() }), SessionError, released);
  });

  it("a dead worker rejects the pending and every later run with a KernelError, then release works", { timeout: 30_000 }, async () => {
    for (const executor of ["op-by-op", "rammer"] as const) {
      const s = await InferenceSession.create(matmulModel(), { threads: 2, executor });
      const feeds = new Map([["x", x()]]);
      await s.run({ x: x() });
      const [worker] = await workersOf(s, feeds);
      await worker!.terminate();
      await rejects(s.run({ x: x() }), KernelError, /worker 1 exited/);
      await rejects(s.run({ x: x() }), KernelError, /worker 1 exited/);
      await s.release();
    }
  });

  it("a worker killed as a Rammer run starts rejects the run instead of freezing the process", { timeout: 30_000 }, async () => {
    const s = await InferenceSession.create(matmulModel([64, 2, 3, 4]), { threads: 2, executor: "rammer" });
    const feeds = new Map([["x", x([64, 2, 3, 4])]]);
    await s.run({ x: x([64, 2, 3, 4]) });
    const [worker] = await workersOf(s, feeds);
    // Asked for in a microtask just before the run's own: whether the worker dies before the
    // launch or while this thread waits inside it for the worker's counter, the run rejects.
    let dead: Promise<void> | undefined;
    queueMicrotask(() => (dead = worker!.terminate()));
    await rejects(s.run({ x: x([64, 2, 3, 4]) }), KernelError, /worker 1 exited/);
    await dead;
    await s.release();
  });

  it("the host stays responsive: a timer fires while a long inference runs", { timeout: 60_000 }, async () => {
    const s = await InferenceSession.create(matmulModel([256, 2, 3, 4]), { threads: 2, executor: "op-by-op" });
    try {
      await s.run({ x: x([256, 2, 3, 4]) });
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      const started = Date.now();
      // Runs queued back to back: the event loop must get turns between (and within) them.
      await Promise.all(Array.from({ length: 300 }, () => s.run({ x: x([256, 2, 3, 4]) })));
      clearInterval(timer);
      assert.ok(ticks >= 1, `a 1 ms timer fired ${ticks} times in ${Date.now() - started} ms of inference`);
    } finally {
      await s.release();
    }
  });

  it("an Expand to 2^30 float32 elements is a LimitError naming WebAssembly's 4 GiB, not an internal error", { timeout: 60_000 }, async () => {
    const s = await InferenceSession.create(modelBytes({
      name: "expand",
      input: [vinfo("x", 1, [1])],
      output: [vinfo("y", 1, [2 ** 30])],
      initializer: [{ name: "shape", dataType: 7, dims: [1], int64Data: [2 ** 30] }],
      node: [{ opType: "Expand", input: ["x", "shape"], output: ["y"] }],
    }), { threads: 1 });
    try {
      await rejects(s.run({ x: Tensor.fromNumbers("float32", [1], [1]) }), LimitError, /needs \d+ bytes of memory, over WebAssembly's limit of 4 GiB/);
    } finally {
      await s.release();
    }
  });

  it("maxLoopIterations and maxElements bind the reference steps of compiled programs too", { timeout: 60_000 }, async () => {
    // y = Loop(M, v0), each iteration v = ReduceMax(Expand(v, shape)) + 1: a Loop with a static
    // output shape, so the model compiles and the Loop (with its Expand) is a reference step.
    const model = modelBytes({
      name: "loop",
      input: [vinfo("M", 7, []), vinfo("v0", 1, [1]), vinfo("shape", 7, [1])],
      output: [vinfo("y", 1, [1])],
      initializer: [{ name: "one", dataType: 1, dims: [1], floatData: [1] }],
      node: [{
        opType: "Loop", input: ["M", "", "v0"], output: ["y"],
        attribute: [{
          name: "body", type: 5, g: {
            name: "body",
            input: [vinfo("i", 7, []), vinfo("c", 9, []), vinfo("v", 1, [1])],
            output: [vinfo("c_out", 9, []), vinfo("v_out", 1, [1])],
            node: [
              { opType: "Identity", input: ["c"], output: ["c_out"] },
              { opType: "Expand", input: ["v", "shape"], output: ["e"] },
              { opType: "ReduceMax", input: ["e"], output: ["m"] },
              { opType: "Add", input: ["m", "one"], output: ["v_out"] },
            ],
          },
        }],
      }],
    });
    const feeds = (trips: number, n: number) => ({
      M: Tensor.fromBigInts("int64", [], [BigInt(trips)]), v0: Tensor.fromNumbers("float32", [1], [0]), shape: Tensor.fromBigInts("int64", [1], [BigInt(n)]),
    });
    for (const backend of ["wasm", "reference"] as const) {
      const s = await InferenceSession.create(model, { backend, threads: 2, maxLoopIterations: 10, maxElements: 1000 });
      try {
        assert.deepEqual([...(await s.run(feeds(5, 3))).y!.numbers()], [5], backend);
        const fallbacks = backend === "wasm" ? await s.fallbacks() : ["Loop:"];
        assert.ok(fallbacks.length > 0 && fallbacks.every((f) => f.startsWith("Loop:")), `compiled with a reference Loop step: ${fallbacks}`);
        await rejects(s.run(feeds(100, 3)), LimitError, /Loop: still running after 10 iterations/);
        await rejects(s.run(feeds(5, 5000)), LimitError, /5000 elements, over the limit of 1000/);
      } finally {
        await s.release();
      }
    }
  });
});
