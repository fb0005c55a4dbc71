/** Losses: SoftmaxCrossEntropyLoss, NegativeLogLikelihoodLoss. */
import { EvalError, ModelError, UnsupportedError } from "../ir/errors.js";
import { Tensor, shapeSize } from "../ir/tensor.js";
import type { TensorType } from "../ir/types.js";
import { logSoftmaxRow } from "./normalization.js";
import type { AttrSchema, EvalContext, InferContext, OpDef } from "./registry.js";
import { inputType, req } from "./util.js";

const lossAttrs: AttrSchema = {
  ignore_index: { type: "int" },
  reduction: { type: "string", default: "mean", values: ["none", "sum", "mean"] },
};

function reductionOf(ctx: InferContext | EvalContext): "none" | "sum" | "mean" {
  const r = ctx.attrs.string("reduction");
  if (r === "none" || r === "sum" || r === "mean") return r;
  throw new ModelError(`${ctx.node.op}: unknown reduction '${r}'`);
}

/**
 * The negative log-likelihood of `logp` [N, C, d...] at the classes `target` [N, d...], with
 * optional class weights. Ignored targets contribute 0 and are left out of the mean's
 * denominator; the mean divides by the total weight when weights or ignore_index are given.
 */
function nll(
  op: string,
  logp: Float64Array,
  shape: readonly number[],
  target: Tensor,
  weight: Float64Array | null,
  reduction: "none" | "sum" | "mean",
  ignore: number | undefined,
): { values: number[]; shape: number[] } {
  if (shape.length < 2) throw new ModelError(`${op}: input must have rank >= 2, got [${shape.join(",")}]`);
  const [N, C] = [shape[0]!, shape[1]!];
  const D = shapeSize(shape.slice(2));
  const expected = [N, ...shape.slice(2)];
  if (target.shape.length !== expected.length || target.shape.some((d, i) => d !== expected[i])) {
    throw new EvalError(`${op}: target shape [${target.shape.join(",")}] does not match input shape [${shape.join(",")}]`);
  }
  const t = target.numbers();
  const loss = new Array<number>(N * D).fill(0);
  const w = new Array<number>(N * D).fill(0);
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      const k = n * D + d;
      const cls = t[k]!;
      if (cls === ignore) continue;
      if (cls < 0 || cls >= C) throw new EvalError(`${op}: target class ${cls} is out of range [0, ${C})`);
      w[k] = weight ? weight[cls]! : 1;
      loss[k] = -logp[(n * C + cls) * D + d]! * w[k]!;
    }
  }
  const total = loss.reduce((a, b) => a + b, 0);
  if (reduction === "none") return { values: loss, shape: [...target.shape] };
  if (reduction === "sum") return { values: [total], shape: [] };
  const denom = weight !== null || ignore !== undefined ? w.reduce((a, b) => a + b, 0) : N * D;
  return { values: [total / denom], shape: [] };
}

function inferLoss(ctx: InferContext): (TensorType | null)[] {
  const x = inputType(ctx, 0);
  const target = inputType(ctx, 1);
  const out: (TensorType | null)[] = [{ dtype: x.dtype, shape: reductionOf(ctx) === "none" ? target.shape : [] }];
  if (ctx.outputCount > 1) out.push(x);
  return out;
}

function checkTarget(op: string, t: Tensor): void {
  if (t.dtype !== "int32" && t.dtype !== "int64") throw new UnsupportedError(`${op}: target dtype ${t.dtype} is not supported`, `${op} target ${t.dtype}`);
}

const nllLoss: OpDef = {
  name: "NegativeLogLikelihoodLoss",
  pattern: "opaque",
  attrs: lossAttrs,
  infer: inferLoss,
  evaluate: (ctx) => {
    const op = "NegativeLogLikelihoodLoss";
    const x = req(ctx.inputs[0], op, 0);
    const target = req(ctx.inputs[1], op, 1);
    checkTarget(op, target);
    const r = nll(op, x.numbers(), x.shape, target, ctx.inputs[2]?.numbers() ?? null, reductionOf(ctx), ctx.attrs.optInt("ignore_index"));
    return [Tensor.fromNumbers(x.dtype, r.shape, r.values)];
  },
};

const sceLoss: OpDef = {
  name: "SoftmaxCrossEntropyLoss",
  pattern: "opaque",
  attrs: lossAttrs,
  infer: inferLoss,
  evaluate: (ctx) => {
    const op = "SoftmaxCrossEntropyLoss";
    const x = req(ctx.inputs[0], op, 0);
    const target = req(ctx.inputs[1], op, 1);
    checkTarget(op, target);
    if (x.rank < 2) throw new ModelError(`${op}: scores must have rank >= 2, got [${x.shape.join(",")}]`);
    // log_softmax over the class axis 1.
    const [N, C] = [x.shape[0]!, x.shape[1]!];
    const D = shapeSize(x.shape.slice(2));
    const v = x.numbers();
    const logp = new Float64Array(v.length);
    for (let n = 0; n < N; n++) {
      for (let d = 0; d < D; d++) {
        const idx = Array.from({ length: C }, (_, c) => (n * C + c) * D + d);
        const row = logSoftmaxRow(idx.map((i) => v[i]!));
        idx.forEach((i, c) => (logp[i] = row[c]!));
      }
    }
    const r = nll(op, logp, x.shape, target, ctx.inputs[2]?.numbers() ?? null, reductionOf(ctx), ctx.attrs.optInt("ignore_index"));
    const outs: Tensor[] = [Tensor.fromNumbers(x.dtype, r.shape, r.values)];
    if (ctx.outputCount > 1) outs.push(Tensor.fromNumbers(x.dtype, x.shape, logp));
    return outs;
  },
};

export const ops: OpDef[] = [sceLoss, nllLoss];
