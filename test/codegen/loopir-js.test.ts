/**
 * The JS backend against the loop IR interpreter: each workload under several schedules is
 * compiled, run through the worker pool with 1, 2 and 3 threads, and must equal the
 * interpreter bit for bit (outputs start as NaN, and each kernel runs twice, so a missed
 * element or stale scratch data shows).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileKernelsJs, type Placement, scratchBytes } from "../../src/codegen/js/index.js";
import { InternalError } from "../../src/ir/errors.js";
import { rng } from "../../src/ir/random.js";
import { shapeSize } from "../../src/ir/tensor.js";
import { type Tensor, compute, placeholder, reduceAxis, reduceMax, reduceSum } from "../../src/loopir/compute.js";
import { add, call, cast, div, erf, exp, max, mul, sigmoid, sub, tanh } from "../../src/loopir/expr.js";
import { type Buffer, interpret } from "../../src/loopir/interpret.js";
import { lower } from "../../src/loopir/lower.js";
import { type Schedule, type Step, ScheduleError, applyStep, createSchedule, replay } from "../../src/loopir/schedule.js";
import type { Func } from "../../src/loopir/stmt.js";
import { CONTROL_BYTES } from "../../src/runtime/control.js";
import { WorkerPool } from "../../src/runtime/worker-pool.js";
import { convBiasRelu, inputsFor, matmulChain, softmax } from "../loopir/harness.js";

const THREADS = [1, 2, 3];
const roundUp = (n: number) => Math.ceil(n / 16) * 16;
const bytes = (t: { type: string; shape: readonly number[] }) => shapeSize(t.shape) * (t.type === "f32" ? 4 : 8);

/** Inputs and outputs one after another past the pool's control block, then the scratch regions. */
function place(f: Func, workers: number): { placement: Placement; pages: number } {
  const buffers = new Map<string, number>();
  let at = roundUp(CONTROL_BYTES);
  for (const b of [...f.inputs, ...f.outputs]) {
    buffers.set(b.name, at);
    at += roundUp(bytes(b));
  }
  const bytesPerWorker = roundUp(Math.max(16, scratchBytes(f)));
  return { placement: { buffers, scratch: { offset: at, bytesPerWorker } }, pages: Math.ceil((at + bytesPerWorker * workers) / 65536) };
}

const view = (memory: WebAssembly.Memory, at: number, like: { type: string; shape: readonly number[] }): Buffer =>
  like.type === "f32" ? new Float32Array(memory.buffer, at, shapeSize(like.shape)) : new Float64Array(memory.buffer, at, shapeSize(like.shape));

/** Index of the first element that is not bit-identical, or -1. */
function firstDifference(got: Buffer, want: Buffer): number {
  return want.findIndex((w, i) => !Object.is(got[i], w));
}

/** Run `f` through the pool with each thread count and compare with the interpreter. */
async function check(f: Func, inputs: Record<string, Buffer>): Promise<void> {
  const want = Object.fromEntries(f.outputs.map((b) => [b.name, b.type === "f32" ? new Float32Array(shapeSize(b.shape)) : new Float64Array(shapeSize(b.shape))]));
  interpret(f, { ...inputs, ...want });
  for (const threads of THREADS) {
    const { placement, pages } = place(f, threads);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    for (const b of f.inputs) view(memory, placement.buffers.get(b.name)!, b).set(inputs[b.name]!);
    const pool = await WorkerPool.create(memory, compileKernelsJs([f], placement), threads, 0);
    try {
      for (let round = 0; round < 2; round++) {
        for (const b of f.outputs) view(memory, placement.buffers.get(b.name)!, b).fill(NaN);
        pool.run(0);
      }
    } finally {
      await pool.close();
    }
    for (const b of f.outputs) {
      const got = view(memory, placement.buffers.get(b.name)!, b), bad = firstDifference(got, want[b.name]!);
      assert.equal(bad, -1, `${threads} thread(s), output ${b.name}[${bad}] = ${got[bad]}, want ${want[b.name]![bad]}`);
    }
  }
}

async function checkSchedules(out: Tensor, schedules: Record<string, Step[]>, seed: number): Promise<void> {
  for (const [name, steps] of Object.entries(schedules)) {
    await it(name, { timeout: 60_000 }, () => check(lower(replay([out], steps)), inputsFor([out], seed)));
  }
}

