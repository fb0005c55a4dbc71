/** Sampling and detection: Resize, Upsample, GridSample, AffineGrid, RoiAlign, NonMaxSuppression. */
import { EvalError, LimitError, ModelError, UnsupportedError } from "../ir/errors.js";
import { Tensor, checkShape, elementLimit, shapeSize, stridesOf } from "../ir/tensor.js";
import { type Dim, type TensorType, isStaticShape } from "../ir/types.js";
import type { EvalContext, InferContext, OpDef } from "./registry.js";
import { inputType, normAxes, req } from "./util.js";

// ---------------------------------------------------------------------------------------------
// Shared: separable sampling. Each axis maps every output index to a list of (input index,
// weight) taps, or to "outside" (the whole output element is then a fill value).

export interface AxisTaps {
  /** For output index o: taps[o] is null when the sample falls outside the input. */
  readonly taps: ({ idx: number[]; w: number[] } | null)[];
}

/** out[o] = sum over tap combinations of prod(w) * x[idx], or `fill` where any axis is outside. */
function sampleSeparable(x: Float64Array, inShape: readonly number[], axes: readonly AxisTaps[], fill: number): Float64Array {
  const outShape = axes.map((a) => a.taps.length);
  const rank = inShape.length;
  const inStrides = stridesOf(inShape);
  const out = new Float64Array(shapeSize(outShape));
  const o = new Array<number>(rank).fill(0);
  for (let k = 0; k < out.length; k++) {
    const taps = o.map((oi, d) => axes[d]!.taps[oi]!);
    if (taps.some((t) => t === null)) {
      out[k] = fill;
    } else {
      out[k] = accumulate(x, inStrides, taps as { idx: number[]; w: number[] }[], 0, 0, 1);
    }
    for (let d = rank - 1; d >= 0; d--) {
      if (++o[d]! < outShape[d]!) break;
      o[d] = 0;
    }
  }
  return out;
}

function accumulate(
  x: Float64Array, strides: readonly number[], taps: readonly { idx: number[]; w: number[] }[],
  d: number, off: number, w: number,
): number {
  if (d === taps.length) return w * x[off]!;
  const t = taps[d]!;
  let s = 0;
  for (let i = 0; i < t.idx.length; i++) {
    if (t.w[i] === 0) continue;
    s += accumulate(x, strides, taps, d + 1, off + t.idx[i]! * strides[d]!, w * t.w[i]!);
  }
  return s;
}

const identityTaps = (n: number): AxisTaps => ({ taps: Array.from({ length: n }, (_, i) => ({ idx: [i], w: [1] })) });

const clampInt = (i: number, lo: number, hi: number): number => Math.min(Math.max(i, lo), hi);

// ---------------------------------------------------------------------------------------------
// Resize / Upsample

export interface ResizeParams {
  mode: "nearest" | "linear" | "cubic";
  ctm: string;
  nearestMode: string;
  cubicA: number;
  excludeOutside: boolean;
  extrapolation: number;
  antialias: boolean;
}

/** Interpolation coefficients for the taps left+1-n/2 .. left+n/2, with ratio in (0, 1] from `left`. */
function resizeCoeffs(p: ResizeParams, ratio: number, scale: number): number[] {
  const A = p.cubicA;
  if (p.mode === "nearest") {
    if (ratio === 1) return [0, 1];
    switch (p.nearestMode) {
      case "round_prefer_floor": return ratio <= 0.5 ? [1, 0] : [0, 1];
      case "round_prefer_ceil": return ratio < 0.5 ? [1, 0] : [0, 1];
      case "floor": return [1, 0];
      case "ceil": return [0, 1];
      default: throw new UnsupportedError(`Resize: nearest_mode '${p.nearestMode}'`, `Resize nearest_mode ${p.nearestMode}`);
    }
  }
  if (p.mode === "linear") {
    if (!p.antialias) return [1 - ratio, ratio];
    // Antialiasing widens the triangle filter by 1/scale when downscaling.
    const s = Math.min(scale, 1);
    const start = Math.floor(-1 / s) + 1;
    const c: number[] = [];
    for (let i = start; i < 2 - start; i++) c.push(Math.min(Math.max(1 - Math.abs((i - ratio) * s), 0), 1));
    return normalize(c);
  }
  if (!p.antialias) {
    const r1 = ratio + 1, q = 1 - ratio, q1 = q + 1;
    return [
      ((A * r1 - 5 * A) * r1 + 8 * A) * r1 - 4 * A,
      ((A + 2) * ratio - (A + 3)) * ratio * ratio + 1,
      ((A + 2) * q - (A + 3)) * q * q + 1,
      ((A * q1 - 5 * A) * q1 + 8 * A) * q1 - 4 * A,
    ];
  }
  const s = Math.min(scale, 1);
  const kernel = (v: number): number => {
    const t = Math.abs(v);
    if (t <= 1) return (A + 2) * t ** 3 - (A + 3) * t * t + 1;
    if (t < 2) return A * t ** 3 - 5 * A * t * t + 8 * A * t - 4 * A;
    return 0;
  };
  const start = Math.floor(-2 / s) + 1;
  const c: number[] = [];
  for (let i = start; i < 2 - start; i++) c.push(kernel(s * (i - ratio)));
  return normalize(c);
}

