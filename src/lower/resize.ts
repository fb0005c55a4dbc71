/**
 * Resize and Upsample as index remapping. The scales (or sizes) are compile-time constants, so
 * the reference's own sampling plan (resizeTaps in src/ops/image.ts: every output index of
 * every axis mapped to input taps and weights) is computed once, and each output element is the
 * weighted sum over its taps, read through index and weight tables. Axes where every output reads
 * one input element (nearest, and linear at aligned positions) need no weights, and index tables
 * that are affine in the output index (x2 nearest: o / 2) become that arithmetic instead.
 */
import { type Expr, add, and, cast, div, lit, lt, mul, select } from "../loopir/expr.js";
import { type AxisTaps, type ResizeSpec, resizeSpec, resizeTaps, upsampleSpec } from "../ops/image.js";
import type { Access, OpLowerContext, OpLowering } from "./lowering.js";

/**
 * Most tap combinations one stage sums per element: axes are sampled together while the product
 * of their tap counts stays within it (bilinear, bicubic: one pass), and in separate passes, each
 * a stage, beyond it.
 */
const MAX_TERMS = 16;
/** Most taps of one axis (antialiased downscaling by 1/32 with cubic taps). */
const MAX_AXIS_TAPS = 128;

/** An index table as arithmetic of the output index, when it is o*k + b or floor(o / k). */
function affineIndex(idx: readonly number[]): ((o: Expr) => Expr) | undefined {
  const k = idx.length > 1 ? idx[1]! - idx[0]! : 0, b = idx[0]!;
  if (idx.every((v, o) => v === o * k + b)) return (o) => add(mul(o, k), b);
  const run = idx.findIndex((v) => v !== idx[0]);
  if (b === 0 && run > 1 && idx.every((v, o) => v === Math.floor(o / run))) return (o) => div(o, run);
  return undefined;
}

/** One axis of the sampling: per tap slot, the input index and (when not 1) the weight, at output index o. */
interface AxisReader {
  readonly slots: readonly { readonly index: (o: Expr) => Expr; readonly weight?: (o: Expr) => Expr }[];
  /** Whether output index o samples inside the input (tf_crop_and_resize), when not always. */
  readonly inside?: (o: Expr) => Expr;
}

function axisReader(ctx: OpLowerContext, axis: AxisTaps): AxisReader {
  const entries = axis.taps;
  /** A table of one value per output index, read at o (made once, here, not per read). */
  const values = (v: readonly number[]) => {
    const t = ctx.table(v);
    return (o: Expr) => t.at([o]);
  };
  const indices = (v: readonly number[]) => {
    const affine = affineIndex(v);
    if (affine) return affine;
    const t = values(v);
    return (o: Expr) => cast("int", t(o));
  };
  const inside = entries.some((t) => t === null) ? values(entries.map((t) => (t === null ? 0 : 1))) : undefined;
  // Outside the crop, any index in range with weight 0: the select above it discards the sum.
  const n = entries.find((t) => t !== null)?.idx.length ?? 1;
  const taps = entries.map((t) => t ?? { idx: new Array<number>(n).fill(0), w: new Array<number>(n).fill(0) });
  // Every output reads one element with weight 1 (nearest; linear at aligned positions): indices alone.
  const only = taps.map((t) => t.w.findIndex((w) => w !== 0));
  if (taps.every((t, o) => entries[o] === null || (t.w[only[o]!] === 1 && t.w.every((w, j) => j === only[o] || w === 0)))) {
    return { slots: [{ index: indices(taps.map((t, o) => t.idx[Math.max(only[o]!, 0)]!)) }], inside };
  }
  return {
    slots: Array.from({ length: n }, (_, j) => ({ index: indices(taps.map((t) => t.idx[j]!)), weight: values(taps.map((t) => t.w[j]!)) })),
    inside,
  };
}

/** `src` sampled along `axes` (the other axes are read at the output's index): the sum over tap combinations. */
function sampleAxes(src: Access, readers: readonly AxisReader[], axes: readonly number[], index: readonly Expr[]): Expr {
  let sum: Expr | undefined;
  const visit = (k: number, at: Expr[], weight: Expr | undefined) => {
    if (k === axes.length) {
      const v = src.at(at);
      const term = weight ? mul(weight, v) : v;
      sum = sum ? add(sum, term) : term;
      return;
    }
    const d = axes[k]!;
    for (const slot of readers[d]!.slots) {
      const w = slot.weight?.(index[d]!);
      const next = [...at];
      next[d] = slot.index(index[d]!);
      visit(k + 1, next, w && weight ? mul(weight, w) : w ?? weight);
    }
  };
  visit(0, [...index], undefined);
  return sum!;
}

function lowerSampling(ctx: OpLowerContext, spec: ResizeSpec): Access[] | string {
  const x = ctx.inputs[0]!;
  const { outShape, taps } = resizeTaps(x.shape, spec);
  const readers = taps.map((a) => axisReader(ctx, a));
  const widest = Math.max(...readers.map((r) => r.slots.length));
  if (widest > MAX_AXIS_TAPS) return `Resize with ${widest} taps per axis`;
  // Axes that read more than one tap, grouped into passes of at most MAX_TERMS combinations.
  const passes: number[][] = [[]];
  let terms = 1;
  readers.forEach((r, d) => {
    if (terms > 1 && terms * r.slots.length > MAX_TERMS) {
      passes.push([]);
      terms = 1;
    }
    passes.at(-1)!.push(d);
    terms *= r.slots.length;
  });
  let current = x;
  const shape = [...x.shape];
  passes.forEach((axes, k) => {
    const src = current;
    for (const d of axes) shape[d] = outShape[d]!;
    const sampled: Access = { shape: [...shape], at: (index) => sampleAxes(src, readers, axes, index) };
    current = k === passes.length - 1 ? sampled : ctx.stage(sampled.shape, (index) => sampled.at(index));
  });
  const last = current;
  // Outside the crop on any axis, the output is the extrapolation value.
  return [{
    shape: outShape,
    at: (index: readonly Expr[]) => {
      const inside = readers.flatMap((r, d) => (r.inside ? [lt(lit(0.5, "f32"), r.inside(index[d]!))] : []));
      return inside.length === 0 ? last.at(index) : select(and(...inside), last.at(index), lit(spec.p.extrapolation, "f32"));
    },
  }];
}

const resize: OpLowering = (ctx) => {
  // roi is read only by tf_crop_and_resize (Resize-10's input 1 is its scales).
  const roiUsed = ctx.opset < 11 || ctx.attrs.string("coordinate_transformation_mode") === "tf_crop_and_resize";
  const used = (i: number) => (ctx.node.inputs[i] ?? "") !== "" && (i !== 1 || roiUsed);
  if ([1, 2, 3].some((i) => used(i) && !ctx.constants[i])) return "Resize with non-constant scales, sizes or roi";
  return lowerSampling(ctx, resizeSpec(ctx, ctx.inputs[0]!.shape.length, (i) => (used(i) ? ctx.constants[i] : null)));
};

const upsample: OpLowering = (ctx) => {
  if (ctx.opset >= 9 && !ctx.constants[1]) return "Upsample with non-constant scales";
  return lowerSampling(ctx, upsampleSpec(ctx, ctx.inputs[0]!.shape.length, ctx.constants[1]));
};

export const RESIZE_LOWERINGS: Readonly<Record<string, OpLowering>> = { Resize: resize, Upsample: upsample };
