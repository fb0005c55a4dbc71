/** Recurrent layers: RNN, LSTM, GRU. */
import { isFloat } from "../ir/dtype.js";
import { EvalError, ModelError, UnsupportedError } from "../ir/errors.js";
import { Tensor } from "../ir/tensor.js";
import type { Dim, TensorType } from "../ir/types.js";
import type { AttrSchema, EvalContext, InferContext, OpDef } from "./registry.js";
import { inputType, req } from "./util.js";

export type RnnKind = "RNN" | "GRU" | "LSTM";

/** Gates per cell, in the order W/R/B stack them (RNN: i; GRU: z r h; LSTM: i o f c). */
const GATES: Record<RnnKind, number> = { RNN: 1, GRU: 3, LSTM: 4 };
/** Activation functions per direction (RNN: f; GRU: f g; LSTM: f g h). */
const ACTS_PER_DIR: Record<RnnKind, number> = { RNN: 1, GRU: 2, LSTM: 3 };
const DEFAULT_ACTS: Record<RnnKind, string[]> = { RNN: ["Tanh"], GRU: ["Sigmoid", "Tanh"], LSTM: ["Sigmoid", "Tanh", "Tanh"] };

type Act = (x: number) => number;

/**
 * The activation functions RNN-family ops accept, with how many of (alpha, beta) each takes
 * and their defaults. Names match case-insensitively, as in onnxruntime.
 */
const ACTIVATIONS: Record<string, { alpha?: number; beta?: number; make: (a: number, b: number) => Act }> = {
  relu: { make: () => (x) => Math.max(0, x) },
  tanh: { make: () => Math.tanh },
  sigmoid: { make: () => (x) => 1 / (1 + Math.exp(-x)) },
  affine: { alpha: 1, beta: 0, make: (a, b) => (x) => a * x + b },
  leakyrelu: { alpha: 0.01, make: (a) => (x) => (x >= 0 ? x : a * x) },
  thresholdedrelu: { alpha: 1, make: (a) => (x) => (x > a ? x : 0) },
  scaledtanh: { alpha: 1, beta: 1, make: (a, b) => (x) => a * Math.tanh(b * x) },
  hardsigmoid: { alpha: 0.2, beta: 0.5, make: (a, b) => (x) => Math.max(0, Math.min(1, a * x + b)) },
  elu: { alpha: 1, make: (a) => (x) => (x >= 0 ? x : a * (Math.exp(x) - 1)) },
  softsign: { make: () => (x) => x / (1 + Math.abs(x)) },
  softplus: { make: () => (x) => Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0) },
};

/** One activation function of a recurrent op, with the alpha and beta it takes (0 when it takes none). */
export interface ActivationSpec {
  /** Lower case, as in ACTIVATIONS. */
  readonly name: string;
  readonly alpha: number;
  readonly beta: number;
}

/**
 * The activation functions of every direction. activation_alpha/beta are consumed in order by
 * the functions that take them; the list may name functions for one direction only, in which
 * case both directions share them.
 */
export function activationSpecs(ctx: Pick<EvalContext, "attrs">, kind: RnnKind, numDir: number): ActivationSpec[][] {
  const per = ACTS_PER_DIR[kind];
  const names = ctx.attrs.optStrings("activations");
  let list: readonly string[];
  if (names === undefined || names.length === 0) list = Array.from({ length: numDir }, () => DEFAULT_ACTS[kind]).flat();
  else if (names.length === per * numDir) list = names;
  else if (names.length === per) list = Array.from({ length: numDir }, () => names).flat();
  else throw new ModelError(`${kind}: activations has ${names.length} entries, expected ${per * numDir}`);
  const alphas = ctx.attrs.optFloats("activation_alpha") ?? [];
  const betas = ctx.attrs.optFloats("activation_beta") ?? [];
  let ai = 0;
  let bi = 0;
  const specs = list.map((given) => {
    const name = given.toLowerCase();
    const spec = ACTIVATIONS[name];
    if (spec === undefined) throw new UnsupportedError(`${kind}: activation ${given} is not supported`, `${kind} activation ${given}`);
    let alpha = 0;
    let beta = 0;
    if (spec.alpha !== undefined) alpha = ai < alphas.length ? alphas[ai++]! : spec.alpha;
    if (spec.beta !== undefined) beta = bi < betas.length ? betas[bi++]! : spec.beta;
    return { name, alpha, beta };
  });
  return Array.from({ length: numDir }, (_, d) => specs.slice(d * per, (d + 1) * per));
}

