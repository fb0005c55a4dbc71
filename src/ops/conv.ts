/** Convolutions: Conv, ConvTranspose, DeformConv, Col2Im. */
import { dimAdd, dimCeilDiv, dimDiv, dimMul, dimSub } from "../ir/dim.js";
import { EvalError, ModelError, UnsupportedError } from "../ir/errors.js";
import { Tensor, checkShape, shapeSize, stridesOf } from "../ir/tensor.js";
import type { Dim, TensorType } from "../ir/types.js";
import { matmulInto } from "./matmul.js";
import type { AttrSchema, EvalContext, InferContext, OpDef } from "./registry.js";
import { inputType, req } from "./util.js";

// ---------------------------------------------------------------------------------------------
// Window geometry shared with pool.ts.

/** The resolved sliding-window parameters of one node over concrete spatial dims. */
export interface Window {
  readonly op: string;
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  readonly padsBegin: readonly number[];
  readonly padsEnd: readonly number[];
  readonly outShape: readonly number[];
}

/** The values auto_pad may take, for every op with a sliding window. */
export const AUTO_PADS: readonly string[] = ["NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"];

/** Attribute values as read from the node (before auto_pad is resolved). */
export interface WindowAttrs {
  readonly op: string;
  readonly autoPad: string;
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  readonly pads: readonly number[];
  readonly ceil: boolean;
}

function checkLen(op: string, what: string, v: readonly number[], n: number): void {
  if (v.length !== n) throw new ModelError(`${op}: ${what} has ${v.length} values, expected ${n}`);
}

/** Read strides/dilations/pads/auto_pad with ONNX defaults for `n` spatial dims. */
export function readWindowAttrs(ctx: Pick<InferContext, "node" | "attrs">, kernel: readonly number[], ceil: boolean, autoPad: string): WindowAttrs {
  const op = ctx.node.op;
  const n = kernel.length;
  const a = ctx.attrs;
  const strides = a.optInts("strides") ?? new Array<number>(n).fill(1);
  const dilations = a.optInts("dilations") ?? new Array<number>(n).fill(1);
  const pads = a.optInts("pads") ?? new Array<number>(2 * n).fill(0);
  checkLen(op, "strides", strides, n);
  checkLen(op, "dilations", dilations, n);
  checkLen(op, "pads", pads, 2 * n);
  // A zero or negative kernel makes a nonsensical (and, as negatives multiply out, huge) window.
  if (kernel.some((k) => !Number.isInteger(k) || k < 1)) throw new ModelError(`${op}: kernel_shape [${kernel.join(",")}] must be positive`);
  if (strides.some((s) => s < 1) || dilations.some((d) => d < 1)) throw new ModelError(`${op}: strides and dilations must be positive`);
  return { op, autoPad, kernel, strides, dilations, pads, ceil };
}

/** One output dim of a sliding window; `in` may be symbolic. */
function windowOutDim(w: WindowAttrs, i: number, inDim: Dim): Dim {
  const k = w.kernel[i]!, s = w.strides[i]!, d = w.dilations[i]!;
  const span = d * (k - 1) + 1;
  if (w.autoPad === "SAME_UPPER" || w.autoPad === "SAME_LOWER") return dimCeilDiv(inDim, s);
  const pad = w.autoPad === "VALID" ? 0 : w.pads[i]! + w.pads[i + w.kernel.length]!;
  if (typeof inDim === "number") return concreteOutDim(inDim, pad, span, s, w.ceil, w.autoPad === "VALID" ? 0 : w.pads[i]!);
  const c = pad - span;
  const e = c >= 0 ? dimAdd(inDim, c) : dimSub(inDim, -c);
  return dimAdd(w.ceil ? dimCeilDiv(e, s) : dimDiv(e, s), 1);
}