function normalize(c: number[]): number[] {
  const s = c.reduce((a, b) => a + b, 0);
  return c.map((v) => v / s);
}

/** Taps of one resized axis (input size `inW`, output size `outW`, scale, roi [start, end]). */
function resizeAxis(p: ResizeParams, inW: number, outW: number, scale: number, roi: [number, number]): AxisTaps {
  const outWf = scale * inW;
  const taps: AxisTaps["taps"] = [];
  for (let x = 0; x < outW; x++) {
    let xo: number;
    switch (p.ctm) {
      case "align_corners": xo = outWf === 1 ? 0 : (x * (inW - 1)) / (outWf - 1); break;
      case "asymmetric": xo = x / scale; break;
      case "tf_crop_and_resize":
        xo = outWf === 1 ? ((roi[1] - roi[0]) * (inW - 1)) / 2 : (x * (roi[1] - roi[0]) * (inW - 1)) / (outWf - 1);
        xo += roi[0] * (inW - 1);
        break;
      case "pytorch_half_pixel": xo = outWf === 1 ? -0.5 : (x + 0.5) / scale - 0.5; break;
      case "half_pixel": xo = (x + 0.5) / scale - 0.5; break;
      case "half_pixel_symmetric": {
        const offset = (inW / 2) * (1 - outW / outWf);
        xo = offset + (x + 0.5) / scale - 0.5;
        break;
      }
      default: throw new UnsupportedError(`Resize: coordinate_transformation_mode '${p.ctm}'`, `Resize coordinate_transformation_mode ${p.ctm}`);
    }
    if (p.ctm === "tf_crop_and_resize" && (xo < 0 || xo > inW - 1)) {
      taps.push(null);
      continue;
    }
    // The left neighbour is strictly below xo (ratio in (0, 1]), as the ONNX reference prefers.
    const left = Number.isInteger(xo) ? xo - 1 : Math.floor(xo);
    const ratio = xo - left;
    const w = resizeCoeffs(p, ratio, scale);
    const n = w.length;
    const first = left + 1 - n / 2;
    const idx: number[] = [];
    for (let i = 0; i < n; i++) {
      const j = first + i;
      if (p.excludeOutside && (j < 0 || j >= inW)) w[i] = 0;
      idx.push(clampInt(j, 0, inW - 1)); // edge padding
    }
    taps.push({ idx, w: p.excludeOutside ? normalize(w) : w });
  }
  return { taps };
}

