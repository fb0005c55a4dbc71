/** Unary math, binary arithmetic, comparison, logical and bitwise ops, Cast, Where, Clip, variadic Sum/Mean/Max/Min. */
import { DTYPE_INFO, type DType, dtypeFromOnnx, isBigInt, isFloat } from "../ir/dtype.js";
import { EvalError, ModelError } from "../ir/errors.js";
import { Tensor, shapeSize } from "../ir/tensor.js";
import type { TensorType } from "../ir/types.js";
import type { AttrSchema, EvalContext, InferContext, OpDef } from "./registry.js";
import { broadcastIndex, broadcastShapes, broadcastDims, inputType, req } from "./util.js";

/** An element: a bigint for int64/uint64 (exact), a number otherwise. */
export type Num = number | bigint;

/** The elements of a tensor, exact for 64-bit integers. */
function elements(t: Tensor): ArrayLike<Num> {
  return isBigInt(t.dtype) ? (t.data as BigInt64Array) : t.numbers();
}

/** Build a tensor of `dtype` from elements; 64-bit integer storage wraps like the other integer arrays do. */
function fromElements(dtype: DType, shape: readonly number[], vals: readonly Num[]): Tensor {
  if (isBigInt(dtype)) {
    const data = DTYPE_INFO[dtype].make(vals.length) as BigInt64Array | BigUint64Array;
    for (let i = 0; i < vals.length; i++) {
      const v = vals[i]!;
      data[i] = typeof v === "bigint" ? v : Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
    }
    return new Tensor(dtype, [...shape], data);
  }
  return Tensor.fromNumbers(dtype, shape, vals.map((v) => (typeof v === "bigint" ? Number(v) : v)));
}

/** Apply `f` over numpy-broadcast inputs with exact 64-bit integer elements. */
export function mapElements(inputs: readonly Tensor[], outDtype: DType, f: (xs: Num[]) => Num): Tensor {
  const outShape = broadcastShapes(inputs.map((t) => t.shape));
  const n = shapeSize(outShape);
  const vals = inputs.map(elements);
  const idx = inputs.map((t) => broadcastIndex(t.shape, outShape));
  const out = new Array<Num>(n);
  const args = new Array<Num>(inputs.length);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < inputs.length; j++) args[j] = vals[j]![idx[j]![k]!]!;
    out[k] = f(args);
  }
  return fromElements(outDtype, outShape, out);
}

/** Number of bits of an integer dtype. */
const bitsOf = (d: DType): number => DTYPE_INFO[d].bytes * 8;

/** Wrap an exact integer result into dtype `d` (integer dtypes only). */
function wrapInt(d: DType, v: bigint): bigint {
  return DTYPE_INFO[d].isSigned ? BigInt.asIntN(bitsOf(d), v) : BigInt.asUintN(bitsOf(d), v);
}

const num = (v: Num): number => (typeof v === "bigint" ? Number(v) : v);
const big = (v: Num): bigint => (typeof v === "bigint" ? v : BigInt(Math.trunc(v)));

function cmp(a: Num, b: Num): number {
  if (typeof a === "bigint" && typeof b === "bigint") return a < b ? -1 : a > b ? 1 : 0;
  const x = num(a), y = num(b);
  return x < y ? -1 : x > y ? 1 : x === y ? 0 : NaN;
}

// ---------------------------------------------------------------------------------------------
// Unary ops

/** Attributes of opset-1 versions that took `consumed_inputs` (a legacy memory hint, ignored). */
const CONSUMED: AttrSchema = { consumed_inputs: { type: "ints", until: 6 } };

/** A unary op; with `bigF` it takes every numeric dtype (exact for 64-bit ints), else floats only. */
function unary(name: string, f: (x: number) => number, attrs: AttrSchema = {}, bigF?: (x: bigint) => bigint): OpDef {
  return {
    name,
    pattern: "elementwise",
    attrs,
    infer: (ctx) => [inputType(ctx, 0)],
    evaluate: (ctx) => {
      const x = req(ctx.inputs[0], name, 0);
      if (bigF === undefined ? !isFloat(x.dtype) : x.dtype === "bool") throw new ModelError(`${name}: dtype ${x.dtype} is not allowed`);
      // Narrow integer results (int8 -(-128), say) wrap in the storage arrays.
      return [mapElements([x], x.dtype, ([v]) => (typeof v === "bigint" ? bigF!(v) : f(v!)))];
    },
  };
}

