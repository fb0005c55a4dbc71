/**
 * The transcendental math calls of the loop IR as wasm helper functions `f64 -> f64`, built on
 * demand into the kernel module. They compute in f64 (range reduction plus a polynomial, errors
 * near 1e-13 relative), so an f32 call promotes, calls and demotes and lands within an ulp of
 * the interpreter's `Math.fround(Math.exp(x))`. erf is the interpreter's own formula
 * (Abramowitz and Stegun 7.1.26): the reference defines the semantics, not the true erf.
 * exp, sigmoid and tanh also have f32x4 forms computed in f32 (Cephes' expf and tanhf
 * polynomials, a few ulp, under 1e-6 relative), emitted inline, so vector loops need not go
 * lane by lane.
 */
import type { MathFn } from "../../loopir/expr.js";
import type { FunctionBuilder, Local } from "./function.js";
import type { ModuleBuilder } from "./module.js";

export type HelperFn = Exclude<MathFn, "sqrt" | "abs" | "neg">;
export type VectorFn = "exp" | "sigmoid" | "tanh";

/** 1/k! for k = 0..12: exp's Taylor coefficients (|r| <= ln2/2 leaves an error under 1e-14). */
const INV_FACT = Array.from({ length: 13 }, (_, k) => 1 / Array.from({ length: k }, (_, i) => i + 1).reduce((a, b) => a * b, 1));
const LN2_HI = 0.6931471803691238, LN2_LO = 1.9082149292705877e-10;

export class MathHelpers {
  private readonly made = new Map<HelperFn, FunctionBuilder>();

  constructor(private readonly m: ModuleBuilder) {}

  /** The helper for `fn`, built the first time it is asked for. */
  get(fn: HelperFn): FunctionBuilder {
    let f = this.made.get(fn);
    if (!f) {
      f = this.m.function(`math_${fn}`, ["f64"], ["f64"]);
      BODIES[fn](f, f.params[0]!, this);
      f.finish();
      this.made.set(fn, f);
    }
    return f;
  }
}

/**
 * Pushes `fn` of the f32x4 in local `x`, emitted inline: a call would make V8 spill every live
 * vector around it (its calling convention saves no SIMD registers), and a loop with a few
 * independent vectors per iteration overlaps their long dependency chains only when inlined.
 */
export function emitVector(f: FunctionBuilder, fn: VectorFn, x: Local): void {
  if (fn === "exp") expF32x4(f, x);
  else if (fn === "sigmoid") sigmoidF32x4(f, x);
  else tanhF32x4(f, x);
}

export const hasVectorForm = (fn: MathFn): fn is VectorFn => fn === "exp" || fn === "sigmoid" || fn === "tanh";

type Body = (f: FunctionBuilder, x: Local, lib: MathHelpers) => void;