function concreteOutDim(inDim: number, pad: number, span: number, s: number, ceil: boolean, padBegin: number): number {
  const num = inDim + pad - span;
  if (!ceil) return Math.floor(num / s) + 1;
  let out = Math.ceil(num / s) + 1;
  // A last window that would start entirely in the end padding is dropped.
  if ((out - 1) * s >= inDim + padBegin) out--;
  return out;
}

/** Output spatial dims for (possibly symbolic) input spatial dims. */
export function windowOutDims(w: WindowAttrs, inDims: readonly Dim[]): Dim[] {
  const out = inDims.map((d, i) => windowOutDim(w, i, d));
  checkOutDims(w, inDims, out);
  return out;
}

/** A kernel larger than the padded input leaves no window: reject it at inference, not at run time. */
function checkOutDims(w: WindowAttrs, inDims: readonly Dim[], out: readonly Dim[]): void {
  if (out.some((o) => typeof o === "number" && o < 0)) {
    throw new EvalError(`${w.op}: kernel_shape [${w.kernel.join(",")}] over input [${inDims.join(",")}] with pads [${w.pads.join(",")}] gives a negative output size`);
  }
}

/** Resolve auto_pad against concrete input dims. */
export function resolveWindow(w: WindowAttrs, inDims: readonly number[]): Window {
  const n = w.kernel.length;
  const padsBegin: number[] = [], padsEnd: number[] = [], outShape: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = w.kernel[i]!, s = w.strides[i]!, d = w.dilations[i]!, x = inDims[i]!;
    const span = d * (k - 1) + 1;
    if (w.autoPad === "SAME_UPPER" || w.autoPad === "SAME_LOWER") {
      const out = Math.ceil(x / s);
      const total = Math.max(0, (out - 1) * s + span - x);
      const small = Math.floor(total / 2);
      padsBegin.push(w.autoPad === "SAME_UPPER" ? small : total - small);
      padsEnd.push(w.autoPad === "SAME_UPPER" ? total - small : small);
      outShape.push(out);
    } else if (w.autoPad === "VALID") {
      padsBegin.push(0);
      padsEnd.push(0);
      outShape.push(concreteOutDim(x, 0, span, s, w.ceil, 0));
    } else {
      padsBegin.push(w.pads[i]!);
      padsEnd.push(w.pads[i + n]!);
      outShape.push(concreteOutDim(x, w.pads[i]! + w.pads[i + n]!, span, s, w.ceil, w.pads[i]!));
    }
  }
  checkOutDims(w, inDims, outShape);
  return { op: w.op, kernel: w.kernel, strides: w.strides, dilations: w.dilations, padsBegin, padsEnd, outShape };
}

/** Index value for a window tap in the explicit (or auto) padding. */
export const IN_PAD = -1;
/** Index value for a window tap beyond even the padding (the extra region ceil_mode adds). */
export const BEYOND_PAD = -2;

/**
 * For every output position p (row-major) and kernel tap k (row-major), the flat spatial index
 * of the input element it reads, or IN_PAD / BEYOND_PAD. Layout [p * kernelSize + k].
 */
export function windowTable(w: Window, inDims: readonly number[]): Int32Array {
  const n = inDims.length;
  const outSize = shapeSize(w.outShape);
  const kSize = shapeSize(w.kernel);
  // One entry per output position and tap: as large as the work, so bounded like a tensor before it is built.
  checkShape([outSize, kSize], `${w.op}: window table (output positions x kernel taps)`);
  const inStrides = stridesOf(inDims);
  const tab = new Int32Array(outSize * kSize);
  const o = new Array<number>(n).fill(0);
  const k = new Array<number>(n).fill(0);
  let t = 0;
  for (let p = 0; p < outSize; p++) {
    k.fill(0);
    for (let q = 0; q < kSize; q++) {
      let idx = 0;
      let state = 0; // 0 inside, 1 in padding, 2 beyond padding
      for (let i = 0; i < n; i++) {
        const x = o[i]! * w.strides[i]! - w.padsBegin[i]! + k[i]! * w.dilations[i]!;
        if (x < 0 || x >= inDims[i]!) {
          if (x < -w.padsBegin[i]! || x >= inDims[i]! + w.padsEnd[i]!) state = 2;
          else if (state === 0) state = 1;
        } else idx += x * inStrides[i]!;
      }
      tab[t++] = state === 0 ? idx : state === 1 ? IN_PAD : BEYOND_PAD;
      for (let i = n - 1; i >= 0; i--) {
        if (++k[i]! < w.kernel[i]!) break;
        k[i] = 0;
      }
    }
    for (let i = n - 1; i >= 0; i--) {
      if (++o[i]! < w.outShape[i]!) break;
      o[i] = 0;
    }
  }
  return tab;
}

