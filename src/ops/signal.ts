/** Signal processing: DFT, STFT, window functions, MelWeightMatrix. */
import { dtypeFromOnnx, isFloat, type DType } from "../ir/dtype.js";
import { EvalError, ModelError } from "../ir/errors.js";
import { Tensor, shapeSize } from "../ir/tensor.js";
import type { Dim, TensorType } from "../ir/types.js";
import type { EvalContext, InferContext, OpDef } from "./registry.js";
import { inputType, req } from "./util.js";

/** A scalar (or one-element) input as a number. */
function scalarOf(t: Tensor, op: string, what: string): number {
  if (t.size !== 1) throw new EvalError(`${op}: ${what} must be a scalar, got shape [${t.shape.join(",")}]`);
  return t.numbers()[0]!;
}

function knownScalar(t: Tensor | undefined): number | undefined {
  return t !== undefined && t.size === 1 ? t.numbers()[0]! : undefined;
}

/**
 * Naive DFT of one complex sequence of length n (already padded/truncated), evaluated at
 * frequencies 0..outLen-1. The twiddle index k*t is reduced mod n so the angle stays exact.
 */
function dft1(re: Float64Array, im: Float64Array, n: number, outLen: number, inverse: boolean): [Float64Array, Float64Array] {
  const cos = new Float64Array(n);
  const sin = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    cos[i] = Math.cos((2 * Math.PI * i) / n);
    sin[i] = Math.sin((2 * Math.PI * i) / n);
  }
  const sign = inverse ? 1 : -1;
  const oRe = new Float64Array(outLen);
  const oIm = new Float64Array(outLen);
  for (let k = 0; k < outLen; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < n; t++) {
      const m = (k * t) % n;
      const c = cos[m]!;
      const s = sign * sin[m]!;
      sr += re[t]! * c - im[t]! * s;
      si += re[t]! * s + im[t]! * c;
    }
    oRe[k] = inverse ? sr / n : sr;
    oIm[k] = inverse ? si / n : si;
  }
  return [oRe, oIm];
}

/** Inverse of a one-sided spectrum (numpy irfft): real output of length n; DC and Nyquist imaginary parts are ignored. */
function irfft1(re: Float64Array, im: Float64Array, m: number, n: number): Float64Array {
  const half = Math.floor(n / 2) + 1;
  const X = (k: number): [number, number] => (k < m ? [re[k]!, im[k]!] : [0, 0]);
  const out = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    let s = X(0)[0];
    for (let k = 1; k < half; k++) {
      const [xr, xi] = X(k);
      const a = (2 * Math.PI * ((k * t) % n)) / n;
      if (n % 2 === 0 && k === n / 2) s += xr * Math.cos(a);
      else s += 2 * (xr * Math.cos(a) - xi * Math.sin(a));
    }
    out[t] = s / n;
  }
  return out;
}

function dftAxis(ctx: { opset: number; attrs: EvalContext["attrs"] }, rank: number, axisInput: Tensor | null | undefined, op: string): number {
  const raw = ctx.opset >= 20 ? (axisInput ? scalarOf(axisInput, op, "axis") : -2) : ctx.attrs.int("axis");
  const a = raw < 0 ? raw + rank : raw;
  if (a < 0 || a > rank - 2) throw new ModelError(`${op}: axis ${raw} is out of range for rank ${rank} (the last dimension holds real/imaginary parts)`);
  return a;
}