const BODIES: Record<HelperFn, Body> = {
  exp(f, x) {
    // exp overflows above 709.78 and underflows to 0 below -745.13.
    f.f64Const(Infinity);
    f.f64Const(0);
    expCore(f, x, false);
    f.localGet(x); f.f64Const(-745.2); f.op("f64.lt");
    f.select();
    f.localGet(x); f.f64Const(709.782712893384); f.op("f64.gt");
    f.select();
  },
  log(f, x) {
    logCore(f, x);
    // 0 -> -inf, inf -> inf, negative or NaN -> NaN.
    f.f64Const(-Infinity);
    f.localGet(x); f.f64Const(NaN); f.localGet(x); f.f64Const(Infinity); f.op("f64.eq"); f.select();
    f.localGet(x); f.f64Const(0); f.op("f64.eq");
    f.select();
    f.localGet(x); f.f64Const(0); f.op("f64.gt");
    f.localGet(x); f.f64Const(Infinity); f.op("f64.lt");
    f.op("i32.and");
    f.select();
  },
  tanh(f, x) {
    // tanh|x| = t / (t + 2) with t = expm1(2|x|), exact near 0; |x| >= 20 rounds to 1 anyway.
    const a = f.local("f64", "a"), t = f.local("f64", "t");
    f.localGet(x); f.op("f64.abs"); f.f64Const(20); f.op("f64.min"); f.f64Const(2); f.op("f64.mul"); f.localSet(a);
    expCore(f, a, true);
    f.localSet(t);
    f.localGet(t); f.localGet(t); f.f64Const(2); f.op("f64.add"); f.op("f64.div");
    f.localGet(x); f.op("f64.copysign");
  },
  sigmoid(f, x, lib) {
    f.f64Const(1);
    f.f64Const(1); f.localGet(x); f.op("f64.neg"); f.call(lib.get("exp")); f.op("f64.add");
    f.op("f64.div");
  },
  erf(f, x, lib) {
    const t = f.local("f64", "t");
    f.f64Const(1);
    f.f64Const(1); f.f64Const(0.3275911); f.localGet(x); f.op("f64.abs"); f.op("f64.mul"); f.op("f64.add"); f.op("f64.div");
    f.localSet(t);
    f.f64Const(1);
    f.f64Const(1.061405429);
    for (const c of [-1.453152027, 1.421413741, -0.284496736, 0.254829592]) {
      f.localGet(t); f.op("f64.mul"); f.f64Const(c); f.op("f64.add");
    }
    f.localGet(t); f.op("f64.mul");
    f.localGet(x); f.localGet(x); f.op("f64.mul"); f.op("f64.neg"); f.call(lib.get("exp"));
    f.op("f64.mul");
    f.op("f64.sub");
    // sign(x) * y: keeps 0 and -0 as they are (the formula leaves ~1e-9 at 0).
    f.localGet(x); f.op("f64.copysign");
    f.localGet(x);
    f.localGet(x); f.f64Const(0); f.op("f64.ne");
    f.select();
  },
};

/**
 * Pushes exp(v) (or expm1(v) when `minus1`) for v in the finite range: v = n*ln2 + r with
 * |r| <= ln2/2, exp(r) - 1 by Horner, then scaled by 2^n.
 */
function expCore(f: FunctionBuilder, v: Local, minus1: boolean): void {
  const n = f.local("f64", "n"), r = f.local("f64", "r"), q = f.local("f64", "q"), s = f.local("f64", "s");
  f.localGet(v); f.f64Const(Math.LOG2E); f.op("f64.mul"); f.op("f64.nearest"); f.localSet(n);
  f.localGet(v); f.localGet(n); f.f64Const(LN2_HI); f.op("f64.mul"); f.op("f64.sub");
  f.localGet(n); f.f64Const(LN2_LO); f.op("f64.mul"); f.op("f64.sub"); f.localSet(r);
  // q = r * (1 + r/2! + r^2/3! + ...) = exp(r) - 1, without cancellation near 0.
  f.f64Const(INV_FACT[12]!);
  for (let k = 11; k >= 1; k--) {
    f.localGet(r); f.op("f64.mul"); f.f64Const(INV_FACT[k]!); f.op("f64.add");
  }
  f.localGet(r); f.op("f64.mul"); f.localSet(q);
  pow2(f, n);
  f.localSet(s);
  // exp = s*q + s; expm1 = s*q + (s - 1), exact when n = 0.
  f.localGet(s); f.localGet(q); f.op("f64.mul");
  f.localGet(s);
  if (minus1) { f.f64Const(1); f.op("f64.sub"); }
  f.op("f64.add");
}

/** Pushes 2^n for an integral f64 n in [-1100, 1100], as 2^a * 2^(n-a) so each factor is normal. */
function pow2(f: FunctionBuilder, n: Local): void {
  const a = f.local("i64", "a"), b = f.local("i64", "b");
  f.localGet(n); f.op("i64.trunc_sat_f64_s"); f.localSet(b);
  f.localGet(b); f.i64Const(1n); f.op("i64.shr_s"); f.localSet(a);
  f.localGet(b); f.localGet(a); f.op("i64.sub"); f.localSet(b);
  for (const e of [a, b]) {
    f.localGet(e); f.i64Const(1023n); f.op("i64.add"); f.i64Const(52n); f.op("i64.shl"); f.op("f64.reinterpret_i64");
  }
  f.op("f64.mul");
}

