/**
 * Quantization: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger, ConvInteger,
 * QLinearMatMul, QLinearConv. Integer arithmetic is exact in float64 (|values| stay far below 2^53).
 */
import { f16round } from "@petamoriken/float16";
import { type DType, dtypeFromOnnx, isFloat } from "../ir/dtype.js";
import { EvalError, ModelError, UnsupportedError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import { Tensor, shapeSize } from "../ir/tensor.js";
import type { Dim, TensorType } from "../ir/types.js";
import { AUTO_PADS, kernelOf, readWindowAttrs, resolveWindow, windowOutDims, windowTable } from "./conv.js";
import { matmulInto } from "./matmul.js";
import type { AttrSchema, EvalContext, InferContext, OpDef } from "./registry.js";
import { broadcastDims, broadcastIndex, broadcastShapes, inputType, normAxis, req } from "./util.js";

/** Value ranges of the integer types a quantized tensor can have. */
const RANGES: Partial<Record<DType, readonly [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
};

function rangeOf(op: string, d: DType, allowInt32 = false): readonly [number, number] {
  const r = RANGES[d];
  if (r === undefined || (d === "int32" && !allowInt32)) throw new UnsupportedError(`${op}: quantized type ${d} is not supported`, `${op} ${d}`);
  return r;
}

/** Round half to even (numpy rint). */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const clamp = (v: number, [lo, hi]: readonly [number, number]): number => Math.min(hi, Math.max(lo, v));

/** Rounding to a float dtype's precision (float64 and integer arithmetic need none). */
function roundTo(d: DType): (v: number) => number {
  if (d === "float32") return Math.fround;
  if (d === "float16") return f16round;
  return (v) => v;
}

/** Whether output i is wanted by the node. */
const wanted = (ctx: EvalContext, i: number): boolean => i < ctx.outputCount && (ctx.node.outputs[i] ?? "") !== "";

// ---------------------------------------------------------------------------------------------
// QuantizeLinear / DequantizeLinear

/**
 * For each element of x, the flat index of its scale / zero point: null when per-tensor,
 * otherwise per-axis (a 1-D parameter along `axis`) or blocked (parameter dim = ceil(x dim / block)).
 */
function paramIndex(op: string, xShape: readonly number[], p: Tensor, axisAttr: number, block: number, opset: number): Int32Array | null {
  if (p.size === 1 && (block === 0 || p.rank <= 1)) return null;
  if (opset < 13) throw new ModelError(`${op}: scale must be a scalar before opset 13, got shape [${p.shape.join(",")}]`);
  const ax = normAxis(axisAttr, xShape.length, op);
  const d = xShape[ax]!;
  const inner = shapeSize(xShape.slice(ax + 1));
  const n = shapeSize(xShape);
  const idx = new Int32Array(n);
  if (block === 0) {
    if (p.rank !== 1 || p.shape[0] !== d) {
      throw new EvalError(`${op}: per-axis parameter shape [${p.shape.join(",")}] does not match dim ${d} of axis ${ax} of [${xShape.join(",")}]`);
    }
    for (let i = 0; i < n; i++) idx[i] = Math.floor(i / inner) % d;
    return idx;
  }
  if (block < 0) throw new ModelError(`${op}: block_size must be positive, got ${block}`);
  const pd = Math.ceil(d / block);
  if (p.rank !== xShape.length || p.shape.some((s, j) => (j === ax ? s !== pd : s !== xShape[j]))) {
    throw new EvalError(`${op}: blocked parameter shape [${p.shape.join(",")}] does not fit [${xShape.join(",")}] with block_size ${block} on axis ${ax}`);
  }
  for (let i = 0; i < n; i++) {
    const o = Math.floor(i / (d * inner)), a = Math.floor(i / inner) % d, r = i % inner;
    idx[i] = (o * pd + Math.floor(a / block)) * inner + r;
  }
  return idx;
}

/** Parameter value for element i. */
const at = (v: Float64Array, idx: Int32Array | null, i: number): number => v[idx === null ? 0 : idx[i]!]!;

const blockSizeOf = (ctx: InferContext | EvalContext): number => (ctx.opset >= 21 ? ctx.attrs.int("block_size") : 0);

/** Per-tensor unless the node is blocked or names an axis (the scale's shape is not visible from the node). */
function quantPattern(n: Node): "elementwise" | "broadcast" {
  const bs = n.attrs["block_size"];
  const blocked = bs?.type === "int" && bs.value > 0;
  return blocked || "axis" in n.attrs ? "broadcast" : "elementwise";
}

/** QuantizeLinear's output type: the zero point's, else output_dtype, else uint8. */
function quantizeOutDtype(ctx: InferContext | EvalContext, zp: DType | undefined): DType {
  const od = ctx.opset >= 21 ? ctx.attrs.int("output_dtype") : 0;
  const fromAttr = od !== 0 ? dtypeFromOnnx(od, "QuantizeLinear output_dtype") : undefined;
  if (zp !== undefined && fromAttr !== undefined && zp !== fromAttr) {
    throw new ModelError(`QuantizeLinear: output_dtype ${fromAttr} does not match the zero point's type ${zp}`);
  }
  const d = zp ?? fromAttr ?? "uint8";
  rangeOf("QuantizeLinear", d);
  return d;
}

const quantizeLinear: OpDef = {
  name: "QuantizeLinear",
  pattern: quantPattern,
  attrs: {
    axis: { type: "int", default: 1, since: 13 },
    saturate: { type: "int", default: 1, since: 19 },
    block_size: { type: "int", default: 0, since: 21 },
    output_dtype: { type: "int", default: 0, since: 21 },
    precision: { type: "int", default: 0, since: 23 },
  },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    return [{ dtype: quantizeOutDtype(ctx, ctx.inputs[2]?.dtype), shape: x.shape }];
  },
  evaluate: (ctx) => {
    const op = "QuantizeLinear";
    const X = req(ctx.inputs[0], op, 0), S = req(ctx.inputs[1], op, 1), Z = ctx.inputs[2] ?? null;
    const outDtype = quantizeOutDtype(ctx, Z?.dtype);
    const range = rangeOf(op, outDtype);
    const axis = ctx.opset >= 13 ? ctx.attrs.int("axis") : 1;
    const block = blockSizeOf(ctx);
    const sIdx = paramIndex(op, X.shape, S, axis, block, ctx.opset);
    const zIdx = Z ? paramIndex(op, X.shape, Z, axis, block, ctx.opset) : null;
    // x / scale is computed in `precision` if given, else in the inputs' common float type.
    const prec = ctx.opset >= 23 ? ctx.attrs.int("precision") : 0;
    const pd: DType = prec !== 0 ? dtypeFromOnnx(prec, "QuantizeLinear precision") : isFloat(X.dtype) && X.dtype === S.dtype ? X.dtype : "float64";
    const r = roundTo(pd);
    const x = X.numbers(), s = S.numbers(), z = Z ? Z.numbers() : null;
    const out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const q = rint(r(r(x[i]!) / r(at(s, sIdx, i))));
      out[i] = clamp(q + (z ? at(z, zIdx, i) : 0), range);
    }
    return [Tensor.fromNumbers(outDtype, X.shape, out)];
  },
};