function activations(ctx: EvalContext, kind: RnnKind, numDir: number): Act[][] {
  return activationSpecs(ctx, kind, numDir).map((dir) => dir.map((a) => ACTIVATIONS[a.name]!.make(a.alpha, a.beta)));
}

export function numDirections(ctx: { attrs: EvalContext["attrs"] }, kind: RnnKind): number {
  return ctx.attrs.string("direction") === "bidirectional" ? 2 : 1;
}

function schema(kind: RnnKind): AttrSchema {
  const common: AttrSchema = {
    activation_alpha: { type: "floats" },
    activation_beta: { type: "floats" },
    activations: { type: "strings" },
    clip: { type: "float" },
    direction: { type: "string", default: "forward", values: ["forward", "reverse", "bidirectional"] },
    hidden_size: { type: "int" },
    layout: { type: "int", default: 0, since: 14 },
    output_sequence: { type: "int", default: 0, until: 7 },
  };
  if (kind === "LSTM") return { ...common, input_forget: { type: "int", default: 0 } };
  if (kind === "GRU") return { ...common, linear_before_reset: { type: "int", default: 0, since: 3 } };
  return common;
}

function infer(kind: RnnKind) {
  return (ctx: InferContext): (TensorType | null)[] => {
    const x = inputType(ctx, 0);
    const w = inputType(ctx, 1);
    const r = inputType(ctx, 2);
    const layout = ctx.attrs.int("layout");
    const numDir = numDirections(ctx, kind);
    const hs = ctx.attrs.optInt("hidden_size");
    const hidden: Dim = hs ?? r.shape?.[2] ?? (typeof w.shape?.[1] === "number" ? w.shape[1] / GATES[kind] : ctx.fresh());
    const seq: Dim = x.shape?.[layout === 0 ? 0 : 1] ?? ctx.fresh();
    const batch: Dim = x.shape?.[layout === 0 ? 1 : 0] ?? ctx.fresh();
    const y: Dim[] = layout === 0 ? [seq, numDir, batch, hidden] : [batch, seq, numDir, hidden];
    const state: Dim[] = layout === 0 ? [numDir, batch, hidden] : [batch, numDir, hidden];
    const outs: TensorType[] = [{ dtype: x.dtype, shape: y }, { dtype: x.dtype, shape: state }];
    if (kind === "LSTM") outs.push({ dtype: x.dtype, shape: state });
    return outs.slice(0, Math.max(1, ctx.outputCount));
  };
}

function wants(ctx: EvalContext, i: number): boolean {
  return i < ctx.outputCount && (ctx.node.outputs[i] ?? "") !== "";
}

/** Row-vector times the transpose of rows [row0, row0+n) of a [*, k] matrix: out[j] = sum_i v[i] * m[row0+j][i]. */
function matVecT(m: Float64Array, k: number, row0: number, n: number, v: Float64Array, vOff: number, out: Float64Array): void {
  for (let j = 0; j < n; j++) {
    let s = 0;
    const base = (row0 + j) * k;
    for (let i = 0; i < k; i++) s += m[base + i]! * v[vOff + i]!;
    out[j] = s;
  }
}

