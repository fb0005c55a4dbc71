/**
 * 2-D convolution on the blocked layout NCHW[4]c as a kernel: the output channel lanes are the
 * vector lanes, weights are packed [OC/4, IC/group, KH, KW, 4] so the four output channels of a
 * tap are contiguous, and the epilogue is applied to each accumulated element. The schedule
 * computes one output row (all of its width, four channels) per parallel iteration.
 */
import { type Tensor, compute, reduceAxis, reduceSum } from "../loopir/compute.js";
import { type Expr, type Var, add, and, div, ge, lit, lt, mod, mul, select, sub } from "../loopir/expr.js";
import type { Step } from "../loopir/schedule.js";
import type { Kernel } from "./schedule-gemm.js";

const LANES = 4;

export interface ConvSpec {
  readonly name: string;
  /** The input, blocked: [N, ceil(IC/4), H, W, 4]. */
  readonly x: Tensor;
  /** The weights packed by packConvWeight. */
  readonly w: Tensor;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: readonly [number, number];
  readonly strides: readonly [number, number];
  /** top, left, bottom, right */
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
  readonly group: number;
  /** Elementwise ops after the reduction, over the blocked output [N, ceil(OC/4), OH, OW, 4]. */
  readonly epilogue?: (acc: Expr, index: readonly Var[]) => Expr;
}

export interface ConvWeightGeometry { readonly outChannels: number; readonly inPerGroup: number; readonly kernel: readonly [number, number] }

export const packedConvWeightShape = (g: ConvWeightGeometry): number[] =>
  [Math.ceil(g.outChannels / LANES), g.inPerGroup, g.kernel[0], g.kernel[1], LANES];

/** OIHW to [OC/4, I, KH, KW, 4], zero for the padding output channels. */
export function packConvWeight(oihw: Float32Array, g: ConvWeightGeometry): Float32Array {
  const [kh, kw] = g.kernel;
  const shape = packedConvWeightShape(g);
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const taps = g.inPerGroup * kh * kw;
  for (let o = 0; o < g.outChannels; o++) {
    for (let t = 0; t < taps; t++) out[(Math.floor(o / LANES) * taps + t) * LANES + (o % LANES)] = oihw[o * taps + t]!;
  }
  return out;
}

export function conv2dKernel(spec: ConvSpec): Kernel {
  const { x, w, name, kernel: [kh, kw], strides: [sh, sw], pads: [pt, pl, pb, pr], dilations: [dh, dw], group } = spec;
  const [n, , h, wd] = x.shape as [number, number, number, number];
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const icpg = spec.inChannels / group, ocpg = spec.outChannels / group;
  const rc = reduceAxis(icpg, "rc"), ry = reduceAxis(kh, "ry"), rx = reduceAxis(kw, "rx");
  const shape = [n, Math.ceil(spec.outChannels / LANES), oh, ow, LANES];
  const acc = compute(`${name}.acc`, shape, (b, ocb, y, xx, l) => {
    const c = group === 1 ? rc.v : add(mul(div(add(mul(ocb, LANES), l), ocpg), icpg), rc.v);
    const iy = add(sub(mul(y, sh), pt), mul(ry.v, dh)), ix = add(sub(mul(xx, sw), pl), mul(rx.v, dw));
    const inside = and(ge(iy, 0), lt(iy, h), ge(ix, 0), lt(ix, wd));
    const xv = select(inside, x.at(b, div(c, LANES), iy, ix, mod(c, LANES)), lit(0, "f32"));
    return reduceSum(mul(xv, w.at(ocb, rc, ry, rx, l)), [rc, ry, rx]);
  });
  const out = compute(name, shape, (b, ocb, y, xx, l) => {
    const index = [b, ocb, y, xx, l];
    return spec.epilogue ? spec.epilogue(acc.at(...index), index) : acc.at(...index);
  });
  const steps: Step[] = [
    { kind: "fuse", stage: name, outer: "b", inner: "ocb" },
    { kind: "fuse", stage: name, outer: "b.ocb.fused", inner: "y" },
    { kind: "parallel", stage: name, loop: "b.ocb.fused.y.fused" },
    { kind: "vectorize", stage: name, loop: "l" },
    { kind: "compute_at", stage: acc.name, consumer: name, loop: "b.ocb.fused.y.fused" },
    { kind: "reorder", stage: acc.name, loops: ["rc", "ry", "rx", "xx", "l"] },
    { kind: "vectorize", stage: acc.name, loop: "l" },
  ];
  return { outputs: [out], steps };
}