function dequantizeOutDtype(ctx: InferContext | EvalContext, scale: DType): DType {
  const od = ctx.opset >= 23 ? ctx.attrs.int("output_dtype") : 0;
  return od !== 0 ? dtypeFromOnnx(od, "DequantizeLinear output_dtype") : scale;
}

const dequantizeLinear: OpDef = {
  name: "DequantizeLinear",
  pattern: quantPattern,
  attrs: {
    axis: { type: "int", default: 1, since: 13 },
    block_size: { type: "int", default: 0, since: 21 },
    output_dtype: { type: "int", default: 0, since: 23 },
  },
  infer: (ctx) => {
    const x = inputType(ctx, 0), s = inputType(ctx, 1);
    rangeOf("DequantizeLinear", x.dtype, true);
    return [{ dtype: dequantizeOutDtype(ctx, s.dtype), shape: x.shape }];
  },
  evaluate: (ctx) => {
    const op = "DequantizeLinear";
    const X = req(ctx.inputs[0], op, 0), S = req(ctx.inputs[1], op, 1), Z = ctx.inputs[2] ?? null;
    rangeOf(op, X.dtype, true);
    if (Z && Z.dtype !== X.dtype) throw new ModelError(`${op}: zero point type ${Z.dtype} differs from input type ${X.dtype}`);
    const axis = ctx.opset >= 13 ? ctx.attrs.int("axis") : 1;
    const block = blockSizeOf(ctx);
    const sIdx = paramIndex(op, X.shape, S, axis, block, ctx.opset);
    const zIdx = Z ? paramIndex(op, X.shape, Z, axis, block, ctx.opset) : null;
    const x = X.numbers(), s = S.numbers(), z = Z ? Z.numbers() : null;
    const out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = (x[i]! - (z ? at(z, zIdx, i) : 0)) * at(s, sIdx, i);
    return [Tensor.fromNumbers(dequantizeOutDtype(ctx, S.dtype), X.shape, out)];
  },
};