/** Round half to even. */
function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** erf to about 1e-15: Taylor series near 0, continued fraction for erfc in the tails. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const a = Math.abs(x);
  if (a < 3) {
    // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
    let term = a, sum = a;
    const x2 = a * a;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const t = term / (2 * n + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (a > 6) return Math.sign(x);
  // erfc(a) = exp(-a^2)/sqrt(pi) / (a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))), evaluated from the tail.
  let frac = a;
  for (let k = 60; k >= 1; k--) frac = a + k / 2 / frac;
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / frac;
  return Math.sign(x) * (1 - erfc);
}

const numericUnaries: OpDef[] = [
  unary("Abs", Math.abs, CONSUMED, (v) => (v < 0n ? -v : v)),
  unary("Neg", (v) => -v, CONSUMED, (v) => -v),
  unary("Sign", Math.sign, {}, (v) => (v > 0n ? 1n : v < 0n ? -1n : 0n)),
];

const floatUnaries: OpDef[] = [
  unary("Ceil", Math.ceil, CONSUMED),
  unary("Floor", Math.floor, CONSUMED),
  unary("Round", roundHalfEven),
  unary("Reciprocal", (v) => 1 / v, CONSUMED),
  unary("Sqrt", Math.sqrt, CONSUMED),
  unary("Exp", Math.exp, CONSUMED),
  unary("Log", Math.log, CONSUMED),
  unary("Erf", erf),
  unary("Sin", Math.sin),
  unary("Cos", Math.cos),
  unary("Tan", Math.tan),
  unary("Asin", Math.asin),
  unary("Acos", Math.acos),
  unary("Atan", Math.atan),
  unary("Sinh", Math.sinh),
  unary("Cosh", Math.cosh),
  unary("Asinh", Math.asinh),
  unary("Acosh", Math.acosh),
  unary("Atanh", Math.atanh),
];

const isNaNOp: OpDef = {
  name: "IsNaN",
  pattern: "elementwise",
  attrs: {},
  infer: (ctx) => [{ dtype: "bool", shape: inputType(ctx, 0).shape }],
  evaluate: (ctx) => [mapElements([req(ctx.inputs[0], "IsNaN", 0)], "bool", ([v]) => (Number.isNaN(v) ? 1 : 0))],
};

const isInfOp: OpDef = {
  name: "IsInf",
  pattern: "elementwise",
  attrs: { detect_negative: { type: "int", default: 1 }, detect_positive: { type: "int", default: 1 } },
  infer: (ctx) => [{ dtype: "bool", shape: inputType(ctx, 0).shape }],
  evaluate: (ctx) => {
    const neg = ctx.attrs.int("detect_negative") !== 0;
    const pos = ctx.attrs.int("detect_positive") !== 0;
    return [mapElements([req(ctx.inputs[0], "IsInf", 0)], "bool", ([v]) =>
      (v === Infinity && pos) || (v === -Infinity && neg) ? 1 : 0)];
  },
};

const notOp: OpDef = {
  name: "Not",
  pattern: "elementwise",
  attrs: {},
  infer: (ctx) => [{ dtype: "bool", shape: inputType(ctx, 0).shape }],
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "Not", 0);
    if (x.dtype !== "bool") throw new ModelError(`Not: input must be bool, got ${x.dtype}`);
    return [mapElements([x], "bool", ([v]) => (v === 0 ? 1 : 0))];
  },
};

const bitwiseNot: OpDef = {
  name: "BitwiseNot",
  pattern: "elementwise",
  attrs: {},
  infer: (ctx) => [inputType(ctx, 0)],
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "BitwiseNot", 0);
    if (!DTYPE_INFO[x.dtype].isInt) throw new ModelError(`BitwiseNot: input must be an integer tensor, got ${x.dtype}`);
    // ~v is exact in 32 bits; the storage array wraps it to the dtype's width.
    return [mapElements([x], x.dtype, ([v]) => (typeof v === "bigint" ? wrapInt(x.dtype, ~v) : ~v!))];
  },
};

// ---------------------------------------------------------------------------------------------
// Binary ops

/** Attributes of the opset < 7 binary ops, which broadcast only when asked and align B at `axis`. */
const LEGACY_BCAST: AttrSchema = {
  broadcast: { type: "int", default: 0, until: 7 },
  axis: { type: "int", until: 7 },
};