/** Spatial rank of an input of rank r (N, C, spatial...), or throw. */
function spatialRank(op: string, shape: readonly Dim[]): number {
  if (shape.length < 3) throw new ModelError(`${op}: input must have rank >= 3 (N, C, spatial...), got [${shape.join(",")}]`);
  return shape.length - 2;
}

// ---------------------------------------------------------------------------------------------
// Conv

const convAttrs: AttrSchema = {
  auto_pad: { type: "string", default: "NOTSET", values: AUTO_PADS },
  dilations: { type: "ints" },
  group: { type: "int", default: 1 },
  kernel_shape: { type: "ints" },
  pads: { type: "ints" },
  strides: { type: "ints" },
};

/**
 * kernel_shape, or the weight's spatial dims when the attribute is absent (null if unknown). It also
 * checks the weight's rank, so that callers may read its channel dims.
 */
export function kernelOf(ctx: Pick<EvalContext, "node" | "attrs">, wShape: readonly Dim[] | null, n: number): number[] | null {
  if (wShape !== null && wShape.length !== n + 2) {
    throw new ModelError(`${ctx.node.op}: weight shape [${wShape.join(",")}] has rank ${wShape.length}, expected ${n + 2} like the input`);
  }
  const ks = ctx.attrs.optInts("kernel_shape");
  if (ks) {
    checkLen(ctx.node.op, "kernel_shape", ks, n);
    return [...ks];
  }
  if (wShape === null) return null;
  const sp = wShape.slice(2);
  return sp.every((d): d is number => typeof d === "number") ? sp : null;
}

function convInfer(ctx: InferContext): (TensorType | null)[] {
  const x = inputType(ctx, 0), w = inputType(ctx, 1);
  if (x.shape === null) return [{ dtype: x.dtype, shape: null }];
  const n = spatialRank("Conv", x.shape);
  const kernel = kernelOf(ctx, w.shape, n);
  const m: Dim = w.shape !== null ? w.shape[0]! : ctx.fresh();
  checkConvShapes(ctx, x.shape, w.shape, m);
  const sp = kernel === null
    ? x.shape.slice(2).map(() => ctx.fresh())
    : windowOutDims(readWindowAttrs(ctx, kernel, false, ctx.attrs.string("auto_pad")), x.shape.slice(2));
  return [{ dtype: x.dtype, shape: [x.shape[0]!, m, ...sp] }];
}

/** The channel and bias checks of convEvaluate, on what is known statically: a kernel trusts these. */
function checkConvShapes(ctx: InferContext, x: readonly Dim[], w: readonly Dim[] | null, m: Dim): void {
  const group = ctx.attrs.int("group");
  const c = x[1];
  if (group < 1) throw new EvalError(`Conv: group must be positive, got ${group}`);
  if (w !== null && typeof c === "number" && typeof w[1] === "number" && (w[1] * group !== c || (typeof m === "number" && m % group !== 0))) {
    throw new EvalError(`Conv: input channels ${c}, weight [${w.join(",")}] and group ${group} are inconsistent`);
  }
  const b = ctx.inputs[2]?.shape;
  if (b && (b.length !== 1 || (typeof b[0] === "number" && typeof m === "number" && b[0] !== m))) {
    throw new EvalError(`Conv: bias shape [${b.join(",")}] must be [${m}]`);
  }
}