// ---------------------------------------------------------------------------------------------
// DynamicQuantizeLinear

const dynamicQuantizeLinear: OpDef = {
  name: "DynamicQuantizeLinear",
  pattern: "opaque",
  attrs: {},
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    return [{ dtype: "uint8", shape: x.shape }, { dtype: x.dtype, shape: [] }, { dtype: "uint8", shape: [] }];
  },
  evaluate: (ctx) => {
    const X = req(ctx.inputs[0], "DynamicQuantizeLinear", 0);
    const x = X.numbers();
    const f = Math.fround;
    let lo = 0, hi = 0;
    for (const v of x) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    // The range always holds 0; when it is empty (all zeros) the scale is 1, not 0.
    const scale = hi === lo ? 1 : f(f(hi - lo) / 255);
    const zp = rint(clamp(f(0 - f(lo / scale)), [0, 255]));
    const y = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) y[i] = clamp(rint(f(x[i]! / scale)) + zp, [0, 255]);
    return [
      wanted(ctx, 0) ? Tensor.fromNumbers("uint8", X.shape, y) : null,
      wanted(ctx, 1) ? Tensor.scalar(X.dtype, scale) : null,
      wanted(ctx, 2) ? Tensor.scalar("uint8", zp) : null,
    ];
  },
};

// ---------------------------------------------------------------------------------------------
// Integer matrix products

/** Output shape of a numpy matmul of `a` and `b` (possibly symbolic). */
function matmulShape(op: string, a: readonly Dim[] | null, b: readonly Dim[] | null): Dim[] | null {
  if (a === null || b === null) return null;
  if (a.length === 0 || b.length === 0) throw new ModelError(`${op}: operands must have rank >= 1`);
  const as = a.length === 1 ? [1, a[0]!] : a;
  const bs = b.length === 1 ? [b[0]!, 1] : b;
  const k1 = as[as.length - 1]!, k2 = bs[bs.length - 2]!;
  if (typeof k1 === "number" && typeof k2 === "number" && k1 !== k2) throw new ModelError(`${op}: inner dimensions ${k1} and ${k2} do not match`);
  const shape: Dim[] = [...broadcastDims([as.slice(0, -2), bs.slice(0, -2)])!];
  if (a.length > 1) shape.push(as[as.length - 2]!);
  if (b.length > 1) shape.push(bs[bs.length - 1]!);
  return shape;
}

/**
 * A quantization parameter expanded to `shape`: a single value, a 1-D per-row vector (rows are
 * shape[-2]) when `perRow`, or anything numpy-broadcastable to `shape` (per-column vectors, N-D).
 */
function expandParam(op: string, what: string, p: Tensor, shape: readonly number[], perRow: boolean): Float64Array {
  const v = p.numbers();
  const n = shapeSize(shape);
  if (p.size === 1) return new Float64Array(n).fill(v[0]!);
  const ps = perRow && p.rank === 1 && shape.length >= 2 ? [p.size, 1] : p.shape;
  const fits = ps.length <= shape.length && broadcastShapesOrNull([ps, shape])?.every((d, i) => d === shape[i]);
  if (!fits) throw new EvalError(`${op}: ${what} of shape [${p.shape.join(",")}] does not fit [${shape.join(",")}]`);
  const idx = broadcastIndex(ps, shape);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = v[idx[i]!]!;
  return out;
}

function broadcastShapesOrNull(shapes: readonly (readonly number[])[]): number[] | null {
  try {
    return broadcastShapes(shapes);
  } catch {
    return null;
  }
}

