/**
 * ConvTranspose in gather form: each output element sums the input elements whose scattered
 * taps land on it, so no output is written twice and the default schedule applies. Along an
 * axis with stride s, dilation 1 and begin padding p, output o receives taps k = (o+p) mod s +
 * j*s from input (o+p) div s - j, so only ceil(K/s) taps per axis are visited (one, for the
 * usual kernel = stride upsampling); with dilation d every tap k is visited and kept where
 * o + p - k*d is a multiple of s.
 */
import { shapeSize } from "../ir/tensor.js";
import { reduceSum } from "../loopir/compute.js";
import { type Expr, add, and, div, eq, ge, lit, lt, mod, mul, select, sub } from "../loopir/expr.js";
import { convTransposeGeometry, kernelOf } from "../ops/conv.js";
import type { OpLowering } from "./lowering.js";

/** Along one spatial axis: the taps to visit, and for visit j at output o the input index and whether it counts. */
interface AxisGather {
  readonly visits: number;
  at(o: Expr, j: Expr): { input: Expr; tap: Expr; valid: Expr };
}

function axisGather(kernel: number, stride: number, dilation: number, padBegin: number, inSize: number): AxisGather {
  const inRange = (i: Expr) => and(ge(i, 0), lt(i, inSize));
  if (dilation === 1) {
    return {
      visits: Math.ceil(kernel / stride),
      at: (o, j) => {
        const y = add(o, padBegin);
        const tap = add(mod(y, stride), mul(j, stride)), input = sub(div(y, stride), j);
        return { input, tap, valid: and(lt(tap, kernel), inRange(input)) };
      },
    };
  }
  return {
    visits: kernel,
    at: (o, j) => {
      const num = sub(add(o, padBegin), mul(j, dilation));
      const input = div(num, stride);
      return { input, tap: j, valid: and(eq(mod(num, stride), 0), inRange(input)) };
    },
  };
}

export const convTranspose: OpLowering = (ctx) => {
  const [x, w, bias] = ctx.inputs;
  const n = x!.shape.length - 2;
  const kernel = kernelOf(ctx, w!.shape, n)!;
  const group = ctx.attrs.int("group");
  const channels = x!.shape[1]!, perGroup = w!.shape[1]!;
  if (channels % group !== 0 || w!.shape[0] !== channels) return "ConvTranspose with inconsistent groups";
  const { padsBegin } = convTransposeGeometry(ctx, kernel, x!.shape.slice(2));
  const strides = ctx.attrs.optInts("strides") ?? kernel.map(() => 1);
  const dilations = ctx.attrs.optInts("dilations") ?? kernel.map(() => 1);
  const axes = kernel.map((k, i) => axisGather(k, strides[i]!, dilations[i]!, padsBegin[i]!, x!.shape[2 + i]!));
  const shape = ctx.outputShapes[0]!;
  // An empty output has nothing to compute (and no stage can have a zero extent).
  if (shapeSize(shape) === 0) return [{ shape, at: () => lit(0, "f32") }];
  const inPerGroup = channels / group;
  const rc = ctx.reduceAxis(inPerGroup);
  const taps = axes.map((a) => ctx.reduceAxis(a.visits));
  const out = ctx.stage(shape, (index) => {
    const [b, m] = [index[0]!, index[1]!];
    const c = add(mul(div(m, perGroup), inPerGroup), rc.v);
    const at = axes.map((a, i) => a.at(index[2 + i]!, taps[i]!.v));
    const value = mul(x!.at([b, c, ...at.map((g) => g.input)]), w!.at([c, mod(m, perGroup), ...at.map((g) => g.tap)]));
    return reduceSum(select(and(...at.map((g) => g.valid)), value, lit(0, "f32")), [rc, ...taps]);
  });
  return [bias ? { shape: out.shape, at: (index: readonly Expr[]) => add(out.at(index), bias.at([index[1]!])) } : out];
};