function checkSizes(sizes: readonly number[], op: string): void {
  if (sizes.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new EvalError(`${op}: sizes [${sizes.join(",")}] must hold non-negative integers`);
}

function checkScales(scales: readonly number[], op: string): void {
  const bad = scales.find((s) => !(s > 0));
  if (bad !== undefined) throw new ModelError(`${op}: scale ${bad} must be positive`);
}

/** Output sizes and per-axis scales for Resize, from scales or sizes (both over `axes`). */
function resizePlan(
  inShape: readonly number[], axes: readonly number[], scales: readonly number[] | null,
  sizes: readonly number[] | null, policy: string, op: string,
): { outShape: number[]; scale: number[] } {
  const r = inShape.length;
  const scale = new Array<number>(r).fill(1);
  const outShape = [...inShape];
  if (sizes !== null) {
    if (sizes.length !== axes.length) throw new ModelError(`${op}: sizes has ${sizes.length} values for ${axes.length} axes`);
    checkSizes(sizes, op);
    axes.forEach((a, i) => { scale[a] = sizes[i]! / inShape[a]!; outShape[a] = sizes[i]!; });
    if (policy !== "stretch") {
      const ss = axes.map((a) => scale[a]!);
      let s: number;
      if (policy === "not_larger") s = Math.min(...ss);
      else if (policy === "not_smaller") s = Math.max(...ss);
      else throw new UnsupportedError(`${op}: keep_aspect_ratio_policy '${policy}'`, `${op} keep_aspect_ratio_policy ${policy}`);
      for (const a of axes) { scale[a] = s; outShape[a] = Math.floor(s * inShape[a]! + 0.5); }
    }
  } else if (scales !== null) {
    if (scales.length !== axes.length) throw new ModelError(`${op}: scales has ${scales.length} values for ${axes.length} axes`);
    checkScales(scales, op);
    axes.forEach((a, i) => {
      scale[a] = scales[i]!;
      outShape[a] = Math.floor(scales[i]! * inShape[a]!);
    });
  } else {
    throw new ModelError(`${op}: one of scales or sizes is required`);
  }
  return { outShape, scale };
}

/** How a Resize or Upsample node samples: its parameters and the values of its constant-like inputs. */
export interface ResizeSpec {
  readonly p: ResizeParams;
  readonly axes: readonly number[];
  readonly scales: readonly number[] | null;
  readonly sizes: readonly number[] | null;
  readonly roi: readonly number[] | null;
  readonly policy: string;
  readonly op: string;
}

/** The output shape and, per axis, the taps of every output index (identity taps on axes not resized). */
export function resizeTaps(inShape: readonly number[], spec: ResizeSpec): { outShape: number[]; taps: AxisTaps[] } {
  const { p, axes, roi, op } = spec;
  const { outShape, scale } = resizePlan(inShape, axes, spec.scales, spec.sizes, spec.policy, op);
  // Before the per-axis tap lists, which have an entry per output index: a huge scale would exhaust the heap there.
  checkShape(outShape, `${op} output`);
  if (p.ctm === "tf_crop_and_resize" && roi === null) throw new ModelError(`${op}: tf_crop_and_resize needs roi`);
  if (roi !== null && p.ctm === "tf_crop_and_resize" && roi.length !== 2 * axes.length) {
    throw new ModelError(`${op}: roi has ${roi.length} values, expected ${2 * axes.length}`);
  }
  const taps = inShape.map((d, a) => {
    const k = axes.indexOf(a);
    if (k < 0) return identityTaps(d);
    const r: [number, number] = roi !== null && p.ctm === "tf_crop_and_resize" ? [roi[k]!, roi[axes.length + k]!] : [0, 1];
    return resizeAxis(p, d, outShape[a]!, scale[a]!, r);
  });
  return { outShape, taps };
}

function runResize(x: Tensor, spec: ResizeSpec): Tensor {
  const { outShape, taps } = resizeTaps(x.shape, spec);
  return Tensor.fromNumbers(x.dtype, outShape, sampleSeparable(x.numbers(), x.shape, taps, spec.p.extrapolation));
}

/** A present, non-empty 1-D input's values, else null. */
function optValues(t: Tensor | null | undefined): number[] | null {
  return t === null || t === undefined || t.size === 0 ? null : t.ints();
}

/** Output shape of a resize given its compile-time scales/sizes where known (fresh dims otherwise). */
function resizeInferShape(
  ctx: InferContext, x: TensorType, axesAttr: readonly number[] | undefined,
  scalesT: Tensor | undefined, sizesT: Tensor | undefined, sizesPresent: boolean, policy: string,
): Dim[] | null {
  if (x.shape === null) return null;
  const shape = x.shape;
  const axes = axesAttr ? normAxes(axesAttr, shape.length, ctx.node.op) : shape.map((_, i) => i);
  const sizes = sizesPresent ? optValues(sizesT) : null;
  const scales = sizesPresent ? null : optValues(scalesT);
  const out: Dim[] = [...shape];
  if (sizes !== null && sizes.length === axes.length) {
    checkSizes(sizes, ctx.node.op);
    if (policy === "stretch") {
      axes.forEach((a, i) => { out[a] = sizes[i]!; });
      return out;
    }
    if (isStaticShape(shape)) return resizePlan(shape, axes, null, sizes, policy, ctx.node.op).outShape;
  } else if (scales !== null && scales.length === axes.length) {
    checkScales(scales, ctx.node.op);
    axes.forEach((a, i) => {
      const d = shape[a]!;
      if (scales[i] !== 1) out[a] = typeof d === "number" ? Math.floor(scales[i]! * d) : ctx.fresh();
    });
    return out;
  }
  for (const a of axes) out[a] = ctx.fresh();
  return out;
}

const resize: OpDef = {
  name: "Resize",
  pattern: "injective",
  attrs: {
    mode: { type: "string", default: "nearest", values: ["nearest", "linear", "cubic"] },
    coordinate_transformation_mode: { type: "string", default: "half_pixel", since: 11, values: [
      "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize",
    ] },
    cubic_coeff_a: { type: "float", default: -0.75, since: 11 },
    exclude_outside: { type: "int", default: 0, since: 11 },
    extrapolation_value: { type: "float", default: 0, since: 11 },
    nearest_mode: { type: "string", default: "round_prefer_floor", since: 11, values: ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"] },
    antialias: { type: "int", default: 0, since: 18 },
    axes: { type: "ints", since: 18 },
    keep_aspect_ratio_policy: { type: "string", default: "stretch", since: 18, values: ["stretch", "not_larger", "not_smaller"] },
  },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    if (ctx.opset < 11) return [{ dtype: x.dtype, shape: resizeInferShape(ctx, x, undefined, ctx.constants[1], undefined, false, "stretch") }];
    const sizesT = ctx.inputs[3];
    const sizesPresent = sizesT !== null && sizesT !== undefined && !(sizesT.shape !== null && sizesT.shape[0] === 0);
    const attrs = ctx.opset >= 18 ? ctx.attrs : null;
    return [{
      dtype: x.dtype,
      shape: resizeInferShape(ctx, x, attrs?.optInts("axes"), ctx.constants[2], ctx.constants[3], sizesPresent,
        attrs?.string("keep_aspect_ratio_policy") ?? "stretch"),
    }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "Resize", 0);
    return [runResize(x, resizeSpec(ctx, x.rank, (i) => ctx.inputs[i]))];
  },
};

/** A Resize node's sampling, from its attributes and its inputs 1.. (`input(i)`, when known). */
export function resizeSpec(ctx: Pick<EvalContext, "attrs" | "opset">, rank: number, input: (i: number) => Tensor | null | undefined): ResizeSpec {
  const a = ctx.attrs;
  const mode = a.string("mode");
  if (mode !== "nearest" && mode !== "linear" && mode !== "cubic") throw new UnsupportedError(`Resize: mode '${mode}'`, `Resize mode ${mode}`);
  const all = Array.from({ length: rank }, (_, i) => i);
  if (ctx.opset < 11) {
    // Resize-10 samples like Upsample: asymmetric coordinates, nearest rounds down.
    const p: ResizeParams = { mode, ctm: "asymmetric", nearestMode: "floor", cubicA: -0.75, excludeOutside: false, extrapolation: 0, antialias: false };
    return { p, axes: all, scales: Array.from(req(input(1), "Resize", 1).numbers()), sizes: null, roi: null, policy: "stretch", op: "Resize" };
  }
  const p: ResizeParams = {
    mode,
    ctm: a.string("coordinate_transformation_mode"),
    nearestMode: a.string("nearest_mode"),
    cubicA: a.float("cubic_coeff_a"),
    excludeOutside: a.int("exclude_outside") !== 0,
    extrapolation: a.float("extrapolation_value"),
    antialias: ctx.opset >= 18 && a.int("antialias") !== 0 && mode !== "nearest",
  };
  const axesAttr = ctx.opset >= 18 ? a.optInts("axes") : undefined;
  const axes = axesAttr ? normAxes(axesAttr, rank, "Resize") : all;
  if (new Set(axes).size !== axes.length) throw new ModelError(`Resize: axes [${axesAttr}] repeat an axis`);
  const roiT = input(1);
  const roi = roiT && roiT.size > 0 ? Array.from(roiT.numbers()) : null;
  const scalesT = input(2);
  const scales = scalesT && scalesT.size > 0 ? Array.from(scalesT.numbers()) : null;
  const sizes = optValues(input(3));
  if (scales !== null && sizes !== null) throw new ModelError("Resize: only one of scales and sizes may be given");
  const policy = ctx.opset >= 18 ? a.string("keep_aspect_ratio_policy") : "stretch";
  return { p, axes, scales, sizes, roi, policy, op: "Resize" };
}

function upsampleParams(mode: string): ResizeParams {
  const m = mode === "bilinear" ? "linear" : mode;
  if (m !== "nearest" && m !== "linear") throw new UnsupportedError(`Upsample: mode '${mode}'`, `Upsample mode ${mode}`);
  return { mode: m, ctm: "asymmetric", nearestMode: "floor", cubicA: -0.75, excludeOutside: false, extrapolation: 0, antialias: false };
}

/** Upsample's scales: the height/width attributes (opset 1), the scales attribute (7-8) or input 1 (9+). */
function upsampleScales(ctx: Pick<EvalContext, "attrs" | "opset">, rank: number | null, input: Tensor | null | undefined): number[] | null {
  if (ctx.opset < 7) {
    const s = [ctx.attrs.float("height_scale"), ctx.attrs.float("width_scale")];
    return rank === null ? null : [...new Array<number>(Math.max(0, rank - 2)).fill(1), ...s];
  }
  if (ctx.opset < 9) return [...ctx.attrs.floats("scales")];
  return input ? Array.from(input.numbers()) : null;
}

const upsample: OpDef = {
  name: "Upsample",
  pattern: "injective",
  attrs: {
    mode: { type: "string", default: "nearest", values: ["nearest", "linear", "bilinear"] },
    scales: { type: "floats", since: 7, until: 9 },
    height_scale: { type: "float", until: 7 },
    width_scale: { type: "float", until: 7 },
  },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const s = upsampleScales(ctx, x.shape?.length ?? null, ctx.constants[1]);
    const st = s === null ? undefined : Tensor.fromNumbers("float32", [s.length], s);
    return [{ dtype: x.dtype, shape: resizeInferShape(ctx, x, undefined, st, undefined, false, "stretch") }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "Upsample", 0);
    return [runResize(x, upsampleSpec(ctx, x.rank, ctx.inputs[1]))];
  },
};