describe("JS backend equals the interpreter bit for bit", () => {
  describe("MatMul (P = A*2 + 1, C = P @ B, relu(C + bias))", async () => {
    await checkSchedules(matmulChain(7, 10, 5).D, {
      "unscheduled": [],
      "P inlined, rows parallel, split with a tail guard": [
        { kind: "compute_inline", stage: "P" },
        { kind: "parallel", stage: "D", loop: "i" },
        { kind: "split", stage: "C", loop: "j", factor: 4 },
      ],
      "C and P at D's tiles, cache_read of B, vectorized": [
        { kind: "split", stage: "D", loop: "j", factor: 4 },
        { kind: "parallel", stage: "D", loop: "i" },
        { kind: "vectorize", stage: "D", loop: "j.inner" },
        { kind: "compute_at", stage: "C", consumer: "D", loop: "j.outer" },
        { kind: "compute_at", stage: "P", consumer: "C", loop: "i" },
        { kind: "cache_read", stage: "C", tensor: "B", loop: "i" },
      ],
      "peeled parallel tail, unrolled reduction, fused loops": [
        { kind: "split", stage: "D", loop: "i", factor: 3, tail: "peel" },
        { kind: "parallel", stage: "D", loop: "i.outer" },
        { kind: "compute_at", stage: "C", consumer: "D", loop: "i.outer" },
        { kind: "unroll", stage: "C", loop: "k" },
        { kind: "fuse", stage: "P", outer: "i", inner: "l" },
      ],
    }, 11);
  });

  describe("Conv2D + bias + relu", async () => {
    const cfg = { n: 2, c: 3, h: 7, w: 6, f: 5, kh: 3, kw: 3, pad: 1, stride: 2 };
    await checkSchedules(convBiasRelu(cfg).Relu, {
      "unscheduled": [],
      "Pad and Bias inlined, channels parallel": [
        { kind: "compute_inline", stage: "Pad" },
        { kind: "compute_inline", stage: "Bias" },
        { kind: "parallel", stage: "Relu", loop: "f" },
        { kind: "compute_at", stage: "Conv", consumer: "Relu", loop: "f" },
      ],
      "fused tiles with cache_read of W (workloads.test.ts)": [
        { kind: "compute_inline", stage: "Pad" },
        { kind: "compute_inline", stage: "Bias" },
        { kind: "split", stage: "Relu", loop: "f", factor: 4 },
        { kind: "tile", stage: "Relu", x: "y", y: "x", xFactor: 2, yFactor: 3 },
        { kind: "reorder", stage: "Relu", loops: ["n", "f.outer", "y.outer", "x.outer", "f.inner", "y.inner", "x.inner"] },
        { kind: "parallel", stage: "Relu", loop: "f.outer" },
        { kind: "compute_at", stage: "Conv", consumer: "Relu", loop: "x.outer" },
        { kind: "reorder", stage: "Conv", loops: ["n", "rc", "ry", "rx", "f", "y", "x"] },
        { kind: "cache_read", stage: "Conv", tensor: "W", loop: "n" },
      ],
    }, 3);
  });

  describe("softmax", async () => {
    await checkSchedules(softmax(5, 13).Y, {
      "E inlined, M parallel (runs on worker 0: later stages read M)": [
        { kind: "compute_inline", stage: "E" },
        { kind: "parallel", stage: "M", loop: "r" },
        { kind: "split", stage: "S", loop: "j2", factor: 4 },
        { kind: "split", stage: "Y", loop: "l", factor: 4 },
        { kind: "vectorize", stage: "Y", loop: "l.inner" },
      ],
      "one fused parallel loop over rows": [
        { kind: "parallel", stage: "Y", loop: "r" },
        { kind: "compute_at", stage: "S", consumer: "Y", loop: "r" },
        { kind: "compute_at", stage: "E", consumer: "Y", loop: "r" },
        { kind: "compute_at", stage: "M", consumer: "Y", loop: "r" },
        { kind: "split", stage: "Y", loop: "l", factor: 4 },
        { kind: "vectorize", stage: "Y", loop: "l.inner" },
      ],
    }, 5);
  });

  describe("pooling (3x3/1 max of exp)", async () => {
    const X = placeholder("X", [3, 9, 11]);
    const Act = compute("Act", [3, 9, 11], (c, y, x) => exp(X.at(c, y, x)));
    const ky = reduceAxis(3, "ky"), kx = reduceAxis(3, "kx");
    const Pool = compute("Pool", [3, 7, 9], (c, y, x) => reduceMax(Act.at(c, add(y, ky.v), add(x, kx.v)), [ky, kx]));
    await checkSchedules(Pool, {
      "unscheduled": [],
      "tiles with an attached producer, vectorized, channels parallel": [
        { kind: "tile", stage: "Pool", x: "y", y: "x", xFactor: 2, yFactor: 4 },
        { kind: "compute_at", stage: "Act", consumer: "Pool", loop: "x.outer" },
        { kind: "reorder", stage: "Pool", loops: ["c", "y.outer", "x.outer", "y.inner", "ky", "kx", "x.inner"] },
        { kind: "vectorize", stage: "Pool", loop: "x.inner" },
        { kind: "parallel", stage: "Pool", loop: "c" },
      ],
    }, 3);
  });

  describe("elementwise", async () => {
    const A = placeholder("A", [6, 7]), B = placeholder("B", [6, 7]);
    const T = compute("T", [6, 7], (i, k) => add(mul(A.at(i, k), 2), B.at(i, k)));
    const U = compute("U", [6, 7], (i, k) => max(T.at(i, k), 0));
    await checkSchedules(U, {
      "unscheduled": [],
      "inlined, fused, split, parallel": [
        { kind: "compute_inline", stage: "T" },
        { kind: "fuse", stage: "U", outer: "i", inner: "k" },
        { kind: "split", stage: "U", loop: "i.k.fused", factor: 4 },
        { kind: "parallel", stage: "U", loop: "i.k.fused.outer" },
        { kind: "vectorize", stage: "U", loop: "i.k.fused.inner" },
      ],
    }, 9);

    const M = compute("M", [6, 7], (i, k) =>
      div(add(erf(A.at(i, k)), sigmoid(B.at(i, k))), add(call("sqrt", call("abs", call("neg", A.at(i, k)))), call("log", add(call("abs", B.at(i, k)), 1)))));
    await checkSchedules(M, { "math calls (erf, sigmoid, sqrt, abs, neg, log), parallel": [{ kind: "parallel", stage: "M", loop: "i" }] }, 13);

    const F = placeholder("F", [4, 5], "f64");
    const r = reduceAxis(5, "r");
    const G = compute("G", [4], (i) => reduceSum(tanh(F.at(i, r)), [r]));
    const H = compute("H", [4], (i) => cast("f32", sub(sigmoid(G.at(i)), cast("f64", cast("int", mul(G.at(i), 10))))));
    await checkSchedules(H, {
      "f64 with casts": [],
      "f64 attached, parallel": [
        { kind: "parallel", stage: "H", loop: "i" },
        { kind: "compute_at", stage: "G", consumer: "H", loop: "i" },
      ],
    }, 4);
  });
});