function convEvaluate(ctx: EvalContext): Tensor[] {
  const X = req(ctx.inputs[0], "Conv", 0), W = req(ctx.inputs[1], "Conv", 1), B = ctx.inputs[2] ?? null;
  const n = spatialRank("Conv", X.shape);
  const kernel = kernelOf(ctx, W.shape, n)!;
  const group = ctx.attrs.int("group");
  const [N, C] = X.shape as [number, number];
  const M = W.shape[0]!;
  if (group < 1 || C % group !== 0 || M % group !== 0 || W.shape[1]! * group !== C) {
    throw new EvalError(`Conv: input channels ${C}, weight [${W.shape.join(",")}] and group ${group} are inconsistent`);
  }
  if (W.shape.slice(2).some((d, i) => d !== kernel[i])) throw new EvalError(`Conv: kernel_shape [${kernel.join(",")}] does not match weight [${W.shape.join(",")}]`);
  if (B && (B.shape.length !== 1 || B.shape[0] !== M)) throw new EvalError(`Conv: bias shape [${B.shape.join(",")}] must be [${M}]`);
  const inDims = X.shape.slice(2);
  const win = resolveWindow(readWindowAttrs(ctx, kernel, false, ctx.attrs.string("auto_pad")), inDims);
  const inSize = shapeSize(inDims), outSize = shapeSize(win.outShape), kSize = shapeSize(kernel);
  const tab = windowTable(win, inDims);
  const x = X.numbers(), wv = W.numbers(), b = B ? B.numbers() : null;
  const Cg = C / group, Mg = M / group, R = Cg * kSize;
  const out = new Float64Array(N * M * outSize);
  // As a GEMM per group: out[mo][p] = sum_r W[mo][r] * col[r][p], r = (ci, tap), over tiles of
  // TILE output positions (col is zero past the tile's width).
  const TILE = 64;
  const col = new Float64Array(R * TILE);
  const prod = new Float64Array(Mg * TILE);
  for (let nb = 0; nb < N; nb++) {
    for (let g = 0; g < group; g++) {
      const xBase = (nb * C + g * Cg) * inSize;
      for (let p0 = 0; p0 < outSize; p0 += TILE) {
        const pw = Math.min(TILE, outSize - p0);
        col.fill(0);
        for (let j = 0; j < pw; j++) {
          const t0 = (p0 + j) * kSize;
          for (let ci = 0; ci < Cg; ci++) {
            const cb = xBase + ci * inSize;
            for (let q = 0; q < kSize; q++) {
              const idx = tab[t0 + q]!;
              if (idx >= 0) col[(ci * kSize + q) * TILE + j] = x[cb + idx]!;
            }
          }
        }
        matmulInto(prod, 0, wv, g * Mg * R, col, 0, Mg, R, TILE);
        for (let m = 0; m < Mg; m++) {
          const mo = g * Mg + m;
          const oBase = (nb * M + mo) * outSize + p0, bias = b ? b[mo]! : 0;
          for (let j = 0; j < pw; j++) out[oBase + j] = prod[m * TILE + j]! + bias;
        }
      }
    }
  }
  return [Tensor.fromNumbers(X.dtype, [N, M, ...win.outShape], out)];
}

const conv: OpDef = {
  name: "Conv",
  pattern: "out-elementwise-fusable",
  attrs: convAttrs,
  infer: convInfer,
  evaluate: convEvaluate,
};

// ---------------------------------------------------------------------------------------------
// ConvTranspose

interface TransposeGeometry {
  readonly padsBegin: number[];
  readonly outShape: Dim[];
}

