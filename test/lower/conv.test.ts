/**
 * conv2dKernel lowered, compiled to wasm and run through the worker pool on 1 and 2 threads,
 * against a plain f64 NCHW reference: random shapes with strides, asymmetric pads, dilation,
 * groups (depthwise, whole-block groups as in ResNeXt, and groups that split a block), with and
 * without a bias + relu epilogue; padding lanes of the blocked output must stay zero.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rng } from "../../src/ir/random.js";
import { placeholder } from "../../src/loopir/compute.js";
import { add, max, mul } from "../../src/loopir/expr.js";
import { lower } from "../../src/loopir/lower.js";
import { replay } from "../../src/loopir/schedule.js";
import { conv2dKernel, packConvWeight, packedConvWeightShape } from "../../src/lower/schedule-conv.js";
import { runWasm } from "../codegen/loopir-wasm-harness.js";
import { tunedFeatures } from "../helpers.js";

const features = await tunedFeatures();

interface Case {
  n: number; ic: number; oc: number; h: number; w: number; k: [number, number]; s: [number, number];
  p: [number, number, number, number]; d: [number, number]; g: number; bias?: boolean;
}

const outSize = (size: number, k: number, s: number, d: number, p0: number, p1: number) => Math.floor((size + p0 + p1 - d * (k - 1) - 1) / s) + 1;

function reference(c: Case, x: Float32Array, w: Float32Array, bias: Float32Array): Float64Array {
  const oh = outSize(c.h, c.k[0], c.s[0], c.d[0], c.p[0], c.p[2]), ow = outSize(c.w, c.k[1], c.s[1], c.d[1], c.p[1], c.p[3]);
  const icg = c.ic / c.g, ocg = c.oc / c.g;
  const out = new Float64Array(c.n * c.oc * oh * ow);
  for (let b = 0; b < c.n; b++) for (let oc = 0; oc < c.oc; oc++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    let s = 0;
    for (let r = 0; r < icg; r++) for (let ky = 0; ky < c.k[0]; ky++) for (let kx = 0; kx < c.k[1]; kx++) {
      const iy = y * c.s[0] + ky * c.d[0] - c.p[0], ix = xx * c.s[1] + kx * c.d[1] - c.p[1];
      if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
      const ic = Math.floor(oc / ocg) * icg + r;
      s += x[((b * c.ic + ic) * c.h + iy) * c.w + ix]! * w[((oc * icg + r) * c.k[0] + ky) * c.k[1] + kx]!;
    }
    out[((b * c.oc + oc) * oh + y) * ow + xx] = c.bias ? Math.max(s + bias[oc]!, 0) : s;
  }
  return out;
}

/** NCHW -> [N, ceil(C/4), H, W, 4] with zero padding lanes. */
function block(x: Float32Array, n: number, ch: number, hw: number): Float32Array {
  const cb = Math.ceil(ch / 4), out = new Float32Array(n * cb * hw * 4);
  for (let b = 0; b < n; b++) for (let c = 0; c < ch; c++) for (let i = 0; i < hw; i++) out[((b * cb + (c >> 2)) * hw + i) * 4 + (c & 3)] = x[(b * ch + c) * hw + i]!;
  return out;
}

