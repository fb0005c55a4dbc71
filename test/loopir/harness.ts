/** Shared workloads and a runner for the loop IR tests. */
import { rng } from "../../src/ir/random.js";
import { shapeSize } from "../../src/ir/tensor.js";
import { type Tensor, compute, placeholder, reduceAxis, reduceMax, reduceSum } from "../../src/loopir/compute.js";
import { add, and, div, exp, ge, lit, lt, max, mul, select, sub } from "../../src/loopir/expr.js";
import { type Buffer, interpret } from "../../src/loopir/interpret.js";
import { lower } from "../../src/loopir/lower.js";
import { type Step, replay } from "../../src/loopir/schedule.js";

/** Seeded inputs in [-1, 1) for every placeholder of `f`. */
export function inputsFor(tensors: readonly Tensor[], seed: number): Record<string, Buffer> {
  const r = rng(seed);
  const out: Record<string, Buffer> = {};
  const visit = (t: Tensor) => {
    if (t.body === undefined && !(t.name in out)) {
      const a = t.type === "f32" ? new Float32Array(shapeSize(t.shape)) : new Float64Array(shapeSize(t.shape));
      for (let i = 0; i < a.length; i++) a[i] = 2 * r() - 1;
      out[t.name] = a;
    }
    t.inputs.forEach(visit);
  };
  tensors.forEach(visit);
  return out;
}

/** Lower `outputs` under `steps` and interpret it on `inputs`; the outputs by name. */
export function run(outputs: readonly Tensor[], steps: readonly Step[], inputs: Record<string, Buffer>): Record<string, Buffer> {
  const f = lower(replay(outputs, steps));
  const outs = Object.fromEntries(outputs.map((t) => [t.name, t.type === "f32" ? new Float32Array(shapeSize(t.shape)) : new Float64Array(shapeSize(t.shape))]));
  interpret(f, { ...inputs, ...outs });
  return outs;
}

/** Index of the first element that differs by more than rtol*|want| + atol, or -1. */
export function mismatch(got: Buffer, want: ArrayLike<number>, rtol = 0, atol = 0): number {
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (!(Object.is(g, w) || Math.abs(g - w) <= rtol * Math.abs(w) + atol)) return i;
  }
  return -1;
}

/** P = A*2 + 1, C = P @ B, D = relu(C + bias): a producer, a reduction and an epilogue. */
export function matmulChain(m: number, n: number, k: number) {
  const A = placeholder("A", [m, k]), B = placeholder("B", [k, n]), bias = placeholder("bias", [n]);
  const P = compute("P", [m, k], (i, l) => add(mul(A.at(i, l), 2), 1));
  const kk = reduceAxis(k, "k");
  const C = compute("C", [m, n], (i, j) => reduceSum(mul(P.at(i, kk), B.at(kk, j)), [kk]));
  const D = compute("D", [m, n], (i, j) => max(add(C.at(i, j), bias.at(j)), 0));
  return { A, B, bias, P, C, D };
}

/** Conv2D NCHW (zero padding, stride) + per-channel bias + relu, each step its own stage. */
export function convBiasRelu(s: { n: number; c: number; h: number; w: number; f: number; kh: number; kw: number; pad: number; stride: number }) {
  const X = placeholder("X", [s.n, s.c, s.h, s.w]), W = placeholder("W", [s.f, s.c, s.kh, s.kw]), bias = placeholder("bias", [s.f]);
  const hp = s.h + 2 * s.pad, wp = s.w + 2 * s.pad;
  const Pad = compute("Pad", [s.n, s.c, hp, wp], (n, c, y, x) => {
    const yy = sub(y, s.pad), xx = sub(x, s.pad);
    return select(and(ge(yy, 0), lt(yy, s.h), ge(xx, 0), lt(xx, s.w)), X.at(n, c, yy, xx), lit(0, "f32"));
  });
  const oh = Math.floor((hp - s.kh) / s.stride) + 1, ow = Math.floor((wp - s.kw) / s.stride) + 1;
  const rc = reduceAxis(s.c, "rc"), ry = reduceAxis(s.kh, "ry"), rx = reduceAxis(s.kw, "rx");
  const Conv = compute("Conv", [s.n, s.f, oh, ow], (n, f, y, x) =>
    reduceSum(mul(Pad.at(n, rc, add(mul(y, s.stride), ry.v), add(mul(x, s.stride), rx.v)), W.at(f, rc, ry, rx)), [rc, ry, rx]));
  const Bias = compute("Bias", [s.n, s.f, oh, ow], (n, f, y, x) => add(Conv.at(n, f, y, x), bias.at(f)));
  const Relu = compute("Relu", [s.n, s.f, oh, ow], (n, f, y, x) => max(Bias.at(n, f, y, x), 0));
  return { X, W, bias, Pad, Conv, Bias, Relu, oh, ow };
}

/** Softmax over the last axis: M = max, E = exp(X - M), S = sum E, Y = E / S. */
export function softmax(rows: number, len: number) {
  const X = placeholder("X", [rows, len]);
  const j = reduceAxis(len, "j"), j2 = reduceAxis(len, "j2");
  const M = compute("M", [rows], (r) => reduceMax(X.at(r, j), [j]));
  const E = compute("E", [rows, len], (r, l) => exp(sub(X.at(r, l), M.at(r))));
  const S = compute("S", [rows], (r) => reduceSum(E.at(r, j2), [j2]));
  const Y = compute("Y", [rows, len], (r, l) => div(E.at(r, l), S.at(r)));
  return { X, M, E, S, Y };
}
