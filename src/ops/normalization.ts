/** Softmax family and normalizations: Softmax, LogSoftmax, Hardmax, BatchNormalization, LayerNormalization, RMSNormalization, GroupNormalization, InstanceNormalization, LpNormalization, MeanVarianceNormalization, LRN, Dropout. */
import type { DType } from "../ir/dtype.js";
import { EvalError, ModelError, UnsupportedError } from "../ir/errors.js";
import { Tensor, shapeSize } from "../ir/tensor.js";
import type { Dim, TensorType } from "../ir/types.js";
import type { Node } from "../ir/graph.js";
import type { EvalContext, InferContext, OpDef } from "./registry.js";
import { groupAlong, maxOf } from "./reduce.js";
import { broadcastIndex, inputType, normAxes, normAxis, req, sameAsInput } from "./util.js";

/**
 * Calls `f` once per row of `x` viewed as [outer, n, inner] (n = the row length), with the
 * flat indices of the row's elements.
 */
function forEachRow(outer: number, n: number, inner: number, f: (idx: number[]) => void): void {
  const idx = new Array<number>(n);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      for (let i = 0; i < n; i++) idx[i] = (o * n + i) * inner + j;
      f(idx);
    }
  }
}

// ---------------------------------------------------------------- Softmax, LogSoftmax, Hardmax

/**
 * Before opset 13 the input is coerced to 2-D at `axis` and the op works on whole rows; from 13
 * it works along the single axis.
 */
function softmaxLike(name: string, rowFn: (vals: number[]) => number[]): OpDef {
  return {
    name,
    pattern: "opaque",
    attrs: { axis: { type: "int", default: (opset) => (opset >= 13 ? -1 : 1) } },
    infer: sameAsInput(0),
    evaluate: (ctx) => {
      const x = req(ctx.inputs[0], name, 0);
      const v = x.numbers();
      const out = new Float64Array(v.length);
      if (x.rank === 0) throw new ModelError(`${name}: input must have rank >= 1`);
      const axis = normAxis(ctx.attrs.int("axis"), x.rank, name);
      const outer = shapeSize(x.shape.slice(0, axis));
      const [n, inner] = ctx.opset >= 13
        ? [x.shape[axis]!, shapeSize(x.shape.slice(axis + 1))]
        : [shapeSize(x.shape.slice(axis)), 1];
      forEachRow(outer, n, inner, (idx) => {
        const r = rowFn(idx.map((i) => v[i]!));
        idx.forEach((i, k) => (out[i] = r[k]!));
      });
      return [Tensor.fromNumbers(x.dtype, x.shape, out)];
    },
  };
}

