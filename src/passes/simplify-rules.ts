/**
 * Algebraic simplification rules, as rows for the rewrite driver. Each row's comment says
 * what it rewrites. A rule only fires when the result is provably the same: equal dtypes and
 * shapes where an op is dropped, constants that really are 0 or 1, single-use producers where
 * a producer is changed.
 */
import type { Attr, Node } from "../ir/graph.js";
import { Tensor, shapeSize } from "../ir/tensor.js";
import type { TensorType } from "../ir/types.js";
import type { Rewrite, Rule, RuleContext } from "./rewrite.js";
import { canReshape } from "./emitter.js";
import { dropoutMayTrain } from "../ops/normalization.js";
import { opsetFor } from "../ops/interpreter.js";

const sameType = (a: TensorType | undefined, b: TensorType | undefined): boolean =>
  !!a && !!b && a.dtype === b.dtype && a.shape !== null && b.shape !== null &&
  a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape![i]);

const isStatic = (t: TensorType | undefined): t is TensorType & { shape: number[] } =>
  !!t && t.shape !== null && t.shape.every((d) => typeof d === "number");

/** The node's single output is just its input i: alias them (when the types agree). */
function passThrough(n: Node, ctx: RuleContext, i = 0): Rewrite | null {
  const x = n.inputs[i];
  const y = n.outputs[0];
  if (!x || !y || !sameType(ctx.type(x), ctx.type(y))) return null;
  if (n.outputs.slice(1).some((o) => o !== "" && ctx.uses(o) > 0)) return null;
  return { alias: [[y, x]] };
}

function allEqual(t: Tensor | undefined, v: number): boolean {
  return !!t && t.numbers().every((x) => x === v);
}

/** x op c or c op x with c constant all `v`, where the result has x's type. */
function neutralOperand(v: number, commutes: boolean) {
  return (n: Node, ctx: RuleContext): Rewrite | null => {
    if (allEqual(ctx.constant(n.inputs[1]!), v)) return passThrough(n, ctx, 0);
    if (commutes && allEqual(ctx.constant(n.inputs[0]!), v)) return passThrough(n, ctx, 1);
    return null;
  };
}

const int64 = (values: readonly number[]) => Tensor.fromNumbers("int64", [values.length], values);

/** Per-channel values of a constant broadcast against a [N, C, ...] output, or null if not per-channel. */
function perChannel(c: Tensor, out: TensorType, channels: number): Float64Array | null {
  if (out.shape === null) return null;
  const rank = out.shape.length;
  if (c.rank > rank) return null;
  const dims = [...new Array<number>(rank - c.rank).fill(1), ...c.shape];
  if (dims.some((d, i) => i !== 1 && d !== 1)) return null;
  const v = c.numbers();
  if (dims[1] === 1) return new Float64Array(channels).fill(v[0]!);
  return dims[1] === channels ? v : null;
}

/** A Conv whose output only `consumer` reads, with constant weights (and bias, if any). */
function foldableConv(x: string, ctx: RuleContext): { conv: Node; w: Tensor; b: Float64Array } | null {
  const conv = ctx.producer(x);
  if (!conv || conv.op !== "Conv" || ctx.uses(x) !== 1) return null;
  const w = ctx.constant(conv.inputs[1]!);
  if (!w || w.dtype !== "float32") return null;
  const bName = conv.inputs[2];
  const bias = bName ? ctx.constant(bName) : undefined;
  if (bName && !bias) return null;
  return { conv, w, b: bias ? bias.numbers() : new Float64Array(w.shape[0]!) };
}

/** Rebuild the conv with weights scaled per output channel and a new bias; it takes `out` as its output. */
function rebuiltConv(ctx: RuleContext, conv: Node, w: Tensor, scale: Float64Array | null, bias: Float64Array, out: string): Rewrite {
  const wName = ctx.freshName(`${conv.inputs[1]}_folded`);
  const bName = ctx.freshName(`${conv.inputs[1]}_bias_folded`);
  let wNew = w;
  if (scale) {
    // Scale each output channel's block of weights (the weights are float32: checked by foldableConv).
    const per = shapeSize(w.shape) / w.shape[0]!;
    const data = new Float32Array(w.data as Float32Array);
    for (let oc = 0; oc < w.shape[0]!; oc++) {
      const s = scale[oc]!;
      for (let i = oc * per; i < (oc + 1) * per; i++) data[i]! *= s;
    }
    wNew = new Tensor(w.dtype, w.shape, data);
  }
  const newConv: Node = { ...conv, inputs: [conv.inputs[0]!, wName, bName], outputs: [out] };
  return {
    nodes: [newConv],
    remove: [conv],
    initializers: new Map([[wName, wNew], [bName, Tensor.fromNumbers(w.dtype, [bias.length], bias)]]),
  };
}

