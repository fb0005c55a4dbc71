/**
 * Lowering of elementwise and broadcast ops: each output element is an expression of the input
 * elements at the numpy-broadcast index. Composing accesses inlines whole chains.
 */
import {
  type Expr, add, call, div, exp, lit, lt, max, min, mul, select, sigmoid, sub, tanh,
} from "../loopir/expr.js";
import type { Access, OpLowerContext, OpLowering } from "./lowering.js";
import { legacyPReluSlope } from "../ops/activation.js";
import { dropoutMayTrain } from "../ops/normalization.js";

/** The index into an input of shape `inShape` for output index `index` (numpy broadcasting). */
export function broadcastAt(input: Access, index: readonly Expr[]): Expr {
  const offset = index.length - input.shape.length;
  return input.at(input.shape.map((d, j) => (d === 1 ? lit(0, "int") : index[offset + j]!)));
}

const f32 = (v: number) => lit(v, "f32");
const log = (x: Expr) => call("log", x);

/** An op whose output is `f(inputs...)` elementwise over the broadcast shape. */
function pointwise(f: (xs: Expr[], ctx: OpLowerContext) => Expr | string): OpLowering {
  return (ctx) => {
    const inputs = ctx.inputs.filter((x): x is Access => x !== null);
    const shape = ctx.outputShapes[0]!;
    // Build once at symbolic index variables to learn whether the op is supported here.
    const probe = f(inputs.map(() => f32(0)), ctx);
    if (typeof probe === "string") return probe;
    return [{ shape, at: (index: readonly Expr[]) => f(inputs.map((x) => broadcastAt(x, index)), ctx) as Expr }];
  };
}

const unary = (f: (x: Expr, ctx: OpLowerContext) => Expr | string) => pointwise((xs, ctx) => f(xs[0]!, ctx));
const variadic = (f: (a: Expr, b: Expr) => Expr) => pointwise((xs) => xs.reduce(f));

/** A float attribute, or the scalar constant input i, or the default. */
function scalarInput(ctx: OpLowerContext, i: number, fallback: number): number | string {
  if (ctx.node.inputs[i] === undefined || ctx.node.inputs[i] === "") return fallback;
  const t = ctx.constants[i];
  if (!t || t.size !== 1) return `input ${i} is not a constant scalar`;
  return t.numbers()[0]!;
}

function clip(x: Expr, ctx: OpLowerContext): Expr | string {
  const lo = ctx.opset < 11 ? ctx.attrs.optFloat("min") ?? -Infinity : scalarInput(ctx, 1, -Infinity);
  const hi = ctx.opset < 11 ? ctx.attrs.optFloat("max") ?? Infinity : scalarInput(ctx, 2, Infinity);
  if (typeof lo === "string") return lo;
  if (typeof hi === "string") return hi;
  return min(max(x, f32(lo)), f32(hi));
}

/** x ** y for a constant exponent with an exact expansion. */
function pow(xs: Expr[], ctx: OpLowerContext): Expr | string {
  const t = ctx.constants[1];
  if (!t || t.size !== 1) return "Pow with a non-constant exponent";
  const y = t.numbers()[0]!;
  const x = xs[0]!;
  if (y === 0.5) return call("sqrt", x);
  if (Number.isInteger(y) && y >= 0 && y <= 4) return Array.from({ length: y }, () => x).reduce<Expr>((a, b) => mul(a, b), f32(1));
  return `Pow with exponent ${y}`;
}

const softplus = (x: Expr) => log(add(exp(x), f32(1)));