/** Before opset 7, B's dims sit at `axis` of A's (numpy-like trailing alignment when axis is unset). */
function legacyAlign(ctx: EvalContext, a: Tensor, b: Tensor): Tensor {
  if (ctx.opset >= 7 || !("broadcast" in ctx.node.attrs)) return b;
  if (ctx.attrs.int("broadcast") === 0) return b;
  const axis = ctx.attrs.optInt("axis");
  if (axis === undefined) return b;
  const ax = axis < 0 ? axis + a.rank : axis;
  if (ax < 0 || ax + b.rank > a.rank) throw new ModelError(`${ctx.node.op}: axis ${axis} does not fit B [${b.shape.join(",")}] into A [${a.shape.join(",")}]`);
  const shape = new Array<number>(a.rank).fill(1);
  b.shape.forEach((d, i) => (shape[ax + i] = d));
  return b.reshape(shape);
}

/**
 * A two-input op's output type. What the kernels take for granted is checked here, before
 * anything compiles: exactly two inputs, one dtype for both (Pow's exponent may differ), and
 * the op's allowed dtypes.
 */
/** Counts and dtypes are the op's signature's to check (signature.ts); this is the shape rule. */
function binaryInfer(outDtype?: DType) {
  return (ctx: InferContext): TensorType[] => {
    const a = inputType(ctx, 0), b = inputType(ctx, 1);
    const dtype = outDtype ?? a.dtype;
    // Legacy broadcasting keeps A's shape.
    if (ctx.opset < 7 && "broadcast" in ctx.node.attrs) return [{ dtype, shape: a.shape }];
    return [{ dtype, shape: broadcastDims([a.shape, b.shape]) }];
  };
}

function binary(
  name: string,
  f: (a: Num, b: Num, dtype: DType) => Num,
  opts: { out?: DType; attrs?: AttrSchema; legacy?: boolean } = {},
): OpDef {
  const attrs = { ...(opts.legacy ? LEGACY_BCAST : {}), ...(opts.attrs ?? {}) };
  return {
    name,
    pattern: "broadcast",
    attrs,
    infer: binaryInfer(opts.out),
    evaluate: (ctx) => {
      const a = req(ctx.inputs[0], name, 0);
      const b = legacyAlign(ctx, a, req(ctx.inputs[1], name, 1));
      return [mapElements([a, b], opts.out ?? a.dtype, ([x, y]) => f(x!, y!, a.dtype))];
    },
  };
}

const isIntDtype = (d: DType): boolean => DTYPE_INFO[d].isInt;
const isUnsigned = (d: DType): boolean => DTYPE_INFO[d].isInt && !DTYPE_INFO[d].isSigned;

/** Exact integer product wrapped to the dtype (float64 products of two 32-bit ints lose bits). */
function mulNum(a: Num, b: Num, d: DType): Num {
  if (typeof a === "bigint") return a * (b as bigint);
  if (d === "int32") return Math.imul(a, b as number);
  if (d === "uint32") return Math.imul(a, b as number) >>> 0;
  return a * (b as number);
}

function divNum(a: Num, b: Num, d: DType, op: string): Num {
  if (isFloat(d)) return num(a) / num(b);
  if (num(b) === 0) throw new EvalError(`${op}: integer division by zero`);
  if (typeof a === "bigint") return a / (b as bigint);
  return Math.trunc((a as number) / (b as number));
}

/** Mod: fmod=1 takes the dividend's sign (C fmod); fmod=0 the divisor's (Python %). */
function modNum(a: Num, b: Num, d: DType, fmod: boolean): Num {
  if (!isFloat(d) && num(b) === 0) throw new EvalError("Mod: integer division by zero");
  if (typeof a === "bigint") {
    const r = a % (b as bigint);
    return !fmod && r !== 0n && r < 0n !== (b as bigint) < 0n ? r + (b as bigint) : r;
  }
  const y = b as number;
  const r = a % y;
  if (fmod || Number.isNaN(r)) return r;
  if (!Number.isFinite(y)) {
    // numpy: x mod +/-inf keeps x when the signs agree, else gives the infinity.
    return a === 0 || a < 0 === y < 0 ? a : y;
  }
  return r !== 0 && r < 0 !== y < 0 ? r + y : r;
}

