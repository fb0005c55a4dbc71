/**
 * The anchors of fused functions: Conv (on the blocked layout), MatMul and Gemm. Each becomes a
 * kernel with its own schedule (schedule-conv.ts, schedule-gemm.ts) that applies the fused
 * function's epilogue to every accumulated element. An anchor describes its output in terms of
 * the raw accumulator (`finish`: Conv's bias, Gemm's alpha, beta and C), so the epilogue the
 * kernel applies is `finish` followed by the fused elementwise ops.
 */
import type { Node } from "../ir/graph.js";
import { Tensor } from "../ir/tensor.js";
import type { Tensor as TeTensor } from "../loopir/compute.js";
import { type Expr, type Var, add, lit, lt, mul, select } from "../loopir/expr.js";
import { readWindowAttrs, resolveWindow } from "../ops/conv.js";
import type { Attrs } from "../ops/registry.js";
import { broadcastAt } from "./elementwise.js";
import type { Access } from "./lowering.js";
import { conv2dKernel, packConvWeight, packedConvWeightShape } from "./schedule-conv.js";
import { type Kernel, gemmKernel, packGemmB } from "./schedule-gemm.js";

const LANES = 4;

export interface AnchorContext {
  readonly node: Node;
  readonly attrs: Attrs;
  /** The input as a kernel buffer (a placeholder), or null when omitted. */
  input(i: number): TeTensor | null;
  /** An input's value when it is a weight. */
  constant(i: number): Tensor | undefined;
  /** A new constant kernel input (packed weights). */
  addConstant(t: Tensor): TeTensor;
  readonly outputShape: readonly number[];
}

export interface AnchorLowering {
  readonly shape: readonly number[];
  /** The anchor's output element from its raw accumulated value. */
  finish(acc: Expr, index: readonly Expr[]): Expr;
  kernel(name: string, epilogue: (acc: Expr, index: readonly Var[]) => Expr): Kernel;
}

export const ANCHOR_OPS: ReadonlySet<string> = new Set(["MatMul", "Gemm"]);

/** MatMul of rank 2 or more (numpy batch broadcasting). */
export function lowerMatMul(ctx: AnchorContext): AnchorLowering | string {
  const a = ctx.input(0)!;
  if (a.shape.length < 2 || ctx.input(1)!.shape.length < 2) return "MatMul of a vector";
  const shape = ctx.outputShape;
  const b = operandB(ctx, false);
  return {
    shape,
    finish: (acc) => acc,
    kernel: (name, epilogue) => gemmKernel({ name, a, ...b, batch: shape.slice(0, -2), epilogue }),
  };
}

/** Gemm: alpha * A' B' + beta * C. */
export function lowerGemm(ctx: AnchorContext): AnchorLowering | string {
  const a = ctx.input(0)!, c = ctx.input(2);
  const alpha = ctx.attrs.float("alpha"), beta = ctx.attrs.float("beta");
  const transA = ctx.attrs.int("transA") !== 0;
  const b = operandB(ctx, ctx.attrs.int("transB") !== 0);
  const shape = ctx.outputShape;
  const bias: Access | null = c && beta !== 0 ? { shape: c.shape, at: (index: readonly Expr[]) => c.at(...index) } : null;
  return {
    shape,
    finish: (acc, index) => {
      const scaled = alpha === 1 ? acc : mul(acc, lit(alpha, "f32"));
      if (!bias) return scaled;
      const cv = broadcastAt(bias, index);
      return add(scaled, beta === 1 ? cv : mul(cv, lit(beta, "f32")));
    },
    kernel: (name, epilogue) => gemmKernel({ name, a, ...b, transA, epilogue }),
  };
}

/**
 * Conv inside kiln:InLayout: input and output blocked NCHW[4]c, weights (and bias) constant.
 * `inner` is the Conv node with its NCHW shapes `logicalIn` (input) and `outChannels`.
 */