export const ELEMENTWISE_LOWERINGS: Readonly<Record<string, OpLowering>> = {
  Identity: unary((x) => x),
  Dropout: unary((x, ctx) => (dropoutMayTrain(ctx.node, ctx.opset, ctx.constants[2]) ? "Dropout may train here (masks at random)" : x)),
  Relu: unary((x) => max(x, f32(0))),
  Sigmoid: unary((x) => sigmoid(x)),
  Tanh: unary((x) => tanh(x)),
  Exp: unary((x) => exp(x)),
  Log: unary((x) => log(x)),
  Sqrt: unary((x) => call("sqrt", x)),
  Abs: unary((x) => call("abs", x)),
  Neg: unary((x) => call("neg", x)),
  Erf: unary((x) => call("erf", x)),
  Reciprocal: unary((x) => div(f32(1), x)),
  Softplus: unary(softplus),
  Softsign: unary((x) => div(x, add(call("abs", x), f32(1)))),
  Mish: unary((x) => mul(x, tanh(softplus(x)))),
  LeakyRelu: unary((x, ctx) => select(lt(x, f32(0)), mul(x, f32(ctx.attrs.float("alpha"))), x)),
  Elu: unary((x, ctx) => select(lt(x, f32(0)), mul(sub(exp(x), f32(1)), f32(ctx.attrs.float("alpha"))), x)),
  Selu: unary((x, ctx) => {
    const alpha = f32(ctx.attrs.float("alpha")), gamma = f32(ctx.attrs.float("gamma"));
    return mul(select(lt(x, f32(0)), mul(sub(exp(x), f32(1)), alpha), x), gamma);
  }),
  HardSigmoid: unary((x, ctx) => max(f32(0), min(f32(1), add(mul(x, f32(ctx.attrs.float("alpha"))), f32(ctx.attrs.float("beta")))))),
  HardSwish: unary((x) => mul(x, max(f32(0), min(f32(1), add(mul(x, f32(1 / 6)), f32(0.5)))))),
  Gelu: unary((x, ctx) => {
    if (ctx.attrs.string("approximate") === "tanh") {
      const inner = mul(add(x, mul(mul(mul(x, x), x), f32(0.044715))), f32(Math.sqrt(2 / Math.PI)));
      return mul(mul(x, f32(0.5)), add(tanh(inner), f32(1)));
    }
    return mul(mul(x, f32(0.5)), add(call("erf", mul(x, f32(Math.SQRT1_2))), f32(1)));
  }),
  Clip: unary(clip),
  ThresholdedRelu: unary((x, ctx) => select(lt(f32(ctx.attrs.float("alpha")), x), x, f32(0))),
  Celu: unary((x, ctx) => {
    const alpha = f32(ctx.attrs.float("alpha"));
    return add(max(x, f32(0)), min(f32(0), mul(alpha, sub(exp(div(x, alpha)), f32(1)))));
  }),
  Swish: unary((x, ctx) => mul(x, sigmoid(mul(x, f32(ctx.attrs.float("alpha")))))),
  Shrink: unary((x, ctx) => {
    const lambd = ctx.attrs.float("lambd"), bias = f32(ctx.attrs.float("bias"));
    return select(lt(x, f32(-lambd)), add(x, bias), select(lt(f32(lambd), x), sub(x, bias), f32(0)));
  }),
  Add: variadic(add),
  Sub: variadic(sub),
  Mul: variadic(mul),
  Div: variadic(div),
  Sum: variadic(add),
  Max: variadic(max),
  Min: variadic(min),
  Mean: pointwise((xs) => div(xs.reduce((a, b) => add(a, b)), f32(xs.length))),
  PRelu: (ctx) => {
    const [x, slope] = ctx.inputs as Access[];
    const legacy = legacyPReluSlope(ctx.opset, x!.shape, slope!.shape);
    // A per-channel slope of an opset-6 model reads its channel from axis 1 of the output index.
    const channelSlope: Access | undefined = legacy && { shape: legacy, at: (index) => slope!.at([index[0]!]) };
    return pointwise(([xv, s]) => select(lt(xv!, f32(0)), mul(xv!, s!), xv!))({ ...ctx, inputs: [x!, channelSlope ?? slope!] });
  },
  Pow: pointwise(pow),
};
