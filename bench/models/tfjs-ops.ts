/**
 * ONNX ops as TensorFlow.js ops, for the tfjs peer of the model benchmark: a translation by
 * table for the common op set, nothing more. tfjs's convolutions and pooling work on NHWC, so a
 * rank-4 value may be held transposed (`nhwc`); layout-aware ops take and give it that way and
 * everything else converts back, so a convolution trunk pays no transposes between its ops.
 * Anything the table cannot express exactly throws NotApplicable, and the harness also checks
 * every translated model's outputs against onnxruntime-node before timing it.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Attr, Node } from "../../src/ir/graph.js";

/** A value of the graph: its tensor and whether it is an NCHW value held as NHWC. */
export interface V {
  readonly t: tf.Tensor;
  readonly nhwc: boolean;
}

export class NotApplicable extends Error {
  constructor(why: string) {
    super(`not applicable: ${why}`);
  }
}

export interface OpContext {
  readonly node: Node;
  /** The default domain's opset version. */
  readonly opset: number;
  /** Input i when it is a constant of the model (an initializer, or folded at load). */
  constant(i: number): tf.Tensor | undefined;
  /** A Relu that consumes this node's only use, fused into it (Conv, Gemm). */
  readonly relu: boolean;
}

/** What a translated node does at run time: inputs (undefined where omitted) to outputs. */
export type Exec = (ins: readonly (V | undefined)[]) => V[];
type Translate = (c: OpContext) => Exec;

export const plain = (t: tf.Tensor): V => ({ t, nhwc: false });
const held = (t: tf.Tensor): V => ({ t, nhwc: true });
export const nchw = (v: V): tf.Tensor => (v.nhwc ? tf.transpose(v.t, [0, 3, 1, 2]) : v.t);
const nhwc = (v: V): tf.Tensor4D => {
  if (v.nhwc) return v.t as tf.Tensor4D;
  if (v.t.rank !== 4) throw new NotApplicable(`a rank-${v.t.rank} input where tfjs needs NHWC images`);
  return tf.transpose(v.t, [0, 2, 3, 1]) as tf.Tensor4D;
};
/** The NCHW shape of a value, whichever way it is held. */
const shapeOf = (v: V): number[] => (v.nhwc ? [v.t.shape[0]!, v.t.shape[3]!, v.t.shape[1]!, v.t.shape[2]!] : [...v.t.shape]);
/** An int or float tensor's elements, read back (shapes, axes, bounds). */
const nums = (v: V): number[] => Array.from(nchw(v).dataSync() as ArrayLike<number>);

type AttrValues = { [A in Attr as A["type"]]: A["value"] };

function attr<T extends keyof AttrValues>(n: Node, name: string, type: T): AttrValues[T] | undefined {
  const a = n.attrs[name];
  if (a === undefined) return undefined;
  if (a.type !== type) throw new NotApplicable(`${n.op} attribute ${name} of type ${a.type}`);
  return a.value as AttrValues[T];
}
const int = (n: Node, name: string, d: number) => attr(n, name, "int") ?? d;
const float = (n: Node, name: string, d: number) => attr(n, name, "float") ?? d;
const ints = (n: Node, name: string) => attr(n, name, "ints");
const str = (n: Node, name: string, d: string) => attr(n, name, "string") ?? d;
const axis = (a: number, rank: number) => (a < 0 ? a + rank : a);
/** NCHW axis -> NHWC axis. */
const HELD_AXIS = [0, 3, 1, 2];

const unary = (f: (x: tf.Tensor) => tf.Tensor): Translate => () => ([x]) => [{ t: f(x!.t), nhwc: x!.nhwc }];

/**
 * Elementwise ops broadcast the NumPy way, so a partner of a held value is aligned to rank 4
 * and transposed the same way (size-1 partners need neither).
 */