/** Before opset 7, BatchNormalization and Dropout train unless `is_test` is set. */
function trainingBeforeOpset7(n: Node, ctx: RuleContext): boolean {
  const isTest = n.attrs["is_test"];
  return (ctx.opsets[""] ?? 1) < 7 && !(isTest?.type === "int" && isTest.value !== 0);
}

/** BatchNormalization's inference-mode scale and shift per channel, when all its parameters are constant. */
function bnAffine(n: Node, ctx: RuleContext): { scale: Float64Array; shift: Float64Array } | null {
  if (n.outputs.slice(1).some((o) => o !== "" && ctx.uses(o) > 0)) return null;
  if (trainingBeforeOpset7(n, ctx)) return null;
  if (n.attrs["training_mode"]?.type === "int" && n.attrs["training_mode"].value !== 0) return null;
  const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => ctx.constant(n.inputs[i] ?? ""));
  if (!gamma || !beta || !mean || !variance) return null;
  const epsAttr = n.attrs["epsilon"];
  const eps = epsAttr?.type === "float" ? epsAttr.value : 1e-5;
  const g = gamma.numbers(), b = beta.numbers(), m = mean.numbers(), v = variance.numbers();
  const scale = g.map((gi, i) => gi / Math.sqrt(v[i]! + Math.fround(eps)));
  const shift = b.map((bi, i) => bi - m[i]! * scale[i]!);
  return { scale, shift };
}

/** Scale the columns (axis 1 of [K,N]) or rows ([N,K] when transposed) of a 2-D weight by s. */
function scaleOutputs(w: Tensor, s: Float64Array, transposed: boolean): Tensor {
  const [r, c] = [w.shape[0]!, w.shape[1]!];
  const v = w.numbers();
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) v[i * c + j]! *= s[transposed ? i : j]!;
  return Tensor.fromNumbers(w.dtype, w.shape, v);
}

/** A constant bias that is the same for every row: its N values (null if it varies by row). */
function rowBias(c: Tensor | undefined, n: number): Float64Array | null {
  if (!c) return new Float64Array(n);
  const v = c.numbers();
  if (c.size === 1) return new Float64Array(n).fill(v[0]!);
  if (c.size === n && (c.rank === 1 || (c.rank === 2 && c.shape[0] === 1))) return v;
  return null;
}

/** A binary op of a single-use Conv's output and a per-channel constant, handed to `fold`. */
function perChannelIntoConv(fold: (ctx: RuleContext, conv: NonNullable<ReturnType<typeof foldableConv>>, c: Float64Array, out: string) => Rewrite) {
  return (n: Node, ctx: RuleContext): Rewrite | null => {
    for (const [x, k] of [[0, 1], [1, 0]] as const) {
      const c = ctx.constant(n.inputs[k]!);
      const conv = c && foldableConv(n.inputs[x]!, ctx);
      const out = ctx.type(n.outputs[0]!);
      if (!c || !conv || !out || !sameType(out, ctx.type(n.inputs[x]!))) continue;
      const s = perChannel(c, out, conv.w.shape[0]!);
      if (s) return fold(ctx, conv, s, n.outputs[0]!);
    }
    return null;
  };
}