/** x - zero point, elementwise over x's shape. */
function centered(op: string, what: string, X: Tensor, shape: readonly number[], Z: Tensor | null, perRow: boolean): Float64Array {
  const x = X.numbers();
  if (Z === null) return x;
  const z = expandParam(op, what, Z, shape, perRow);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! - z[i]!;
  return x;
}

interface Product {
  /** [...batch, M, N] with 1-D operands promoted to matrices. */
  readonly shape: number[];
  /** The numpy output shape (promoted dims dropped). */
  readonly outShape: number[];
  readonly values: Float64Array;
}

/** (A - azp) @ (B - bzp) with numpy batch broadcasting; azp is per-row of A, bzp per-column of B. */
function integerMatmul(op: string, A: Tensor, B: Tensor, azp: Tensor | null, bzp: Tensor | null): Product {
  if (A.rank === 0 || B.rank === 0) throw new EvalError(`${op}: operands must have rank >= 1`);
  const as = A.rank === 1 ? [1, A.shape[0]!] : [...A.shape];
  const bs = B.rank === 1 ? [B.shape[0]!, 1] : [...B.shape];
  const M = as[as.length - 2]!, K = as[as.length - 1]!, N = bs[bs.length - 1]!;
  if (bs[bs.length - 2] !== K) throw new EvalError(`${op}: inner dimensions ${K} and ${bs[bs.length - 2]} do not match`);
  const a = centered(op, "a_zero_point", A, as, azp, true);
  const b = centered(op, "b_zero_point", B, bs, bzp, false);
  const aBatch = as.slice(0, -2), bBatch = bs.slice(0, -2);
  const batch = broadcastShapes([aBatch, bBatch]);
  const nb = shapeSize(batch);
  const ai = broadcastIndex(aBatch, batch), bi = broadcastIndex(bBatch, batch);
  const values = new Float64Array(nb * M * N);
  for (let t = 0; t < nb; t++) matmulInto(values, t * M * N, a, ai[t]! * M * K, b, bi[t]! * K * N, M, K, N);
  const outShape = [...batch];
  if (A.rank > 1) outShape.push(M);
  if (B.rank > 1) outShape.push(N);
  return { shape: [...batch, M, N], outShape, values };
}

const matMulInteger: OpDef = {
  name: "MatMulInteger",
  pattern: "out-elementwise-fusable",
  attrs: {},
  infer: (ctx) => [{ dtype: "int32", shape: matmulShape("MatMulInteger", inputType(ctx, 0).shape, inputType(ctx, 1).shape) }],
  evaluate: (ctx) => {
    const op = "MatMulInteger";
    const A = req(ctx.inputs[0], op, 0), B = req(ctx.inputs[1], op, 1);
    const p = integerMatmul(op, A, B, ctx.inputs[2] ?? null, ctx.inputs[3] ?? null);
    return [Tensor.fromNumbers("int32", p.outShape, p.values)];
  },
};

/** scale_a * scale_b / scale_y computed in the scales' float type, as the ONNX reference does. */
function multiplier(r: (v: number) => number, sa: number, sb: number, sy: number): number {
  return r(r(sa * sb) / sy);
}

const qLinearMatMul: OpDef = {
  name: "QLinearMatMul",
  pattern: "out-elementwise-fusable",
  attrs: {},
  infer: (ctx) => {
    const a = inputType(ctx, 0), b = inputType(ctx, 3);
    const dtype = ctx.inputs[7]?.dtype ?? a.dtype;
    rangeOf("QLinearMatMul", dtype);
    return [{ dtype, shape: matmulShape("QLinearMatMul", a.shape, b.shape) }];
  },
  evaluate: (ctx) => {
    const op = "QLinearMatMul";
    const A = req(ctx.inputs[0], op, 0), SA = req(ctx.inputs[1], op, 1);
    const B = req(ctx.inputs[3], op, 3), SB = req(ctx.inputs[4], op, 4);
    const SY = req(ctx.inputs[6], op, 6), ZY = ctx.inputs[7] ?? null;
    const outDtype = ZY?.dtype ?? A.dtype;
    const range = rangeOf(op, outDtype);
    const p = integerMatmul(op, A, B, ctx.inputs[2] ?? null, ctx.inputs[5] ?? null);
    const sa = expandParam(op, "a_scale", SA, p.shape, true);
    const sb = expandParam(op, "b_scale", SB, p.shape, false);
    const sy = expandParam(op, "y_scale", SY, p.shape, true);
    const zy = ZY ? expandParam(op, "y_zero_point", ZY, p.shape, true) : null;
    const r = roundTo(SA.dtype);
    const out = new Float64Array(p.values.length);
    for (let i = 0; i < out.length; i++) {
      out[i] = clamp(rint(p.values[i]! * multiplier(r, sa[i]!, sb[i]!, sy[i]!) + (zy ? zy[i]! : 0)), range);
    }
    return [Tensor.fromNumbers(outDtype, p.outShape, out)];
  },
};

