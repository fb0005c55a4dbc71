/**
 * The default 2-D convolution kernel on kiln's blocked layout NCHW[4]c (src/ops/layout.ts):
 * direct convolution with the output-channel block of 4 as the f32x4 lanes.
 *
 * acc[n, ob, oy, ox, l] = sum over (input channel of the group, ky, kx) of
 * x[n, ic, oy*sy + ky*dy - top, ox*sx + kx*dx - left] * w[ob*4 + l, ic, ky, kx] is computed one
 * register tile of OWT output pixels x OCBT channel blocks at a time (compute_at at the tile
 * loop, spatial loops unrolled and vectorized, so OWT * OCBT accumulators stay in v128
 * registers); each reduction step is OWT broadcasts of an input value, OCBT loads of 4 output
 * channels' weights, and OWT * OCBT multiply-adds. The input channel blocks are the innermost
 * runtime loop, so its pointers step through the channel planes (a 1x1 convolution is a GEMM
 * over the pixels). Padding is a zero-bordered copy of the input made before the product, so the
 * inner loop never tests bounds.
 *
 * Convolutions whose groups hold whole blocks of channels (ResNet's, VGG's, SqueezeNet's...),
 * and every convolution with one group, take `channelsLastConv` below instead: the same register tile over a channels-last copy, so
 * that the reduction is one long linear loop, the GEMM micro-kernel's shape.
 *
 * Groups: with one group, or when a group's output channels fill whole blocks, the 4 lanes
 * share one input channel (a broadcast); depthwise (one input and one output channel per group) reads 4 input channels
 * as one vector, lane for lane; other groupings are correct but run lane by lane.
 */
import { KilnError } from "../ir/errors.js";
import { type Tensor, compute, reduceAxis, reduceSum } from "../loopir/compute.js";
import { type Expr, type Var, add, and, div, ge, lit, lt, min, mod, mul, select, sub } from "../loopir/expr.js";
import type { Step } from "../loopir/schedule.js";
import type { Kernel } from "./schedule-gemm.js";

const LANES = 4;
/** Accumulators in the register tile (PERF-NOTES: 8 of the 15 usable v128 registers). */
const ACCUMULATORS = 8;
const CACHE_LINE = 64;
/** The lines a direct 1x1 convolution's passes reuse must fit in L1 (32 KB) with room to spare. */
const DIRECT_1X1_LINES_BYTES = 16 * 1024;

export interface ConvShape {
  inChannels: number; outChannels: number; kernel: [number, number]; group: number;
}

export interface ConvSpec extends ConvShape {
  name: string; x: Tensor /* placeholder [N, ceil(IC/4), H, W, 4] */; w: Tensor /* placeholder packedConvWeightShape */;
  strides: [number, number]; pads: [number, number, number, number] /* top, left, bottom, right */; dilations: [number, number];
  epilogue?: (acc: Expr, index: readonly Var[] /* over the blocked output [N, ceil(OC/4), OH, OW, 4] */) => Expr;
}

/** Weights as [ceil(OC/4), KH, KW, IC/group, 4]: output channel ob*4 + l at lane l (zero past OC); the input channels
 *  of one tap are contiguous, so the reduction's innermost loop steps through them 16 bytes at a time. */
export function packedConvWeightShape(s: ConvShape): number[] {
  return [Math.ceil(s.outChannels / LANES), s.kernel[0], s.kernel[1], s.inChannels / s.group, LANES];
}

