/** Pooling: MaxPool, AveragePool, LpPool, GlobalMaxPool, GlobalAveragePool, GlobalLpPool, MaxUnpool. */
import { dimAdd, dimMul, dimSub } from "../ir/dim.js";
import { EvalError, ModelError } from "../ir/errors.js";
import { Tensor, checkShape, shapeSize, stridesOf } from "../ir/tensor.js";
import type { Dim, TensorType } from "../ir/types.js";
import { AUTO_PADS, BEYOND_PAD, type Window, readWindowAttrs, resolveWindow, windowOutDims, windowTable } from "./conv.js";
import type { EvalContext, InferContext, OpDef } from "./registry.js";
import { inputType, req } from "./util.js";

function spatialRank(op: string, shape: readonly Dim[]): number {
  if (shape.length < 3) throw new ModelError(`${op}: input must have rank >= 3 (N, C, spatial...), got [${shape.join(",")}]`);
  return shape.length - 2;
}

function kernelAttr(ctx: InferContext | EvalContext, n: number): readonly number[] {
  const k = ctx.attrs.ints("kernel_shape");
  if (k.length !== n) throw new ModelError(`${ctx.node.op}: kernel_shape has ${k.length} values for ${n} spatial dims`);
  return k;
}

function ceilMode(ctx: InferContext | EvalContext): boolean {
  return ctx.opset >= 10 && ctx.attrs.int("ceil_mode") !== 0;
}

function poolInfer(ctx: InferContext): (TensorType | null)[] {
  const x = inputType(ctx, 0);
  if (x.shape === null) return ctx.node.outputs.map((_, i) => ({ dtype: i === 0 ? x.dtype : "int64", shape: null }));
  const n = spatialRank(ctx.node.op, x.shape);
  const w = readWindowAttrs(ctx, kernelAttr(ctx, n), ceilMode(ctx), ctx.attrs.string("auto_pad"));
  const shape = [x.shape[0]!, x.shape[1]!, ...windowOutDims(w, x.shape.slice(2))];
  const types: TensorType[] = [{ dtype: x.dtype, shape }];
  if (ctx.outputCount > 1) types.push({ dtype: "int64", shape });
  return types;
}

/** Run `reduce` over every window of every (n, c) plane; it gets the window table slice bounds. */
function poolPlanes(
  ctx: EvalContext,
  reduce: (x: Float64Array, xBase: number, tab: Int32Array, t0: number, kSize: number) => number,
): { X: Tensor; win: Window; out: Float64Array; shape: number[] } {
  const op = ctx.node.op;
  const X = req(ctx.inputs[0], op, 0);
  const n = spatialRank(op, X.shape);
  const inDims = X.shape.slice(2);
  const win = resolveWindow(readWindowAttrs(ctx, kernelAttr(ctx, n), ceilMode(ctx), ctx.attrs.string("auto_pad")), inDims);
  const tab = windowTable(win, inDims);
  const x = X.numbers();
  const planes = X.shape[0]! * X.shape[1]!;
  const inSize = shapeSize(inDims), outSize = shapeSize(win.outShape), kSize = shapeSize(win.kernel);
  const out = new Float64Array(planes * outSize);
  for (let pl = 0; pl < planes; pl++) {
    for (let p = 0; p < outSize; p++) out[pl * outSize + p] = reduce(x, pl * inSize, tab, p * kSize, kSize);
  }
  return { X, win, out, shape: [X.shape[0]!, X.shape[1]!, ...win.outShape] };
}

const windowAttrs = {
  auto_pad: { type: "string", default: "NOTSET", values: AUTO_PADS },
  kernel_shape: { type: "ints", required: true },
  pads: { type: "ints" },
  strides: { type: "ints" },
} as const;

/** Flat spatial index `idx` (row-major over dims) re-expressed column-major. */
function columnMajor(idx: number, dims: readonly number[]): number {
  let rest = idx, res = 0, stride = 1;
  const coords = new Array<number>(dims.length);
  for (let i = dims.length - 1; i >= 0; i--) {
    coords[i] = rest % dims[i]!;
    rest = Math.floor(rest / dims[i]!);
  }
  for (let i = 0; i < dims.length; i++) {
    res += coords[i]! * stride;
    stride *= dims[i]!;
  }
  return res;
}