export const SIMPLIFY_RULES: readonly Rule[] = [
  // Identity(x) -> x
  { name: "identity", op: "Identity", apply: (n, ctx) => passThrough(n, ctx) },
  // Dropout(x) -> x at inference (no mask read, not in training mode)
  {
    name: "dropout", op: "Dropout",
    apply: (n, ctx) => {
      const trainingMode = n.inputs[2] ? ctx.constant(n.inputs[2]) : undefined;
      return dropoutMayTrain(n, opsetFor(ctx.opsets, "Dropout"), trainingMode) ? null : passThrough(n, ctx);
    },
  },
  // Cast(x, to=dtype(x)) -> x
  { name: "cast-same-type", op: "Cast", apply: (n, ctx) => passThrough(n, ctx) },
  // Reshape(x) to x's own shape -> x
  { name: "reshape-same-shape", op: "Reshape", apply: (n, ctx) => (isStatic(ctx.type(n.outputs[0]!)) ? passThrough(n, ctx) : null) },
  // Expand(x) to x's own shape -> x
  { name: "expand-same-shape", op: "Expand", apply: (n, ctx) => (isStatic(ctx.type(n.outputs[0]!)) ? passThrough(n, ctx) : null) },
  // Concat(x) -> x
  { name: "concat-one", op: "Concat", apply: (n, ctx) => (n.inputs.length === 1 ? passThrough(n, ctx) : null) },
  // x*1, 1*x -> x
  { name: "mul-one", op: "Mul", apply: neutralOperand(1, true) },
  // x+0, 0+x -> x
  { name: "add-zero", op: "Add", apply: neutralOperand(0, true) },
  // x-0 -> x
  { name: "sub-zero", op: "Sub", apply: neutralOperand(0, false) },
  // x/1 -> x
  { name: "div-one", op: "Div", apply: neutralOperand(1, false) },
  // Transpose(Transpose(x, p), q) -> Transpose(x, p∘q), or x when that is the identity
  {
    name: "transpose-transpose", op: "Transpose",
    apply: (n, ctx) => {
      const inner = ctx.producer(n.inputs[0]!);
      if (!inner || inner.op !== "Transpose") return null;
      const p = inner.attrs["perm"], q = n.attrs["perm"];
      if (p?.type !== "ints" || q?.type !== "ints") return null;
      const composed = q.value.map((i) => p.value[i]!);
      const x = inner.inputs[0]!;
      if (composed.every((v, i) => v === i)) return sameType(ctx.type(x), ctx.type(n.outputs[0]!)) ? { alias: [[n.outputs[0]!, x]] } : null;
      return { nodes: [{ ...n, inputs: [x], attrs: { ...n.attrs, perm: { type: "ints", value: composed } } }] };
    },
  },
  // Reshape(Reshape(x, s1), s2) -> Reshape(x, s2'), s2' the static output shape
  {
    name: "reshape-reshape", op: "Reshape",
    apply: (n, ctx) => {
      const inner = ctx.producer(n.inputs[0]!);
      const out = ctx.type(n.outputs[0]!);
      if (!inner || inner.op !== "Reshape" || !isStatic(out) || !canReshape(ctx, out.shape)) return null;
      const shapeName = ctx.freshName(`${n.outputs[0]}_shape`);
      const attrs: Record<string, Attr> = out.shape.includes(0) ? { allowzero: { type: "int", value: 1 } } : {};
      return {
        nodes: [{ ...n, inputs: [inner.inputs[0]!, shapeName], attrs }],
        initializers: new Map([[shapeName, int64(out.shape)]]),
      };
    },
  },
  // Unsqueeze(Squeeze(x)) and Squeeze(Unsqueeze(x)) that restore x's shape -> x
  ...(["Squeeze", "Unsqueeze"] as const).map((op): Rule => ({
    name: `${op.toLowerCase()}-inverse`, op,
    apply: (n, ctx) => {
      const inner = ctx.producer(n.inputs[0]!);
      if (!inner || inner.op !== (op === "Squeeze" ? "Unsqueeze" : "Squeeze")) return null;
      const x = inner.inputs[0]!;
      return sameType(ctx.type(x), ctx.type(n.outputs[0]!)) ? { alias: [[n.outputs[0]!, x]] } : null;
    },
  })),
  // BatchNormalization(Conv(x, W, b)) -> Conv(x, W*s, (b-mean)*s+beta), s = gamma/sqrt(var+eps)
  {
    name: "batchnorm-into-conv", op: "BatchNormalization",
    apply: (n, ctx) => {
      const bn = bnAffine(n, ctx);
      const c = bn && foldableConv(n.inputs[0]!, ctx);
      if (!bn || !c) return null;
      const bias = c.b.map((bi, i) => bi * bn.scale[i]! + bn.shift[i]!);
      return rebuiltConv(ctx, c.conv, c.w, bn.scale, bias, n.outputs[0]!);
    },
  },
  // BatchNormalization(Gemm(A, B, C)) on [M,N] -> Gemm(A, B*s, s*beta*C+t) with beta 1
  {
    name: "batchnorm-into-gemm", op: "BatchNormalization",
    apply: (n, ctx) => {
      const bn = bnAffine(n, ctx);
      const gemm = ctx.producer(n.inputs[0]!);
      if (!bn || !gemm || gemm.op !== "Gemm" || ctx.uses(n.inputs[0]!) !== 1) return null;
      const b = ctx.constant(gemm.inputs[1]!);
      const cName = gemm.inputs[2];
      const c = cName ? ctx.constant(cName) : undefined;
      if (!b || b.rank !== 2 || b.dtype !== "float32" || (cName && !c)) return null;
      const trans = gemm.attrs["transB"]?.type === "int" && gemm.attrs["transB"].value === 1;
      const beta = gemm.attrs["beta"]?.type === "float" ? gemm.attrs["beta"].value : 1;
      const bias = rowBias(c, bn.scale.length);
      if (!bias || (trans ? b.shape[0] : b.shape[1]) !== bn.scale.length) return null;
      const bNew = ctx.freshName(`${gemm.inputs[1]}_folded`), cNew = ctx.freshName(`${gemm.inputs[1]}_bias_folded`);
      return {
        nodes: [{ ...gemm, inputs: [gemm.inputs[0]!, bNew, cNew], outputs: [n.outputs[0]!], attrs: { ...gemm.attrs, beta: { type: "float", value: 1 } } }],
        remove: [gemm],
        initializers: new Map([
          [bNew, scaleOutputs(b, bn.scale, trans)],
          [cNew, Tensor.fromNumbers("float32", [bn.scale.length], bias.map((x, j) => bn.scale[j]! * beta * x + bn.shift[j]!))],
        ]),
      };
    },
  },
  // BatchNormalization(MatMul(A, W)) on [M,N] -> Add(MatMul(A, W*s), t)
  {
    name: "batchnorm-into-matmul", op: "BatchNormalization",
    apply: (n, ctx) => {
      const bn = bnAffine(n, ctx);
      const mm = ctx.producer(n.inputs[0]!);
      const out = ctx.type(n.inputs[0]!);
      if (!bn || !mm || mm.op !== "MatMul" || ctx.uses(n.inputs[0]!) !== 1 || out?.shape?.length !== 2) return null;
      const w = ctx.constant(mm.inputs[1]!);
      if (!w || w.rank !== 2 || w.dtype !== "float32" || w.shape[1] !== bn.scale.length) return null;
      const wNew = ctx.freshName(`${mm.inputs[1]}_folded`), t = ctx.freshName(`${mm.inputs[1]}_shift`), mid = ctx.freshName(`${n.outputs[0]}_matmul`);
      return {
        nodes: [
          { ...mm, inputs: [mm.inputs[0]!, wNew], outputs: [mid] },
          { op: "Add", name: n.name, inputs: [mid, t], outputs: [n.outputs[0]!], attrs: {} },
        ],
        remove: [mm],
        initializers: new Map([[wNew, scaleOutputs(w, bn.scale, false)], [t, Tensor.fromNumbers("float32", [bn.shift.length], bn.shift)]]),
        types: new Map([[mid, out]]),
      };
    },
  },
  // BatchNormalization(x) elsewhere -> x*s + t with per-channel constants (then fusable as elementwise)
  {
    name: "batchnorm-to-affine", op: "BatchNormalization",
    apply: (n, ctx) => {
      const bn = bnAffine(n, ctx);
      const t = ctx.type(n.inputs[0]!);
      if (!bn || !t || t.shape === null || t.shape.length < 2 || t.dtype !== "float32") return null;
      const shape = [bn.scale.length, ...new Array<number>(t.shape.length - 2).fill(1)];
      const s = ctx.freshName(`${n.outputs[0]}_scale`), b = ctx.freshName(`${n.outputs[0]}_shift`), mid = ctx.freshName(`${n.outputs[0]}_scaled`);
      return {
        nodes: [
          { op: "Mul", name: n.name, inputs: [n.inputs[0]!, s], outputs: [mid], attrs: {} },
          { op: "Add", name: n.name, inputs: [mid, b], outputs: [n.outputs[0]!], attrs: {} },
        ],
        initializers: new Map([[s, Tensor.fromNumbers("float32", shape, bn.scale)], [b, Tensor.fromNumbers("float32", shape, bn.shift)]]),
      };
    },
  },
  // Mul(Conv(x, W, b), c) with c per output channel -> Conv(x, W*c, b*c)
  { name: "mul-into-conv", op: "Mul", apply: perChannelIntoConv((ctx, conv, s, out) => rebuiltConv(ctx, conv.conv, conv.w, s, conv.b.map((bi, i) => bi * s[i]!), out)) },
  // Add(Conv(x, W, b), c) with c per output channel -> Conv(x, W, b+c)
  { name: "add-into-conv", op: "Add", apply: perChannelIntoConv((ctx, conv, s, out) => rebuiltConv(ctx, conv.conv, conv.w, null, conv.b.map((bi, i) => bi + s[i]!), out)) },
  // Gemm(A, B, C) with C computed (beta 1) -> Add(Gemm(A, B), C): as an epilogue Add, C's
  // producer can fuse into the product's kernel when it is injective (an RNN step reading its
  // row of a batched input projection), instead of being a kernel of its own.
  {
    name: "gemm-computed-c", op: "Gemm",
    apply: (n, ctx) => {
      const c = n.inputs[2] ?? "";
      const out = ctx.type(n.outputs[0]!);
      if (c === "" || ctx.constant(c) || (n.attrs["beta"]?.value ?? 1) !== 1 || !out) return null;
      const mid = ctx.freshName(`${n.outputs[0]}_product`);
      return {
        nodes: [
          { ...n, inputs: n.inputs.slice(0, 2), outputs: [mid], attrs: Object.fromEntries(Object.entries(n.attrs).filter(([k]) => k !== "beta")) },
          { op: "Add", name: n.name, inputs: [mid, c], outputs: [n.outputs[0]!], attrs: {} },
        ],
        types: new Map([[mid, out]]),
      };
    },
  },
];