const addOp = binary("Add", (a, b) => (typeof a === "bigint" ? a + (b as bigint) : a + (b as number)), { legacy: true, attrs: CONSUMED });
const subOp = binary("Sub", (a, b) => (typeof a === "bigint" ? a - (b as bigint) : a - (b as number)), { legacy: true, attrs: CONSUMED });
const mulOp = binary("Mul", mulNum, { legacy: true, attrs: CONSUMED });
const divOp = binary("Div", (a, b, d) => divNum(a, b, d, "Div"), { legacy: true, attrs: CONSUMED });

const modOp: OpDef = {
  name: "Mod",
  pattern: "broadcast",
  attrs: { fmod: { type: "int", default: 0 } },
  infer: binaryInfer(),
  evaluate: (ctx) => {
    const a = req(ctx.inputs[0], "Mod", 0), b = req(ctx.inputs[1], "Mod", 1);
    if (a.dtype !== b.dtype) throw new ModelError(`Mod: input dtypes differ (${a.dtype} and ${b.dtype})`);
    const fmod = ctx.attrs.int("fmod") !== 0;
    return [mapElements([a, b], a.dtype, ([x, y]) => modNum(x!, y!, a.dtype, fmod))];
  },
};

/** Pow: the result has the base's dtype; integer powers are exact and wrap like numpy's. */
function powNum(base: Num, exp: Num, baseDtype: DType): Num {
  if (isIntDtype(baseDtype)) {
    const e = num(exp);
    if (Number.isInteger(e) && e >= 0) {
      let r = 1n, bb = big(base), k = BigInt(e);
      const bits = bitsOf(baseDtype);
      // Square-and-multiply, wrapping each step so the numbers stay small.
      while (k > 0n) {
        if (k & 1n) r = BigInt.asUintN(bits, r * bb);
        bb = BigInt.asUintN(bits, bb * bb);
        k >>= 1n;
      }
      return wrapInt(baseDtype, r);
    }
    // A fractional or negative exponent: computed in float64, then truncated to the base's type.
    return Math.pow(num(base), e);
  }
  const x = num(base), y = num(exp);
  // C pow, unlike Math.pow, gives 1 for pow(1, anything) and pow(-1, +/-inf).
  if (x === 1 || (x === -1 && !Number.isFinite(y) && !Number.isNaN(y))) return 1;
  return Math.pow(x, y);
}

const powOp: OpDef = {
  name: "Pow",
  pattern: "broadcast",
  attrs: LEGACY_BCAST,
  infer: binaryInfer(),
  evaluate: (ctx) => {
    const a = req(ctx.inputs[0], "Pow", 0);
    const b = legacyAlign(ctx, a, req(ctx.inputs[1], "Pow", 1));
    return [mapElements([a, b], a.dtype, ([x, y]) => powNum(x!, y!, a.dtype))];
  },
};

const bitShift: OpDef = {
  name: "BitShift",
  pattern: "broadcast",
  attrs: { direction: { type: "string", required: true, values: ["LEFT", "RIGHT"] } },
  infer: binaryInfer(),
  evaluate: (ctx) => {
    const a = req(ctx.inputs[0], "BitShift", 0), b = req(ctx.inputs[1], "BitShift", 1);
    if (a.dtype !== b.dtype || !isUnsigned(a.dtype)) throw new ModelError(`BitShift: inputs must be one unsigned integer dtype, got ${a.dtype} and ${b.dtype}`);
    const dir = ctx.attrs.string("direction");
    if (dir !== "LEFT" && dir !== "RIGHT") throw new ModelError(`BitShift: direction must be LEFT or RIGHT, got '${dir}'`);
    const bits = BigInt(bitsOf(a.dtype));
    return [mapElements([a, b], a.dtype, ([x, y]) => {
      const s = big(y!);
      if (s >= bits) return 0;
      return wrapInt(a.dtype, dir === "LEFT" ? big(x!) << s : big(x!) >> s);
    })];
  },
};

function bitwise(name: string, f: (a: bigint, b: bigint) => bigint): OpDef {
  return binary(name, (a, b, d) => wrapInt(d, f(big(a), big(b))));
}

function logical(name: string, f: (a: boolean, b: boolean) => boolean): OpDef {
  return binary(name, (a, b) => (f(a !== 0, b !== 0) ? 1 : 0), { out: "bool", legacy: true });
}