/** A seeded random schedule (steps whose preconditions fail are skipped), as in test/loopir/fuzz.test.ts. */
function randomSchedule(out: Tensor, tensors: readonly string[], r: () => number): Step[] {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  let s: Schedule = createSchedule([out]);
  const steps: Step[] = [];
  for (let t = 0; t < 10; t++) {
    const st = pick(s.stages), stage = st.tensor.name, leaves = st.leaves, loop = pick(leaves), other = pick(s.stages);
    const options: Step[] = [
      { kind: "split", stage, loop, factor: int(1, 5), ...(r() < 0.4 ? { tail: "peel" as const } : {}) },
      { kind: "reorder", stage, loops: [...leaves].reverse() },
      { kind: "tile", stage, x: pick(leaves), y: pick(leaves), xFactor: int(1, 4), yFactor: int(1, 4) },
      { kind: "fuse", stage, outer: loop, inner: leaves[leaves.indexOf(loop) + 1] ?? loop },
      { kind: "unroll", stage, loop },
      { kind: "vectorize", stage, loop },
      { kind: "parallel", stage, loop },
      { kind: "parallel", stage, loop },
      { kind: "cache_read", stage, tensor: pick(tensors), loop },
      { kind: "compute_at", stage, consumer: other.tensor.name, loop: pick(other.leaves) },
      { kind: "compute_inline", stage },
    ];
    const step = pick(options);
    try {
      s = applyStep(s, step);
      steps.push(step);
    } catch (e) {
      if (!(e instanceof ScheduleError)) throw e;
    }
  }
  return steps;
}

