/**
 * The wasm code generator against the loop IR interpreter: MatMul, Conv2D + bias + relu,
 * softmax, pooling and elementwise math under several schedules (tails, vectorize, unroll,
 * parallel, cache_read, compute_at), run through the worker pool with 1 and 2 threads on one
 * shared memory. Index-only f32 code must match exactly; math calls, and vector loops when
 * relaxed madd may fuse a*b+c, within rtol 1e-5.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildKernels, compileKernels } from "../../src/codegen/wasm/compile-kernels.js";
import { parallelLoop } from "../../src/codegen/wasm/parallel-plan.js";
import { printModule } from "../../src/codegen/wasm/wat.js";
import { InternalError } from "../../src/ir/errors.js";
import { type Tensor, compute, placeholder, reduceAxis, reduceMax, reduceSum } from "../../src/loopir/compute.js";
import { type Expr, add, call, cast, exp, max, mul, sigmoid, tanh } from "../../src/loopir/expr.js";
import { lower } from "../../src/loopir/lower.js";
import { type Step, replay } from "../../src/loopir/schedule.js";
import { convBiasRelu, inputsFor, matmulChain, mismatch, softmax } from "../loopir/harness.js";
import { check, interpretAll, placeAll, runWasm } from "./loopir-wasm-harness.js";
import { tunedFeatures } from "../helpers.js";

const features = await tunedFeatures();

describe("wasm kernels: MatMul + bias + relu", { timeout: 60_000 }, () => {
  const schedules: Record<string, Step[]> = {
    "unscheduled": [],
    "parallel rows, tile computed per row, vectorized j with an init guard": [
      { kind: "compute_inline", stage: "P" },
      { kind: "split", stage: "D", loop: "j", factor: 4 },
      { kind: "vectorize", stage: "D", loop: "j.inner" },
      { kind: "parallel", stage: "D", loop: "i" },
      { kind: "compute_at", stage: "C", consumer: "D", loop: "i" },
      { kind: "split", stage: "C", loop: "j", factor: 4 },
      { kind: "reorder", stage: "C", loops: ["k", "j.outer", "j.inner"] },
      { kind: "vectorize", stage: "C", loop: "j.inner" },
    ],
    "tiles with guarded tails, unrolled k, cache_read of B, parallel outer tiles": [
      { kind: "tile", stage: "C", x: "i", y: "j", xFactor: 3, yFactor: 4 },
      { kind: "split", stage: "C", loop: "k", factor: 2 },
      { kind: "unroll", stage: "C", loop: "k.inner" },
      { kind: "cache_read", stage: "C", tensor: "B", loop: "j.outer" },
      { kind: "split", stage: "D", loop: "i", factor: 5, tail: "peel" },
      { kind: "parallel", stage: "D", loop: "i.outer" },
    ],
  };
  for (const [name, steps] of Object.entries(schedules)) {
    for (const [m, n, k] of [[13, 12, 7], [6, 10, 5]] as const) {
      it(`${name} (${m}x${n}x${k})`, async () => check([matmulChain(m, n, k).D], steps, m * n + k));
    }
  }
});

/** The fused Conv2D kernel of test/loopir/workloads.test.ts. */
const FUSED_CONV: Step[] = [
  { kind: "compute_inline", stage: "Pad" },
  { kind: "compute_inline", stage: "Bias" },
  { kind: "split", stage: "Relu", loop: "f", factor: 4 },
  { kind: "tile", stage: "Relu", x: "y", y: "x", xFactor: 2, yFactor: 3 },
  { kind: "reorder", stage: "Relu", loops: ["n", "f.outer", "y.outer", "x.outer", "f.inner", "y.inner", "x.inner"] },
  { kind: "parallel", stage: "Relu", loop: "f.outer" },
  { kind: "compute_at", stage: "Conv", consumer: "Relu", loop: "x.outer" },
  { kind: "reorder", stage: "Conv", loops: ["n", "rc", "ry", "rx", "f", "y", "x"] },
  { kind: "cache_read", stage: "Conv", tensor: "W", loop: "n" },
];

