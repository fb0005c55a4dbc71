/**
 * Whole operators: Conv2D NCHW with a bias + relu epilogue fused through compute_inline and
 * compute_at equals the unfused computation (and the definition); pooling with an attached
 * producer; softmax as reductions then elementwise, fused into one loop over rows.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rng } from "../../src/ir/random.js";
import { compute, placeholder, reduceAxis, reduceMax, reduceSum } from "../../src/loopir/compute.js";
import { InputError } from "../../src/ir/errors.js";
import { add, cast, exp, max, mul, sigmoid, tanh } from "../../src/loopir/expr.js";
import { interpret } from "../../src/loopir/interpret.js";
import { lower } from "../../src/loopir/lower.js";
import { type Step, replay } from "../../src/loopir/schedule.js";
import { convBiasRelu, inputsFor, matmulChain, mismatch, run, softmax } from "./harness.js";

/** The fused kernel: Pad and Bias inlined, Conv computed per output tile of Relu. */
const FUSED: Step[] = [
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

describe("Conv2D + bias + relu", () => {
  const r = rng(7);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const configs = [
    { n: 1, c: 3, h: 7, w: 5, f: 6, kh: 3, kw: 3, pad: 1, stride: 1 },
    ...Array.from({ length: 4 }, () => ({ n: int(1, 2), c: int(1, 3), h: int(3, 9), w: int(3, 9), f: int(1, 6), kh: int(1, 3), kw: int(1, 3), pad: int(0, 1), stride: int(1, 2) })),
  ];
  for (const cfg of configs) {
    it(`fused equals unfused for ${JSON.stringify(cfg)}`, () => {
      const { Relu, oh, ow } = convBiasRelu(cfg);
      const inputs = inputsFor([Relu], cfg.h * 31 + cfg.w);
      const want = run([Relu], [], inputs)["Relu"]!;
      assert.equal(mismatch(run([Relu], FUSED, inputs)["Relu"]!, want), -1);
      assert.equal(mismatch(want, referenceConv(cfg, oh, ow, inputs), 1e-5, 1e-6), -1);
    });
  }
});

function referenceConv(s: Parameters<typeof convBiasRelu>[0], oh: number, ow: number, inputs: Record<string, ArrayLike<number>>): Float64Array {
  const [X, W, bias] = [inputs["X"]!, inputs["W"]!, inputs["bias"]!];
  const out = new Float64Array(s.n * s.f * oh * ow);
  for (let n = 0; n < s.n; n++) for (let f = 0; f < s.f; f++) for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) {
    let acc = 0;
    for (let c = 0; c < s.c; c++) for (let ky = 0; ky < s.kh; ky++) for (let kx = 0; kx < s.kw; kx++) {
      const iy = y * s.stride + ky - s.pad, ix = x * s.stride + kx - s.pad;
      if (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) acc += X[((n * s.c + c) * s.h + iy) * s.w + ix]! * W[((f * s.c + c) * s.kh + ky) * s.kw + kx]!;
    }
    out[((n * s.f + f) * oh + y) * ow + x] = Math.max(acc + bias[f]!, 0);
  }
  return out;
}

describe("pooling", () => {
  it("3x3/1 max pool of an attached producer recomputes overlapping tiles correctly", () => {
    const X = placeholder("X", [2, 9, 11]);
    const Act = compute("Act", [2, 9, 11], (c, y, x) => exp(X.at(c, y, x)));
    const ky = reduceAxis(3, "ky"), kx = reduceAxis(3, "kx");
    const Pool = compute("Pool", [2, 7, 9], (c, y, x) => reduceMax(Act.at(c, add(y, ky.v), add(x, kx.v)), [ky, kx]));
    const inputs = inputsFor([Pool], 3);
    const want = run([Pool], [], inputs)["Pool"]!;
    const steps: Step[] = [
      { kind: "tile", stage: "Pool", x: "y", y: "x", xFactor: 2, yFactor: 4 },
      { kind: "compute_at", stage: "Act", consumer: "Pool", loop: "x.outer" },
      { kind: "reorder", stage: "Pool", loops: ["c", "y.outer", "x.outer", "y.inner", "ky", "kx", "x.inner"] },
      { kind: "vectorize", stage: "Pool", loop: "x.inner" },
    ];
    assert.equal(mismatch(run([Pool], steps, inputs)["Pool"]!, want), -1);
    const Xd = inputs["X"]!;
    const ref = Array.from({ length: 2 * 7 * 9 }, (_, i) => {
      const [c, y, x] = [Math.floor(i / 63), Math.floor(i / 9) % 7, i % 9];
      let m = -Infinity;
      for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) m = Math.max(m, Math.fround(Math.exp(Xd[(c * 9 + y + a) * 11 + x + b]!)));
      return m;
    });
    assert.equal(mismatch(want, ref), -1);
  });
});