/** Cephes expf's polynomial for (exp(r) - 1 - r) / r^2 on |r| <= ln2/2, highest degree first. */
const EXPF_POLY = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];

/**
 * exp on f32x4 lanes. Clamping x to [-104, 88.8] keeps 2^n representable as two normal
 * factors while still rounding to 0 below and to inf above the f32 range; NaN stays NaN.
 */
function expF32x4(f: FunctionBuilder, x: Local): void {
  const splat = (c: number) => { f.f32Const(c); f.op("f32x4.splat"); };
  const xc = f.local("v128", "xc"), n = f.local("v128", "n"), r = f.local("v128", "r"), ni = f.local("v128", "ni"), a = f.local("v128", "a");
  f.localGet(x); splat(88.8); f.op("f32x4.min"); splat(-104); f.op("f32x4.max"); f.localSet(xc);
  f.localGet(xc); splat(Math.LOG2E); f.op("f32x4.mul"); f.op("f32x4.nearest"); f.localSet(n);
  // r = x - n*ln2 in two steps (Cody-Waite): n*0.693359375 is exact in f32.
  f.localGet(xc); f.localGet(n); splat(0.693359375); f.op("f32x4.mul"); f.op("f32x4.sub");
  f.localGet(n); splat(-2.12194440e-4); f.op("f32x4.mul"); f.op("f32x4.sub"); f.localSet(r);
  splat(EXPF_POLY[0]!);
  for (const c of EXPF_POLY.slice(1)) { f.localGet(r); f.op("f32x4.mul"); splat(c); f.op("f32x4.add"); }
  f.localGet(r); f.localGet(r); f.op("f32x4.mul"); f.op("f32x4.mul");
  f.localGet(r); f.op("f32x4.add"); splat(1); f.op("f32x4.add");
  // Times 2^a * 2^(n-a), a = n >> 1, each built in the exponent bits.
  f.localGet(n); f.op("i32x4.trunc_sat_f32x4_s"); f.localTee(ni); f.i32Const(1); f.op("i32x4.shr_s"); f.localSet(a);
  for (const e of [a, ni]) {
    f.localGet(e);
    if (e === ni) { f.localGet(a); f.op("i32x4.sub"); }
    f.i32Const(127); f.op("i32x4.splat"); f.op("i32x4.add"); f.i32Const(23); f.op("i32x4.shl");
    f.op("f32x4.mul");
  }
}

/**
 * sigmoid on f32x4 lanes from t = exp(-|x|), which cannot overflow: 1/(1+t) for x >= 0 and
 * t/(1+t) for x < 0, which keeps the subnormal results of x below -87 that 1/(1+exp(-x)) loses.
 */
function sigmoidF32x4(f: FunctionBuilder, x: Local): void {
  const t = f.local("v128", "t"), d = f.local("v128", "d");
  f.localGet(x); f.op("f32x4.abs"); f.op("f32x4.neg"); f.localSet(t);
  expF32x4(f, t); f.localTee(t);
  f.f32Const(1); f.op("f32x4.splat"); f.op("f32x4.add"); f.localSet(d);
  f.localGet(t); f.localGet(d); f.op("f32x4.div");
  f.f32Const(1); f.op("f32x4.splat"); f.localGet(d); f.op("f32x4.div");
  f.localGet(x); f.f32Const(0); f.op("f32x4.splat"); f.op("f32x4.lt");
  f.op("v128.bitselect");
}

/** Cephes tanhf's polynomial for (tanh(x) - x) / x^3 in z = x^2 on |x| < 0.625, highest degree first. */
const TANHF_POLY = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1];
const TANHF_SMALL = 0.625;

/**
 * tanh on f32x4 lanes: x + x^3 P(x^2) below |x| = 0.625, where (1 - t)/(1 + t) would cancel,
 * and (1 - t)/(1 + t) with t = exp(-2|x|) (which cannot overflow) above, given x's sign.
 */