const dft: OpDef = {
  name: "DFT",
  pattern: "opaque",
  attrs: {
    axis: { type: "int", default: 1, until: 20 },
    inverse: { type: "int", default: 0 },
    onesided: { type: "int", default: 0 },
  },
  infer: (ctx: InferContext): TensorType[] => {
    const x = inputType(ctx, 0);
    if (x.shape === null) return [{ dtype: x.dtype, shape: null }];
    const axisConst = ctx.opset >= 20 ? ctx.constants[2] : undefined;
    if (ctx.opset >= 20 && ctx.inputs[2] && axisConst === undefined) {
      return [{ dtype: x.dtype, shape: x.shape.map(() => ctx.fresh()) }];
    }
    const axis = dftAxis(ctx, x.shape.length, axisConst, "DFT");
    const inverse = ctx.attrs.int("inverse") !== 0;
    const onesided = ctx.attrs.int("onesided") !== 0;
    const lenConst = ctx.inputs[1] ? knownScalar(ctx.constants[1]) : undefined;
    const inLen = x.shape[axis]!;
    const shape: Dim[] = [...x.shape];
    if (ctx.inputs[1] && lenConst === undefined) shape[axis] = ctx.fresh();
    else if (inverse && onesided) {
      shape[axis] = lenConst ?? (typeof inLen === "number" ? 2 * (inLen - 1) : ctx.fresh());
    } else {
      const n = lenConst ?? inLen;
      shape[axis] = onesided ? (typeof n === "number" ? Math.floor(n / 2) + 1 : ctx.fresh()) : n;
    }
    shape[shape.length - 1] = inverse && onesided ? 1 : 2;
    return [{ dtype: x.dtype, shape }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "DFT", 0);
    if (!isFloat(x.dtype)) throw new ModelError(`DFT: input must be a float tensor, got ${x.dtype}`);
    const rank = x.rank;
    const comps = x.shape[rank - 1]!;
    if (rank < 2 || (comps !== 1 && comps !== 2)) throw new EvalError(`DFT: the last dimension must be 1 (real) or 2 (complex), got shape [${x.shape.join(",")}]`);
    const axis = dftAxis(ctx, rank, ctx.opset >= 20 ? ctx.inputs[2] : undefined, "DFT");
    const inverse = ctx.attrs.int("inverse") !== 0;
    const onesided = ctx.attrs.int("onesided") !== 0;
    const inLen = x.shape[axis]!;
    const lenInput = ctx.inputs[1];
    const irfft = inverse && onesided;
    const n = lenInput ? scalarOf(lenInput, "DFT", "dft_length") : irfft ? 2 * (inLen - 1) : inLen;
    if (!Number.isInteger(n) || n < 1) throw new EvalError(`DFT: dft_length must be a positive integer, got ${n}`);
    const outLen = irfft ? n : onesided ? Math.floor(n / 2) + 1 : n;
    const outComps = irfft ? 1 : 2;
    const outer = shapeSize(x.shape.slice(0, axis));
    const inner = shapeSize(x.shape.slice(axis + 1, rank - 1));
    const v = x.numbers();
    const out = new Float64Array(outer * outLen * inner * outComps);
    // irfft reads the first floor(n/2)+1 bins; a plain DFT reads n samples; missing ones are zero.
    const readLen = Math.min(inLen, irfft ? Math.floor(n / 2) + 1 : n);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const re = new Float64Array(irfft ? readLen : n);
        const im = new Float64Array(irfft ? readLen : n);
        for (let t = 0; t < readLen; t++) {
          const base = ((o * inLen + t) * inner + i) * comps;
          re[t] = v[base]!;
          im[t] = comps === 2 ? v[base + 1]! : 0;
        }
        const put = (k: number, c: number, val: number) => { out[((o * outLen + k) * inner + i) * outComps + c] = val; };
        if (irfft) {
          const r = irfft1(re, im, readLen, n);
          for (let k = 0; k < n; k++) put(k, 0, r[k]!);
        } else {
          const [oRe, oIm] = dft1(re, im, n, outLen, inverse);
          for (let k = 0; k < outLen; k++) {
            put(k, 0, oRe[k]!);
            put(k, 1, oIm[k]!);
          }
        }
      }
    }
    const shape = [...x.shape];
    shape[axis] = outLen;
    shape[rank - 1] = outComps;
    return [Tensor.fromNumbers(x.dtype, shape, out)];
  },
};