async function check(c: Case, seed: number): Promise<void> {
  const r = rng(seed);
  const random = (len: number) => Float32Array.from({ length: len }, () => 2 * r() - 1);
  const shape = { inChannels: c.ic, outChannels: c.oc, kernel: c.k, group: c.g };
  const icb = Math.ceil(c.ic / 4), ocb = Math.ceil(c.oc / 4);
  const X = placeholder("X", [c.n, icb, c.h, c.w, 4]), W = placeholder("W", packedConvWeightShape(shape)), Bias = placeholder("bias", [ocb * 4]);
  const kernel = conv2dKernel({
    name: "Y", x: X, w: W, ...shape, strides: c.s, pads: c.p, dilations: c.d,
    epilogue: c.bias ? (acc, ix) => max(add(acc, Bias.at(add(mul(ix[1]!, 4), ix[4]!))), 0) : undefined,
  });
  const f = lower(replay(kernel.outputs, kernel.steps));
  const x = random(c.n * c.ic * c.h * c.w), w = random(c.oc * (c.ic / c.g) * c.k[0] * c.k[1]), bias = random(c.oc);
  const want = reference(c, x, w, bias);
  const oh = outSize(c.h, c.k[0], c.s[0], c.d[0], c.p[0], c.p[2]), ow = outSize(c.w, c.k[1], c.s[1], c.d[1], c.p[1], c.p[3]);
  const wantBlocked = block(Float32Array.from(want), c.n, c.oc, oh * ow);
  const paddedBias = new Float32Array(ocb * 4);
  paddedBias.set(bias);
  const inputs = { X: block(x, c.n, c.ic, c.h * c.w), W: packConvWeight(w, shape), bias: paddedBias };
  const tol = 1e-5 * (c.ic / c.g) * c.k[0] * c.k[1];
  for (const threads of [1, 2]) {
    const got = (await runWasm([f], inputs, threads, features)).Y!;
    assert.equal(got.length, wantBlocked.length);
    const bad = got.findIndex((v, i) => !(Math.abs(v - wantBlocked[i]!) <= tol));
    assert.equal(bad, -1, `${JSON.stringify(c)}, ${threads} thread(s): Y[${bad}] = ${got[bad]}, want ${wantBlocked[bad]}`);
  }
}

