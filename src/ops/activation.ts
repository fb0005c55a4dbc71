/** Activation functions: Relu, Sigmoid, Elu, Selu, Gelu, Mish, HardSwish and friends. */
import { type DType, isFloat } from "../ir/dtype.js";
import { ModelError } from "../ir/errors.js";
import type { Attrs, AttrSchema, OpDef } from "./registry.js";
import { erf, mapElements } from "./elementwise.js";
import { broadcastDims, inputType, req } from "./util.js";

/** Attribute of the opset-1 versions (a legacy memory hint, ignored). */
const CONSUMED: AttrSchema = { consumed_inputs: { type: "ints", until: 6 } };

/**
 * A float activation. `make` reads the attributes once per node and returns the scalar function.
 * `ints` lists the integer dtypes the op also accepts; int64/uint64 go through `bigF` when given
 * (exact), else through float64 and truncate.
 */
function activation(
  name: string,
  attrs: AttrSchema,
  make: (a: Attrs) => (x: number) => number,
  ints: readonly DType[] = [],
  bigF?: (x: bigint) => bigint,
): OpDef {
  return {
    name,
    pattern: "elementwise",
    attrs,
    infer: (ctx) => [inputType(ctx, 0)],
    evaluate: (ctx) => {
      const x = req(ctx.inputs[0], name, 0);
      if (!isFloat(x.dtype) && !ints.includes(x.dtype)) throw new ModelError(`${name}: dtype ${x.dtype} is not allowed`);
      const f = make(ctx.attrs);
      return [mapElements([x], x.dtype, ([v]) => {
        if (typeof v !== "bigint") return f(v!);
        return bigF ? bigF(v) : BigInt(Math.trunc(f(Number(v))));
      })];
    },
  };
}

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
/** log(1 + e^x) without overflow for large x. */
const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

const SIGNED_INTS: readonly DType[] = ["int8", "int16", "int32", "int64"];

const relu = activation("Relu", CONSUMED, () => (x) => (x > 0 ? x : x < 0 ? 0 : x), SIGNED_INTS, (v) => (v > 0n ? v : 0n));

const leakyRelu = activation("LeakyRelu", { ...CONSUMED, alpha: { type: "float", default: 0.01 } }, (a) => {
  const alpha = a.float("alpha");
  return (x) => (x >= 0 ? x : alpha * x);
});

const elu = activation("Elu", { ...CONSUMED, alpha: { type: "float", default: 1 } }, (a) => {
  const alpha = a.float("alpha");
  return (x) => (x >= 0 ? x : alpha * Math.expm1(x));
});

const selu = activation("Selu", {
  ...CONSUMED,
  alpha: { type: "float", default: 1.67326319217681884765625 },
  gamma: { type: "float", default: 1.05070102214813232421875 },
}, (a) => {
  const alpha = a.float("alpha"), gamma = a.float("gamma");
  return (x) => (x > 0 ? gamma * x : gamma * alpha * Math.expm1(x));
});

const celu = activation("Celu", { alpha: { type: "float", default: 1 } }, (a) => {
  const alpha = a.float("alpha");
  return (x) => Math.max(0, x) + Math.min(0, alpha * Math.expm1(x / alpha));
});

const thresholdedRelu = activation("ThresholdedRelu", { alpha: { type: "float", default: 1 } }, (a) => {
  const alpha = a.float("alpha");
  return (x) => (x > alpha ? x : 0);
});

const hardSigmoid = activation("HardSigmoid", {
  ...CONSUMED,
  alpha: { type: "float", default: 0.2 },
  beta: { type: "float", default: 0.5 },
}, (a) => {
  const alpha = a.float("alpha"), beta = a.float("beta");
  return (x) => Math.max(0, Math.min(1, alpha * x + beta));
});

const hardSwish = activation("HardSwish", {}, () => (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5)));
const sigmoidOp = activation("Sigmoid", CONSUMED, () => sigmoid);
const tanh = activation("Tanh", CONSUMED, () => Math.tanh);
const softplusOp = activation("Softplus", {}, () => softplus);
const softsign = activation("Softsign", {}, () => (x) => x / (1 + Math.abs(x)));
const mish = activation("Mish", {}, () => (x) => x * Math.tanh(softplus(x)));

const gelu = activation("Gelu", { approximate: { type: "string", default: "none", values: ["none", "tanh"] } }, (a) => {
  const mode = a.string("approximate");
  if (mode === "none") return (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));
  const c = Math.sqrt(2 / Math.PI);
  return (x) => 0.5 * x * (1 + Math.tanh(c * (x + 0.044715 * x * x * x)));
});

const swish = activation("Swish", { alpha: { type: "float", default: 1 } }, (a) => {
  const alpha = a.float("alpha");
  return (x) => x * sigmoid(alpha * x);
});

const NUMERIC: readonly DType[] = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"];

const shrink = activation("Shrink", {
  bias: { type: "float", default: 0 },
  lambd: { type: "float", default: 0.5 },
}, (a) => {
  const bias = a.float("bias"), lambd = a.float("lambd");
  return (x) => (x < -lambd ? x + bias : x > lambd ? x - bias : 0);
}, NUMERIC);

/** PRelu: y = x < 0 ? slope * x : x, with slope broadcast to x (unidirectionally since opset 7). */
/**
 * Before opset 7, PRelu had no numpy broadcasting: a slope of one value per channel ([C] over
 * [N,C,...], as PyTorch's old exporter wrote it) applies along axis 1. The slope's shape under
 * that rule (C then ones), or undefined when the opset's numpy rule applies as it is.
 */
export function legacyPReluSlope<D>(opset: number, x: readonly D[], slope: readonly D[]): (D | 1)[] | undefined {
  if (opset >= 7 || slope.length !== 1 || x.length < 2 || slope[0] === 1 || slope[0] !== x[1]) return undefined;
  return [slope[0]!, ...x.slice(2).map(() => 1 as const)];
}

const prelu: OpDef = {
  name: "PRelu",
  pattern: "broadcast",
  attrs: CONSUMED,
  infer: (ctx) => {
    const x = inputType(ctx, 0), s = inputType(ctx, 1);
    const slope = x.shape && s.shape ? legacyPReluSlope(ctx.opset, x.shape, s.shape) ?? s.shape : s.shape;
    return [{ dtype: x.dtype, shape: broadcastDims([x.shape, slope]) }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "PRelu", 0), given = req(ctx.inputs[1], "PRelu", 1);
    const legacy = legacyPReluSlope(ctx.opset, x.shape, given.shape);
    const slope = legacy ? given.reshape(legacy as number[]) : given;
    if (x.dtype !== slope.dtype) throw new ModelError(`PRelu: X and slope dtypes differ (${x.dtype} and ${slope.dtype})`);
    if (x.dtype === "bool") throw new ModelError("PRelu: bool input is not allowed");
    return [mapElements([x, slope], x.dtype, ([v, s]) => {
      if (typeof v === "bigint") return v < 0n ? v * (s as bigint) : v;
      return v! < 0 ? (s as number) * v! : v!;
    })];
  },
};

export const ops: OpDef[] = [
  relu, leakyRelu, prelu, elu, selu, celu, thresholdedRelu, hardSigmoid, hardSwish,
  sigmoidOp, tanh, softplusOp, softsign, mish, gelu, swish, shrink,
];