function broadcast(ins: readonly V[]): { ts: tf.Tensor[]; nhwc: boolean } {
  const anyHeld = ins.some((v) => v.nhwc);
  if (!anyHeld || ins.some((v) => !v.nhwc && v.t.rank > 4)) return { ts: ins.map(nchw), nhwc: false };
  return {
    nhwc: true,
    ts: ins.map((v) => {
      if (v.nhwc || v.t.size === 1) return v.t;
      const r4 = v.t.rank === 4 ? v.t : tf.reshape(v.t, [...new Array<number>(4 - v.t.rank).fill(1), ...v.t.shape]);
      return tf.transpose(r4, [0, 2, 3, 1]);
    }),
  };
}
const binary = (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): Translate => () => (ins) => {
  const { ts, nhwc: h } = broadcast(ins as V[]);
  return [{ t: ts.reduce((a, b) => f(a, b)), nhwc: h }];
};

/** Explicit [begin, end] pads per spatial axis of a conv or pool over an NHWC input. */
function padding(n: Node, hw: readonly number[], kernel: readonly number[], strides: readonly number[], dilations: readonly number[]): [number, number][] {
  const auto = str(n, "auto_pad", "NOTSET");
  if (auto === "NOTSET") {
    const p = ints(n, "pads") ?? [0, 0, 0, 0];
    return [[p[0]!, p[2]!], [p[1]!, p[3]!]];
  }
  if (auto === "VALID") return [[0, 0], [0, 0]];
  return hw.map((d, i) => {
    const total = Math.max((Math.ceil(d / strides[i]!) - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - d, 0);
    const small = Math.floor(total / 2);
    return auto === "SAME_UPPER" ? [small, total - small] : [total - small, small];
  });
}
const explicit = (p: [number, number][]): tf.backend_util.ExplicitPadding => [[0, 0], p[0]!, p[1]!, [0, 0]];

const conv: Translate = (c) => {
  const w = c.constant(1);
  if (!w) throw new NotApplicable("Conv with a weight computed at run time");
  if (w.rank !== 4) throw new NotApplicable(`Conv over ${w.rank - 2} spatial axes`);
  const n = c.node, group = int(n, "group", 1);
  const [m, cg, kh, kw] = w.shape as [number, number, number, number];
  const strides = (ints(n, "strides") ?? [1, 1]) as [number, number];
  const dilations = (ints(n, "dilations") ?? [1, 1]) as [number, number];
  const bias = c.constant(2);
  const activation = c.relu ? "relu" : "linear";
  const depthwise = group > 1 && cg === 1;
  // Filters as tfjs wants them: [kh, kw, in, out], or [kh, kw, channels, multiplier] for depthwise.
  const filters = depthwise
    ? [tf.transpose(tf.reshape(w, [group, m / group, kh, kw]), [2, 3, 0, 1])]
    : Array.from({ length: group }, (_, g) => tf.transpose(tf.slice(w, [g * (m / group), 0, 0, 0], [m / group, cg, kh, kw]), [2, 3, 1, 0]));
  return ([x, , b]) => {
    const xt = nhwc(x!);
    const pads = padding(n, [xt.shape[1], xt.shape[2]], [kh, kw], strides, dilations);
    const bt = bias ?? (b ? nchw(b) : undefined);
    if (depthwise && strides[0] !== strides[1]) {
      // tfjs 4.22's fused depthwise kernel on wasm sizes its output by one stride (and writes past
      // it); the unfused one with explicit padding gets uneven strides right.
      const y = tf.depthwiseConv2d(xt, filters[0] as tf.Tensor4D, strides, explicit(pads), "NHWC", dilations);
      const biased = bt ? tf.add(y, bt) : y;
      return [held(c.relu ? tf.relu(biased) : biased)];
    }
    if (depthwise) {
      // tfjs's fused depthwise takes only uniform padding.
      const uniform = pads.flat().every((p) => p === pads[0]![0]);
      const input = uniform ? xt : tf.pad(xt, explicit(pads)) as tf.Tensor4D;
      return [held(tf.fused.depthwiseConv2d({ x: input, filter: filters[0] as tf.Tensor4D, strides, dilations, pad: uniform ? pads[0]![0] : "valid", bias: bt, activation }))];
    }
    const parts = group === 1 ? [xt] : tf.split(xt, group, 3) as tf.Tensor4D[];
    const ys = parts.map((p, g) => tf.fused.conv2d({ x: p, filter: filters[g] as tf.Tensor4D, strides, dilations, pad: explicit(pads), ...(group === 1 ? { bias: bt, activation } : {}) }));
    if (group === 1) return [held(ys[0]!)];
    const y = tf.concat(ys, 3);
    const biased = bt ? tf.add(y, bt) : y;
    return [held(c.relu ? tf.relu(biased) : biased)];
  };
};

const convTranspose: Translate = (c) => {
  const w = c.constant(1), n = c.node;
  if (!w || w.rank !== 4) throw new NotApplicable("ConvTranspose other than 2-D with a constant weight");
  if (int(n, "group", 1) !== 1 || (ints(n, "dilations") ?? [1, 1]).some((d) => d !== 1) || ints(n, "output_padding") || ints(n, "output_shape") || str(n, "auto_pad", "NOTSET") !== "NOTSET") {
    throw new NotApplicable("ConvTranspose with groups, dilations, output_padding, output_shape or auto_pad");
  }
  const [, m, kh, kw] = w.shape as [number, number, number, number];
  const strides = (ints(n, "strides") ?? [1, 1]) as [number, number];
  const p = ints(n, "pads") ?? [0, 0, 0, 0];
  const filter = tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D;
  const bias = c.constant(2);
  return ([x]) => {
    const xt = nhwc(x!);
    const out: [number, number, number, number] = [xt.shape[0], strides[0] * (xt.shape[1] - 1) + kh - p[0]! - p[2]!, strides[1] * (xt.shape[2] - 1) + kw - p[1]! - p[3]!, m];
    const y = tf.conv2dTranspose(xt, filter, out, strides, [[0, 0], [p[0]!, p[2]!], [p[1]!, p[3]!], [0, 0]]);
    return [held(bias ? tf.add(y, bias) : y)];
  };
};

function pool(kind: "max" | "avg"): Translate {
  return (c) => {
    const n = c.node;
    const kernel = ints(n, "kernel_shape")!;
    if (kernel.length !== 2) throw new NotApplicable(`${n.op} over ${kernel.length} spatial axes`);
    const strides = (ints(n, "strides") ?? [1, 1]) as [number, number];
    if ((ints(n, "dilations") ?? [1, 1]).some((d) => d !== 1) || int(n, "storage_order", 0) !== 0 || n.outputs.length > 1) {
      throw new NotApplicable(`${n.op} with dilations, storage_order or indices`);
    }
    const ceil = int(n, "ceil_mode", 0) === 1, includePad = int(n, "count_include_pad", 0) === 1;
    return ([x]) => {
      const xt = nhwc(x!);
      const hw = [xt.shape[1], xt.shape[2]];
      const pads = padding(n, hw, kernel, strides, [1, 1]);
      if (ceil) {
        // Grow the end padding to the last window ceil mode adds, unless it would start in the padding.
        pads.forEach((p, i) => {
          const span = hw[i]! + p[0] + p[1] - kernel[i]!;
          let out = Math.ceil(span / strides[i]!) + 1;
          if ((out - 1) * strides[i]! >= hw[i]! + p[0]) out--;
          p[1] += Math.max(0, (out - 1) * strides[i]! + kernel[i]! - (hw[i]! + p[0] + p[1]));
        });
      }
      const f = (t: tf.Tensor4D, pad: tf.backend_util.ExplicitPadding | "valid") =>
        kind === "max" ? tf.maxPool(t, kernel as [number, number], strides, pad) : tf.avgPool(t, kernel as [number, number], strides, pad);
      if (kind === "avg" && includePad && pads.flat().some((p) => p !== 0)) {
        if (ceil) throw new NotApplicable("AveragePool with count_include_pad and ceil_mode");
        return [held(f(tf.pad(xt, explicit(pads)), "valid"))];
      }
      return [held(f(xt, explicit(pads)))];
    };
  };
}

const globalPool = (f: (x: tf.Tensor, axes: number[], keep: boolean) => tf.Tensor): Translate => () => ([x]) => [held(f(nhwc(x!), [1, 2], true))];

function matmulOperands(a: tf.Tensor, b: tf.Tensor): [tf.Tensor, tf.Tensor] {
  if (a.rank < 2 || b.rank < 2) throw new NotApplicable("MatMul of a vector");
  const lift = (t: tf.Tensor, r: number) => (t.rank === r ? t : tf.reshape(t, [...new Array<number>(r - t.rank).fill(1), ...t.shape]));
  const r = Math.max(a.rank, b.rank);
  return [lift(a, r), lift(b, r)];
}

const gemm: Translate = (c) => {
  const n = c.node;
  const [transA, transB] = [int(n, "transA", 0) === 1, int(n, "transB", 0) === 1];
  const [alpha, beta] = [float(n, "alpha", 1), float(n, "beta", 1)];
  // tfjs's fused matMul on wasm takes only a per-column bias it holds as rank 1: a fresh copy of a constant one.
  const k = c.constant(2);
  const fusedBias = k && k.shape.slice(0, -1).every((d) => d === 1) ? tf.tensor1d(Float32Array.from(k.dataSync() as Float32Array, (v) => v * beta)) : undefined;
  const fuse = alpha === 1 && (fusedBias || !n.inputs[2]);
  return ([a, b, bias]) => {
    if (fuse) return [plain(tf.fused.matMul({ a: nchw(a!), b: nchw(b!), transposeA: transA, transposeB: transB, bias: fusedBias, activation: c.relu ? "relu" : "linear" }))];
    const scale = (t: tf.Tensor, s: number) => (s === 1 ? t : tf.mul(t, s));
    const y = scale(tf.matMul(nchw(a!), nchw(b!), transA, transB), alpha);
    const z = bias ? tf.add(y, scale(nchw(bias), beta)) : y;
    return [plain(c.relu ? tf.relu(z) : z)];
  };
};

/** Axes from the attribute (older opsets) or the input (newer ones). */
const axesOf = (c: OpContext, ins: readonly (V | undefined)[], input: number): number[] | undefined =>
  ints(c.node, "axes")?.slice() ?? (ins[input] ? nums(ins[input]!) : undefined);

const reduce = (f: (x: tf.Tensor, axes: number[] | undefined, keep: boolean) => tf.Tensor): Translate => (c) => (ins) => {
  const x = nchw(ins[0]!), axes = axesOf(c, ins, 1)?.map((a) => axis(a, x.rank));
  return [plain(f(x, axes?.length ? axes : undefined, int(c.node, "keepdims", 1) === 1))];
};

function softmax(c: OpContext, f: (x: tf.Tensor) => tf.Tensor): Exec {
  return ([v]) => {
    const x = nchw(v!);
    const a = axis(int(c.node, "axis", c.opset < 13 ? 1 : -1), x.rank);
    if (c.opset < 13) {
      // Before opset 13, Softmax runs over all axes from `axis` on, as one.
      const rows = x.shape.slice(0, a).reduce((p, d) => p * d, 1);
      return [plain(tf.reshape(f(tf.reshape(x, [rows, x.size / Math.max(rows, 1)])), x.shape))];
    }
    if (a === x.rank - 1) return [plain(f(x))];
    // tfjs normalises only along the last axis.
    const perm = [...x.shape.keys()].map((i) => (i === a ? x.rank - 1 : i === x.rank - 1 ? a : i));
    return [plain(tf.transpose(f(tf.transpose(x, perm)), perm))];
  };
}

/** ONNX TensorProto dtypes -> tfjs dtypes (int64 is held as int32). */
function castTarget(to: number): tf.DataType {
  if (to === 1) return "float32";
  if ([2, 3, 4, 5, 6, 7, 12, 13].includes(to)) return "int32";
  if (to === 9) return "bool";
  throw new NotApplicable(`Cast to ONNX type ${to}`);
}

function sliceExec(c: OpContext): Exec {
  return (ins) => {
    const x = nchw(ins[0]!), shape = x.shape;
    const legacy = c.opset < 10;
    const starts = legacy ? [...ints(c.node, "starts")!] : nums(ins[1]!);
    const ends = legacy ? [...ints(c.node, "ends")!] : nums(ins[2]!);
    const axes = (legacy ? ints(c.node, "axes")?.slice() : ins[3] && nums(ins[3])) ?? starts.map((_, i) => i);
    const steps = (!legacy && ins[4] ? nums(ins[4]) : undefined) ?? starts.map(() => 1);
    const begin = shape.map(() => 0), end = [...shape], stride = shape.map(() => 1);
    axes.forEach((a0, i) => {
      const a = axis(a0, x.rank), d = shape[a]!;
      if (steps[i]! <= 0) throw new NotApplicable("Slice with a negative step");
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
      [begin[a], end[a], stride[a]] = [clamp(starts[i]!), clamp(ends[i]!), steps[i]!];
    });
    if (stride.every((s) => s === 1)) return [plain(tf.slice(x, begin, end.map((e, i) => Math.max(e - begin[i]!, 0))))];
    return [plain(tf.stridedSlice(x, begin, end, stride))];
  };
}

function reshapeTo(x: tf.Tensor, spec: readonly number[], allowZero: boolean): tf.Tensor {
  return tf.reshape(x, spec.map((d, i) => (d === 0 && !allowZero ? x.shape[i]! : d)));
}

function tensorAttr(c: OpContext): tf.Tensor {
  const n = c.node;
  const t = attr(n, "value", "tensor");
  if (t) return hostToTf(t);
  const f = attr(n, "value_float", "float"), fs = attr(n, "value_floats", "floats");
  const i = attr(n, "value_int", "int"), is = attr(n, "value_ints", "ints");
  if (f !== undefined) return tf.scalar(f);
  if (fs) return tf.tensor1d([...fs]);
  if (i !== undefined) return tf.scalar(i, "int32");
  if (is) return tf.tensor1d([...is], "int32");
  throw new NotApplicable("Constant of a string or sparse value");
}

/** A kiln tensor as a tfjs one: floats as float32, integers as int32 (int64 clamped to its range), bools as bool. */
export function hostToTf(t: import("../../src/ir/tensor.js").Tensor): tf.Tensor {
  if (t.dtype === "float32") return tf.tensor(t.data as Float32Array, [...t.shape], "float32");
  if (t.dtype === "bool") return tf.tensor(t.data as Uint8Array, [...t.shape], "bool");
  if (t.dtype === "float16" || t.dtype === "float64") throw new NotApplicable(`${t.dtype} data`);
  // ±2^31-1 still mean "to the end" where int64 extremes do (Slice bounds).
  return tf.tensor(Int32Array.from(t.numbers(), (v) => Math.min(Math.max(v, -(2 ** 31)), 2 ** 31 - 1)), [...t.shape], "int32");
}

export const OPS: Readonly<Record<string, Translate>> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool("max"),
  AveragePool: pool("avg"),
  GlobalAveragePool: globalPool(tf.mean),
  GlobalMaxPool: globalPool(tf.max),
  BatchNormalization: (c) => {
    if (c.node.outputs.filter((o) => o !== "").length > 1) throw new NotApplicable("BatchNormalization in training mode");
    const eps = float(c.node, "epsilon", 1e-5);
    return ([x, scale, b, mean, variance]) => {
      const xt = x!.nhwc || x!.t.rank === 4 ? nhwc(x!) : x!.t;
      if (xt.rank !== 4 && xt.rank !== 2) throw new NotApplicable(`BatchNormalization of rank ${xt.rank}`);
      const y = tf.batchNorm(xt, nchw(mean!) as tf.Tensor1D, nchw(variance!) as tf.Tensor1D, nchw(b!) as tf.Tensor1D, nchw(scale!) as tf.Tensor1D, eps);
      return [{ t: y, nhwc: xt.rank === 4 }];
    };
  },
  LRN: (c) => {
    const size = int(c.node, "size", 0);
    if (size % 2 !== 1) throw new NotApplicable(`LRN of even size ${size}`);
    const [alpha, beta, bias] = [float(c.node, "alpha", 1e-4), float(c.node, "beta", 0.75), float(c.node, "bias", 1)];
    return ([x]) => [held(tf.localResponseNormalization(nhwc(x!), (size - 1) / 2, bias, alpha / size, beta))];
  },
  Gemm: gemm,
  MatMul: () => ([a, b]) => [plain(tf.matMul(...matmulOperands(nchw(a!), nchw(b!))))],
  Add: binary(tf.add), Sub: binary(tf.sub), Mul: binary(tf.mul), Div: binary(tf.div), Pow: binary(tf.pow),
  Sum: binary(tf.add), Max: binary(tf.maximum), Min: binary(tf.minimum),
  Relu: unary(tf.relu), Sigmoid: unary(tf.sigmoid), Tanh: unary(tf.tanh), Sqrt: unary(tf.sqrt), Exp: unary(tf.exp),
  Abs: unary(tf.abs), Neg: unary(tf.neg), Reciprocal: unary(tf.reciprocal), Softplus: unary(tf.softplus),
  Identity: unary((x) => x),
  // Inference: the input unchanged, and a mask of all true when asked for.
  Dropout: (c) => ([x]) => (c.node.outputs.length > 1 && c.node.outputs[1] !== "" ? [x!, plain(tf.fill(shapeOf(x!), 1, "bool"))] : [x!]),
  LeakyRelu: (c) => unary((x) => tf.leakyRelu(x, float(c.node, "alpha", 0.01)))(c),
  HardSigmoid: (c) => unary((x) => tf.clipByValue(tf.add(tf.mul(x, float(c.node, "alpha", 0.2)), float(c.node, "beta", 0.5)), 0, 1))(c),
  HardSwish: unary((x) => tf.mul(x, tf.clipByValue(tf.add(tf.mul(x, 1 / 6), 0.5), 0, 1))),
  Clip: (c) => (ins) => {
    const legacy = c.opset < 11;
    const lo = legacy ? float(c.node, "min", -Infinity) : ins[1] ? nums(ins[1])[0]! : -Infinity;
    const hi = legacy ? float(c.node, "max", Infinity) : ins[2] ? nums(ins[2])[0]! : Infinity;
    return [{ t: tf.clipByValue(ins[0]!.t, lo, hi), nhwc: ins[0]!.nhwc }];
  },
  Cast: (c) => unary((x) => tf.cast(x, castTarget(int(c.node, "to", 1))))(c),
  Softmax: (c) => softmax(c, (x) => tf.softmax(x)),
  LogSoftmax: (c) => softmax(c, (x) => tf.logSoftmax(x)),
  Concat: (c) => (ins) => {
    const vs = ins as V[];
    const rank = shapeOf(vs[0]!).length;
    const a = axis(int(c.node, "axis", 0), rank);
    if (rank === 4 && vs.some((v) => v.nhwc)) return [held(tf.concat(vs.map(nhwc), HELD_AXIS[a]))];
    return [plain(tf.concat(vs.map(nchw), a))];
  },
  Reshape: (c) => ([x, s]) => [plain(reshapeTo(nchw(x!), nums(s!), int(c.node, "allowzero", 0) === 1))],
  Flatten: (c) => ([v]) => {
    const x = nchw(v!), a = axis(int(c.node, "axis", 1), x.rank);
    const rows = x.shape.slice(0, a).reduce((p, d) => p * d, 1);
    return [plain(tf.reshape(x, [rows, x.size / Math.max(rows, 1)]))];
  },
  Transpose: (c) => ([x]) => {
    const perm = ints(c.node, "perm")?.slice() ?? shapeOf(x!).map((_, i, s) => s.length - 1 - i);
    // NHWC -> NCHW of a plain tensor is that tensor held; the way back is the held tensor itself.
    if (!x!.nhwc && perm.join() === "0,3,1,2") return [held(x!.t)];
    if (x!.nhwc && perm.join() === "0,2,3,1") return [plain(x!.t)];
    return [plain(tf.transpose(nchw(x!), perm))];
  },
  Slice: sliceExec,
  Split: (c) => (ins) => {
    const x = nchw(ins[0]!), a = axis(int(c.node, "axis", 0), x.rank);
    const sizes = ints(c.node, "split")?.slice() ?? (ins[1] ? nums(ins[1]) : undefined);
    return tf.split(x, sizes ?? c.node.outputs.length, a).map(plain);
  },
  Unsqueeze: (c) => (ins) => {
    const x = nchw(ins[0]!), axes = axesOf(c, ins, 1)!, rank = x.rank + axes.length;
    const at = new Set(axes.map((a) => axis(a, rank)));
    const dims = [...x.shape];
    return [plain(tf.reshape(x, Array.from({ length: rank }, (_, i) => (at.has(i) ? 1 : dims.shift()!))))];
  },
  Squeeze: (c) => (ins) => {
    const x = nchw(ins[0]!), axes = axesOf(c, ins, 1)?.map((a) => axis(a, x.rank));
    return [plain(tf.squeeze(x, axes))];
  },
  Shape: (c) => ([x]) => {
    const s = shapeOf(x!), r = s.length;
    const [start, end] = [axis(int(c.node, "start", 0), r), c.node.attrs["end"] ? axis(int(c.node, "end", r), r) : r];
    return [plain(tf.tensor1d(s.slice(start, end), "int32"))];
  },
  Constant: (c) => {
    const t = tensorAttr(c);
    return () => [plain(t)];
  },
  ConstantOfShape: (c) => ([s]) => {
    const v = attr(c.node, "value", "tensor");
    const value = v ? hostToTf(v) : tf.scalar(0);
    return [plain(tf.fill(nums(s!), value.dataSync()[0] as number, value.dtype))];
  },
  ReduceMean: reduce(tf.mean), ReduceSum: reduce(tf.sum), ReduceMax: reduce(tf.max), ReduceMin: reduce(tf.min),
  Resize: (c) => {
    const n = c.node;
    const mode = str(n, "mode", "nearest"), coord = str(n, "coordinate_transformation_mode", c.opset < 11 ? "asymmetric" : "half_pixel");
    const nearest = mode === "nearest" && coord === "asymmetric" && str(n, "nearest_mode", "round_prefer_floor") === "floor";
    const linear = mode === "linear" && ["half_pixel", "align_corners", "asymmetric"].includes(coord);
    if (!nearest && !linear) throw new NotApplicable(`Resize mode ${mode} with ${coord} coordinates`);
    return (ins) => {
      const x = ins[0]!, [, , h, w] = shapeOf(x);
      const [scalesAt, sizesAt] = c.opset < 11 ? [1, -1] : [2, 3];
      const sizes = ins[sizesAt] && nums(ins[sizesAt]!);
      const scales = !sizes?.length && ins[scalesAt] ? nums(ins[scalesAt]!) : undefined;
      if (scales && (scales[0] !== 1 || scales[1] !== 1)) throw new NotApplicable("Resize over the batch or channel axis");
      const size: [number, number] = sizes?.length ? [sizes[2]!, sizes[3]!] : [Math.floor(h! * scales![2]!), Math.floor(w! * scales![3]!)];
      const xt = nhwc(x);
      return [held(nearest
        ? tf.image.resizeNearestNeighbor(xt, size, false, false)
        : tf.image.resizeBilinear(xt, size, coord === "align_corners", coord === "half_pixel"))];
    };
  },
};