/** Output dims and begin pads of ConvTranspose; `inDims` may be symbolic. */
export function convTransposeGeometry(ctx: Pick<EvalContext, "attrs">, kernel: readonly number[], inDims: readonly Dim[]): TransposeGeometry {
  const op = "ConvTranspose";
  const n = kernel.length;
  const a = ctx.attrs;
  const strides = a.optInts("strides") ?? new Array<number>(n).fill(1);
  const dilations = a.optInts("dilations") ?? new Array<number>(n).fill(1);
  const outPad = a.optInts("output_padding") ?? new Array<number>(n).fill(0);
  const pads = a.optInts("pads");
  checkLen(op, "strides", strides, n);
  checkLen(op, "dilations", dilations, n);
  checkLen(op, "output_padding", outPad, n);
  if (pads) checkLen(op, "pads", pads, 2 * n);
  const autoPad = a.string("auto_pad");
  if (!["NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"].includes(autoPad)) {
    throw new UnsupportedError(`${op}: auto_pad '${autoPad}' is not supported`, `${op} auto_pad=${autoPad}`);
  }
  let outputShape = a.optInts("output_shape");
  // output_shape may include the N and C dims.
  if (outputShape && outputShape.length === n + 2) outputShape = outputShape.slice(2);
  if (outputShape) checkLen(op, "output_shape", outputShape, n);
  const padsBegin: number[] = [];
  const outShape: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const s = strides[i]!, span = dilations[i]! * (kernel[i]! - 1) + 1, x = inDims[i]!;
    // Full (unpadded) output extent: s*(in-1) + output_padding + span.
    const full = dimAdd(dimMul(dimSub(x, 1), s), outPad[i]! + span);
    const target: Dim | undefined = outputShape ? outputShape[i]! : autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER" ? dimMul(x, s) : undefined;
    if (target !== undefined) {
      outShape.push(target);
      const total = dimSub(full, target);
      if (typeof total === "number") {
        const small = Math.floor(total / 2);
        // SAME_UPPER puts the extra padding at the end; anything else at the beginning.
        padsBegin.push(autoPad === "SAME_UPPER" ? small : total - small);
      } else padsBegin.push(0);
    } else {
      const pb = autoPad === "VALID" || !pads ? 0 : pads[i]!;
      const pe = autoPad === "VALID" || !pads ? 0 : pads[i + n]!;
      padsBegin.push(pb);
      outShape.push(dimSub(full, pb + pe));
    }
  }
  return { padsBegin, outShape };
}