/** Packs ONNX OIHW weights [OC, IC/group, KH, KW] into packedConvWeightShape (once, at load time). */
export function packConvWeight(oihw: Float32Array, s: ConvShape): Float32Array {
  const [ocb, kh, kw, icg] = packedConvWeightShape(s) as [number, number, number, number];
  if (oihw.length !== s.outChannels * icg * kh * kw) throw new KilnError(`packConvWeight: ${oihw.length} weights for [${s.outChannels}, ${icg}, ${kh}, ${kw}]`);
  const out = new Float32Array(ocb * kh * kw * icg * LANES);
  for (let oc = 0; oc < s.outChannels; oc++) {
    for (let ic = 0; ic < icg; ic++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
      out[((((oc >> 2) * kh + y) * kw + x) * icg + ic) * LANES + (oc % LANES)] = oihw[((oc * icg + ic) * kh + y) * kw + x]!;
    }
  }
  return out;
}
export function conv2dKernel(spec: ConvSpec): Kernel {
  const { name, x, w, group } = spec;
  const [n, icb, h, wd] = x.shape as [number, number, number, number];
  const [kh, kw] = spec.kernel, [sy, sx] = spec.strides, [dy, dx] = spec.dilations;
  const [top, left, bottom, right] = spec.pads;
  const fail = (why: string): never => { throw new KilnError(`conv ${name}: ${why}`); };
  if (x.shape.length !== 5 || x.shape[4] !== LANES || icb !== Math.ceil(spec.inChannels / LANES)) fail(`input [${x.shape}] is not [N, ceil(${spec.inChannels}/4), H, W, 4]`);
  if (spec.inChannels % group !== 0 || spec.outChannels % group !== 0) fail(`group ${group} does not divide the channels`);
  if (w.shape.join() !== packedConvWeightShape(spec).join()) fail(`weights [${w.shape}] are not [${packedConvWeightShape(spec)}]`);
  const icg = spec.inChannels / group, ocg = spec.outChannels / group, ocb = Math.ceil(spec.outChannels / LANES);
  const oh = Math.floor((h + top + bottom - dy * (kh - 1) - 1) / sy) + 1, ow = Math.floor((wd + left + right - dx * (kw - 1) - 1) / sx) + 1;
  if (oh < 1 || ow < 1) fail("the output is empty");

  // The 4 lanes of an output block read one input channel when they are in one group: always
  // with one group (padding lanes past OC have zero weights), else when groups hold whole blocks.
  const broadcast = group === 1 || ocg % LANES === 0, depthwise = icg === 1 && ocg === 1;
  // With one group, input channels need not be whole blocks: the reduction runs over the real
  // channels only and never reads the padding lanes of the last input block.
  if (broadcast && (icg % LANES === 0 || group === 1)) return channelsLastConv(spec, { n, h, wd, oh, ow, icg, ocb });

  // A zero-bordered copy of the input when there is padding.
  const padded = top + left + bottom + right > 0;
  const xp = padded ? compute(`${name}_pad`, [n, icb, h + top + bottom, wd + left + right, LANES], (...ix) => {
    const [b, c, y, xx, l] = ix as [Var, Var, Var, Var, Var];
    const iy = sub(y, top), ixx = sub(xx, left);
    return select(and(ge(iy, 0), lt(iy, h), ge(ixx, 0), lt(ixx, wd)), x.at(b, c, iy, ixx, l), lit(0, "f32"));
  }) : x;

  // Input channel `ic` at a lane, as block and lane of the blocked input.
  const blocked = false;
  const ky = reduceAxis(kh, "ky"), kx = reduceAxis(kw, "kx");
  const rb = reduceAxis(blocked ? icg / LANES : icg, "rc"), rl = reduceAxis(LANES, "rl");
  const axes = blocked ? [ky, kx, rb, rl] : [ky, kx, rb];
  const acc = compute(`${name}_acc`, [n, ocb, oh, ow, LANES], (...ix) => {
    const [b, ob, oy, ox, l] = ix as [Var, Var, Var, Var, Var];
    const iy = add(mul(oy, sy), mul(ky.v, dy)), ixx = add(mul(ox, sx), mul(kx.v, dx));
    const input = (ic: Expr) => xp.at(b, div(ic, LANES), iy, ixx, mod(ic, LANES));
    const xv = blocked ? xp.at(b, add(mul(div(mul(ob, LANES), ocg), icg / LANES), rb.v), iy, ixx, rl.v)
      : depthwise ? xp.at(b, ob, iy, ixx, l)
      // Padding lanes (oc >= OC) read a real channel; their weights are zero.
      : input(add(mul(div(broadcast ? mul(ob, LANES) : min(add(mul(ob, LANES), l), spec.outChannels - 1), ocg), icg), rb.v));
    const r = blocked ? add(mul(rb.v, LANES), rl.v) : rb.v;
    return reduceSum(mul(xv, w.at(ob, ky.v, kx.v, r, l)), axes);
  });
  const out = compute(name, [n, ocb, oh, ow, LANES], (...ix) => (spec.epilogue ?? ((v) => v))(acc.at(...ix), ix));
  return { outputs: [out], steps: convSteps(out, acc, padded ? xp : undefined, tile(ow, ocb), blocked) };
}

/**
 * The register tile OWT pixels x OCBT channel blocks: among the tiles of at most 8 accumulators
 * that divide the output (no tails), the fewest loads per multiply-add, (OWT + OCBT) / (OWT * OCBT),
 * the widest on a tie.
 */
function tile(ow: number, ocb: number): { owt: number; ocbt: number } {
  let best = { owt: 1, ocbt: 1 }, cost = Infinity;
  // Wider pixel tiles first: on a tie they read fewer cache lines (the pixels share one).
  for (let owt = ACCUMULATORS; owt >= 1; owt--) {
    for (let ocbt = 1; owt * ocbt <= ACCUMULATORS; ocbt++) {
      if (ow % owt !== 0 || ocb % ocbt !== 0) continue;
      const c = (owt + ocbt) / (owt * ocbt);
      if (c < cost - 1e-9) { best = { owt, ocbt }; cost = c; }
    }
  }
  return best;
}