const maxPool: OpDef = {
  name: "MaxPool",
  pattern: "opaque",
  attrs: {
    ...windowAttrs,
    ceil_mode: { type: "int", default: 0, since: 10 },
    dilations: { type: "ints", since: 10 },
    storage_order: { type: "int", default: 0, since: 8 },
  },
  infer: poolInfer,
  evaluate: (ctx) => {
    const wantIndices = ctx.outputCount > 1 && ctx.node.outputs[1] !== "";
    const argmax: number[] = [];
    const { X, out, shape } = poolPlanes(ctx, (x, base, tab, t0, k) => {
      let best = -Infinity, at = -1;
      for (let t = t0; t < t0 + k; t++) {
        const idx = tab[t]!;
        // NaN wins and stays, as in ReduceMax and the compiled kernels.
        if (idx >= 0 && (at < 0 || x[base + idx]! > best || (Number.isNaN(x[base + idx]!) && !Number.isNaN(best)))) {
          best = x[base + idx]!;
          at = idx;
        }
      }
      if (wantIndices) argmax.push(at);
      return best;
    });
    if (!wantIndices) return ctx.outputCount > 1 ? [Tensor.fromNumbers(X.dtype, shape, out), null] : [Tensor.fromNumbers(X.dtype, shape, out)];
    const inDims = X.shape.slice(2);
    const inSize = shapeSize(inDims), outSize = shapeSize(shape.slice(2));
    const colMajor = ctx.attrs.int("storage_order") === 1;
    const ind = new Float64Array(argmax.length);
    for (let i = 0; i < argmax.length; i++) {
      const plane = Math.floor(i / outSize), a = argmax[i]!;
      ind[i] = a < 0 ? -1 : plane * inSize + (colMajor ? columnMajor(a, inDims) : a);
    }
    return [Tensor.fromNumbers(X.dtype, shape, out), Tensor.fromNumbers("int64", shape, ind)];
  },
};

const averagePool: OpDef = {
  name: "AveragePool",
  pattern: "opaque",
  attrs: {
    ...windowAttrs,
    ceil_mode: { type: "int", default: 0, since: 10 },
    count_include_pad: { type: "int", default: 0, since: 7 },
    dilations: { type: "ints", since: 19 },
  },
  infer: poolInfer,
  evaluate: (ctx) => {
    const includePad = ctx.opset >= 7 && ctx.attrs.int("count_include_pad") !== 0;
    const { X, out, shape } = poolPlanes(ctx, (x, base, tab, t0, k) => {
      let sum = 0, count = 0;
      for (let t = t0; t < t0 + k; t++) {
        const idx = tab[t]!;
        if (idx >= 0) {
          sum += x[base + idx]!;
          count++;
        } else if (includePad && idx !== BEYOND_PAD) count++;
      }
      return count === 0 ? NaN : sum / count;
    });
    return [Tensor.fromNumbers(X.dtype, shape, out)];
  },
};

const lpPool: OpDef = {
  name: "LpPool",
  pattern: "opaque",
  attrs: {
    ...windowAttrs,
    ceil_mode: { type: "int", default: 0, since: 18 },
    dilations: { type: "ints", since: 18 },
    p: { type: "int", default: 2 },
  },
  infer: poolInfer,
  evaluate: (ctx) => {
    const p = ctx.attrs.int("p");
    const { X, out, shape } = poolPlanes(ctx, (x, base, tab, t0, k) => {
      let sum = 0;
      for (let t = t0; t < t0 + k; t++) {
        const idx = tab[t]!;
        if (idx >= 0) sum += Math.abs(x[base + idx]!) ** p;
      }
      return sum ** (1 / p);
    });
    return [Tensor.fromNumbers(X.dtype, shape, out)];
  },
};

/** A global pool: reduce each (n, c) plane to one value. */
function globalPool(name: string, reduce: (ctx: EvalContext) => (x: Float64Array, start: number, len: number) => number, attrs = {}): OpDef {
  return {
    name,
    pattern: "opaque",
    attrs,
    infer: (ctx) => {
      const x = inputType(ctx, 0);
      if (x.shape === null) return [{ dtype: x.dtype, shape: null }];
      spatialRank(name, x.shape);
      return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (i < 2 ? d : 1)) }];
    },
    evaluate: (ctx) => {
      const X = req(ctx.inputs[0], name, 0);
      spatialRank(name, X.shape);
      const planes = X.shape[0]! * X.shape[1]!;
      const size = shapeSize(X.shape.slice(2));
      const x = X.numbers();
      const f = reduce(ctx);
      const out = new Float64Array(planes);
      for (let pl = 0; pl < planes; pl++) out[pl] = f(x, pl * size, size);
      return [Tensor.fromNumbers(X.dtype, X.shape.map((d, i) => (i < 2 ? d : 1)), out)];
    },
  };
}

const globalMaxPool = globalPool("GlobalMaxPool", () => (x, s, n) => {
  let m = -Infinity;
  for (let i = s; i < s + n; i++) if (x[i]! > m || (Number.isNaN(x[i]!) && !Number.isNaN(m))) m = x[i]!;
  return m;
});