describe("wasm kernels: Conv2D + bias + relu", { timeout: 60_000 }, () => {
  const configs = [
    { n: 1, c: 3, h: 7, w: 5, f: 6, kh: 3, kw: 3, pad: 1, stride: 1 },
    { n: 2, c: 2, h: 9, w: 6, f: 5, kh: 2, kw: 3, pad: 0, stride: 2 },
  ];
  for (const cfg of configs) {
    it(`unscheduled and fused (compute_at, cache_read, parallel) for ${JSON.stringify(cfg)}`, async () => {
      const { Relu } = convBiasRelu(cfg);
      await check([Relu], [], cfg.h * 31 + cfg.w);
      await check([Relu], FUSED_CONV, cfg.h * 31 + cfg.w);
    });
  }
  it("vectorized output rows, parallel filters (8x8 output)", async () => {
    const { Relu } = convBiasRelu({ n: 1, c: 3, h: 8, w: 8, f: 4, kh: 3, kw: 3, pad: 1, stride: 1 });
    await check([Relu], [
      { kind: "compute_inline", stage: "Pad" },
      { kind: "compute_inline", stage: "Bias" },
      { kind: "split", stage: "Relu", loop: "x", factor: 4 },
      { kind: "vectorize", stage: "Relu", loop: "x.inner" },
      { kind: "parallel", stage: "Relu", loop: "f" },
      { kind: "compute_at", stage: "Conv", consumer: "Relu", loop: "f" },
      { kind: "reorder", stage: "Conv", loops: ["rc", "ry", "rx", "y", "x"] },
    ], 11);
  });
});

describe("wasm kernels: softmax", { timeout: 60_000 }, () => {
  const schedules: Record<string, Step[]> = {
    "unscheduled": [],
    // M's parallel loop writes a local buffer that later stages read: run on worker 0 only.
    "E inlined, parallel M": [
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
      { kind: "split", stage: "E", loop: "l", factor: 4 },
      { kind: "vectorize", stage: "E", loop: "l.inner" },
    ],
  };
  for (const [name, steps] of Object.entries(schedules)) {
    for (const [rows, len] of [[5, 13], [7, 16]] as const) {
      it(`${name} (${rows}x${len})`, async () => check([softmax(rows, len).Y], steps, rows + len));
    }
  }
});

describe("wasm kernels: pooling", { timeout: 60_000 }, () => {
  const pool = () => {
    const X = placeholder("X", [4, 9, 11]);
    const Act = compute("Act", [4, 9, 11], (c, y, x) => exp(X.at(c, y, x)));
    const ky = reduceAxis(3, "ky"), kx = reduceAxis(3, "kx");
    return compute("Pool", [4, 7, 9], (c, y, x) => reduceMax(Act.at(c, add(y, ky.v), add(x, kx.v)), [ky, kx]));
  };
  it("unscheduled", async () => check([pool()], [], 3));
  it("3x3/1 max pool of an attached producer, tiled, vectorized, parallel channels", async () => check([pool()], [
    { kind: "tile", stage: "Pool", x: "y", y: "x", xFactor: 2, yFactor: 4 },
    { kind: "compute_at", stage: "Act", consumer: "Pool", loop: "x.outer" },
    { kind: "reorder", stage: "Pool", loops: ["c", "y.outer", "x.outer", "y.inner", "ky", "kx", "x.inner"] },
    { kind: "vectorize", stage: "Pool", loop: "x.inner" },
    { kind: "parallel", stage: "Pool", loop: "c" },
  ], 3));
  it("2x2/2 average pool, unrolled window", async () => {
    const X = placeholder("X", [3, 8, 12]);
    const ky = reduceAxis(2, "ky"), kx = reduceAxis(2, "kx");
    const Sum = compute("Sum", [3, 4, 6], (c, y, x) => reduceSum(X.at(c, add(mul(y, 2), ky.v), add(mul(x, 2), kx.v)), [ky, kx]));
    const Avg = compute("Avg", [3, 4, 6], (c, y, x) => mul(Sum.at(c, y, x), 0.25));
    await check([Avg], [
      { kind: "parallel", stage: "Avg", loop: "c" },
      { kind: "compute_at", stage: "Sum", consumer: "Avg", loop: "c" },
      { kind: "unroll", stage: "Sum", loop: "ky" },
      { kind: "unroll", stage: "Sum", loop: "kx" },
    ], 8);
  });
});