// ---------------------------------------------------------------------------------------------
// Integer convolutions

const convAttrs: AttrSchema = {
  auto_pad: { type: "string", default: "NOTSET", values: AUTO_PADS },
  dilations: { type: "ints" },
  group: { type: "int", default: 1 },
  kernel_shape: { type: "ints" },
  pads: { type: "ints" },
  strides: { type: "ints" },
};

function convShape(ctx: InferContext, x: TensorType, w: TensorType): Dim[] | null {
  if (x.shape === null) return null;
  if (x.shape.length < 3) throw new ModelError(`${ctx.node.op}: input must have rank >= 3 (N, C, spatial...)`);
  const n = x.shape.length - 2;
  const kernel = kernelOf(ctx, w.shape, n);
  const m: Dim = w.shape !== null ? w.shape[0]! : ctx.fresh();
  const sp = kernel === null
    ? x.shape.slice(2).map(() => ctx.fresh())
    : windowOutDims(readWindowAttrs(ctx, kernel, false, ctx.attrs.string("auto_pad")), x.shape.slice(2));
  return [x.shape[0]!, m, ...sp];
}

/** Conv of already-centered integer data: out[n][m][p] = sum_{ci,q} w[m][ci][q] * x[n][g*Cg+ci][tab[p][q]] + bias[m]. */
function integerConv(ctx: EvalContext, x: Float64Array, xShape: readonly number[], w: Float64Array, wShape: readonly number[], bias: Float64Array | null): { values: Float64Array; shape: number[] } {
  const op = ctx.node.op;
  if (xShape.length < 3) throw new EvalError(`${op}: input must have rank >= 3 (N, C, spatial...), got [${xShape.join(",")}]`);
  const kernel = kernelOf(ctx, wShape, xShape.length - 2)!;
  const group = ctx.attrs.int("group");
  const [N, C] = xShape as [number, number];
  const M = wShape[0]!;
  if (group < 1 || C % group !== 0 || M % group !== 0 || wShape[1]! * group !== C) {
    throw new EvalError(`${op}: input channels ${C}, weight [${wShape.join(",")}] and group ${group} are inconsistent`);
  }
  if (wShape.slice(2).some((d, i) => d !== kernel[i])) throw new EvalError(`${op}: kernel_shape [${kernel.join(",")}] does not match weight [${wShape.join(",")}]`);
  if (bias && bias.length !== M) throw new EvalError(`${op}: bias has ${bias.length} values, expected ${M}`);
  const inDims = xShape.slice(2);
  const win = resolveWindow(readWindowAttrs(ctx, kernel, false, ctx.attrs.string("auto_pad")), inDims);
  const inSize = shapeSize(inDims), outSize = shapeSize(win.outShape), kSize = shapeSize(kernel);
  const tab = windowTable(win, inDims);
  const Cg = C / group, Mg = M / group;
  const values = new Float64Array(N * M * outSize);
  for (let nb = 0; nb < N; nb++) {
    for (let m = 0; m < M; m++) {
      const xBase = (nb * C + Math.floor(m / Mg) * Cg) * inSize;
      const oBase = (nb * M + m) * outSize;
      for (let p = 0; p < outSize; p++) {
        let s = bias ? bias[m]! : 0;
        for (let ci = 0; ci < Cg; ci++) {
          const wBase = (m * Cg + ci) * kSize, cBase = xBase + ci * inSize;
          for (let q = 0; q < kSize; q++) {
            const idx = tab[p * kSize + q]!;
            // Padding is the zero point, i.e. zero once centered.
            if (idx >= 0) s += w[wBase + q]! * x[cBase + idx]!;
          }
        }
        values[oBase + p] = s;
      }
    }
  }
  return { values, shape: [N, M, ...win.outShape] };
}