function tanhF32x4(f: FunctionBuilder, x: Local): void {
  const splat = (c: number) => { f.f32Const(c); f.op("f32x4.splat"); };
  const z = f.local("v128", "z"), t = f.local("v128", "t");
  // The small branch.
  f.localGet(x); f.localGet(x); f.op("f32x4.mul"); f.localSet(z);
  splat(TANHF_POLY[0]!);
  for (const c of TANHF_POLY.slice(1)) { f.localGet(z); f.op("f32x4.mul"); splat(c); f.op("f32x4.add"); }
  f.localGet(z); f.op("f32x4.mul"); f.localGet(x); f.op("f32x4.mul"); f.localGet(x); f.op("f32x4.add");
  // The large branch: x's sign bit, the rest from (1 - t)/(1 + t).
  f.localGet(x);
  f.localGet(x); f.op("f32x4.abs"); splat(-2); f.op("f32x4.mul"); f.localSet(t);
  expF32x4(f, t); f.localSet(t);
  splat(1); f.localGet(t); f.op("f32x4.sub"); splat(1); f.localGet(t); f.op("f32x4.add"); f.op("f32x4.div");
  splat(-0); // only the sign bit set
  f.op("v128.bitselect");
  // Small where |x| < 0.625; NaN compares false and stays NaN through the large branch.
  f.localGet(x); f.op("f32x4.abs"); splat(TANHF_SMALL); f.op("f32x4.lt");
  f.op("v128.bitselect");
}

/** Pushes log(x) for finite x > 0: x = m * 2^e with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh((m-1)/(m+1)). */
function logCore(f: FunctionBuilder, x: Local): void {
  const xs = f.local("f64", "xs"), e = f.local("f64", "e"), mant = f.local("f64", "m"), s = f.local("f64", "s"), z = f.local("f64", "z");
  // Subnormals: scale by 2^54 first so the exponent field is meaningful.
  const tiny = () => { f.localGet(x); f.f64Const(2.2250738585072014e-308); f.op("f64.lt"); };
  f.localGet(x); f.f64Const(2 ** 54); f.op("f64.mul"); f.localGet(x); tiny(); f.select(); f.localSet(xs);
  f.localGet(xs); f.op("i64.reinterpret_f64"); f.i64Const(52n); f.op("i64.shr_u");
  f.op("i32.wrap_i64"); f.i32Const(1023); f.op("i32.sub"); f.op("f64.convert_i32_s");
  f.f64Const(54); f.f64Const(0); tiny(); f.select(); f.op("f64.sub");
  f.localSet(e);
  f.localGet(xs); f.op("i64.reinterpret_f64"); f.i64Const(0x000f_ffff_ffff_ffffn); f.op("i64.and");
  f.i64Const(0x3ff0_0000_0000_0000n); f.op("i64.or"); f.op("f64.reinterpret_i64"); f.localSet(mant);
  const big = () => { f.localGet(mant); f.f64Const(Math.SQRT2); f.op("f64.gt"); };
  f.localGet(e); f.f64Const(1); f.op("f64.add"); f.localGet(e); big(); f.select(); f.localSet(e);
  f.localGet(mant); f.f64Const(0.5); f.op("f64.mul"); f.localGet(mant); big(); f.select(); f.localSet(mant);
  f.localGet(mant); f.f64Const(1); f.op("f64.sub"); f.localGet(mant); f.f64Const(1); f.op("f64.add"); f.op("f64.div"); f.localSet(s);
  f.localGet(s); f.localGet(s); f.op("f64.mul"); f.localSet(z);
  // 2s * (1 + z/3 + z^2/5 + ... + z^8/17); z <= 0.0295 leaves an error near 1e-15.
  f.f64Const(1 / 17);
  for (let k = 15; k >= 1; k -= 2) {
    f.localGet(z); f.op("f64.mul"); f.f64Const(1 / k); f.op("f64.add");
  }
  f.localGet(s); f.op("f64.mul"); f.f64Const(2); f.op("f64.mul");
  f.localGet(e); f.f64Const(Math.LN2); f.op("f64.mul");
  f.op("f64.add");
}

/** sqrt, abs and neg are single instructions; the rest call a helper. */
export const isHelper = (fn: MathFn): fn is HelperFn => fn !== "sqrt" && fn !== "abs" && fn !== "neg";