describe("JS backend under random schedules", () => {
  const workloads: Record<string, (int: (lo: number, hi: number) => number) => { out: Tensor; tensors: string[] }> = {
    "MatMul chain": (int) => ({ out: matmulChain(int(1, 9), int(1, 9), int(1, 7)).D, tensors: ["A", "B", "bias", "P", "C"] }),
    "Conv2D + bias + relu": (int) => {
      const kh = int(1, 3), kw = int(1, 3);
      const cfg = { n: int(1, 2), c: int(1, 3), h: int(kh, 7), w: int(kw, 7), f: int(1, 5), kh, kw, pad: int(0, 1), stride: int(1, 2) };
      return { out: convBiasRelu(cfg).Relu, tensors: ["X", "W", "bias", "Pad", "Conv", "Bias"] };
    },
    "softmax": (int) => ({ out: softmax(int(1, 6), int(1, 13)).Y, tensors: ["X", "M", "E", "S"] }),
  };
  Object.entries(workloads).forEach(([name, make], w) => {
    it(name, { timeout: 120_000 }, async () => {
      for (let trial = 0; trial < 25; trial++) {
        const r = rng(5000 + 100 * w + trial);
        const { out, tensors } = make((lo, hi) => lo + Math.floor(r() * (hi - lo + 1)));
        const steps = randomSchedule(out, tensors, r);
        await check(lower(replay([out], steps)), inputsFor([out], trial)).catch((e: Error) => {
          throw new Error(`trial ${trial}: ${JSON.stringify(steps)}: ${e.message}`);
        });
      }
    });
  });
});

describe("JS backend source", () => {
  const evil = `"); process.exit(1); ("`;

  it("never contains IR names: a buffer named like code is just a buffer", { timeout: 30_000 }, async () => {
    const X = placeholder(evil, [4, 5]);
    const Y = compute(`*/ process.exit(2); /*`, [4, 5], (i, j) => add(X.at(i, j), 1));
    const f = lower(replay([Y], [{ kind: "parallel", stage: Y.name, loop: "i" }]));
    const { source } = compileKernelsJs([f], place(f, 2).placement);
    assert.ok(!source.includes("process"), source);
    await check(f, inputsFor([Y], 1));
  });

  it("splits the one parallel loop, or runs on worker 0 when it cannot", () => {
    const { Y } = softmax(3, 8);
    const fused = lower(replay([Y], [{ kind: "parallel", stage: "Y", loop: "r" }, { kind: "compute_at", stage: "S", consumer: "Y", loop: "r" }]));
    const separate = lower(replay([Y], [{ kind: "parallel", stage: "S", loop: "r" }]));
    assert.match(compileKernelsJs([fused], place(fused, 1).placement).source, /split across workers/);
    assert.match(compileKernelsJs([separate], place(separate, 1).placement).source, /worker !== 0/);
  });

  it("refuses scratch that does not fit, and buffers without a place", () => {
    const { D } = matmulChain(4, 4, 4);
    const f = lower(replay([D], []));
    const { placement } = place(f, 1);
    assert.throws(() => compileKernelsJs([f], { ...placement, scratch: { offset: placement.scratch.offset, bytesPerWorker: 16 } }), InternalError);
    assert.throws(() => compileKernelsJs([f], { ...placement, buffers: new Map() }), InternalError);
  });

  it("compiles several kernels into one module", { timeout: 30_000 }, async () => {
    const A = placeholder("A", [8]);
    const B = compute("B", [8], (i) => mul(A.at(i), 3));
    const C = placeholder("B", [8]);
    const D = compute("D", [8], (i) => add(C.at(i), 1));
    const f = lower(replay([B], [{ kind: "parallel", stage: "B", loop: "i" }])), g = lower(replay([D], []));
    const placement: Placement = { buffers: new Map([["A", 64], ["B", 128], ["D", 192]]), scratch: { offset: 256, bytesPerWorker: 16 } };
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    new Float32Array(memory.buffer, 64, 8).set([1, 2, 3, 4, 5, 6, 7, 8]);
    const pool = await WorkerPool.create(memory, compileKernelsJs([f, g], placement), 2, 0);
    try {
      pool.run(0);
      pool.run(1);
    } finally {
      await pool.close();
    }
    assert.deepEqual([...new Float32Array(memory.buffer, 192, 8)], [4, 7, 10, 13, 16, 19, 22, 25]);
  });
});