/** The weight minus its zero point (a scalar or one per output channel). */
function centeredWeight(op: string, W: Tensor, Z: Tensor | null): Float64Array {
  const w = W.numbers();
  if (Z === null) return w;
  const z = Z.numbers();
  const M = W.shape[0] ?? 1, per = W.size / Math.max(M, 1);
  if (z.length !== 1 && z.length !== M) throw new EvalError(`${op}: weight zero point has ${z.length} values, expected 1 or ${M}`);
  for (let i = 0; i < w.length; i++) w[i] = w[i]! - z[z.length === 1 ? 0 : Math.floor(i / per)]!;
  return w;
}

/** A per-tensor parameter's single value. */
function scalarParam(op: string, what: string, p: Tensor): number {
  if (p.size !== 1) throw new EvalError(`${op}: ${what} must be a scalar, got shape [${p.shape.join(",")}]`);
  return p.numbers()[0]!;
}

const convInteger: OpDef = {
  name: "ConvInteger",
  pattern: "out-elementwise-fusable",
  attrs: convAttrs,
  infer: (ctx) => [{ dtype: "int32", shape: convShape(ctx, inputType(ctx, 0), inputType(ctx, 1)) }],
  evaluate: (ctx) => {
    const op = "ConvInteger";
    const X = req(ctx.inputs[0], op, 0), W = req(ctx.inputs[1], op, 1);
    const ZX = ctx.inputs[2] ?? null;
    const zx = ZX ? scalarParam(op, "x_zero_point", ZX) : 0;
    const x = X.numbers().map((v) => v - zx);
    const r = integerConv(ctx, x, X.shape, centeredWeight(op, W, ctx.inputs[3] ?? null), W.shape, null);
    return [Tensor.fromNumbers("int32", r.shape, r.values)];
  },
};

const qLinearConv: OpDef = {
  name: "QLinearConv",
  pattern: "out-elementwise-fusable",
  attrs: convAttrs,
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const dtype = ctx.inputs[7]?.dtype ?? x.dtype;
    rangeOf("QLinearConv", dtype);
    return [{ dtype, shape: convShape(ctx, x, inputType(ctx, 3)) }];
  },
  evaluate: (ctx) => {
    const op = "QLinearConv";
    const X = req(ctx.inputs[0], op, 0), SX = req(ctx.inputs[1], op, 1), ZX = ctx.inputs[2] ?? null;
    const W = req(ctx.inputs[3], op, 3), SW = req(ctx.inputs[4], op, 4), ZW = ctx.inputs[5] ?? null;
    const SY = req(ctx.inputs[6], op, 6), ZY = ctx.inputs[7] ?? null, B = ctx.inputs[8] ?? null;
    const outDtype = ZY?.dtype ?? X.dtype;
    const range = rangeOf(op, outDtype);
    const zx = ZX ? scalarParam(op, "x_zero_point", ZX) : 0;
    const sx = scalarParam(op, "x_scale", SX), sy = scalarParam(op, "y_scale", SY);
    const zy = ZY ? scalarParam(op, "y_zero_point", ZY) : 0;
    const x = X.numbers().map((v) => v - zx);
    const res = integerConv(ctx, x, X.shape, centeredWeight(op, W, ZW), W.shape, B ? B.numbers() : null);
    const M = res.shape[1]!, per = res.values.length / Math.max(1, res.shape[0]! * M);
    const sw = SW.numbers();
    if (sw.length !== 1 && sw.length !== M) throw new EvalError(`${op}: w_scale has ${sw.length} values, expected 1 or ${M}`);
    const r = roundTo(SX.dtype);
    const out = new Float64Array(res.values.length);
    for (let i = 0; i < out.length; i++) {
      const m = Math.floor(i / per) % M;
      out[i] = clamp(rint(res.values[i]! * multiplier(r, sx, sw[sw.length === 1 ? 0 : m]!, sy) + zy), range);
    }
    return [Tensor.fromNumbers(outDtype, res.shape, out)];
  },
};

export const ops: OpDef[] = [
  quantizeLinear, dequantizeLinear, dynamicQuantizeLinear, matMulInteger, qLinearMatMul, convInteger, qLinearConv,
];