describe("wasm kernels: elementwise", { timeout: 60_000 }, () => {
  const shape = [6, 16];
  const A = placeholder("A", shape), B = placeholder("B", shape);
  const fns = ["exp", "log", "sqrt", "tanh", "erf", "sigmoid", "abs", "neg"] as const;
  // log and sqrt get positive arguments; the others see [-4, 4).
  const arg = (fn: string, i: Expr, j: Expr): Expr =>
    fn === "log" || fn === "sqrt" ? add(call("abs", A.at(i, j)), 0.01) : mul(A.at(i, j), 4);
  const outs = fns.map((fn) => compute(`out_${fn}`, shape, (i, j) => add(call(fn, arg(fn, i, j)), B.at(i, j))));
  const vectorize = (t: Tensor): Step[] => [
    { kind: "split", stage: t.name, loop: "j", factor: 4 },
    { kind: "vectorize", stage: t.name, loop: "j.inner" },
    { kind: "parallel", stage: t.name, loop: "i" },
  ];
  it("every math call, scalar", async () => check(outs, [], 21));
  it("every math call, vectorized and parallel", async () => check(outs, outs.flatMap(vectorize), 22));

  it("max(x*2 + y, 0) inlined, peeled tail of a vectorized loop, parallel", async () => {
    const X = placeholder("X", [5, 11]), Y = placeholder("Y", [5, 11]);
    const T = compute("T", [5, 11], (i, k) => add(mul(X.at(i, k), 2), Y.at(i, k)));
    const U = compute("U", [5, 11], (i, k) => max(T.at(i, k), 0));
    await check([U], [
      { kind: "compute_inline", stage: "T" },
      { kind: "split", stage: "U", loop: "k", factor: 4, tail: "peel" },
      { kind: "vectorize", stage: "U", loop: "k.inner" },
      { kind: "parallel", stage: "U", loop: "i" },
    ], 9);
  });

  it("f64 tensors with casts and math calls", async () => {
    const A64 = placeholder("A", [6, 5], "f64");
    const k = reduceAxis(5, "k");
    const G = compute("G", [6], (i) => reduceSum(tanh(A64.at(i, k)), [k]));
    const H = compute("H", [6], (i) => cast("f32", sigmoid(G.at(i))));
    await check([H], [], 4);
    await check([H], [{ kind: "parallel", stage: "H", loop: "i" }, { kind: "compute_at", stage: "G", consumer: "H", loop: "i" }], 4);
  });
});

describe("wasm math helpers", { timeout: 60_000 }, () => {
  const SPECIAL = [0, -0, Infinity, -Infinity, NaN, 1e-30, -1e-30, 1e-45, 88.7, 89, -87, -104, -110, 1, -1];
  // f32 runs twice: scalar (f64 helpers) and vectorized (f32x4 exp, sigmoid and tanh, lane-wise log).
  it("are within 1e-6 relative of Math.* in f32 and 1e-12 in f64, specials included", async () => {
    for (const [type, vectorize] of [["f32", false], ["f32", true], ["f64", false]] as const) {
      const n = 4096 + SPECIAL.length + 1; // a multiple of 4
      const X = placeholder("X", [n], type);
      const fns = ["exp", "log", "tanh", "sigmoid"] as const;
      const outs = fns.map((fn) => compute(`m_${fn}`, [n], (i) => call(fn, X.at(i))));
      const f = lower(replay(outs, vectorize ? outs.flatMap((o): Step[] => [
        { kind: "split", stage: o.name, loop: "i", factor: 4 },
        { kind: "vectorize", stage: o.name, loop: "i.inner" },
      ]) : []));
      const xs = type === "f32" ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < 4096; i++) xs[i] = (i / 4096 - 0.5) * 240 * (i % 3 === 0 ? 0.01 : 1);
      xs.set(SPECIAL, 4096);
      const got = await runWasm([f], { X: xs }, 1, features);
      const ref: Record<string, (x: number) => number> = { exp: Math.exp, log: Math.log, tanh: Math.tanh, sigmoid: (x) => 1 / (1 + Math.exp(-x)) };
      const rtol = type === "f32" ? 1e-6 : 1e-12;
      for (const fn of fns) {
        const want = Array.from(xs, (x) => (type === "f32" ? Math.fround(ref[fn]!(x)) : ref[fn]!(x)));
        const bad = mismatch(got[`m_${fn}`]!, want, rtol, type === "f32" ? 1e-44 : 1e-300);
        assert.equal(bad, -1, `${type}${vectorize ? "x4" : ""} ${fn}(${xs[bad]}) = ${got[`m_${fn}`]![bad]}, want ${want[bad]}`);
      }
    }
  });
});