/** An Upsample node's sampling; `scales` is its input 1 (opset 9 on), when known. */
export function upsampleSpec(ctx: Pick<EvalContext, "attrs" | "opset">, rank: number, scales: Tensor | null | undefined): ResizeSpec {
  const s = req(upsampleScales(ctx, rank, scales), "Upsample", 1);
  const p = upsampleParams(ctx.attrs.string("mode"));
  return { p, axes: Array.from({ length: rank }, (_, i) => i), scales: s, sizes: null, roi: null, policy: "stretch", op: "Upsample" };
}

// ---------------------------------------------------------------------------------------------
// GridSample

/** Reflect x into [lo, hi] by folding at the borders, as PyTorch's grid sampler does. */
function reflect(x: number, lo: number, hi: number): number {
  const rng = hi - lo;
  if (x < lo) {
    const dx = lo - x;
    const n = Math.trunc(dx / rng);
    const r = dx - n * rng;
    return n % 2 === 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const dx = x - hi;
    const n = Math.trunc(dx / rng);
    const r = dx - n * rng;
    return n % 2 === 0 ? hi - r : lo + r;
  }
  return x;
}

function keysCubic(t: number): number[] {
  const A = -0.75;
  const x = Math.abs(t);
  return [
    ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A,
    ((A + 2) * x - (A + 3)) * x * x + 1,
    ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1,
    ((A * (2 - x) - 5 * A) * (2 - x) + 8 * A) * (2 - x) - 4 * A,
  ];
}