function softmaxRow(vals: number[]): number[] {
  const m = maxOf(vals);
  const e = vals.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** log(softmax(x)) = x - max - log(sum(exp(x - max))), stable for large inputs. */
export function logSoftmaxRow(vals: number[]): number[] {
  const m = maxOf(vals);
  const lse = Math.log(vals.reduce((a, x) => a + Math.exp(x - m), 0));
  return vals.map((x) => x - m - lse);
}

function hardmaxRow(vals: number[]): number[] {
  let best = 0;
  for (let i = 1; i < vals.length; i++) if (vals[i]! > vals[best]!) best = i;
  return vals.map((_, i) => (i === best ? 1 : 0));
}

// ---------------------------------------------------------------- helpers

const mean = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
/** Population variance, as numpy's var. */
function variance(v: readonly number[], m: number): number {
  return v.reduce((a, x) => a + (x - m) * (x - m), 0) / v.length;
}

/** Shape with dims from `axis` on replaced by 1 (LayerNormalization's Mean/InvStdDev). */
function keepLeading<D extends Dim>(shape: readonly D[], axis: number): Dim[] {
  return shape.map((d, i) => (i < axis ? d : 1));
}

/** The dtype named by a stash_type attribute. */
function stashDtype(code: number, op: string): DType {
  if (code === 1) return "float32";
  if (code === 11) return "float64";
  if (code === 10) return "float16";
  throw new UnsupportedError(`${op}: stash_type ${code} is not supported`, `${op} stash_type ${code}`);
}

/** Rounds through the stash dtype, so intermediate statistics have its precision. */
function stashRound(d: DType): (x: number) => number {
  if (d === "float32") return Math.fround;
  if (d === "float16") return (x) => Tensor.fromNumbers("float16", [], [x]).numbers()[0]!;
  return (x) => x;
}

/** Values of `t` broadcast (unidirectionally) to `shape`. */
function broadcastTo(t: Tensor, shape: readonly number[]): Float64Array {
  const v = t.numbers();
  const idx = broadcastIndex(t.shape, shape);
  return Float64Array.from(idx, (i) => v[i]!);
}

// ---------------------------------------------------------------- BatchNormalization

/** Whether the node computes batch statistics: training_mode from opset 14, is_test=0 before opset 7. */
function bnTraining(ctx: InferContext | EvalContext): boolean {
  return ctx.opset >= 14 ? ctx.attrs.int("training_mode") !== 0 : ctx.opset < 7 && ctx.attrs.int("is_test") === 0;
}

/** The running statistics (outputs 1 and 2) exist only in training; asking for them otherwise is a malformed node. */
function checkStatOutputs(ctx: InferContext | EvalContext, training: boolean): void {
  if (training || (ctx.opset >= 7 && ctx.opset < 14)) return;
  const i = [1, 2].find((k) => (ctx.node.outputs[k] ?? "") !== "");
  if (i === undefined) return;
  const flag = ctx.opset >= 14 ? `training_mode=${ctx.attrs.int("training_mode")}` : "is_test=1";
  throw new ModelError(`BatchNormalization: output ${i} ("${ctx.node.outputs[i]}") is a running statistic, which it does not compute with ${flag}`);
}

const batchNorm: OpDef = {
  name: "BatchNormalization",
  pattern: "opaque",
  attrs: {
    epsilon: { type: "float", default: 1e-5 },
    momentum: { type: "float", default: 0.9 },
    spatial: { type: "int", default: 1, until: 9 },
    is_test: { type: "int", default: 0, until: 7 },
    consumed_inputs: { type: "ints", until: 6 },
    training_mode: { type: "int", default: 0, since: 14 },
  },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const runMean = ctx.inputs[3] ?? x;
    const stat: TensorType = { dtype: runMean.dtype, shape: x.shape === null ? null : [x.shape[1] ?? 1] };
    // scale, B, mean and var hold one value per channel: a kernel reads C of each.
    const perChannel = !(ctx.opset < 9 && ctx.attrs.int("spatial") === 0);
    const channels = x.shape === null || !perChannel ? undefined : x.shape[1] ?? 1;
    for (let i = 1; i <= 4; i++) {
      const p = ctx.inputs[i]?.shape;
      if (p && typeof channels === "number" && (p.length !== 1 || (typeof p[0] === "number" && p[0] !== channels))) {
        throw new ModelError(`BatchNormalization: input ${i} has shape [${p.join(",")}], but the input has ${channels} channels`);
      }
    }
    checkStatOutputs(ctx, bnTraining(ctx));
    // Y and the running statistics from opset 14; before it, also the saved mean and variance.
    const count = Math.min(ctx.outputCount, ctx.opset >= 14 ? 3 : 5);
    return [x, ...Array.from({ length: count - 1 }, () => stat)];
  },
  evaluate: (ctx) => {
    const op = "BatchNormalization";
    const x = req(ctx.inputs[0], op, 0);
    const scale = req(ctx.inputs[1], op, 1).numbers();
    const bias = req(ctx.inputs[2], op, 2).numbers();
    const meanT = req(ctx.inputs[3], op, 3);
    const runMean = meanT.numbers();
    const runVar = req(ctx.inputs[4], op, 4).numbers();
    if (ctx.opset < 9 && ctx.attrs.int("spatial") === 0) throw new UnsupportedError(`${op}: spatial=0 is not supported`, `${op} spatial=0`);
    const training = bnTraining(ctx);
    checkStatOutputs(ctx, training);
    const wants = (i: number): boolean => (ctx.node.outputs[i] ?? "") !== "";
    if (ctx.opset < 14 && ctx.opset >= 7 && [1, 2, 3, 4].some(wants)) {
      throw new UnsupportedError(`${op}: training outputs before opset 14 are not supported`, `${op} training outputs opset<14`);
    }
    if (ctx.opset < 7 && [3, 4].some(wants)) throw new UnsupportedError(`${op}: saved statistics outputs are not supported`, `${op} saved outputs`);
    const eps = ctx.attrs.float("epsilon");
    const C = x.rank > 1 ? x.shape[1]! : 1;
    const outer = x.shape[0] ?? 1;
    const inner = shapeSize(x.shape.slice(2));
    const v = x.numbers();
    let useMean = runMean;
    let useVar = runVar;
    if (training) {
      const groups = groupAlong(v, x.shape, new Set(x.shape.map((_, i) => i).filter((i) => i !== 1)));
      useMean = Float64Array.from(groups, mean);
      useVar = Float64Array.from(groups, (g, c) => variance(g, useMean[c]!));
    }
    const y = new Float64Array(v.length);
    for (let n = 0; n < outer; n++) {
      for (let c = 0; c < C; c++) {
        const base = (n * C + c) * inner;
        const s = scale[c]! / Math.sqrt(useVar[c]! + eps);
        for (let i = 0; i < inner; i++) y[base + i] = (v[base + i]! - useMean[c]!) * s + bias[c]!;
      }
    }
    const outs: (Tensor | null)[] = [Tensor.fromNumbers(x.dtype, x.shape, y)];
    if (training) {
      const mom = ctx.attrs.float("momentum");
      const rm = runMean.map((m, c) => m * mom + useMean[c]! * (1 - mom));
      const rv = runVar.map((m, c) => m * mom + useVar[c]! * (1 - mom));
      outs.push(Tensor.fromNumbers(meanT.dtype, [C], rm), Tensor.fromNumbers(meanT.dtype, [C], rv));
    }
    return outs.slice(0, ctx.outputCount);
  },
};