const stft: OpDef = {
  name: "STFT",
  pattern: "opaque",
  attrs: { onesided: { type: "int", default: 1 } },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const onesided = ctx.attrs.int("onesided") !== 0;
    const step = knownScalar(ctx.constants[1]);
    const win = ctx.inputs[2] ?? null;
    const flen = ctx.inputs[3] ? knownScalar(ctx.constants[3]) : (win?.shape?.[0] ?? x.shape?.[1]);
    const sig = x.shape?.[1];
    const frames = typeof sig === "number" && typeof flen === "number" && step !== undefined ? Math.floor((sig - flen) / step) + 1 : ctx.fresh();
    const bins = typeof flen === "number" ? (onesided ? Math.floor(flen / 2) + 1 : flen) : ctx.fresh();
    return [{ dtype: x.dtype, shape: [x.shape?.[0] ?? ctx.fresh(), frames, bins, 2] }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "STFT", 0);
    if (!isFloat(x.dtype)) throw new ModelError(`STFT: signal must be a float tensor, got ${x.dtype}`);
    if (x.rank !== 3 || (x.shape[2] !== 1 && x.shape[2] !== 2)) throw new EvalError(`STFT: signal must be [batch, length, 1|2], got [${x.shape.join(",")}]`);
    const step = scalarOf(req(ctx.inputs[1], "STFT", 1), "STFT", "frame_step");
    const window = ctx.inputs[2] ?? null;
    const flenInput = ctx.inputs[3] ?? null;
    const [batch, sigLen, comps] = x.shape as [number, number, number];
    const flen = flenInput ? scalarOf(flenInput, "STFT", "frame_length") : window ? window.size : sigLen;
    if (window && window.size !== flen) throw new EvalError(`STFT: window has ${window.size} elements but frame_length is ${flen}`);
    if (!Number.isInteger(step) || step < 1 || !Number.isInteger(flen) || flen < 1 || flen > sigLen) {
      throw new EvalError(`STFT: invalid frame_step ${step} or frame_length ${flen} for a signal of length ${sigLen}`);
    }
    const onesided = ctx.attrs.int("onesided") !== 0;
    const frames = Math.floor((sigLen - flen) / step) + 1;
    const bins = onesided ? Math.floor(flen / 2) + 1 : flen;
    const w = window ? window.numbers() : new Float64Array(flen).fill(1);
    const v = x.numbers();
    const out = new Float64Array(batch * frames * bins * 2);
    for (let b = 0; b < batch; b++) {
      for (let f = 0; f < frames; f++) {
        const re = new Float64Array(flen);
        const im = new Float64Array(flen);
        for (let t = 0; t < flen; t++) {
          const base = (b * sigLen + f * step + t) * comps;
          re[t] = v[base]! * w[t]!;
          im[t] = comps === 2 ? v[base + 1]! * w[t]! : 0;
        }
        const [oRe, oIm] = dft1(re, im, flen, bins, false);
        for (let k = 0; k < bins; k++) {
          out[((b * frames + f) * bins + k) * 2] = oRe[k]!;
          out[((b * frames + f) * bins + k) * 2 + 1] = oIm[k]!;
        }
      }
    }
    return [Tensor.fromNumbers(x.dtype, [batch, frames, bins, 2], out)];
  },
};