function convSteps(out: Tensor, acc: Tensor, pad: Tensor | undefined, t: { owt: number; ocbt: number }, blocked: boolean,
  reduction: readonly string[] = ["ky", "kx", "rc", ...(blocked ? ["rl"] : [])]): Step[] {
  // Axes of the variadic computes: i0..i4 = n, ob, oy, ox, l.
  const o = out.name, c = acc.name;
  const steps: Step[] = [
    { kind: "split", stage: o, loop: "i1", factor: t.ocbt },
    { kind: "split", stage: o, loop: "i3", factor: t.owt },
    { kind: "reorder", stage: o, loops: ["i0", "i1.outer", "i2", "i3.outer", "i1.inner", "i3.inner", "i4"] },
    { kind: "unroll", stage: o, loop: "i1.inner" },
    { kind: "unroll", stage: o, loop: "i3.inner" },
    { kind: "vectorize", stage: o, loop: "i4" },
    { kind: "fuse", stage: o, outer: "i0", inner: "i1.outer" },
    { kind: "fuse", stage: o, outer: "i0.i1.outer.fused", inner: "i2" },
    { kind: "parallel", stage: o, loop: "i0.i1.outer.fused.i2.fused" },
    // The accumulator tile, split like the output's (schedules see whole-tensor extents).
    { kind: "compute_at", stage: c, consumer: o, loop: "i3.outer" },
    { kind: "split", stage: c, loop: "i1", factor: t.ocbt },
    { kind: "split", stage: c, loop: "i3", factor: t.owt },
    { kind: "reorder", stage: c, loops: [...reduction, "i1.inner", "i3.inner", "i4"] },
    ...(blocked ? [{ kind: "unroll", stage: c, loop: "rl" } as const] : []),
    { kind: "unroll", stage: c, loop: "i1.inner" },
    { kind: "unroll", stage: c, loop: "i3.inner" },
    { kind: "vectorize", stage: c, loop: "i4" },
  ];
  if (pad) steps.push({ kind: "vectorize", stage: pad.name, loop: "i4" });
  return steps;
}

/**
 * Convolutions whose groups hold whole blocks of 4 input and output channels (every
 * convolution of ResNet, VGG, SqueezeNet...), or with one group and any channel counts (a
 * network's first convolution over 3 channels): the input is first copied to a zero-bordered
 * channels-last buffer xc[n, y, x, c], so that one reduction step is a GEMM micro-kernel step:
 * OWT broadcasts of consecutive channels xc[n, iy, ix, c] (4 bytes apart from one step to the
 * next) and OCBT weight vectors w[ob, ky, kx, c, 0..3] (16 bytes apart), and the innermost
 * reduction loop is long (all the group's input channels; with unit dilation and one group,
 * also the kernel's columns: r = kx*C + c is one linear index into both xc and w). The input's
 * own layout would make the channel loop a blocked pair (block, lane) whose unrolled lanes
 * bring 4x the loads into one iteration, more than V8 keeps in registers.
 *
 * The pixel tile OWT need not divide the output width: the accumulator and the copy's width are
 * padded up to whole tiles (the extra pixels read zeros), and only the output's store is guarded.
 */