// ---------------------------------------------------------------- LayerNormalization, RMSNormalization

/** Scale and bias must broadcast to X one way (each dim 1 or X's), or the kernels read past them. */
function checkAffineInputs(ctx: InferContext, x: TensorType): void {
  for (let i = 1; i < ctx.inputs.length; i++) {
    const t = ctx.inputs[i];
    if (!t || t.shape === null || x.shape === null) continue;
    const xs = x.shape, off = xs.length - t.shape.length;
    const bad = off < 0 || t.shape.some((d, k) => typeof d === "number" && d !== 1 && typeof xs[off + k] === "number" && d !== xs[off + k]);
    if (bad) throw new ModelError(`${ctx.node.op}: input ${i} of shape [${t.shape.join(",")}] does not broadcast to X's [${xs.join(",")}]`);
  }
}

function inferLayerNorm(ctx: InferContext): (TensorType | null)[] {
  const x = inputType(ctx, 0);
  checkAffineInputs(ctx, x);
  const out: (TensorType | null)[] = [x];
  if (ctx.outputCount > 1) {
    const dtype = stashDtype(ctx.attrs.int("stash_type"), ctx.node.op);
    const shape = x.shape === null ? null : keepLeading(x.shape, normAxis(ctx.attrs.int("axis"), x.shape.length, ctx.node.op));
    for (let i = 1; i < ctx.outputCount; i++) out.push({ dtype, shape });
  }
  return out;
}