function compare(name: string, f: (c: number) => boolean, legacy: boolean): OpDef {
  // cmp gives NaN for unordered pairs, which every predicate rejects.
  return binary(name, (a, b) => (f(cmp(a, b)) ? 1 : 0), { out: "bool", legacy });
}

const comparisons: OpDef[] = [
  compare("Equal", (c) => c === 0, true),
  compare("Less", (c) => c < 0, true),
  compare("LessOrEqual", (c) => c <= 0, false),
  compare("Greater", (c) => c > 0, true),
  compare("GreaterOrEqual", (c) => c >= 0, false),
];

// ---------------------------------------------------------------------------------------------
// Where, Clip, Cast, variadic ops

const whereOp: OpDef = {
  name: "Where",
  pattern: "broadcast",
  attrs: {},
  infer: (ctx) => {
    const c = inputType(ctx, 0), x = inputType(ctx, 1), y = inputType(ctx, 2);
    return [{ dtype: x.dtype, shape: broadcastDims([c.shape, x.shape, y.shape]) }];
  },
  evaluate: (ctx) => {
    const c = req(ctx.inputs[0], "Where", 0), x = req(ctx.inputs[1], "Where", 1), y = req(ctx.inputs[2], "Where", 2);
    if (c.dtype !== "bool") throw new ModelError(`Where: condition must be bool, got ${c.dtype}`);
    if (x.dtype !== y.dtype) throw new ModelError(`Where: X and Y dtypes differ (${x.dtype} and ${y.dtype})`);
    return [mapElements([c, x, y], x.dtype, ([k, a, b]) => (k !== 0 ? a! : b!))];
  },
};

/** min(max(x, lo), hi) as numpy.clip: NaN stays NaN, and lo > hi gives hi. */
function clipNum(x: Num, lo: Num | undefined, hi: Num | undefined): Num {
  if (typeof x === "number" && Number.isNaN(x)) return x;
  let v = x;
  if (lo !== undefined && (cmp(v, lo) < 0 || Number.isNaN(num(lo)))) v = lo;
  if (hi !== undefined && (cmp(v, hi) > 0 || Number.isNaN(num(hi)))) v = hi;
  return v;
}

const FLT_MAX = 3.4028234663852886e38;

const clipOp: OpDef = {
  name: "Clip",
  pattern: "elementwise",
  attrs: {
    ...CONSUMED,
    // Opset 6 gave the bounds float defaults; opset 1 had none (no clipping on that side).
    min: { type: "float", until: 11, default: (o) => (o >= 6 ? -FLT_MAX : undefined) },
    max: { type: "float", until: 11, default: (o) => (o >= 6 ? FLT_MAX : undefined) },
  },
  infer: (ctx) => [inputType(ctx, 0)],
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "Clip", 0);
    let lo: Num | undefined, hi: Num | undefined;
    if (ctx.opset < 11) {
      lo = ctx.attrs.optFloat("min");
      hi = ctx.attrs.optFloat("max");
    } else {
      const bound = (i: number): Num | undefined => {
        const t = ctx.inputs[i];
        if (!t) return undefined;
        if (t.size !== 1) throw new ModelError(`Clip: input ${i} must be a scalar, got shape [${t.shape.join(",")}]`);
        if (t.dtype !== x.dtype) throw new ModelError(`Clip: input ${i} has dtype ${t.dtype}, expected ${x.dtype}`);
        return elements(t)[0]!;
      };
      lo = bound(1);
      hi = bound(2);
    }
    return [mapElements([x], x.dtype, ([v]) => clipNum(v!, lo, hi))];
  },
};

/** Convert a tensor to `to`: floats to ints truncate, ints wrap, bool is x != 0. */
export function castTensor(x: Tensor, to: DType): Tensor {
  if (x.dtype === to) return x;
  if (isBigInt(to) && DTYPE_INFO[x.dtype].isInt) {
    const v = x.bigints();
    return fromElements(to, x.shape, v);
  }
  if (isBigInt(x.dtype) && DTYPE_INFO[to].isInt) {
    // Exact wrap-around for 64-bit sources into narrower integers.
    return fromElements(to, x.shape, Array.from(x.data as BigInt64Array, (v) => Number(wrapInt(to, v))));
  }
  return fromElements(to, x.shape, Array.from(elements(x)));
}