describe("wasm kernels: code shape and errors", () => {
  const elementwise = (steps: Step[]) => {
    const A = placeholder("A", [4, 8]), B = placeholder("B", [4, 8]);
    const C = compute("C", [4, 8], (i, j) => max(add(mul(A.at(i, j), B.at(i, j)), A.at(i, 0)), 0));
    return lower(replay([C], steps));
  };
  const vec: Step[] = [{ kind: "split", stage: "C", loop: "j", factor: 4 }, { kind: "vectorize", stage: "C", loop: "j.inner" }];

  it("a contiguous vectorized loop becomes f32x4 code with splats and a multiply-add", () => {
    const f = elementwise(vec);
    const wat = printModule(buildKernels([f], placeAll([f], 1).placement, features));
    for (const op of ["v128.load", "v128.store", "f32x4.splat", "f32x4.max"]) assert.ok(wat.includes(op), `missing ${op}:\n${wat}`);
    assert.ok(wat.includes(features.relaxedSimd ? "f32x4.relaxed_madd" : "f32x4.mul"), wat);
    assert.ok(!wat.includes("f32.store"), "no scalar stores remain");
  });

  it("vector exp, sigmoid and tanh are emitted inline: no call, which would spill the live vectors", () => {
    const X = placeholder("X", [16]);
    const outs = (["exp", "sigmoid", "tanh"] as const).map((fn) => compute(`v_${fn}`, [16], (i) => call(fn, X.at(i))));
    const f = lower(replay(outs, outs.flatMap((o): Step[] => [
      { kind: "split", stage: o.name, loop: "i", factor: 4 },
      { kind: "vectorize", stage: o.name, loop: "i.inner" },
    ])));
    const wat = printModule(buildKernels([f], placeAll([f], 1).placement, features));
    assert.ok(wat.includes("f32x4.nearest"), "exp's range reduction is in the kernel");
    assert.ok(!/\bcall\b/.test(wat), wat);
  });

  it("splits the outermost parallel loop only when workers need not see each other's shares", () => {
    const fused = lower(replay([softmax(5, 13).Y], [
      { kind: "parallel", stage: "Y", loop: "r" },
      { kind: "compute_at", stage: "S", consumer: "Y", loop: "r" },
      { kind: "compute_at", stage: "E", consumer: "Y", loop: "r" },
      { kind: "compute_at", stage: "M", consumer: "Y", loop: "r" },
    ]));
    assert.equal(parallelLoop(fused)?.v, "r");
    // M is computed in parallel into a local buffer that the later, serial stages read whole.
    const split = lower(replay([softmax(5, 13).Y], [{ kind: "parallel", stage: "M", loop: "r" }]));
    assert.equal(parallelLoop(split), undefined);
    // The W copy outside the parallel loop is local, so every worker makes its own.
    const conv = lower(replay([convBiasRelu({ n: 1, c: 3, h: 7, w: 5, f: 6, kh: 3, kw: 3, pad: 1, stride: 1 }).Relu], FUSED_CONV));
    assert.equal(parallelLoop(conv)?.v, "f.outer");
  });

  it("a reduction's vectorized spatial loop keeps its init guard and stays f32x4", () => {
    const f = lower(replay([matmulChain(4, 8, 3).C], [
      { kind: "compute_inline", stage: "P" },
      { kind: "split", stage: "C", loop: "j", factor: 4 },
      { kind: "reorder", stage: "C", loops: ["k", "j.outer", "j.inner"] },
      { kind: "vectorize", stage: "C", loop: "j.inner" },
    ]));
    const wat = printModule(buildKernels([f], placeAll([f], 1).placement, features));
    assert.ok(wat.includes("v128.store") && !wat.includes("f32.store"), wat);
  });

  it("a non-contiguous vectorized loop falls back to scalar code", () => {
    const A = placeholder("A", [8, 4]);
    const T = compute("T", [4, 8], (i, j) => A.at(j, i));
    const f = lower(replay([T], [{ kind: "split", stage: "T", loop: "j", factor: 4 }, { kind: "vectorize", stage: "T", loop: "j.inner" }]));
    const wat = printModule(buildKernels([f], placeAll([f], 1).placement, features));
    assert.ok(!wat.includes("v128") && wat.includes("f32.store"), wat);
  });

  it("several functions become k0, k1, ... of one module", async () => {
    const f = elementwise(vec), g = lower(replay([softmax(3, 8).Y], []));
    const inputs = { ...inputsFor([softmax(3, 8).Y], 1), ...inputsFor([placeholder("A", [4, 8]), placeholder("B", [4, 8])], 2) };
    const got = await runWasm([f, g], inputs, 2, features);
    for (const h of [f, g]) {
      const want = interpretAll(h, inputs);
      for (const o of h.outputs) assert.equal(mismatch(got[o.name]!, want[o.name]!, 1e-5, 1e-7), -1, o.name);
    }
    assert.deepEqual({ ...compileKernels([f, g], placeAll([f, g], 1).placement, features), bytes: undefined }, { kind: "wasm", bytes: undefined, count: 2 });
  });

  it("refuses local buffers that do not fit the scratch region", () => {
    const f = lower(replay([softmax(4, 64).Y], []));
    const { placement } = placeAll([f], 1);
    assert.throws(() => compileKernels([f], { ...placement, scratch: { offset: placement.scratch.offset, bytesPerWorker: 64 } }, features), InternalError);
  });
});