function evaluate(kind: RnnKind) {
  return (ctx: EvalContext): (Tensor | null)[] => {
    const X = req(ctx.inputs[0], kind, 0);
    const W = req(ctx.inputs[1], kind, 1);
    const R = req(ctx.inputs[2], kind, 2);
    if (!isFloat(X.dtype)) throw new ModelError(`${kind}: X must be a float tensor, got ${X.dtype}`);
    const B = ctx.inputs[3] ?? null;
    const seqLens = ctx.inputs[4] ?? null;
    const initH = ctx.inputs[5] ?? null;
    const initC = kind === "LSTM" ? (ctx.inputs[6] ?? null) : null;
    const P = kind === "LSTM" ? (ctx.inputs[7] ?? null) : null;
    const layout = ctx.attrs.int("layout");
    const numDir = numDirections(ctx, kind);
    const direction = ctx.attrs.string("direction");
    const G = GATES[kind];
    if (X.rank !== 3 || W.rank !== 3 || R.rank !== 3) throw new EvalError(`${kind}: X, W and R must have rank 3`);
    const [seq, batch, inSize] = layout === 0 ? [X.shape[0]!, X.shape[1]!, X.shape[2]!] : [X.shape[1]!, X.shape[0]!, X.shape[2]!];
    const H = ctx.attrs.optInt("hidden_size") ?? R.shape[2]!;
    if (W.shape[0] !== numDir || W.shape[1] !== G * H || W.shape[2] !== inSize) {
      throw new EvalError(`${kind}: W has shape [${W.shape.join(",")}], expected [${numDir},${G * H},${inSize}]`);
    }
    if (R.shape[0] !== numDir || R.shape[1] !== G * H || R.shape[2] !== H) {
      throw new EvalError(`${kind}: R has shape [${R.shape.join(",")}], expected [${numDir},${G * H},${H}]`);
    }
    const clipAttr = ctx.attrs.optFloat("clip");
    const clip = clipAttr === undefined ? (v: number) => v : (v: number) => Math.max(-clipAttr, Math.min(clipAttr, v));
    const acts = activations(ctx, kind, numDir);
    const linearBeforeReset = kind === "GRU" && ctx.attrs.int("linear_before_reset") !== 0;
    const inputForget = kind === "LSTM" && ctx.attrs.int("input_forget") !== 0;

    const xv = X.numbers();
    const wv = W.numbers();
    const rv = R.numbers();
    const bv = B ? B.numbers() : new Float64Array(numDir * 2 * G * H);
    if (bv.length !== numDir * 2 * G * H) throw new EvalError(`${kind}: B must have ${numDir * 2 * G * H} elements`);
    const pv = P ? P.numbers() : new Float64Array(numDir * 3 * H);
    if (pv.length !== numDir * 3 * H) throw new EvalError(`${kind}: P must have ${numDir * 3 * H} elements`);
    const lens = seqLens ? seqLens.ints() : new Array<number>(batch).fill(seq);
    if (lens.length !== batch || lens.some((l) => l < 0 || l > seq)) throw new EvalError(`${kind}: sequence_lens must be ${batch} values in [0, ${seq}]`);
    // State tensors in layout 0 order [numDir, batch, H]; layout 1 stores [batch, numDir, H].
    const stateIndex = (d: number, b: number) => (layout === 0 ? (d * batch + b) * H : (b * numDir + d) * H);
    const h0 = initH ? initH.numbers() : new Float64Array(numDir * batch * H);
    const c0 = initC ? initC.numbers() : new Float64Array(numDir * batch * H);
    if (h0.length !== numDir * batch * H || c0.length !== numDir * batch * H) throw new EvalError(`${kind}: initial states must have ${numDir * batch * H} elements`);

    const Y = new Float64Array(seq * numDir * batch * H);
    const Yh = new Float64Array(numDir * batch * H);
    const Yc = new Float64Array(numDir * batch * H);
    const yIndex = (t: number, d: number, b: number) => (layout === 0 ? ((t * numDir + d) * batch + b) * H : ((b * seq + t) * numDir + d) * H);
    const xIndex = (t: number, b: number) => (layout === 0 ? (t * batch + b) * inSize : (b * seq + t) * inSize);

    const gx = new Float64Array(G * H);
    const gh = new Float64Array(G * H);
    for (let d = 0; d < numDir; d++) {
      const reverse = direction === "reverse" || d === 1;
      const [f, g, h] = acts[d]!;
      const wD = wv.subarray(d * G * H * inSize, (d + 1) * G * H * inSize);
      const rD = rv.subarray(d * G * H * H, (d + 1) * G * H * H);
      const wb = bv.subarray(d * 2 * G * H, d * 2 * G * H + G * H);
      const rb = bv.subarray(d * 2 * G * H + G * H, (d + 1) * 2 * G * H);
      const pD = pv.subarray(d * 3 * H, (d + 1) * 3 * H);
      for (let b = 0; b < batch; b++) {
        const len = lens[b]!;
        const Ht = h0.slice(stateIndex(d, b), stateIndex(d, b) + H);
        const Ct = c0.slice(stateIndex(d, b), stateIndex(d, b) + H);
        for (let s = 0; s < len; s++) {
          const t = reverse ? len - 1 - s : s;
          matVecT(wD, inSize, 0, G * H, xv, xIndex(t, b), gx);
          // An absent initial state is zero and adds nothing (not R·0, which a non-finite R makes NaN), as compiled.
          if (initH || s > 0) matVecT(rD, H, 0, G * H, Ht, 0, gh);
          else gh.fill(0);
          if (kind === "RNN") {
            for (let j = 0; j < H; j++) Ht[j] = f!(clip(gx[j]! + gh[j]! + wb[j]! + rb[j]!));
          } else if (kind === "GRU") {
            const z = new Float64Array(H);
            const r = new Float64Array(H);
            for (let j = 0; j < H; j++) {
              z[j] = f!(clip(gx[j]! + gh[j]! + wb[j]! + rb[j]!));
              r[j] = f!(clip(gx[H + j]! + gh[H + j]! + wb[H + j]! + rb[H + j]!));
            }
            const hh = new Float64Array(H);
            if (linearBeforeReset) {
              for (let j = 0; j < H; j++) hh[j] = g!(clip(gx[2 * H + j]! + r[j]! * (gh[2 * H + j]! + rb[2 * H + j]!) + wb[2 * H + j]!));
            } else {
              const rH = Ht.map((v, j) => v * r[j]!);
              const rec = new Float64Array(H);
              matVecT(rD, H, 2 * H, H, rH, 0, rec);
              for (let j = 0; j < H; j++) hh[j] = g!(clip(gx[2 * H + j]! + rec[j]! + rb[2 * H + j]! + wb[2 * H + j]!));
            }
            for (let j = 0; j < H; j++) Ht[j] = (1 - z[j]!) * hh[j]! + z[j]! * Ht[j]!;
          } else {
            // Gate blocks are i, o, f, c; peepholes P are i, o, f.
            const pre = (gate: number, j: number) => gx[gate * H + j]! + gh[gate * H + j]! + wb[gate * H + j]! + rb[gate * H + j]!;
            // Likewise an absent initial cell state: no f·c or peephole term in the first step.
            const noCell = !initC && s === 0;
            for (let j = 0; j < H; j++) {
              const peep = (k: number) => (noCell ? 0 : pD[k * H + j]! * Ct[j]!);
              const i = f!(clip(pre(0, j) + peep(0)));
              const fg = inputForget ? 1 - i : f!(clip(pre(2, j) + peep(2)));
              const c = g!(clip(pre(3, j)));
              Ct[j] = (noCell ? 0 : fg * Ct[j]!) + i * c;
              const o = f!(clip(pre(1, j) + pD[H + j]! * Ct[j]!));
              Ht[j] = o * h!(Ct[j]!);
            }
          }
          Y.set(Ht, yIndex(t, d, b));
        }
        Yh.set(Ht, stateIndex(d, b));
        Yc.set(Ct, stateIndex(d, b));
      }
    }
    const yShape = layout === 0 ? [seq, numDir, batch, H] : [batch, seq, numDir, H];
    const sShape = layout === 0 ? [numDir, batch, H] : [batch, numDir, H];
    const outs: (Tensor | null)[] = [
      wants(ctx, 0) ? Tensor.fromNumbers(X.dtype, yShape, Y) : null,
      wants(ctx, 1) ? Tensor.fromNumbers(X.dtype, sShape, Yh) : null,
    ];
    if (kind === "LSTM") outs.push(wants(ctx, 2) ? Tensor.fromNumbers(X.dtype, sShape, Yc) : null);
    return outs;
  };
}

function rnnOp(kind: RnnKind): OpDef {
  return { name: kind, pattern: "opaque", attrs: schema(kind), infer: infer(kind), evaluate: evaluate(kind) };
}

export const ops: OpDef[] = [rnnOp("RNN"), rnnOp("GRU"), rnnOp("LSTM")];