const convTranspose: OpDef = {
  name: "ConvTranspose",
  pattern: "out-elementwise-fusable",
  attrs: {
    ...convAttrs,
    output_padding: { type: "ints" },
    output_shape: { type: "ints" },
  },
  infer: (ctx) => {
    const x = inputType(ctx, 0), w = inputType(ctx, 1);
    if (x.shape === null) return [{ dtype: x.dtype, shape: null }];
    const n = spatialRank("ConvTranspose", x.shape);
    const group = ctx.attrs.int("group");
    const kernel = kernelOf(ctx, w.shape, n);
    const m: Dim = w.shape !== null ? dimMul(w.shape[1]!, group) : ctx.fresh();
    const sp = kernel === null ? x.shape.slice(2).map(() => ctx.fresh()) : convTransposeGeometry(ctx, kernel, x.shape.slice(2)).outShape;
    return [{ dtype: x.dtype, shape: [x.shape[0]!, m, ...sp] }];
  },
  evaluate: (ctx) => {
    const X = req(ctx.inputs[0], "ConvTranspose", 0), W = req(ctx.inputs[1], "ConvTranspose", 1), B = ctx.inputs[2] ?? null;
    const n = spatialRank("ConvTranspose", X.shape);
    const kernel = kernelOf(ctx, W.shape, n)!;
    const group = ctx.attrs.int("group");
    const [N, C] = X.shape as [number, number];
    const Mg = W.shape[1]!, M = Mg * group;
    if (group < 1 || C % group !== 0 || W.shape[0] !== C) {
      throw new EvalError(`ConvTranspose: input channels ${C}, weight [${W.shape.join(",")}] and group ${group} are inconsistent`);
    }
    if (B && (B.shape.length !== 1 || B.shape[0] !== M)) throw new EvalError(`ConvTranspose: bias shape [${B.shape.join(",")}] must be [${M}]`);
    const inDims = X.shape.slice(2);
    const geo = convTransposeGeometry(ctx, kernel, inDims);
    const outDims = geo.outShape as number[];
    if (outDims.some((d) => d < 0)) throw new EvalError(`ConvTranspose: negative output size [${outDims.join(",")}]`);
    const strides = ctx.attrs.optInts("strides") ?? new Array<number>(n).fill(1);
    const dilations = ctx.attrs.optInts("dilations") ?? new Array<number>(n).fill(1);
    // Scatter table: for input position p and tap k, the output spatial index it adds to (or -1).
    const inSize = shapeSize(inDims), outSize = shapeSize(outDims), kSize = shapeSize(kernel);
    const outStrides = stridesOf(outDims);
    const tab = new Int32Array(inSize * kSize);
    const ip = new Array<number>(n).fill(0), kp = new Array<number>(n).fill(0);
    for (let p = 0, t = 0; p < inSize; p++) {
      kp.fill(0);
      for (let q = 0; q < kSize; q++, t++) {
        let idx = 0;
        for (let i = 0; i < n; i++) {
          const o = ip[i]! * strides[i]! + kp[i]! * dilations[i]! - geo.padsBegin[i]!;
          if (o < 0 || o >= outDims[i]!) { idx = -1; break; }
          idx += o * outStrides[i]!;
        }
        tab[t] = idx;
        for (let i = n - 1; i >= 0; i--) { if (++kp[i]! < kernel[i]!) break; kp[i] = 0; }
      }
      for (let i = n - 1; i >= 0; i--) { if (++ip[i]! < inDims[i]!) break; ip[i] = 0; }
    }
    const x = X.numbers(), wv = W.numbers(), b = B ? B.numbers() : null;
    const Cg = C / group;
    const out = new Float64Array(N * M * outSize);
    for (let nb = 0; nb < N; nb++) {
      for (let mo = 0; mo < M; mo++) {
        const g = Math.floor(mo / Mg), mi = mo % Mg;
        const oBase = (nb * M + mo) * outSize;
        if (b) out.fill(b[mo]!, oBase, oBase + outSize);
        for (let ci = 0; ci < Cg; ci++) {
          const c = g * Cg + ci;
          const xBase = (nb * C + c) * inSize;
          const wBase = (c * Mg + mi) * kSize;
          for (let p = 0, t = 0; p < inSize; p++) {
            const xv = x[xBase + p]!;
            for (let q = 0; q < kSize; q++, t++) {
              const idx = tab[t]!;
              if (idx >= 0) out[oBase + idx]! += xv * wv[wBase + q]!;
            }
          }
        }
      }
    }
    return [Tensor.fromNumbers(X.dtype, [N, M, ...outDims], out)];
  },
};

// ---------------------------------------------------------------------------------------------
// DeformConv (2-D only)

/** Bilinear sample of a [H, W] plane at base offset `base`, zero outside. */
function bilinear(x: Float64Array, base: number, H: number, W: number, h: number, w: number): number {
  if (h <= -1 || h >= H || w <= -1 || w >= W) return 0;
  const h0 = Math.floor(h), w0 = Math.floor(w);
  const dh = h - h0, dw = w - w0;
  const at = (r: number, c: number): number => (r >= 0 && r < H && c >= 0 && c < W ? x[base + r * W + c]! : 0);
  return (1 - dh) * (1 - dw) * at(h0, w0) + (1 - dh) * dw * at(h0, w0 + 1) + dh * (1 - dw) * at(h0 + 1, w0) + dh * dw * at(h0 + 1, w0 + 1);
}