describe("wasm kernels: equal code is compiled once", { timeout: 60_000 }, () => {
  /** relu(X W + bias) over [8, 8], the product computed per row into a local tile, vectorized and parallel. */
  const dense = (p: string, x: string) => {
    const X = placeholder(x, [8, 8]), W = placeholder(`${p}W`, [8, 8]), bias = placeholder(`${p}bias`, [8]);
    const kk = reduceAxis(8, "k");
    const C = compute(`${p}C`, [8, 8], (i, j) => reduceSum(mul(X.at(i, kk), W.at(kk, j)), [kk]));
    const D = compute(`${p}D`, [8, 8], (i, j) => max(add(C.at(i, j), bias.at(j)), 0));
    return lower(replay([D], [
      { kind: "split", stage: D.name, loop: "j", factor: 4 },
      { kind: "vectorize", stage: D.name, loop: "j.inner" },
      { kind: "parallel", stage: D.name, loop: "i" },
      { kind: "compute_at", stage: C.name, consumer: D.name, loop: "i" },
      { kind: "split", stage: C.name, loop: "j", factor: 4 },
      { kind: "reorder", stage: C.name, loops: ["k", "j.outer", "j.inner"] },
      { kind: "vectorize", stage: C.name, loop: "j.inner" },
    ]));
  };
  // Two layers that differ only in their buffers (the second reads the first's output), and a third kernel unlike them.
  const first = dense("a", "in"), second = dense("b", "aD"), other = lower(replay([softmax(3, 8).Y], []));

  it("kernels that differ only in their buffers share one body that takes the buffers' addresses", () => {
    const wat = printModule(buildKernels([first, second, other], placeAll([first, second, other], 1).placement, features));
    const funcs = [...wat.matchAll(/\(func \$(\w+)/g)].map((m) => m[1]);
    assert.deepEqual(funcs.filter((f) => /^[kb]\d+$/.test(f!)), ["k0", "b0", "k1", "k2"], wat);
    const body = (name: string) => wat.slice(wat.indexOf(`(func $${name}`), wat.indexOf("(func", wat.indexOf(`(func $${name}`) + 1));
    for (const k of ["k0", "k1"]) assert.match(body(k), /call \$b0/, k);
    assert.doesNotMatch(body("k2"), /call \$b/, "a kernel with code of its own keeps it");
  });

  it("each shared-body kernel reads and writes its own buffers", async () => {
    const inputs = { ...inputsFor([placeholder("in", [8, 8])], 3), ...inputsFor([placeholder("aW", [8, 8]), placeholder("abias", [8])], 4),
      ...inputsFor([placeholder("bW", [8, 8]), placeholder("bbias", [8])], 5), ...inputsFor([softmax(3, 8).Y], 6) };
    for (const threads of [1, 2]) {
      const got = await runWasm([first, second, other], inputs, threads, features);
      const a = interpretAll(first, inputs), b = interpretAll(second, { ...inputs, ...a }), c = interpretAll(other, inputs);
      for (const [name, want] of Object.entries({ ...a, ...b, ...c })) assert.equal(mismatch(got[name]!, want, 1e-5, 1e-6), -1, `${name} on ${threads} threads`);
    }
  });
});