/** Normalizes every row of x over the dims from `axis` on; `rowStats` gives (mean, 1/std) of a row. */
function normalizeRows(
  ctx: EvalContext,
  rowStats: (row: number[], eps: number, round: (x: number) => number) => [number, number],
): { x: Tensor; y: Float64Array; means: number[]; invStd: number[]; axis: number; stash: DType } {
  const op = ctx.node.op;
  const x = req(ctx.inputs[0], op, 0);
  const axis = normAxis(ctx.attrs.int("axis"), x.rank, op);
  const stash = stashDtype(ctx.attrs.int("stash_type"), op);
  const round = stashRound(stash);
  const eps = ctx.attrs.float("epsilon");
  const v = x.numbers();
  const rows = shapeSize(x.shape.slice(0, axis));
  const cols = shapeSize(x.shape.slice(axis));
  const y = new Float64Array(v.length);
  const means: number[] = [];
  const invStd: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from(v.subarray(r * cols, (r + 1) * cols), round);
    const [m, inv] = rowStats(row, eps, round);
    means.push(m);
    invStd.push(inv);
    for (let c = 0; c < cols; c++) y[r * cols + c] = round(round(row[c]! - m) * inv);
  }
  return { x, y, means, invStd, axis, stash };
}

const layerNorm: OpDef = {
  name: "LayerNormalization",
  pattern: "opaque",
  attrs: {
    axis: { type: "int", default: -1 },
    epsilon: { type: "float", default: 1e-5 },
    stash_type: { type: "int", default: 1 },
  },
  infer: inferLayerNorm,
  evaluate: (ctx) => {
    const op = "LayerNormalization";
    const { x, y, means, invStd, axis, stash } = normalizeRows(ctx, (row, eps, round) => {
      const m = round(mean(row));
      const diff = row.map((a) => round(a - m));
      const var_ = round(diff.reduce((a, d) => a + round(d * d), 0) / row.length);
      return [m, round(1 / round(Math.sqrt(round(var_ + eps))))];
    });
    const scale = broadcastTo(req(ctx.inputs[1], op, 1), x.shape);
    const b = ctx.inputs[2] ? broadcastTo(ctx.inputs[2], x.shape) : null;
    for (let i = 0; i < y.length; i++) y[i] = y[i]! * scale[i]! + (b ? b[i]! : 0);
    const statShape = keepLeading(x.shape, axis) as number[];
    return [
      Tensor.fromNumbers(x.dtype, x.shape, y),
      ctx.outputCount > 1 ? Tensor.fromNumbers(stash, statShape, means) : null,
      ctx.outputCount > 2 ? Tensor.fromNumbers(stash, statShape, invStd) : null,
    ].slice(0, Math.max(1, ctx.outputCount));
  },
};

const rmsNorm: OpDef = {
  name: "RMSNormalization",
  pattern: "opaque",
  attrs: {
    axis: { type: "int", default: -1 },
    epsilon: { type: "float", default: 1e-5 },
    stash_type: { type: "int", default: 1 },
  },
  infer: (ctx) => {
    checkAffineInputs(ctx, inputType(ctx, 0));
    return [inputType(ctx, 0)];
  },
  evaluate: (ctx) => {
    const op = "RMSNormalization";
    const { x, y } = normalizeRows(ctx, (row, eps, round) => {
      const ms = round(row.reduce((a, d) => a + round(d * d), 0) / row.length);
      return [0, round(1 / round(Math.sqrt(round(ms + eps))))];
    });
    const scale = broadcastTo(req(ctx.inputs[1], op, 1), x.shape);
    for (let i = 0; i < y.length; i++) y[i] = y[i]! * scale[i]!;
    return [Tensor.fromNumbers(x.dtype, x.shape, y)];
  },
};

// ---------------------------------------------------------------- GroupNormalization, InstanceNormalization