/** A generalized cosine window: sum_j (-1)^j a_j cos(2*pi*j*n/N), N = size (periodic) or size-1 (symmetric). */
function windowOp(name: string, coeffs: readonly number[]): OpDef {
  return {
    name,
    pattern: "opaque",
    attrs: { output_datatype: { type: "int", default: 1 }, periodic: { type: "int", default: 1 } },
    infer: (ctx) => {
      const dtype = dtypeFromOnnx(ctx.attrs.int("output_datatype"));
      const size = knownScalar(ctx.constants[0]);
      return [{ dtype, shape: [size ?? ctx.fresh()] }];
    },
    evaluate: (ctx) => {
      const size = scalarOf(req(ctx.inputs[0], name, 0), name, "size");
      if (!Number.isInteger(size) || size < 0) throw new EvalError(`${name}: size must be a non-negative integer, got ${size}`);
      const dtype: DType = dtypeFromOnnx(ctx.attrs.int("output_datatype"));
      const N = ctx.attrs.int("periodic") !== 0 ? size : size - 1;
      const out = new Float64Array(size);
      for (let n = 0; n < size; n++) {
        let s = 0;
        coeffs.forEach((a, j) => { s += (j % 2 === 0 ? a : -a) * Math.cos((2 * Math.PI * j * n) / N); });
        out[n] = s;
      }
      return [Tensor.fromNumbers(dtype, [size], out)];
    },
  };
}

const melWeightMatrix: OpDef = {
  name: "MelWeightMatrix",
  pattern: "opaque",
  attrs: { output_datatype: { type: "int", default: 1 } },
  infer: (ctx) => {
    const dtype = dtypeFromOnnx(ctx.attrs.int("output_datatype"));
    const bins = knownScalar(ctx.constants[0]);
    const dftLen = knownScalar(ctx.constants[1]);
    return [{ dtype, shape: [dftLen !== undefined ? Math.floor(dftLen / 2) + 1 : ctx.fresh(), bins ?? ctx.fresh()] }];
  },
  // Follows the ONNX reference: num_mel_bins+2 edges spaced evenly in mel over (num_mel_bins+2) steps,
  // snapped to FFT bins, each mel bin a triangle between its neighbouring edges.
  evaluate: (ctx) => {
    const op = "MelWeightMatrix";
    const [numMel, dftLen, rate, lo, hi] = [0, 1, 2, 3, 4].map((i) => scalarOf(req(ctx.inputs[i], op, i), op, `input ${i}`)) as [number, number, number, number, number];
    if (!Number.isInteger(numMel) || numMel < 1 || !Number.isInteger(dftLen) || dftLen < 1 || rate <= 0) {
      throw new EvalError(`${op}: invalid num_mel_bins ${numMel}, dft_length ${dftLen} or sample_rate ${rate}`);
    }
    const dtype = dtypeFromOnnx(ctx.attrs.int("output_datatype"));
    const specBins = Math.floor(dftLen / 2) + 1;
    const toMel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
    const loMel = toMel(lo);
    const step = (toMel(hi) - loMel) / (numMel + 2);
    const edges = Array.from({ length: numMel + 2 }, (_, i) => {
      const hz = 700 * (10 ** ((i * step + loMel) / 2595) - 1);
      return Math.trunc(Math.floor(((dftLen + 1) * hz) / rate));
    });
    const out = new Float64Array(specBins * numMel);
    const set = (j: number, i: number, val: number) => {
      if (j < 0 || j >= specBins) throw new EvalError(`${op}: mel edge ${j} falls outside the ${specBins} spectrogram bins`);
      out[j * numMel + i] = val;
    };
    for (let i = 0; i < numMel; i++) {
      const [l, c, r] = [edges[i]!, edges[i + 1]!, edges[i + 2]!];
      if (c === l) set(c, i, 1);
      else for (let j = l; j <= c; j++) set(j, i, (j - l) / (c - l));
      for (let j = c; j < r; j++) set(j, i, (r - j) / (r - c));
    }
    return [Tensor.fromNumbers(dtype, [specBins, numMel], out)];
  },
};

export const ops: OpDef[] = [
  dft,
  stft,
  windowOp("HannWindow", [0.5, 0.5]),
  windowOp("HammingWindow", [25 / 46, 21 / 46]),
  windowOp("BlackmanWindow", [0.42, 0.5, 0.08]),
  melWeightMatrix,
];