const deformConv: OpDef = {
  name: "DeformConv",
  pattern: "opaque",
  attrs: {
    dilations: { type: "ints" },
    group: { type: "int", default: 1 },
    kernel_shape: { type: "ints" },
    offset_group: { type: "int", default: 1 },
    pads: { type: "ints" },
    strides: { type: "ints" },
  },
  infer: (ctx) => {
    const x = inputType(ctx, 0), w = inputType(ctx, 1);
    if (x.shape === null) return [{ dtype: x.dtype, shape: null }];
    const n = spatialRank("DeformConv", x.shape);
    const kernel = kernelOf(ctx, w.shape, n);
    const m: Dim = w.shape !== null ? w.shape[0]! : ctx.fresh();
    const sp = kernel === null
      ? x.shape.slice(2).map(() => ctx.fresh())
      : windowOutDims(readWindowAttrs(ctx, kernel, false, "NOTSET"), x.shape.slice(2));
    return [{ dtype: x.dtype, shape: [x.shape[0]!, m, ...sp] }];
  },
  evaluate: (ctx) => {
    const op = "DeformConv";
    const X = req(ctx.inputs[0], op, 0), W = req(ctx.inputs[1], op, 1), OFF = req(ctx.inputs[2], op, 2);
    const B = ctx.inputs[3] ?? null, MASK = ctx.inputs[4] ?? null;
    const n = spatialRank(op, X.shape);
    if (n !== 2) throw new UnsupportedError(`${op}: only 2-D inputs are supported, got rank ${X.shape.length}`, `${op} ${n}-D`);
    const kernel = kernelOf(ctx, W.shape, n)!;
    const win = resolveWindow(readWindowAttrs(ctx, kernel, false, "NOTSET"), X.shape.slice(2));
    const group = ctx.attrs.int("group"), og = ctx.attrs.int("offset_group");
    const [N, C, H, Wd] = X.shape as [number, number, number, number];
    const M = W.shape[0]!;
    const [oH, oW] = win.outShape as [number, number];
    const [kH, kW] = kernel as [number, number];
    const kSize = kH * kW;
    if (group < 1 || og < 1 || C % group !== 0 || M % group !== 0 || C % og !== 0 || W.shape[1]! * group !== C) {
      throw new EvalError(`${op}: channels ${C}, weight [${W.shape.join(",")}], group ${group} and offset_group ${og} are inconsistent`);
    }
    const expectOff = [N, og * 2 * kSize, oH, oW];
    if (OFF.shape.join(",") !== expectOff.join(",")) throw new EvalError(`${op}: offset shape [${OFF.shape.join(",")}] must be [${expectOff.join(",")}]`);
    const expectMask = [N, og * kSize, oH, oW];
    if (MASK && MASK.shape.join(",") !== expectMask.join(",")) throw new EvalError(`${op}: mask shape [${MASK.shape.join(",")}] must be [${expectMask.join(",")}]`);
    const x = X.numbers(), wv = W.numbers(), off = OFF.numbers();
    const mask = MASK ? MASK.numbers() : null, b = B ? B.numbers() : null;
    const Cg = C / group, Mg = M / group, Cog = C / og;
    const oSize = oH * oW;
    // Sampled input columns: cols[(c * kSize + k) * oSize + p].
    const cols = new Float64Array(C * kSize * oSize);
    const res = new Float64Array(N * M * oSize);
    for (let nb = 0; nb < N; nb++) {
      for (let c = 0; c < C; c++) {
        const g = Math.floor(c / Cog);
        const xBase = (nb * C + c) * H * Wd;
        for (let i = 0; i < kH; i++) {
          for (let j = 0; j < kW; j++) {
            const k = i * kW + j;
            const offH = ((nb * og + g) * 2 * kSize + 2 * k) * oSize;
            const offW = offH + oSize;
            const mBase = ((nb * og + g) * kSize + k) * oSize;
            for (let oh = 0; oh < oH; oh++) {
              for (let ow = 0; ow < oW; ow++) {
                const p = oh * oW + ow;
                const h = oh * win.strides[0]! - win.padsBegin[0]! + i * win.dilations[0]! + off[offH + p]!;
                const w = ow * win.strides[1]! - win.padsBegin[1]! + j * win.dilations[1]! + off[offW + p]!;
                const v = bilinear(x, xBase, H, Wd, h, w);
                cols[(c * kSize + k) * oSize + p] = mask ? v * mask[mBase + p]! : v;
              }
            }
          }
        }
      }
      for (let mo = 0; mo < M; mo++) {
        const g = Math.floor(mo / Mg);
        const oBase = (nb * M + mo) * oSize;
        for (let p = 0; p < oSize; p++) res[oBase + p] = b ? b[mo]! : 0;
        for (let ci = 0; ci < Cg; ci++) {
          const c = g * Cg + ci;
          for (let k = 0; k < kSize; k++) {
            const wk = wv[(mo * Cg + ci) * kSize + k]!;
            const cBase = (c * kSize + k) * oSize;
            for (let p = 0; p < oSize; p++) res[oBase + p]! += wk * cols[cBase + p]!;
          }
        }
      }
    }
    return [Tensor.fromNumbers(X.dtype, [N, M, oH, oW], res)];
  },
};