/**
 * Normalizes x [N, C, ...] over each (n, group of C/groups channels) and applies a per-channel
 * affine `scaleOf(c)`, `biasOf(c)`.
 */
function groupNormalize(x: Tensor, groups: number, eps: number, scaleOf: (c: number) => number, biasOf: (c: number) => number): Tensor {
  if (x.rank < 2) throw new ModelError(`normalization: input must have rank >= 2, got [${x.shape.join(",")}]`);
  const [N, C] = [x.shape[0]!, x.shape[1]!];
  if (C % groups !== 0) throw new EvalError(`GroupNormalization: ${C} channels are not divisible into ${groups} groups`);
  const inner = shapeSize(x.shape.slice(2));
  const per = (C / groups) * inner;
  const v = x.numbers();
  const y = new Float64Array(v.length);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const base = (n * groups + g) * per;
      const seg = Array.from(v.subarray(base, base + per));
      const m = mean(seg);
      const inv = 1 / Math.sqrt(variance(seg, m) + eps);
      for (let i = 0; i < per; i++) {
        const c = g * (C / groups) + Math.floor(i / inner);
        y[base + i] = (seg[i]! - m) * inv * scaleOf(c) + biasOf(c);
      }
    }
  }
  return Tensor.fromNumbers(x.dtype, x.shape, y);
}

const groupNorm: OpDef = {
  name: "GroupNormalization",
  pattern: "opaque",
  attrs: {
    epsilon: { type: "float", default: 1e-5 },
    num_groups: { type: "int", required: true },
    stash_type: { type: "int", default: 1, since: 21 },
  },
  infer: sameAsInput(0),
  evaluate: (ctx) => {
    const op = "GroupNormalization";
    const x = req(ctx.inputs[0], op, 0);
    const groups = ctx.attrs.int("num_groups");
    const scale = req(ctx.inputs[1], op, 1).numbers();
    const bias = req(ctx.inputs[2], op, 2).numbers();
    const C = x.shape[1] ?? 0;
    // Opset 18 takes one scale/bias per group; opset 21 one per channel.
    const perGroup = ctx.opset < 21;
    const want = perGroup ? groups : C;
    if (scale.length !== want || bias.length !== want) {
      throw new EvalError(`${op}: scale and bias must have ${want} elements, got ${scale.length} and ${bias.length}`);
    }
    const at = (c: number): number => (perGroup ? Math.floor(c / (C / groups)) : c);
    return [groupNormalize(x, groups, ctx.attrs.float("epsilon"), (c) => scale[at(c)]!, (c) => bias[at(c)]!)];
  },
};

const instanceNorm: OpDef = {
  name: "InstanceNormalization",
  pattern: "opaque",
  attrs: { epsilon: { type: "float", default: 1e-5 }, consumed_inputs: { type: "ints", until: 6 } },
  infer: sameAsInput(0),
  evaluate: (ctx) => {
    const op = "InstanceNormalization";
    const x = req(ctx.inputs[0], op, 0);
    const scale = req(ctx.inputs[1], op, 1).numbers();
    const bias = req(ctx.inputs[2], op, 2).numbers();
    return [groupNormalize(x, x.shape[1] ?? 1, ctx.attrs.float("epsilon"), (c) => scale[c]!, (c) => bias[c]!)];
  },
};

// ---------------------------------------------------------------- LpNormalization, MeanVarianceNormalization, LRN