function channelsLastConv(spec: ConvSpec, d: { n: number; h: number; wd: number; oh: number; ow: number; icg: number; ocb: number }): Kernel {
  const { name, x, w, group } = spec;
  const { n, h, wd, oh, ow, icg, ocb } = d;
  const [kh, kw] = spec.kernel, [sy, sx] = spec.strides, [dy, dx] = spec.dilations;
  const [top, left, bottom] = spec.pads;
  const c = x.shape[1]! * LANES, ocg = spec.outChannels / group;
  // A register tile's channel blocks stay inside one group, so they share its input broadcasts
  // (the group is then one expression per tile: see foldCommonFactor in loopir/simplify.ts).
  const tileBlocks = group > 1 && ocg % LANES === 0 ? ocg / LANES : ocb;
  const divisor = tile(ow, tileBlocks);
  if (kh === 1 && kw === 1 && spec.pads.every((p) => p === 0) && icg % LANES === 0 && divisor.owt * divisor.ocbt === ACCUMULATORS && divisor.owt + divisor.ocbt <= 6
    && (divisor.ocbt + 1) * (icg / LANES) * CACHE_LINE <= DIRECT_1X1_LINES_BYTES) {
    // A 1x1 convolution without padding needs no copy: with the lane of the input block as the
    // outer reduction loop and the block inner, both the broadcasts x[n, rb, oy, ox, rl] and the
    // weights w[ob, 0, 0, rb*4 + rl, 0..3] step linearly, and the inner loop runs over IC/4 blocks.
    // Each of the 4 passes touches one cache line per block of the input and of each weight
    // block and uses a quarter of it, so this pays only while those lines stay in L1 between
    // passes (few input channels); otherwise the copy is cheaper than the refetches.
    const rl = reduceAxis(LANES, "rl"), rb = reduceAxis(icg / LANES, "rb");
    const acc = compute(`${name}_acc`, [n, ocb, oh, ow, LANES], (...ix) => {
      const [b, ob, oy, ox, l] = ix as [Var, Var, Var, Var, Var];
      const g = div(mul(ob, LANES), ocg);
      const xv = x.at(b, add(mul(g, icg / LANES), rb.v), mul(oy, sy), mul(ox, sx), rl.v);
      return reduceSum(mul(xv, w.at(ob, 0, 0, add(mul(rb.v, LANES), rl.v), l)), [rl, rb]);
    });
    const out = compute(name, [n, ocb, oh, ow, LANES], (...ix) => (spec.epilogue ?? ((v) => v))(acc.at(...ix), ix));
    return { outputs: [out], steps: convSteps(out, acc, undefined, divisor, false, ["rl", "rb"]) };
  }
  const t = pixelTile(ow, tileBlocks);
  const owp = Math.ceil(ow / t.owt) * t.owt;
  // An unpadded 1x1 convolution reads only the pixels its strides land on: the copy takes just
  // those (and the convolution then runs with unit strides on it).
  const subsample = kh === 1 && kw === 1 && spec.pads.every((p) => p === 0) && (sy > 1 || sx > 1);
  const [ey, ex] = subsample ? [1, 1] : [sy, sx];
  const hp = subsample ? oh : h + top + bottom;
  const wp = subsample ? owp : Math.max(wd + left + spec.pads[3], (owp - 1) * sx + (kw - 1) * dx + 1);

  const xc = compute(`${name}_nhwc`, [n, hp, wp, c], (...ix) => {
    const [b, y, xx, ch] = ix as [Var, Var, Var, Var];
    const iy = subsample ? mul(y, sy) : sub(y, top), ixx = subsample ? mul(xx, sx) : sub(xx, left);
    const v = x.at(b, div(ch, LANES), iy, ixx, mod(ch, LANES));
    const inside = subsample ? (owp > ow ? lt(xx, ow) : undefined)
      : hp === h && wp === wd ? undefined : and(ge(iy, 0), lt(iy, h), ge(ixx, 0), lt(ixx, wd));
    return inside ? select(inside, v, lit(0, "f32")) : v;
  });

  // One reduction axis over (kx, c) when both indices are linear in kx*C + c.
  const fused = dx === 1 && group === 1 && icg === c;
  const ky = reduceAxis(kh, "ky");
  const kx = fused ? undefined : reduceAxis(kw, "kx");
  const r = reduceAxis(fused ? kw * icg : icg, "r");
  const acc = compute(`${name}_acc`, [n, ocb, oh, owp, LANES], (...ix) => {
    const [b, ob, oy, ox, l] = ix as [Var, Var, Var, Var, Var];
    const g = div(mul(ob, LANES), ocg);
    const iy = add(mul(oy, ey), mul(ky.v, dy));
    const [tap, ch] = fused ? [div(r.v, icg), mod(r.v, icg)] : [kx!.v, r.v];
    const xv = xc.at(b, iy, add(mul(ox, ex), mul(tap, dx)), add(mul(g, icg), ch));
    return reduceSum(mul(xv, w.at(ob, ky.v, tap, ch, l)), fused ? [ky, r] : [ky, kx!, r]);
  });
  const out = compute(name, [n, ocb, oh, ow, LANES], (...ix) => (spec.epilogue ?? ((v) => v))(acc.at(...ix), ix));
  const steps = convSteps(out, acc, undefined, { owt: t.owt, ocbt: t.ocbt }, false, fused ? ["ky", "r"] : ["ky", "kx", "r"]);
  steps.push(
    { kind: "split", stage: xc.name, loop: "i3", factor: LANES },
    { kind: "vectorize", stage: xc.name, loop: "i3.inner" },
  );
  return { outputs: [out], steps };
}

/**
 * OWT pixels x OCBT channel blocks with at most 8 accumulators, OCBT dividing the blocks (of a group): the
 * fewest loads per multiply-add, (OWT + OCBT) / (OWT * OCBT), counting the padded pixels of the
 * last tile as work.
 */
function pixelTile(ow: number, ocb: number): { owt: number; ocbt: number } {
  let best = { owt: 1, ocbt: 1 }, cost = Infinity;
  for (let owt = 1; owt <= ACCUMULATORS; owt++) {
    for (let ocbt = 1; owt * ocbt <= ACCUMULATORS; ocbt++) {
      if (ocb % ocbt !== 0) continue;
      const c = ((owt + ocbt) / (owt * ocbt)) * (Math.ceil(ow / owt) * owt / ow);
      if (c < cost - 1e-9) { best = { owt, ocbt }; cost = c; }
    }
  }
  return best;
}