describe("conv2dKernel against a plain reference", { timeout: 300_000 }, () => {
  const fixed: Case[] = [
    { n: 1, ic: 16, oc: 16, h: 8, w: 8, k: [3, 3], s: [1, 1], p: [1, 1, 1, 1], d: [1, 1], g: 1 },
    { n: 1, ic: 32, oc: 8, h: 7, w: 7, k: [1, 1], s: [1, 1], p: [0, 0, 0, 0], d: [1, 1], g: 1, bias: true },
    { n: 2, ic: 3, oc: 10, h: 9, w: 11, k: [3, 2], s: [2, 1], p: [1, 0, 2, 1], d: [1, 1], g: 1, bias: true },
    { n: 1, ic: 12, oc: 12, h: 6, w: 9, k: [3, 3], s: [1, 2], p: [1, 1, 1, 1], d: [1, 1], g: 12 },
    { n: 1, ic: 6, oc: 6, h: 5, w: 5, k: [3, 3], s: [1, 1], p: [2, 2, 2, 2], d: [2, 2], g: 6, bias: true },
    { n: 1, ic: 32, oc: 32, h: 5, w: 6, k: [3, 3], s: [1, 1], p: [1, 1, 1, 1], d: [1, 1], g: 8, bias: true },
    { n: 1, ic: 16, oc: 32, h: 4, w: 4, k: [1, 1], s: [2, 2], p: [0, 0, 0, 0], d: [1, 1], g: 2 },
    { n: 1, ic: 6, oc: 4, h: 5, w: 4, k: [2, 2], s: [1, 1], p: [0, 1, 1, 0], d: [1, 1], g: 2 },
    { n: 1, ic: 9, oc: 6, h: 4, w: 5, k: [1, 3], s: [1, 1], p: [0, 1, 0, 1], d: [1, 2], g: 3, bias: true },
    // Whole-block groups take the channels-last path: widths that are not whole pixel tiles,
    // strides and dilation (kx then stays its own loop), whole-block groups, batches.
    { n: 2, ic: 16, oc: 8, h: 6, w: 5, k: [3, 3], s: [1, 1], p: [1, 1, 1, 1], d: [1, 1], g: 1, bias: true },
    { n: 1, ic: 8, oc: 12, h: 9, w: 10, k: [3, 3], s: [2, 2], p: [2, 1, 0, 2], d: [2, 2], g: 1 },
    { n: 1, ic: 8, oc: 16, h: 5, w: 7, k: [1, 3], s: [1, 2], p: [0, 1, 0, 0], d: [1, 1], g: 2, bias: true },
    { n: 1, ic: 16, oc: 8, h: 7, w: 7, k: [1, 1], s: [2, 2], p: [0, 0, 0, 0], d: [1, 1], g: 1 },
    { n: 1, ic: 4, oc: 4, h: 3, w: 13, k: [2, 2], s: [1, 3], p: [0, 0, 1, 1], d: [1, 1], g: 1 },
    // One group with output channels that are not whole blocks (BlazeFace's 36 -> 42), and
    // groups of whole blocks whose tiles must not straddle two groups (AlexNet's, ShuffleNet's).
    { n: 1, ic: 12, oc: 10, h: 6, w: 7, k: [1, 1], s: [1, 1], p: [0, 0, 0, 0], d: [1, 1], g: 1, bias: true },
    { n: 1, ic: 8, oc: 7, h: 5, w: 5, k: [3, 3], s: [1, 1], p: [1, 1, 1, 1], d: [1, 1], g: 1 },
    // One group and input channels that are not whole blocks (a first convolution over RGB, BlazeFace's 42 -> 48).
    { n: 1, ic: 6, oc: 8, h: 5, w: 8, k: [1, 1], s: [1, 1], p: [0, 0, 0, 0], d: [1, 1], g: 1, bias: true },
    { n: 1, ic: 3, oc: 8, h: 9, w: 9, k: [5, 5], s: [2, 2], p: [2, 2, 2, 2], d: [1, 1], g: 1 },
    { n: 1, ic: 16, oc: 48, h: 5, w: 6, k: [3, 3], s: [1, 1], p: [1, 1, 1, 1], d: [1, 1], g: 2, bias: true },
    { n: 1, ic: 24, oc: 48, h: 4, w: 9, k: [1, 1], s: [1, 1], p: [0, 0, 0, 0], d: [1, 1], g: 3 },
    // Strided unpadded 1x1 convolutions copy only the pixels they read.
    { n: 1, ic: 8, oc: 8, h: 6, w: 5, k: [1, 1], s: [2, 2], p: [0, 0, 0, 0], d: [1, 1], g: 1, bias: true },
    { n: 2, ic: 12, oc: 4, h: 5, w: 7, k: [1, 1], s: [1, 2], p: [0, 0, 0, 0], d: [1, 1], g: 1 },
    // Unpadded 1x1 convolutions on 4x2 tiles read the blocked input directly.
    { n: 2, ic: 16, oc: 8, h: 3, w: 8, k: [1, 1], s: [1, 1], p: [0, 0, 0, 0], d: [1, 1], g: 1, bias: true },
    { n: 1, ic: 8, oc: 16, h: 8, w: 15, k: [1, 1], s: [2, 2], p: [0, 0, 0, 0], d: [1, 1], g: 1 },
    { n: 1, ic: 16, oc: 16, h: 2, w: 4, k: [1, 1], s: [1, 1], p: [0, 0, 0, 0], d: [1, 1], g: 2, bias: true },
  ];
  for (const c of fixed) it(JSON.stringify(c), () => check(c, c.ic * 7 + c.h));

  it("random shapes, strides, pads, dilations and groups", async () => {
    const r = rng(77);
    const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
    for (let trial = 0; trial < 20; trial++) {
      const g = [1, 1, 2, 3, 4][int(0, 4)]!;
      const depthwise = r() < 0.25;
      const ic = depthwise ? int(1, 9) : g * int(1, 5), oc = depthwise ? ic : g * int(1, 5);
      const k: [number, number] = [int(1, 3), int(1, 3)], d: [number, number] = [int(1, 2), int(1, 2)];
      const h = int(1, 8) + d[0] * (k[0] - 1), w = int(1, 8) + d[1] * (k[1] - 1);
      await check({ n: int(1, 2), ic, oc, h, w, k, s: [int(1, 2), int(1, 2)], p: [int(0, 2), int(0, 2), int(0, 2), int(0, 2)], d, g: depthwise ? ic : g, bias: r() < 0.5 }, trial);
    }
  });
});