const lpNorm: OpDef = {
  name: "LpNormalization",
  pattern: "opaque",
  attrs: { axis: { type: "int", default: -1 }, p: { type: "int", default: 2 } },
  infer: sameAsInput(0),
  evaluate: (ctx) => {
    const op = "LpNormalization";
    const x = req(ctx.inputs[0], op, 0);
    const p = ctx.attrs.int("p");
    if (p !== 1 && p !== 2) throw new ModelError(`${op}: p must be 1 or 2, got ${p}`);
    const axis = normAxis(ctx.attrs.int("axis"), x.rank, op);
    const v = x.numbers();
    const out = new Float64Array(v.length);
    forEachRow(shapeSize(x.shape.slice(0, axis)), x.shape[axis]!, shapeSize(x.shape.slice(axis + 1)), (idx) => {
      const norm = p === 1
        ? idx.reduce((a, i) => a + Math.abs(v[i]!), 0)
        : Math.sqrt(idx.reduce((a, i) => a + v[i]! * v[i]!, 0));
      // A zero norm gives zeros rather than NaN, as the ONNX reference does.
      for (const i of idx) out[i] = norm === 0 ? 0 : v[i]! / norm;
    });
    return [Tensor.fromNumbers(x.dtype, x.shape, out)];
  },
};

const mvn: OpDef = {
  name: "MeanVarianceNormalization",
  pattern: "opaque",
  attrs: { axes: { type: "ints", default: [0, 2, 3] } },
  infer: sameAsInput(0),
  evaluate: (ctx) => {
    const op = "MeanVarianceNormalization";
    const x = req(ctx.inputs[0], op, 0);
    const axes = new Set(normAxes(ctx.attrs.ints("axes"), x.rank, op));
    const v = x.numbers();
    const groups = groupAlong(v, x.shape, axes);
    // Statistics per group, mapped back to each element through the same grouping of indices.
    const owner = groupAlong(Float64Array.from(v, (_, i) => i), x.shape, axes);
    const out = new Float64Array(v.length);
    groups.forEach((g, k) => {
      const m = mean(g);
      const std = Math.sqrt(mean(g.map((a) => a * a)) - m * m);
      // The ONNX function body adds 1e-9 to the standard deviation.
      owner[k]!.forEach((i, j) => (out[i] = (g[j]! - m) / (std + 1e-9)));
    });
    return [Tensor.fromNumbers(x.dtype, x.shape, out)];
  },
};

const lrn: OpDef = {
  name: "LRN",
  pattern: "opaque",
  attrs: {
    alpha: { type: "float", default: 1e-4 },
    beta: { type: "float", default: 0.75 },
    bias: { type: "float", default: 1 },
    size: { type: "int", required: true },
  },
  infer: (ctx) => {
    const size = ctx.attrs.int("size");
    if (!(size >= 1)) throw new ModelError(`LRN: size must be at least 1, got ${size}`);
    return sameAsInput(0)(ctx);
  },
  evaluate: (ctx) => {
    const op = "LRN";
    const x = req(ctx.inputs[0], op, 0);
    const [alpha, beta, bias, size] = [ctx.attrs.float("alpha"), ctx.attrs.float("beta"), ctx.attrs.float("bias"), ctx.attrs.int("size")];
    if (x.rank < 2) throw new ModelError(`${op}: input must have rank >= 2`);
    const C = x.shape[1]!;
    const inner = shapeSize(x.shape.slice(2));
    const v = x.numbers();
    const out = new Float64Array(v.length);
    const lo = Math.floor((size - 1) / 2);
    const hi = Math.ceil((size - 1) / 2);
    forEachRow(x.shape[0]!, C, inner, (idx) => {
      for (let c = 0; c < C; c++) {
        let sq = 0;
        for (let k = Math.max(0, c - lo); k <= Math.min(C - 1, c + hi); k++) sq += v[idx[k]!]! ** 2;
        out[idx[c]!] = v[idx[c]!]! / (bias + (alpha / size) * sq) ** beta;
      }
    });
    return [Tensor.fromNumbers(x.dtype, x.shape, out)];
  },
};

// ---------------------------------------------------------------- Dropout

/**
 * Uniform doubles in [0, 1) from MT19937 seeded as numpy's RandomState(seed), so a seeded
 * training-mode Dropout draws the same mask as the ONNX reference implementation.
 */