export function lowerBlockedConv(ctx: AnchorContext, logicalIn: readonly number[]): AnchorLowering | string {
  const x = ctx.input(0)!;
  const w = ctx.constant(1);
  if (!w || w.dtype !== "float32") return "Conv with non-constant weights";
  if (logicalIn.length !== 4) return `Conv over ${logicalIn.length - 2} spatial dims`;
  if (ctx.node.inputs[2] && !ctx.constant(2)) return "Conv with a non-constant bias";
  const [outChannels, inPerGroup, kh, kw] = w.shape as [number, number, number, number];
  const group = ctx.attrs.int("group");
  const inChannels = logicalIn[1]!;
  if (inPerGroup * group !== inChannels || outChannels % group !== 0) return "Conv with inconsistent groups";
  const win = resolveWindow(readWindowAttrs(ctx, [kh, kw], false, ctx.attrs.string("auto_pad")), logicalIn.slice(2));
  // Groups whose channels do not fill whole blocks of 4 (ShuffleNet's) run lane by lane
  // (schedule-conv.ts); with a few groups, one dense convolution with zero weights off the block
  // diagonal does `group` times the multiply-adds at full vector speed, several times faster.
  const ocg = outChannels / group, depthwise = inPerGroup === 1 && ocg === 1;
  const dense = group > 1 && group <= MAX_DENSE_GROUPS && !depthwise && (ocg % LANES !== 0 || inPerGroup % LANES !== 0);
  const geometry = { inChannels, outChannels, group: dense ? 1 : group, kernel: [kh, kw] as [number, number] };
  const packed = ctx.addConstant(derived(w, `conv ${JSON.stringify(geometry)}`, () => {
    const oihw = dense ? blockDiagonal(w.data as Float32Array, outChannels, inPerGroup, group, kh * kw) : (w.data as Float32Array);
    return new Tensor("float32", packedConvWeightShape(geometry), packConvWeight(oihw, geometry));
  }));
  const blocks = Math.ceil(outChannels / LANES);
  const biasValues = ctx.constant(2);
  const bias = biasValues ? ctx.addConstant(padded(biasValues, blocks * LANES)) : undefined;
  return {
    shape: ctx.outputShape,
    finish: (acc, index) => {
      const channel = add(mul(index[1]!, LANES), index[4]!);
      const value = bias ? add(acc, bias.at(channel)) : acc;
      // Padding lanes stay zero, as the blocked layout promises.
      return outChannels % LANES === 0 ? value : select(lt(channel, outChannels), value, lit(0, "f32"));
    },
    kernel: (name, epilogue) => conv2dKernel({
      ...geometry, name, x, w: packed, epilogue,
      strides: [win.strides[0]!, win.strides[1]!],
      dilations: [win.dilations[0]!, win.dilations[1]!],
      pads: [win.padsBegin[0]!, win.padsBegin[1]!, win.padsEnd[0]!, win.padsEnd[1]!],
    }),
  };
}

/** Grouped convolutions that become dense ones (lowerBlockedConv): at most this many times the work. */
const MAX_DENSE_GROUPS = 8;

/** OIHW weights of a grouped convolution as a dense one's: [OC, IC, taps], zero outside each output channel's group. */
function blockDiagonal(w: Float32Array, outChannels: number, inPerGroup: number, group: number, taps: number): Float32Array {
  const inChannels = inPerGroup * group, ocg = outChannels / group;
  const out = new Float32Array(outChannels * inChannels * taps);
  for (let oc = 0; oc < outChannels; oc++) {
    const first = Math.floor(oc / ocg) * inPerGroup;
    out.set(w.subarray(oc * inPerGroup * taps, (oc + 1) * inPerGroup * taps), (oc * inChannels + first) * taps);
  }
  return out;
}

/**
 * The B operand of a MatMul or Gemm: a constant matrix (a layer's weights) packed at load into
 * the panels the kernel streams (packGemmB), so no run repacks it or reads it strided; anything
 * else as it is.
 */
function operandB(ctx: AnchorContext, transB: boolean): { b: TeTensor; transB: boolean; prepackedB?: { n: number } } {
  const weights = ctx.constant(1);
  if (weights?.dtype !== "float32" || weights.rank !== 2) return { b: ctx.input(1)!, transB };
  const [m, n] = ctx.outputShape.slice(-2) as [number, number];
  const k = weights.shape[transB ? 1 : 0]!;
  const packed = derived(weights, `gemm-b ${k} ${n} ${m} ${transB}`, () => {
    const panels = packGemmB(weights.data as Float32Array, k, n, m, transB);
    return new Tensor("float32", panels.shape, panels.data);
  });
  return { b: ctx.addConstant(packed), transB: false, prepackedB: { n } };
}

/**
 * Weights in a kernel's layout, memoized on the weights tensor (tensors are immutable): the
 * hundred steps of an unrolled RNN that share a layer's weights then share one packed copy, in
 * the compiler's time and in the memory (constants are placed once per tensor object).
 */
const derivedCache = new WeakMap<Tensor, Map<string, Tensor>>();
function derived(source: Tensor, key: string, make: () => Tensor): Tensor {
  let forSource = derivedCache.get(source);
  if (!forSource) derivedCache.set(source, (forSource = new Map()));
  let t = forSource.get(key);
  if (!t) forSource.set(key, (t = make()));
  return t;
}

function padded(t: Tensor, length: number): Tensor {
  const data = new Float32Array(length);
  data.set(t.data as Float32Array);
  return new Tensor("float32", [length], data);
}