describe("softmax", () => {
  const schedules: Record<string, Step[]> = {
    "E inlined": [
      { kind: "compute_inline", stage: "E" },
      { kind: "parallel", stage: "M", loop: "r" },
      { kind: "split", stage: "S", loop: "j2", factor: 4 },
      { kind: "split", stage: "Y", loop: "l", factor: 4 },
      { kind: "vectorize", stage: "Y", loop: "l.inner" },
    ],
    "one fused loop over rows": [
      { kind: "parallel", stage: "Y", loop: "r" },
      { kind: "compute_at", stage: "S", consumer: "Y", loop: "r" },
      { kind: "compute_at", stage: "E", consumer: "Y", loop: "r" },
      { kind: "compute_at", stage: "M", consumer: "Y", loop: "r" },
      { kind: "split", stage: "Y", loop: "l", factor: 4 },
      { kind: "vectorize", stage: "Y", loop: "l.inner" },
    ],
  };
  for (const [name, steps] of Object.entries(schedules)) {
    it(`max, exp, sum, divide (${name}) equals the unscheduled nest and the definition`, () => {
      const [R, L] = [5, 13];
      const { Y } = softmax(R, L);
      const inputs = inputsFor([Y], 5);
      const want = run([Y], [], inputs)["Y"]!;
      assert.equal(mismatch(run([Y], steps, inputs)["Y"]!, want), -1);
      const Xd = inputs["X"]!;
      const ref = new Float64Array(R * L);
      for (let r = 0; r < R; r++) {
        const row = Array.from({ length: L }, (_, l) => Xd[r * L + l]!);
        const m = Math.max(...row), e = row.map((v) => Math.exp(v - m)), s = e.reduce((a, b) => a + b);
        e.forEach((v, l) => (ref[r * L + l] = v / s));
      }
      assert.equal(mismatch(want, ref, 1e-5, 1e-7), -1);
    });
  }
});

describe("elementwise", () => {
  it("elementwise epilogues compose: max(x*2 + y, 0)", () => {
    const A = placeholder("A", [3, 6]), B = placeholder("B", [3, 6]);
    const T = compute("T", [3, 6], (i, k) => add(mul(A.at(i, k), 2), B.at(i, k)));
    const U = compute("U", [3, 6], (i, k) => max(T.at(i, k), 0));
    const inputs = inputsFor([U], 9);
    const want = run([U], [], inputs)["U"]!;
    assert.equal(mismatch(run([U], [{ kind: "compute_inline", stage: "T" }], inputs)["U"]!, want), -1);
  });
});

describe("dtypes and the interpreter's checks", () => {
  it("f64 tensors compute in f64, with casts and math calls", () => {
    const A = placeholder("A", [3, 5], "f64");
    const k = reduceAxis(5, "k");
    const G = compute("G", [3], (i) => reduceSum(tanh(A.at(i, k)), [k]));
    const H = compute("H", [3], (i) => cast("f32", sigmoid(G.at(i))));
    const inputs = inputsFor([H], 4);
    const want = run([H], [], inputs)["H"]!;
    const got = run([H], [{ kind: "compute_at", stage: "G", consumer: "H", loop: "i" }], inputs)["H"]!;
    assert.equal(mismatch(got, want), -1);
    const A0 = inputs["A"]!;
    const ref = [0, 1, 2].map((i) => {
      let s = 0;
      for (let j = 0; j < 5; j++) s += Math.tanh(A0[i * 5 + j]!);
      return Math.fround(1 / (1 + Math.exp(-s)));
    });
    assert.equal(mismatch(want, ref), -1);
  });

  it("refuses buffers of the wrong name, length or type", () => {
    const { D } = matmulChain(2, 3, 4);
    const f = lower(replay([D], []));
    const ok = { A: new Float32Array(8), B: new Float32Array(12), bias: new Float32Array(3), D: new Float32Array(6) };
    interpret(f, ok);
    assert.throws(() => interpret(f, { ...ok, A: new Float32Array(7) }), InputError);
    assert.throws(() => interpret(f, { ...ok, D: new Float64Array(6) }), InputError);
    const { A: _, ...noA } = ok;
    assert.throws(() => interpret(f, noA), /missing buffer A/);
  });
});