// ---------------------------------------------------------------------------------------------
// Col2Im

const col2im: OpDef = {
  name: "Col2Im",
  // Each output element gathers a few column entries, like Resize's taps: it fuses as an access.
  pattern: "injective",
  attrs: {
    dilations: { type: "ints" },
    pads: { type: "ints" },
    strides: { type: "ints" },
  },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const img = ctx.constants[1], blk = ctx.constants[2];
    const imgT = inputType(ctx, 1);
    const n = imgT.shape && typeof imgT.shape[0] === "number" ? imgT.shape[0] : img ? img.size : null;
    if (n === null) return [{ dtype: x.dtype, shape: null }];
    const nDim: Dim = x.shape ? x.shape[0]! : ctx.fresh();
    let cDim: Dim = ctx.fresh();
    if (x.shape && blk) {
      const prod = blk.ints().reduce((p, v) => p * v, 1);
      cDim = dimDiv(x.shape[1]!, prod);
    }
    const sp: Dim[] = img ? img.ints() : Array.from({ length: n }, () => ctx.fresh());
    return [{ dtype: x.dtype, shape: [nDim, cDim, ...sp] }];
  },
  evaluate: (ctx) => {
    const op = "Col2Im";
    const X = req(ctx.inputs[0], op, 0);
    const image = req(ctx.inputs[1], op, 1).ints(), block = req(ctx.inputs[2], op, 2).ints();
    const n = image.length;
    checkLen(op, "block_shape", block, n);
    if (X.shape.length !== 3) throw new EvalError(`${op}: input must be [N, C*prod(block), L], got [${X.shape.join(",")}]`);
    const [N, CK, L] = X.shape as [number, number, number];
    const kSize = shapeSize(block);
    if (CK % kSize !== 0) throw new EvalError(`${op}: input dim 1 (${CK}) is not a multiple of prod(block_shape) ${kSize}`);
    const C = CK / kSize;
    const win = resolveWindow(readWindowAttrs(ctx, block, false, "NOTSET"), image);
    if (shapeSize(win.outShape) !== L) throw new EvalError(`${op}: input has ${L} blocks, image/block geometry gives ${shapeSize(win.outShape)}`);
    const tab = windowTable(win, image);
    const x = X.numbers();
    const imgSize = shapeSize(image);
    const out = new Float64Array(N * C * imgSize);
    for (let nb = 0; nb < N; nb++) {
      for (let c = 0; c < C; c++) {
        const oBase = (nb * C + c) * imgSize;
        for (let l = 0; l < L; l++) {
          for (let k = 0; k < kSize; k++) {
            const idx = tab[l * kSize + k]!;
            if (idx >= 0) out[oBase + idx]! += x[((nb * C + c) * kSize + k) * L + l]!;
          }
        }
      }
    }
    return [Tensor.fromNumbers(X.dtype, [N, C, ...image], out)];
  },
};

export const ops: OpDef[] = [conv, convTranspose, deformConv, col2im];