const globalAveragePool = globalPool("GlobalAveragePool", () => (x, s, n) => {
  let sum = 0;
  for (let i = s; i < s + n; i++) sum += x[i]!;
  return sum / n;
});

const globalLpPool = globalPool("GlobalLpPool", (ctx) => {
  const p = ctx.attrs.int("p");
  return (x, s, n) => {
    let sum = 0;
    for (let i = s; i < s + n; i++) sum += Math.abs(x[i]!) ** p;
    return sum ** (1 / p);
  };
}, { p: { type: "int", default: 2 } });

/** MaxUnpool's default output dims: (in-1)*stride + kernel - pads. */
function unpoolDims(ctx: InferContext | EvalContext, inDims: readonly Dim[]): Dim[] {
  const n = inDims.length;
  const k = kernelAttr(ctx, n);
  const s = ctx.attrs.optInts("strides") ?? new Array<number>(n).fill(1);
  const pads = ctx.attrs.optInts("pads") ?? new Array<number>(2 * n).fill(0);
  if (s.length !== n || pads.length !== 2 * n) throw new ModelError(`MaxUnpool: strides/pads do not match ${n} spatial dims`);
  if (k.some((v) => !Number.isInteger(v) || v < 1)) throw new ModelError(`MaxUnpool: kernel_shape [${k.join(",")}] must be positive`);
  if (s.some((v) => !Number.isInteger(v) || v < 1)) throw new ModelError(`MaxUnpool: strides [${s.join(",")}] must be positive`);
  const dims = inDims.map((d, i) => dimAdd(dimMul(dimSub(d, 1), s[i]!), k[i]! - pads[i]! - pads[i + n]!));
  if (dims.some((d) => typeof d === "number" && d < 0)) {
    throw new ModelError(`MaxUnpool: pads [${pads.join(",")}] exceed the unpooled size [${dims.join(",")}]`);
  }
  return dims;
}

const maxUnpool: OpDef = {
  name: "MaxUnpool",
  pattern: "opaque",
  attrs: {
    kernel_shape: { type: "ints", required: true },
    pads: { type: "ints" },
    strides: { type: "ints" },
  },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    if (ctx.inputs[2]) {
      const os = ctx.constants[2];
      if (os) {
        checkShape(os.ints(), "MaxUnpool output_shape");
        return [{ dtype: x.dtype, shape: os.ints() }];
      }
      const t = ctx.inputs[2];
      const len = t.shape?.[0];
      return [{ dtype: x.dtype, shape: typeof len === "number" ? Array.from({ length: len }, () => ctx.fresh()) : null }];
    }
    if (x.shape === null) return [{ dtype: x.dtype, shape: null }];
    spatialRank("MaxUnpool", x.shape);
    return [{ dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...unpoolDims(ctx, x.shape.slice(2))] }];
  },
  evaluate: (ctx) => {
    const X = req(ctx.inputs[0], "MaxUnpool", 0), I = req(ctx.inputs[1], "MaxUnpool", 1);
    spatialRank("MaxUnpool", X.shape);
    if (I.shape.join(",") !== X.shape.join(",")) throw new EvalError(`MaxUnpool: indices shape [${I.shape.join(",")}] must equal input shape [${X.shape.join(",")}]`);
    // Indices address the default unpooled shape; an explicit output_shape only adds room at the ends.
    const natural = [X.shape[0]!, X.shape[1]!, ...(unpoolDims(ctx, X.shape.slice(2)) as number[])];
    const shape = ctx.inputs[2] ? ctx.inputs[2].ints() : natural;
    if (shape.length !== X.shape.length) throw new EvalError(`MaxUnpool: output_shape [${shape.join(",")}] has the wrong rank`);
    checkShape(shape, "MaxUnpool output");
    const out = new Float64Array(shapeSize(shape));
    const x = X.numbers(), ind = I.numbers();
    const natStrides = stridesOf(natural), outStrides = stridesOf(shape);
    for (let i = 0; i < x.length; i++) {
      let rest = ind[i]!, j = 0;
      if (rest < 0 || rest >= shapeSize(natural)) throw new EvalError(`MaxUnpool: index ${rest} is out of range for [${natural.join(",")}]`);
      for (let d = 0; d < natural.length; d++) {
        const c = Math.floor(rest / natStrides[d]!);
        rest -= c * natStrides[d]!;
        if (c >= shape[d]!) throw new EvalError(`MaxUnpool: index ${ind[i]} falls outside output_shape [${shape.join(",")}]`);
        j += c * outStrides[d]!;
      }
      out[j] = x[i]!;
    }
    return [Tensor.fromNumbers(X.dtype, shape, out)];
  },
};

export const ops: OpDef[] = [maxPool, averagePool, lpPool, globalMaxPool, globalAveragePool, globalLpPool, maxUnpool];