/** Round half to even (nearbyint). */
function roundEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

const gridSample: OpDef = {
  name: "GridSample",
  pattern: "injective",
  attrs: {
    align_corners: { type: "int", default: 0 },
    mode: { type: "string", default: (opset) => (opset >= 20 ? "linear" : "bilinear"), values: ["bilinear", "bicubic", "linear", "cubic", "nearest"] },
    padding_mode: { type: "string", default: "zeros", values: ["zeros", "border", "reflection"] },
  },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const g = inputType(ctx, 1);
    if (g.shape === null) return [{ dtype: x.dtype, shape: null }];
    const n = x.shape !== null && typeof x.shape[0] === "number" ? x.shape[0] : g.shape[0]!;
    const c = x.shape !== null ? x.shape[1]! : ctx.fresh();
    return [{ dtype: x.dtype, shape: [n, c, ...g.shape.slice(1, -1)] }];
  },
  evaluate: (ctx) => {
    const X = req(ctx.inputs[0], "GridSample", 0);
    const G = req(ctx.inputs[1], "GridSample", 1);
    const alignCorners = ctx.attrs.int("align_corners") !== 0;
    const rawMode = ctx.attrs.string("mode");
    const mode = rawMode === "bilinear" ? "linear" : rawMode === "bicubic" ? "cubic" : rawMode;
    if (mode !== "linear" && mode !== "nearest" && mode !== "cubic") throw new UnsupportedError(`GridSample: mode '${rawMode}'`, `GridSample mode ${rawMode}`);
    const padding = ctx.attrs.string("padding_mode");
    if (padding !== "zeros" && padding !== "border" && padding !== "reflection") {
      throw new UnsupportedError(`GridSample: padding_mode '${padding}'`, `GridSample padding_mode ${padding}`);
    }
    if (X.rank < 3) throw new ModelError(`GridSample: input must have rank 3 or more, got [${X.shape}]`);
    const [N, C] = X.shape as [number, number];
    const dims = X.shape.slice(2);
    const r = dims.length;
    if (G.rank !== r + 2 || G.shape[0] !== N || G.shape[r + 1] !== r) {
      throw new ModelError(`GridSample: grid shape [${G.shape}] does not match input [${X.shape}]`);
    }
    const outSpatial = G.shape.slice(1, -1);
    const P = shapeSize(outSpatial);
    const xv = X.numbers();
    const gv = G.numbers();
    const plane = shapeSize(dims);
    const strides = stridesOf(dims);
    const out = new Float64Array(N * C * P);
    const lo = dims.map(() => (alignCorners ? 0 : -0.5));
    const hi = dims.map((d) => (alignCorners ? d - 1 : d - 0.5));
    // Maps an integer index on axis i to a valid one, or -1 for a zero pixel.
    const fetchIndex = (i: number, ax: number): number => {
      const d = dims[ax]!;
      if (padding === "zeros") return i >= 0 && i < d ? i : -1;
      if (padding === "border") return clampInt(i, 0, d - 1);
      return Math.trunc(reflect(i, lo[ax]!, hi[ax]!));
    };
    for (let n = 0; n < N; n++) {
      for (let p = 0; p < P; p++) {
        const gbase = (n * P + p) * r;
        const taps: { idx: number[]; w: number[] }[] = [];
        for (let ax = 0; ax < r; ax++) {
          const d = dims[ax]!;
          // Grid coordinates come in reverse axis order (x is the last spatial axis).
          const g = gv[gbase + (r - 1 - ax)]!;
          let v = alignCorners ? ((g + 1) / 2) * (d - 1) : ((g + 1) * d - 1) / 2;
          if (mode === "nearest") v = roundEven(v);
          if (v < lo[ax]! || v > hi[ax]!) {
            if (padding === "border") v = Math.min(Math.max(v, 0), d - 1);
            else if (padding === "reflection") v = reflect(v, lo[ax]!, hi[ax]!);
          }
          let idx: number[];
          let w: number[];
          if (mode === "nearest") {
            idx = [Math.trunc(v)];
            w = [1];
          } else {
            const x0 = Math.floor(v);
            const t = v - x0;
            if (mode === "linear") { idx = [x0, x0 + 1]; w = [1 - t, t]; }
            else { idx = [x0 - 1, x0, x0 + 1, x0 + 2]; w = keysCubic(t); }
          }
          taps.push({ idx: idx.map((i) => fetchIndex(i, ax)), w });
        }
        for (let c = 0; c < C; c++) {
          const base = (n * C + c) * plane;
          let s = 0;
          const rec = (ax: number, off: number, wt: number): void => {
            if (ax === r) { s += wt * xv[base + off]!; return; }
            const t = taps[ax]!;
            for (let i = 0; i < t.idx.length; i++) {
              if (t.idx[i]! < 0 || t.w[i] === 0) continue;
              rec(ax + 1, off + t.idx[i]! * strides[ax]!, wt * t.w[i]!);
            }
          };
          rec(0, 0, 1);
          out[(n * C + c) * P + p] = s;
        }
      }
    }
    return [Tensor.fromNumbers(X.dtype, [N, C, ...outSpatial], out)];
  },
};