/** TensorProto.DataType names, as Cast-1 spelled its `to` attribute. */
const ONNX_TYPE_NAMES: Readonly<Record<string, number>> = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
};

/** Cast's target: an int dtype code, or (opset < 6) a type name string. */
function castTarget(ctx: InferContext | EvalContext): DType {
  const a = ctx.node.attrs["to"];
  if (a?.type === "string") {
    const code = ONNX_TYPE_NAMES[a.value.toUpperCase()];
    if (code === undefined) throw new ModelError(`Cast: unknown target type '${a.value}'`);
    return dtypeFromOnnx(code);
  }
  return dtypeFromOnnx(ctx.attrs.int("to"));
}

const CAST_ATTRS: AttrSchema = {
  saturate: { type: "int", default: 1, since: 19 },
  round_mode: { type: "string", default: "up", since: 24 },
};

const castOp: OpDef = {
  name: "Cast",
  pattern: "elementwise",
  attrs: { to: { type: "int", required: true }, ...CAST_ATTRS },
  infer: (ctx) => [{ dtype: castTarget(ctx), shape: inputType(ctx, 0).shape }],
  // saturate and round_mode only matter for float8 targets, which dtypeFromOnnx rejects as unsupported.
  evaluate: (ctx) => [castTensor(req(ctx.inputs[0], "Cast", 0), castTarget(ctx))],
};

const castLikeOp: OpDef = {
  name: "CastLike",
  pattern: "elementwise",
  attrs: CAST_ATTRS,
  infer: (ctx) => [{ dtype: inputType(ctx, 1).dtype, shape: inputType(ctx, 0).shape }],
  evaluate: (ctx) => [castTensor(req(ctx.inputs[0], "CastLike", 0), req(ctx.inputs[1], "CastLike", 1).dtype)],
};

function variadic(name: string, combine: (xs: Num[]) => Num, floatOnly: boolean): OpDef {
  return {
    name,
    pattern: "broadcast",
    attrs: CONSUMED,
    infer: (ctx) => {
      const ins = ctx.inputs.filter((t): t is TensorType => t !== null);
      if (ins.length === 0) throw new ModelError(`${name}: needs at least one input`);
      return [{ dtype: ins[0]!.dtype, shape: broadcastDims(ins.map((t) => t.shape)) }];
    },
    evaluate: (ctx) => {
      const ins = ctx.inputs.filter((t): t is Tensor => t !== null);
      if (ins.length === 0) throw new ModelError(`${name}: needs at least one input`);
      const d = ins[0]!.dtype;
      if (ins.some((t) => t.dtype !== d)) throw new ModelError(`${name}: inputs have different dtypes`);
      if (floatOnly && !isFloat(d)) throw new ModelError(`${name}: input must be a float tensor, got ${d}`);
      return [mapElements(ins, d, combine)];
    },
  };
}

/** NaN wins, as numpy.maximum/minimum propagate it. */
function extreme(sign: 1 | -1) {
  return (xs: Num[]): Num => {
    let best = xs[0]!;
    for (let i = 1; i < xs.length; i++) {
      const v = xs[i]!;
      if (typeof v === "number" && Number.isNaN(v)) return v;
      if (typeof best === "number" && Number.isNaN(best)) return best;
      if (cmp(v, best) * sign > 0) best = v;
    }
    return best;
  };
}

const sumOp = variadic("Sum", (xs) => xs.reduce((s: number, v) => s + num(v), 0), true);
const meanOp = variadic("Mean", (xs) => xs.reduce((s: number, v) => s + num(v), 0) / xs.length, true);
const maxOp = variadic("Max", extreme(1), false);
const minOp = variadic("Min", extreme(-1), false);

export const ops: OpDef[] = [
  ...numericUnaries,
  ...floatUnaries,
  isNaNOp, isInfOp, notOp, bitwiseNot,
  addOp, subOp, mulOp, divOp, modOp, powOp, bitShift,
  bitwise("BitwiseAnd", (a, b) => a & b), bitwise("BitwiseOr", (a, b) => a | b), bitwise("BitwiseXor", (a, b) => a ^ b),
  logical("And", (a, b) => a && b), logical("Or", (a, b) => a || b), logical("Xor", (a, b) => a !== b),
  ...comparisons,
  whereOp, clipOp, castOp, castLikeOp,
  sumOp, meanOp, maxOp, minOp,
];