function mt19937Uniform(seed: number): () => number {
  const N = 624;
  const mt = new Uint32Array(N);
  mt[0] = seed >>> 0;
  for (let i = 1; i < N; i++) {
    const p = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
    mt[i] = (Math.imul(1812433253, p) + i) >>> 0;
  }
  let pos = N;
  const next = (): number => {
    if (pos >= N) {
      for (let i = 0; i < N; i++) {
        const y = (mt[i]! & 0x80000000) | (mt[(i + 1) % N]! & 0x7fffffff);
        mt[i] = mt[(i + 397) % N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      pos = 0;
    }
    let y = mt[pos++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  };
  return () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
}

/** Mask dtype: the input's before opset 10, bool from 10. */
const maskDtype = (opset: number, x: DType): DType => (opset >= 10 ? "bool" : x);

const dropout: OpDef = {
  name: "Dropout",
  pattern: "elementwise",
  attrs: {
    ratio: { type: "float", default: 0.5, until: 12 },
    is_test: { type: "int", default: 0, until: 7 },
    consumed_inputs: { type: "ints", until: 6 },
    seed: { type: "int", since: 12 },
  },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const out: TensorType[] = [x];
    if (ctx.outputCount > 1) out.push({ dtype: maskDtype(ctx.opset, x.dtype), shape: x.shape });
    return out;
  },
  evaluate: (ctx) => {
    const op = "Dropout";
    const x = req(ctx.inputs[0], op, 0);
    let ratio: number;
    let training: boolean;
    if (ctx.opset >= 12) {
      ratio = ctx.inputs[1] ? ctx.inputs[1].numbers()[0]! : 0.5;
      training = ctx.inputs[2] ? ctx.inputs[2].numbers()[0]! !== 0 : false;
    } else {
      ratio = ctx.attrs.float("ratio");
      training = ctx.opset < 7 && ctx.attrs.int("is_test") === 0;
    }
    const keep = new Float64Array(x.size).fill(1);
    let y = x;
    if (training && ratio !== 0) {
      if (ratio < 0 || ratio >= 1) throw new EvalError(`${op}: ratio must be in [0, 1), got ${ratio}`);
      const seed = ctx.opset >= 12 ? ctx.attrs.optInt("seed") : undefined;
      const uniform = mt19937Uniform(seed ?? Math.floor(Math.random() * 2 ** 32));
      const scale = 1 / (1 - ratio);
      const v = x.numbers();
      for (let i = 0; i < v.length; i++) {
        keep[i] = uniform() >= ratio ? 1 : 0;
        v[i] = keep[i]! * v[i]! * scale;
      }
      y = Tensor.fromNumbers(x.dtype, x.shape, v);
    }
    const outs: Tensor[] = [y];
    if (ctx.outputCount > 1) outs.push(Tensor.fromNumbers(maskDtype(ctx.opset, x.dtype), x.shape, keep));
    return outs;
  },
};

/**
 * Whether a Dropout node may train (and so mask at random): from opset 12 when its training_mode
 * input is present and not a known 0, before opset 7 unless is_test is set. Otherwise it is Identity.
 */
export function dropoutMayTrain(node: Node, opset: number, trainingMode: Tensor | undefined): boolean {
  if (opset >= 12) return (node.inputs[2] ?? "") !== "" && !(trainingMode && trainingMode.numbers().every((v) => v === 0));
  const isTest = node.attrs["is_test"];
  return opset < 7 && !(isTest?.type === "int" && isTest.value !== 0);
}

export const ops: OpDef[] = [
  softmaxLike("Softmax", softmaxRow),
  softmaxLike("LogSoftmax", logSoftmaxRow),
  softmaxLike("Hardmax", hardmaxRow),
  batchNorm,
  layerNorm,
  rmsNorm,
  groupNorm,
  instanceNorm,
  lpNorm,
  mvn,
  lrn,
  dropout,
];