// ---------------------------------------------------------------------------------------------
// AffineGrid

/** AffineGrid's size input, [N, C, H, W] or [N, C, D, H, W], checked before it sizes the grid. */
function affineSize(size: readonly number[]): { N: number; sp: number[] } {
  const sp = size.slice(2);
  if (sp.length !== 2 && sp.length !== 3) throw new ModelError(`AffineGrid: size must have 4 or 5 values, got ${size.length}`);
  if (size.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new EvalError(`AffineGrid: size [${size.join(",")}] must hold non-negative integers`);
  checkShape([size[0]!, ...sp, sp.length], "AffineGrid output");
  return { N: size[0]!, sp };
}

const affineGrid: OpDef = {
  name: "AffineGrid",
  pattern: "injective",
  attrs: { align_corners: { type: "int", default: 0 } },
  infer: (ctx) => {
    const theta = inputType(ctx, 0);
    const sizeT = inputType(ctx, 1);
    const size = ctx.constants[1];
    if (size) {
      const { N, sp } = affineSize(size.ints());
      return [{ dtype: theta.dtype, shape: [N, ...sp, sp.length] }];
    }
    const k = sizeT.shape !== null && typeof sizeT.shape[0] === "number" ? sizeT.shape[0] : null;
    if (k === null) return [{ dtype: theta.dtype, shape: null }];
    if (k !== 4 && k !== 5) throw new ModelError(`AffineGrid: size must have 4 or 5 values, got shape [${k}]`);
    const n = theta.shape !== null ? theta.shape[0]! : ctx.fresh();
    return [{ dtype: theta.dtype, shape: [n, ...Array.from({ length: k - 2 }, () => ctx.fresh()), k - 2] }];
  },
  evaluate: (ctx) => {
    const theta = req(ctx.inputs[0], "AffineGrid", 0);
    const size = req(ctx.inputs[1], "AffineGrid", 1).ints();
    const alignCorners = ctx.attrs.int("align_corners") !== 0;
    const { N, sp } = affineSize(size);
    const r = sp.length;
    if (theta.rank !== 3 || theta.shape[0] !== N || theta.shape[1] !== r || theta.shape[2] !== r + 1) {
      throw new ModelError(`AffineGrid: theta shape [${theta.shape}] does not fit size [${size}]`);
    }
    const tv = theta.numbers();
    // A single aligned sample sits at -1, as torch.linspace(-1, 1, 1) gives.
    const coord = (i: number, d: number): number =>
      alignCorners ? (d === 1 ? -1 : -1 + (2 * i) / (d - 1)) : -1 + (2 * i + 1) / d;
    const P = shapeSize(sp);
    const out = new Float64Array(N * P * r);
    const spStrides = stridesOf(sp);
    for (let n = 0; n < N; n++) {
      for (let p = 0; p < P; p++) {
        // Homogeneous point (x, y[, z], 1) with x along the last spatial axis.
        const pt: number[] = [];
        for (let ax = r - 1; ax >= 0; ax--) pt.push(coord(Math.floor(p / spStrides[ax]!) % sp[ax]!, sp[ax]!));
        pt.push(1);
        for (let j = 0; j < r; j++) {
          let s = 0;
          for (let k = 0; k <= r; k++) s += tv[(n * r + j) * (r + 1) + k]! * pt[k]!;
          out[(n * P + p) * r + j] = s;
        }
      }
    }
    return [Tensor.fromNumbers(theta.dtype, [N, ...sp, r], out)];
  },
};

// ---------------------------------------------------------------------------------------------
// RoiAlign

/** RoiAlign's pooled output size, checked before it sizes anything. */
function roiBins(ctx: InferContext | EvalContext): [number, number] {
  const ph = ctx.attrs.int("output_height"), pw = ctx.attrs.int("output_width");
  if (!Number.isInteger(ph) || ph < 1) throw new ModelError(`RoiAlign: output_height ${ph} must be positive`);
  if (!Number.isInteger(pw) || pw < 1) throw new ModelError(`RoiAlign: output_width ${pw} must be positive`);
  return [ph, pw];
}

/** Where one ROI's bins start, their size, and the sampling grid of each bin. */
interface RoiGrid {
  readonly b: number;
  readonly x1: number;
  readonly y1: number;
  readonly bh: number;
  readonly bw: number;
  readonly gh: number;
  readonly gw: number;
}

const roiAlign: OpDef = {
  name: "RoiAlign",
  pattern: "opaque",
  attrs: {
    coordinate_transformation_mode: { type: "string", default: "half_pixel", since: 16, values: ["half_pixel", "output_half_pixel"] },
    mode: { type: "string", default: "avg", values: ["avg", "max"] },
    output_height: { type: "int", default: 1 },
    output_width: { type: "int", default: 1 },
    sampling_ratio: { type: "int", default: 0 },
    spatial_scale: { type: "float", default: 1 },
  },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const rois = inputType(ctx, 1);
    const nr = rois.shape !== null ? rois.shape[0]! : ctx.fresh();
    const c = x.shape !== null ? x.shape[1]! : ctx.fresh();
    return [{ dtype: x.dtype, shape: [nr, c, ...roiBins(ctx)] }];
  },
  evaluate: (ctx) => {
    const X = req(ctx.inputs[0], "RoiAlign", 0);
    const rois = req(ctx.inputs[1], "RoiAlign", 1);
    const bi = req(ctx.inputs[2], "RoiAlign", 2).ints();
    const a = ctx.attrs;
    const mode = a.string("mode");
    if (mode !== "avg" && mode !== "max") throw new UnsupportedError(`RoiAlign: mode '${mode}'`, `RoiAlign mode ${mode}`);
    const ctm = ctx.opset >= 16 ? a.string("coordinate_transformation_mode") : "output_half_pixel";
    if (ctm !== "half_pixel" && ctm !== "output_half_pixel") {
      throw new UnsupportedError(`RoiAlign: coordinate_transformation_mode '${ctm}'`, `RoiAlign coordinate_transformation_mode ${ctm}`);
    }
    const halfPixel = ctm === "half_pixel";
    const [PH, PW] = roiBins(ctx);
    const ratio = a.int("sampling_ratio"), scale = a.float("spatial_scale");
    if (ratio < 0) throw new ModelError(`RoiAlign: sampling_ratio ${ratio} must be 0 (adaptive) or positive`);
    if (X.rank !== 4) throw new ModelError(`RoiAlign: input must be 4-D, got [${X.shape}]`);
    const [N, C, H, W] = X.shape as [number, number, number, number];
    const R = bi.length;
    if (rois.rank !== 2 || rois.shape[0] !== R || rois.shape[1] !== 4) throw new ModelError(`RoiAlign: rois shape [${rois.shape}] must be [${R},4]`);
    checkShape([R, C, PH, PW], "RoiAlign output");
    const rv = rois.numbers();
    // Every ROI's sampling grid first: an adaptive grid grows with the ROI, so the total work is bounded before any sampling.
    let samples = 0;
    const grids = Array.from({ length: R }, (_, n): RoiGrid => {
      const b = bi[n]!;
      if (b < 0 || b >= N) throw new ModelError(`RoiAlign: batch index ${b} out of range [0, ${N})`);
      const off = halfPixel ? 0.5 : 0;
      const x1 = rv[n * 4]! * scale - off, y1 = rv[n * 4 + 1]! * scale - off;
      const x2 = rv[n * 4 + 2]! * scale - off, y2 = rv[n * 4 + 3]! * scale - off;
      let rw = x2 - x1, rh = y2 - y1;
      if (!halfPixel) { rw = Math.max(rw, 1); rh = Math.max(rh, 1); }
      const gh = ratio > 0 ? ratio : Math.ceil(rh / PH);
      const gw = ratio > 0 ? ratio : Math.ceil(rw / PW);
      if (!Number.isFinite(gh) || !Number.isFinite(gw)) {
        throw new EvalError(`RoiAlign: roi ${n} [${Array.from(rv.subarray(n * 4, n * 4 + 4)).join(",")}] gives a sampling grid of ${gh} x ${gw}`);
      }
      samples += C * PH * PW * Math.max(gh, 0) * Math.max(gw, 0);
      return { b, x1, y1, bh: rh / PH, bw: rw / PW, gh, gw };
    });
    if (samples > elementLimit()) {
      throw new LimitError(`RoiAlign: ${samples} samples (channels x bins x sampling grid, over ${R} rois), over the limit of ${elementLimit()}`);
    }
    const xv = X.numbers();
    const out = new Float64Array(R * C * PH * PW);
    grids.forEach(({ b, x1, y1, bh, bw, gh, gw }, n) => {
      const count = Math.max(gh * gw, 1);
      // Bilinear sample points of one bin: four (position, weight) pairs each, reused across bins.
      const points = Math.max(gh, 0) * Math.max(gw, 0);
      const pos = new Int32Array(4 * points), wt = new Float64Array(4 * points);
      for (let ph = 0; ph < PH; ph++) {
        for (let pw = 0; pw < PW; pw++) {
          pos.fill(0);
          wt.fill(0);
          for (let iy = 0, s = 0; iy < gh; iy++) {
            const y = y1 + ph * bh + ((iy + 0.5) * bh) / gh;
            for (let ix = 0; ix < gw; ix++, s += 4) {
              const x = x1 + pw * bw + ((ix + 0.5) * bw) / gw;
              if (y < -1 || y > H || x < -1 || x > W) continue;
              const yy = Math.max(y, 0), xx = Math.max(x, 0);
              let yl = Math.floor(yy), xl = Math.floor(xx), yh: number, xh: number;
              let ys = yy, xs = xx;
              if (yl >= H - 1) { yh = yl = H - 1; ys = yl; } else yh = yl + 1;
              if (xl >= W - 1) { xh = xl = W - 1; xs = xl; } else xh = xl + 1;
              const ly = ys - yl, lx = xs - xl, hy = 1 - ly, hx = 1 - lx;
              pos[s] = yl * W + xl; pos[s + 1] = yl * W + xh; pos[s + 2] = yh * W + xl; pos[s + 3] = yh * W + xh;
              wt[s] = hy * hx; wt[s + 1] = hy * lx; wt[s + 2] = ly * hx; wt[s + 3] = ly * lx;
            }
          }
          for (let c = 0; c < C; c++) {
            const base = (b * C + c) * H * W;
            let v = 0;
            if (mode === "avg") {
              for (let k = 0; k < pos.length; k++) v += wt[k]! * xv[base + pos[k]!]!;
              v /= count;
            } else {
              // Max mode takes the max of the weighted corner values (ONNX Runtime's definition).
              for (let s = 0; s < pos.length; s += 4) {
                let m = wt[s]! * xv[base + pos[s]!]!;
                for (let k = 1; k < 4; k++) m = Math.max(m, wt[s + k]! * xv[base + pos[s + k]!]!);
                v = s === 0 ? m : Math.max(v, m);
              }
            }
            out[((n * C + c) * PH + ph) * PW + pw] = v;
          }
        }
      }
    });
    return [Tensor.fromNumbers(X.dtype, [R, C, PH, PW], out)];
  },
};

// ---------------------------------------------------------------------------------------------
// NonMaxSuppression

const nonMaxSuppression: OpDef = {
  name: "NonMaxSuppression",
  pattern: "opaque",
  attrs: { center_point_box: { type: "int", default: 0 } },
  infer: (ctx) => [{ dtype: "int64", shape: [ctx.fresh(), 3] }],
  evaluate: (ctx) => {
    const boxesT = req(ctx.inputs[0], "NonMaxSuppression", 0);
    const scoresT = req(ctx.inputs[1], "NonMaxSuppression", 1);
    const maxOut = ctx.inputs[2] && ctx.inputs[2].size > 0 ? ctx.inputs[2].ints()[0]! : 0;
    const iouTh = ctx.inputs[3] && ctx.inputs[3].size > 0 ? ctx.inputs[3].numbers()[0]! : 0;
    const scoreTh = ctx.inputs[4] && ctx.inputs[4].size > 0 ? ctx.inputs[4].numbers()[0]! : null;
    const center = ctx.attrs.int("center_point_box") !== 0;
    if (boxesT.rank !== 3 || boxesT.shape[2] !== 4) throw new ModelError(`NonMaxSuppression: boxes shape [${boxesT.shape}] must be [B,N,4]`);
    const [B, NB] = boxesT.shape as [number, number];
    if (scoresT.rank !== 3 || scoresT.shape[0] !== B || scoresT.shape[2] !== NB) {
      throw new ModelError(`NonMaxSuppression: scores shape [${scoresT.shape}] must be [${B},C,${NB}]`);
    }
    const C = scoresT.shape[1]!;
    const bv = boxesT.numbers();
    const sv = scoresT.numbers();
    // Boxes as [ymin, xmin, ymax, xmax].
    const box = (b: number, i: number): number[] => {
      const o = (b * NB + i) * 4;
      if (center) {
        const [xc, yc, w, h] = [bv[o]!, bv[o + 1]!, bv[o + 2]!, bv[o + 3]!];
        return [yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2];
      }
      const [y1, x1, y2, x2] = [bv[o]!, bv[o + 1]!, bv[o + 2]!, bv[o + 3]!];
      return [Math.min(y1, y2), Math.min(x1, x2), Math.max(y1, y2), Math.max(x1, x2)];
    };
    const overlaps = (p: number[], q: number[]): boolean => {
      const ih = Math.min(p[2]!, q[2]!) - Math.max(p[0]!, q[0]!);
      const iw = Math.min(p[3]!, q[3]!) - Math.max(p[1]!, q[1]!);
      if (ih <= 0 || iw <= 0) return false;
      const inter = ih * iw;
      const ap = (p[2]! - p[0]!) * (p[3]! - p[1]!), aq = (q[2]! - q[0]!) * (q[3]! - q[1]!);
      const union = ap + aq - inter;
      if (ap <= 0 || aq <= 0 || union <= 0) return false;
      return inter / union > iouTh;
    };
    const sel: number[] = [];
    for (let b = 0; b < B; b++) {
      for (let c = 0; c < C; c++) {
        if (maxOut <= 0) continue;
        const cand: number[] = [];
        for (let i = 0; i < NB; i++) {
          if (scoreTh === null || sv[(b * C + c) * NB + i]! > scoreTh) cand.push(i);
        }
        // Highest score first; ties keep the lower box index first (stable sort).
        cand.sort((i, j) => sv[(b * C + c) * NB + j]! - sv[(b * C + c) * NB + i]!);
        const kept: number[][] = [];
        for (const i of cand) {
          if (kept.length >= maxOut) break;
          const bx = box(b, i);
          if (kept.some((k) => overlaps(k, bx))) continue;
          kept.push(bx);
          sel.push(b, c, i);
        }
      }
    }
    return [Tensor.fromNumbers("int64", [sel.length / 3, 3], sel)];
  },
};

export const ops: OpDef[] = [resize, upsample, gridSample, affineGrid, roiAlign, nonMaxSuppression];
