/**
 * Attention and transformer blocks: Attention, RotaryEmbedding, SwiGLU, CausalConvWithState,
 * LinearAttention and ai.onnx.preview:FlexAttention.
 */
import { type DType, isFloat } from "../ir/dtype.js";
import { EvalError, ModelError, UnsupportedError } from "../ir/errors.js";
import { Tensor } from "../ir/tensor.js";
import type { Dim, TensorType } from "../ir/types.js";
import { dimAdd, dimDiv, dimMul } from "../ir/dim.js";
import type { EvalContext, InferContext, OpDef } from "./registry.js";
import { broadcastIndex, broadcastShapes, inputType, req } from "./util.js";

function requireFloat(op: string, dtype: DType): void {
  if (!isFloat(dtype)) throw new UnsupportedError(`${op}: dtype ${dtype} is not supported (float types only)`, `${op} dtype ${dtype}`);
}

/** Whether output i is requested by the node. */
function wants(ctx: EvalContext, i: number): boolean {
  return i < ctx.outputCount && (ctx.node.outputs[i] ?? "") !== "";
}

/** Softmax of one row in place; a row with no finite entry (fully masked) becomes all zeros. */
function softmaxRow(row: Float64Array): void {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  if (max === -Infinity) {
    row.fill(0);
    return;
  }
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    row[i] = Math.exp(row[i]! - max);
    sum += row[i]!;
  }
  for (let i = 0; i < row.length; i++) row[i] = row[i]! / sum;
}

// ---------------------------------------------------------------------------------------------
// Attention (opset 23; opset 24 adds the nonpad_kv_seqlen input)

/** A [B, H, S, D] view of Q/K/V: 4-D as is, 3-D [B, S, H*D] split into `heads` heads. */
interface Heads {
  readonly b: number;
  readonly h: number;
  readonly s: number;
  readonly d: number;
  readonly data: Float64Array;
}

function toHeads(t: Tensor, heads: number | undefined, what: string, op = "Attention"): Heads {
  const v = t.numbers();
  if (t.rank === 4) {
    const [b, h, s, d] = t.shape as [number, number, number, number];
    return { b, h, s, d, data: v };
  }
  if (t.rank !== 3) throw new ModelError(`${op}: ${what} must be 3-D or 4-D, got rank ${t.rank}`);
  if (heads === undefined || heads <= 0) throw new ModelError(`${op}: 3-D inputs need q_num_heads and kv_num_heads`);
  const [b, s, hidden] = t.shape as [number, number, number];
  if (hidden % heads !== 0) throw new EvalError(`${op}: ${what} hidden size ${hidden} is not divisible by ${heads} heads`);
  const d = hidden / heads;
  const data = new Float64Array(v.length);
  for (let bi = 0; bi < b; bi++)
    for (let si = 0; si < s; si++)
      for (let hi = 0; hi < heads; hi++)
        for (let di = 0; di < d; di++) data[((bi * heads + hi) * s + si) * d + di] = v[(bi * s + si) * hidden + hi * d + di]!;
  return { b, h: heads, s, d, data };
}

/** Concatenate past and new along the sequence axis (both [B, H, S, D]). */
function concatSeq(past: Heads | null, cur: Heads, what: string): Heads {
  if (past === null) return cur;
  if (past.b !== cur.b || past.h !== cur.h || past.d !== cur.d) throw new EvalError(`Attention: past_${what} shape does not match ${what}`);
  const s = past.s + cur.s;
  const data = new Float64Array(cur.b * cur.h * s * cur.d);
  for (let bh = 0; bh < cur.b * cur.h; bh++) {
    data.set(past.data.subarray(bh * past.s * past.d, (bh + 1) * past.s * past.d), bh * s * cur.d);
    data.set(cur.data.subarray(bh * cur.s * cur.d, (bh + 1) * cur.s * cur.d), bh * s * cur.d + past.s * cur.d);
  }
  return { b: cur.b, h: cur.h, s, d: cur.d, data };
}

/**
 * The additive bias [B, Hq, Sq, T] from attn_mask (bool: false -> -inf; float: added), padded
 * with -inf up to T keys, then the causal mask and the nonpad_kv_seqlen padding mask.
 */
function attentionBias(
  mask: Tensor | null, b: number, hq: number, sq: number, total: number,
  isCausal: boolean, pastLen: number, hasPast: boolean, nonpad: number[] | null,
): Float64Array {
  const bias = new Float64Array(b * hq * sq * total);
  if (mask !== null) {
    if (mask.rank < 2 || mask.rank > 4) throw new ModelError(`Attention: attn_mask must have rank 2 to 4, got ${mask.rank}`);
    const mlen = mask.shape[mask.rank - 1]!;
    if (mlen > total) throw new EvalError(`Attention: attn_mask last dim ${mlen} exceeds total sequence length ${total}`);
    const lead = mask.shape.slice(0, -1);
    const target = broadcastShapes([[b, hq, sq], lead]);
    if (target.length !== 3 || target[0] !== b || target[1] !== hq || target[2] !== sq) {
      throw new EvalError(`Attention: attn_mask shape [${mask.shape.join(",")}] does not broadcast to [${b},${hq},${sq},${total}]`);
    }
    const rows = broadcastIndex(lead, [b, hq, sq]);
    const mv = mask.numbers();
    const isBool = mask.dtype === "bool";
    for (let r = 0; r < rows.length; r++) {
      for (let j = 0; j < total; j++) {
        let v: number;
        if (j >= mlen) v = -Infinity;
        else {
          const m = mv[rows[r]! * mlen + j]!;
          v = isBool ? (m !== 0 ? 0 : -Infinity) : m;
        }
        bias[r * total + j] = v;
      }
    }
  }
  for (let bi = 0; bi < b; bi++) {
    // Causal masking is bottom-right aligned on the keys that precede this query block.
    const offset = hasPast || nonpad === null ? pastLen : nonpad[bi]! - sq;
    for (let hi = 0; hi < hq; hi++)
      for (let i = 0; i < sq; i++) {
        const base = ((bi * hq + hi) * sq + i) * total;
        for (let j = 0; j < total; j++) {
          if (isCausal && j > i + offset) bias[base + j] = -Infinity;
          if (nonpad !== null && j >= nonpad[bi]!) bias[base + j] = -Infinity;
        }
      }
  }
  return bias;
}

function attentionNumHeads(ctx: InferContext | EvalContext): { qh: number | undefined; kvh: number | undefined } {
  return { qh: ctx.attrs.optInt("q_num_heads"), kvh: ctx.attrs.optInt("kv_num_heads") };
}

function attentionInfer(ctx: InferContext): (TensorType | null)[] {
  const q = inputType(ctx, 0);
  const k = inputType(ctx, 1);
  const v = inputType(ctx, 2);
  const pastK = ctx.inputs[4] ?? null;
  const { qh, kvh } = attentionNumHeads(ctx);
  const dt = q.dtype;
  const n = Math.max(1, ctx.outputCount);
  if (q.shape === null || k.shape === null || v.shape === null) return Array.from({ length: n }, () => ({ dtype: dt, shape: null }));
  let b: Dim, hq: Dim, sq: Dim, hkv: Dim, skv: Dim, dk: Dim, dv: Dim;
  if (q.shape.length === 4) {
    [b, hq, sq] = q.shape as [Dim, Dim, Dim];
    [, hkv, skv, dk] = k.shape as [Dim, Dim, Dim, Dim];
    dv = v.shape[3]!;
  } else {
    if (qh === undefined || kvh === undefined) throw new ModelError(`Attention: 3-D inputs need q_num_heads and kv_num_heads`);
    [b, sq] = q.shape as [Dim, Dim];
    hq = qh;
    hkv = kvh;
    skv = k.shape[1]!;
    dk = dimDiv(k.shape[2]!, kvh);
    dv = dimDiv(v.shape[2]!, kvh);
  }
  const total = pastK?.shape ? dimAdd(pastK.shape[2]!, skv) : pastK ? ctx.fresh() : skv;
  const outs: TensorType[] = [
    { dtype: dt, shape: q.shape.length === 4 ? [b, hq, sq, dv] : [b, sq, dimMul(hq, dv)] },
    { dtype: dt, shape: [b, hkv, total, dk] },
    { dtype: dt, shape: [b, hkv, total, dv] },
    { dtype: dt, shape: [b, hq, sq, total] },
  ];
  return outs.slice(0, n);
}

function attentionEval(ctx: EvalContext): (Tensor | null)[] {
  const qT = req(ctx.inputs[0], "Attention", 0);
  const kT = req(ctx.inputs[1], "Attention", 1);
  const vT = req(ctx.inputs[2], "Attention", 2);
  const maskT = ctx.inputs[3] ?? null;
  const pastKT = ctx.inputs[4] ?? null;
  const pastVT = ctx.inputs[5] ?? null;
  const nonpadT = ctx.inputs[6] ?? null;
  requireFloat("Attention", qT.dtype);
  if (qT.rank !== kT.rank || qT.rank !== vT.rank) throw new ModelError(`Attention: Q, K and V must have the same rank`);
  if ((pastKT === null) !== (pastVT === null)) throw new ModelError(`Attention: past_key and past_value must be given together`);
  const a = ctx.attrs;
  const { qh, kvh } = attentionNumHeads(ctx);
  const isCausal = a.int("is_causal") !== 0;
  const softcap = a.float("softcap");
  const mode = a.int("qk_matmul_output_mode");
  if (mode < 0 || mode > 3) throw new ModelError(`Attention: qk_matmul_output_mode ${mode} is not 0..3`);

  const q = toHeads(qT, qh, "Q");
  const k = concatSeq(pastKT && toHeads(pastKT, kvh, "past_key"), toHeads(kT, kvh, "K"), "key");
  const v = concatSeq(pastVT && toHeads(pastVT, kvh, "past_value"), toHeads(vT, kvh, "V"), "value");
  const { b, h: hq, s: sq, d } = q;
  const { h: hkv, s: total } = k;
  const dv = v.d;
  if (k.b !== b || v.b !== b || v.h !== hkv || v.s !== total) throw new EvalError(`Attention: Q, K and V batch, head or sequence sizes do not agree`);
  if (k.d !== d) throw new EvalError(`Attention: Q head size ${d} differs from K head size ${k.d}`);
  if (hq % hkv !== 0) throw new EvalError(`Attention: q_num_heads ${hq} is not a multiple of kv_num_heads ${hkv}`);
  const group = hq / hkv;
  const scale = a.optFloat("scale") ?? 1 / Math.sqrt(d);

  let nonpad: number[] | null = null;
  if (nonpadT !== null) {
    nonpad = nonpadT.ints();
    if (nonpad.length !== b) throw new EvalError(`Attention: nonpad_kv_seqlen has ${nonpad.length} entries for batch ${b}`);
  }
  const pastLen = pastKT === null ? 0 : pastKT.shape[2]!;
  const bias = attentionBias(maskT, b, hq, sq, total, isCausal, pastLen, pastKT !== null, nonpad);

  const y = new Float64Array(b * hq * sq * dv);
  const qkOut = new Float64Array(b * hq * sq * total);
  const row = new Float64Array(total);
  for (let bi = 0; bi < b; bi++)
    for (let hi = 0; hi < hq; hi++) {
      // GQA: query head hi reads kv head floor(hi / group).
      const kvBase = (bi * hkv + Math.floor(hi / group)) * total;
      for (let i = 0; i < sq; i++) {
        const qOff = ((bi * hq + hi) * sq + i) * d;
        const r = (bi * hq + hi) * sq + i;
        for (let j = 0; j < total; j++) {
          const kOff = (kvBase + j) * d;
          let dot = 0;
          for (let x = 0; x < d; x++) dot += q.data[qOff + x]! * k.data[kOff + x]!;
          let s = dot * scale;
          if (mode === 0) qkOut[r * total + j] = s;
          // Softcap comes before the mask so that masked (-inf) scores stay -inf.
          if (softcap > 0) s = softcap * Math.tanh(s / softcap);
          if (mode === 1) qkOut[r * total + j] = s;
          s += bias[r * total + j]!;
          if (mode === 2) qkOut[r * total + j] = s;
          row[j] = s;
        }
        softmaxRow(row);
        if (mode === 3) qkOut.set(row, r * total);
        const yOff = r * dv;
        for (let j = 0; j < total; j++) {
          const p = row[j]!;
          if (p === 0) continue;
          const vOff = (kvBase + j) * dv;
          for (let x = 0; x < dv; x++) y[yOff + x] = y[yOff + x]! + p * v.data[vOff + x]!;
        }
      }
    }

  const dt = qT.dtype;
  let yT: Tensor;
  if (qT.rank === 4) yT = Tensor.fromNumbers(dt, [b, hq, sq, dv], y);
  else {
    const out = new Float64Array(y.length);
    for (let bi = 0; bi < b; bi++)
      for (let hi = 0; hi < hq; hi++)
        for (let i = 0; i < sq; i++)
          for (let x = 0; x < dv; x++) out[(bi * sq + i) * hq * dv + hi * dv + x] = y[((bi * hq + hi) * sq + i) * dv + x]!;
    yT = Tensor.fromNumbers(dt, [b, sq, hq * dv], out);
  }
  return [
    yT,
    wants(ctx, 1) ? Tensor.fromNumbers(kT.dtype, [b, hkv, total, d], k.data) : null,
    wants(ctx, 2) ? Tensor.fromNumbers(vT.dtype, [b, hkv, total, dv], v.data) : null,
    wants(ctx, 3) ? Tensor.fromNumbers(dt, [b, hq, sq, total], qkOut) : null,
  ].slice(0, Math.max(1, ctx.outputCount));
}

const attention: OpDef = {
  name: "Attention",
  pattern: "opaque",
  attrs: {
    is_causal: { type: "int", default: 0 },
    kv_num_heads: { type: "int" },
    q_num_heads: { type: "int" },
    qk_matmul_output_mode: { type: "int", default: 0 },
    scale: { type: "float" },
    softcap: { type: "float", default: 0 },
    // The reference interpreter computes the softmax in float64 whatever precision is asked for.
    softmax_precision: { type: "int" },
  },
  infer: attentionInfer,
  evaluate: attentionEval,
};

// ---------------------------------------------------------------------------------------------
// RotaryEmbedding (opset 23)

function rotaryEval(ctx: EvalContext): (Tensor | null)[] {
  const x = req(ctx.inputs[0], "RotaryEmbedding", 0);
  const cosT = req(ctx.inputs[1], "RotaryEmbedding", 1);
  const sinT = req(ctx.inputs[2], "RotaryEmbedding", 2);
  const pos = ctx.inputs[3] ?? null;
  requireFloat("RotaryEmbedding", x.dtype);
  const interleaved = ctx.attrs.int("interleaved") !== 0;
  const numHeads = ctx.attrs.int("num_heads");
  let rdim = ctx.attrs.int("rotary_embedding_dim");
  // Work on a [B, S, H, D] view; `at` maps it back to the input's flat index.
  let b: number, s: number, h: number, d: number;
  let at: (bi: number, si: number, hi: number, di: number) => number;
  if (x.rank === 4) {
    [b, h, s, d] = x.shape as [number, number, number, number];
    at = (bi, si, hi, di) => ((bi * h + hi) * s + si) * d + di;
  } else if (x.rank === 3) {
    if (numHeads <= 0) throw new ModelError(`RotaryEmbedding: 3-D input needs num_heads`);
    [b, s] = x.shape as [number, number];
    h = numHeads;
    if (x.shape[2]! % h !== 0) throw new EvalError(`RotaryEmbedding: hidden size ${x.shape[2]} is not divisible by num_heads ${h}`);
    d = x.shape[2]! / h;
    at = (bi, si, hi, di) => ((bi * s + si) * h + hi) * d + di;
  } else throw new ModelError(`RotaryEmbedding: input must be 3-D or 4-D, got rank ${x.rank}`);
  if (rdim === 0) rdim = d;
  if (rdim > d || rdim % 2 !== 0) throw new EvalError(`RotaryEmbedding: rotary_embedding_dim ${rdim} is invalid for head size ${d}`);
  const half = rdim / 2;
  const cv = cosT.numbers();
  const sv = sinT.numbers();
  if (cosT.shape[cosT.rank - 1] !== half || sinT.shape[sinT.rank - 1] !== half) {
    throw new EvalError(`RotaryEmbedding: cos/sin cache last dim must be ${half}`);
  }
  // Row of the caches for (batch, position): by position_ids into [max_pos, half], else [B, S, half].
  let cacheRow: (bi: number, si: number) => number;
  if (pos !== null) {
    const p = pos.ints();
    const maxPos = cosT.shape[0]!;
    cacheRow = (bi, si) => {
      const r = p[bi * s + si]!;
      if (r < 0 || r >= maxPos) throw new EvalError(`RotaryEmbedding: position id ${r} is out of range [0, ${maxPos})`);
      return r;
    };
  } else {
    if (cosT.rank !== 3 || cosT.shape[0] !== b || cosT.shape[1] !== s) {
      throw new EvalError(`RotaryEmbedding: without position_ids the caches must be [${b},${s},${half}]`);
    }
    cacheRow = (bi, si) => bi * s + si;
  }
  const xv = x.numbers();
  const out = new Float64Array(xv);
  for (let bi = 0; bi < b; bi++)
    for (let si = 0; si < s; si++) {
      const row = cacheRow(bi, si) * half;
      for (let hi = 0; hi < h; hi++)
        for (let i = 0; i < half; i++) {
          const c = cv[row + i]!;
          const sn = sv[row + i]!;
          const i1 = interleaved ? 2 * i : i;
          const i2 = interleaved ? 2 * i + 1 : i + half;
          const x1 = xv[at(bi, si, hi, i1)]!;
          const x2 = xv[at(bi, si, hi, i2)]!;
          out[at(bi, si, hi, i1)] = c * x1 - sn * x2;
          out[at(bi, si, hi, i2)] = sn * x1 + c * x2;
        }
    }
  return [Tensor.fromNumbers(x.dtype, x.shape, out)];
}

const rotaryEmbedding: OpDef = {
  name: "RotaryEmbedding",
  pattern: "opaque",
  attrs: {
    interleaved: { type: "int", default: 0 },
    num_heads: { type: "int", default: 0 },
    rotary_embedding_dim: { type: "int", default: 0 },
  },
  infer: (ctx) => [inputType(ctx, 0)],
  evaluate: rotaryEval,
};

// ---------------------------------------------------------------------------------------------
// SwiGLU (opset 28): y = a * sigmoid(alpha * a) * b, with a and b of one shape.

const swiglu: OpDef = {
  name: "SwiGLU",
  pattern: "elementwise",
  attrs: { alpha: { type: "float", default: 1.0 } },
  infer: (ctx) => [inputType(ctx, 0)],
  evaluate: (ctx) => {
    const a = req(ctx.inputs[0], "SwiGLU", 0);
    const b = req(ctx.inputs[1], "SwiGLU", 1);
    requireFloat("SwiGLU", a.dtype);
    if (a.shape.join(",") !== b.shape.join(",")) {
      throw new EvalError(`SwiGLU: inputs must have identical shapes, got [${a.shape.join(",")}] and [${b.shape.join(",")}]`);
    }
    const alpha = ctx.attrs.float("alpha");
    const av = a.numbers();
    const bv = b.numbers();
    const out = new Float64Array(av.length);
    for (let i = 0; i < av.length; i++) out[i] = (av[i]! / (1 + Math.exp(-alpha * av[i]!))) * bv[i]!;
    return [Tensor.fromNumbers(a.dtype, a.shape, out)];
  },
};

// ---------------------------------------------------------------------------------------------
// CausalConvWithState (opset 27): depthwise causal Conv1d over [past_state | input], optional SiLU.

function causalConvInfer(ctx: InferContext): (TensorType | null)[] {
  const x = inputType(ctx, 0);
  const w = inputType(ctx, 1);
  const k = w.shape?.[2];
  const state: Dim[] | null = x.shape && k !== undefined
    ? [x.shape[0]!, x.shape[1]!, typeof k === "number" ? k - 1 : ctx.fresh()]
    : null;
  return [{ dtype: x.dtype, shape: x.shape }, { dtype: x.dtype, shape: state }];
}

function causalConvEval(ctx: EvalContext): (Tensor | null)[] {
  const op = "CausalConvWithState";
  const x = req(ctx.inputs[0], op, 0);
  const w = req(ctx.inputs[1], op, 1);
  const bias = ctx.inputs[2] ?? null;
  const past = ctx.inputs[3] ?? null;
  requireFloat(op, x.dtype);
  const act = ctx.attrs.string("activation");
  if (x.rank !== 3) throw new ModelError(`${op}: input must be [batch, channels, length], got rank ${x.rank}`);
  const [b, c, len] = x.shape as [number, number, number];
  if (w.rank !== 3 || w.shape[0] !== c || w.shape[1] !== 1) throw new EvalError(`${op}: weight must be [${c},1,k], got [${w.shape.join(",")}]`);
  const k = w.shape[2]!;
  if (k < 1) throw new EvalError(`${op}: kernel size must be at least 1`);
  if (bias !== null && (bias.rank !== 1 || bias.shape[0] !== c)) throw new EvalError(`${op}: bias must be [${c}]`);
  if (past !== null && (past.rank !== 3 || past.shape[0] !== b || past.shape[1] !== c || past.shape[2] !== k - 1)) {
    throw new EvalError(`${op}: past_state must be [${b},${c},${k - 1}], got [${past.shape.join(",")}]`);
  }
  const xv = x.numbers();
  const wv = w.numbers();
  const bv = bias?.numbers() ?? null;
  const pv = past?.numbers() ?? null;
  const plen = len + k - 1;
  const out = new Float64Array(b * c * len);
  const state = new Float64Array(b * c * (k - 1));
  const padded = new Float64Array(plen);
  for (let bi = 0; bi < b; bi++)
    for (let ci = 0; ci < c; ci++) {
      // Left padding is the carried state (zeros when there is none).
      const r = bi * c + ci;
      for (let p = 0; p < k - 1; p++) padded[p] = pv === null ? 0 : pv[r * (k - 1) + p]!;
      for (let t = 0; t < len; t++) padded[k - 1 + t] = xv[r * len + t]!;
      for (let t = 0; t < len; t++) {
        let acc = bv === null ? 0 : bv[ci]!;
        for (let j = 0; j < k; j++) acc += wv[ci * k + j]! * padded[t + j]!;
        if (act !== "none") acc = acc / (1 + Math.exp(-acc));
        out[r * len + t] = acc;
      }
      state.set(padded.subarray(plen - (k - 1)), r * (k - 1));
    }
  return [Tensor.fromNumbers(x.dtype, x.shape, out), wants(ctx, 1) ? Tensor.fromNumbers(x.dtype, [b, c, k - 1], state) : null].slice(0, Math.max(1, ctx.outputCount));
}

const causalConvWithState: OpDef = {
  name: "CausalConvWithState",
  pattern: "opaque",
  attrs: { activation: { type: "string", default: "none", values: ["none", "silu", "swish"] } },
  infer: causalConvInfer,
  evaluate: causalConvEval,
};

// ---------------------------------------------------------------------------------------------
// LinearAttention (opset 27): a recurrent state S [B, Hkv, dk, dv] updated per time step by the
// linear, gated (decay), delta (beta) or gated_delta rule; output_t = scale * q_t S.

/** Split [B, T, H*D] into per-(b, h, t) rows of D: index ((b*H + h)*T + t)*D + d. */
function splitHeads(t: Tensor, heads: number, what: string): { d: number; v: Float64Array } {
  if (t.rank !== 3) throw new ModelError(`LinearAttention: ${what} must be [batch, seq, heads*dim], got rank ${t.rank}`);
  return { d: t.shape[2]! / heads, v: toHeads(t, heads, what, "LinearAttention").data };
}

function linearAttentionInfer(ctx: InferContext): (TensorType | null)[] {
  const q = inputType(ctx, 0);
  const v = inputType(ctx, 2);
  const qh = ctx.attrs.int("q_num_heads");
  const kvh = ctx.attrs.int("kv_num_heads");
  const past = ctx.inputs[3] ?? null;
  if (q.shape === null || v.shape === null) return [{ dtype: q.dtype, shape: null }, { dtype: past?.dtype ?? q.dtype, shape: null }];
  const dk = dimDiv(q.shape[2]!, qh);
  const dv = dimDiv(v.shape[2]!, kvh);
  return [
    { dtype: q.dtype, shape: [q.shape[0]!, q.shape[1]!, dimMul(qh, dv)] },
    { dtype: past?.dtype ?? q.dtype, shape: [q.shape[0]!, kvh, dk, dv] },
  ];
}

function linearAttentionEval(ctx: EvalContext): (Tensor | null)[] {
  const op = "LinearAttention";
  const qT = req(ctx.inputs[0], op, 0);
  const kT = req(ctx.inputs[1], op, 1);
  const vT = req(ctx.inputs[2], op, 2);
  const pastT = ctx.inputs[3] ?? null;
  const decayT = ctx.inputs[4] ?? null;
  const betaT = ctx.inputs[5] ?? null;
  const eraseT = ctx.inputs[6] ?? null;
  requireFloat(op, qT.dtype);
  const rule = ctx.attrs.string("update_rule");
  const qh = ctx.attrs.int("q_num_heads");
  const kvh = ctx.attrs.int("kv_num_heads");
  if (qh <= 0 || kvh <= 0 || qh % kvh !== 0) throw new ModelError(`${op}: q_num_heads ${qh} must be a positive multiple of kv_num_heads ${kvh}`);
  const gating = rule === "gated" || rule === "gated_delta";
  const delta = rule === "delta" || rule === "gated_delta";
  if (gating !== (decayT !== null)) throw new ModelError(`${op}: update_rule '${rule}' ${gating ? "requires" : "forbids"} the decay input`);
  if (delta !== (betaT !== null)) throw new ModelError(`${op}: update_rule '${rule}' ${delta ? "requires" : "forbids"} the beta input`);
  if (eraseT !== null && !delta) throw new ModelError(`${op}: update_rule '${rule}' forbids the erase_gate input`);

  const [b, t] = qT.shape as [number, number];
  const q = splitHeads(qT, qh, "query");
  const k = splitHeads(kT, kvh, "key");
  const v = splitHeads(vT, kvh, "value");
  const dk = q.d;
  const dv = v.d;
  if (k.d !== dk) throw new EvalError(`${op}: key head size ${k.d} differs from query head size ${dk}`);
  if (kT.shape[0] !== b || kT.shape[1] !== t || vT.shape[0] !== b || vT.shape[1] !== t) throw new EvalError(`${op}: query, key and value batch/sequence sizes differ`);
  const group = qh / kvh;
  const scaleAttr = ctx.attrs.optFloat("scale");
  const scale = scaleAttr === undefined || scaleAttr === 0 ? 1 / Math.sqrt(dk) : scaleAttr;

  // decay is [B, T, Hkv] (per head) or [B, T, Hkv*dk] (per key dim); beta is [B, T, Hkv] or [B, T, 1].
  let decay: ((bi: number, h: number, ti: number, d: number) => number) | null = null;
  if (decayT !== null) {
    const last = decayT.shape[2];
    const dv_ = decayT.numbers();
    if (decayT.rank !== 3 || decayT.shape[0] !== b || decayT.shape[1] !== t) throw new EvalError(`${op}: decay must be [${b},${t},...]`);
    if (last === kvh) decay = (bi, h, ti) => dv_[(bi * t + ti) * kvh + h]!;
    else if (last === kvh * dk) decay = (bi, h, ti, d) => dv_[(bi * t + ti) * kvh * dk + h * dk + d]!;
    else throw new EvalError(`${op}: decay last dim ${last} must be ${kvh} or ${kvh * dk}`);
  }
  let beta: ((bi: number, h: number, ti: number) => number) | null = null;
  if (betaT !== null) {
    const last = betaT.shape[2]!;
    const bv = betaT.numbers();
    if (betaT.rank !== 3 || betaT.shape[0] !== b || betaT.shape[1] !== t || (last !== kvh && last !== 1)) {
      throw new EvalError(`${op}: beta must be [${b},${t},${kvh}] or [${b},${t},1]`);
    }
    beta = (bi, h, ti) => bv[(bi * t + ti) * last + (last === 1 ? 0 : h)]!;
  }
  const erase = eraseT === null ? null : splitHeads(eraseT, kvh, "erase_gate");
  if (erase !== null && erase.d !== dk) throw new EvalError(`${op}: erase_gate head size must be ${dk}`);

  const state = new Float64Array(b * kvh * dk * dv);
  if (pastT !== null) {
    const want = [b, kvh, dk, dv];
    if (pastT.shape.join(",") !== want.join(",")) throw new EvalError(`${op}: past_state must be [${want.join(",")}], got [${pastT.shape.join(",")}]`);
    state.set(pastT.numbers());
  }
  const out = new Float64Array(b * t * qh * dv);
  const retrieved = new Float64Array(dv);
  const vt = new Float64Array(dv);
  for (let ti = 0; ti < t; ti++) {
    for (let bi = 0; bi < b; bi++)
      for (let h = 0; h < kvh; h++) {
        const sOff = (bi * kvh + h) * dk * dv;
        const kOff = ((bi * kvh + h) * t + ti) * dk;
        const vOff = ((bi * kvh + h) * t + ti) * dv;
        if (decay !== null) {
          for (let d = 0; d < dk; d++) {
            const g = Math.exp(decay(bi, h, ti, d));
            for (let m = 0; m < dv; m++) state[sOff + d * dv + m] = state[sOff + d * dv + m]! * g;
          }
        }
        for (let m = 0; m < dv; m++) vt[m] = v.v[vOff + m]!;
        if (beta !== null) {
          // Delta rule: write beta * (v - S^T k'), where k' is the erase-gated key.
          retrieved.fill(0);
          for (let d = 0; d < dk; d++) {
            const kd = k.v[kOff + d]! * (erase === null ? 1 : erase.v[kOff + d]!);
            for (let m = 0; m < dv; m++) retrieved[m] = retrieved[m]! + state[sOff + d * dv + m]! * kd;
          }
          const bt = beta(bi, h, ti);
          for (let m = 0; m < dv; m++) vt[m] = bt * (vt[m]! - retrieved[m]!);
        }
        for (let d = 0; d < dk; d++) {
          const kd = k.v[kOff + d]!;
          for (let m = 0; m < dv; m++) state[sOff + d * dv + m] = state[sOff + d * dv + m]! + kd * vt[m]!;
        }
      }
    for (let bi = 0; bi < b; bi++)
      for (let hq = 0; hq < qh; hq++) {
        const sOff = (bi * kvh + Math.floor(hq / group)) * dk * dv;
        const qOff = ((bi * qh + hq) * t + ti) * dk;
        const oOff = (bi * t + ti) * qh * dv + hq * dv;
        for (let m = 0; m < dv; m++) {
          let acc = 0;
          for (let d = 0; d < dk; d++) acc += q.v[qOff + d]! * state[sOff + d * dv + m]!;
          out[oOff + m] = scale * acc;
        }
      }
  }
  return [
    Tensor.fromNumbers(qT.dtype, [b, t, qh * dv], out),
    wants(ctx, 1) ? Tensor.fromNumbers(pastT?.dtype ?? qT.dtype, [b, kvh, dk, dv], state) : null,
  ].slice(0, Math.max(1, ctx.outputCount));
}

const linearAttention: OpDef = {
  name: "LinearAttention",
  pattern: "opaque",
  attrs: {
    // A tuning hint for chunked kernels; it does not change the result.
    chunk_size: { type: "int" },
    kv_num_heads: { type: "int", required: true },
    q_num_heads: { type: "int", required: true },
    scale: { type: "float" },
    update_rule: { type: "string", default: "gated_delta", values: ["linear", "gated", "delta", "gated_delta"] },
  },
  infer: linearAttentionInfer,
  evaluate: linearAttentionEval,
};

// ---------------------------------------------------------------------------------------------
// ai.onnx.preview:FlexAttention: softmax(mods(scale * Q K^T)) V with score_mod / prob_mod subgraphs
// applied to the whole [B, H, L, S] score or probability tensor.

function flexEval(ctx: EvalContext): (Tensor | null)[] {
  const op = "FlexAttention";
  const qT = req(ctx.inputs[0], op, 0);
  const kT = req(ctx.inputs[1], op, 1);
  const vT = req(ctx.inputs[2], op, 2);
  requireFloat(op, qT.dtype);
  if (qT.rank !== 4 || kT.rank !== 4 || vT.rank !== 4) throw new ModelError(`${op}: Q, K and V must be 4-D`);
  if (ctx.attrs.optGraph("mask_mod") !== undefined) throw new UnsupportedError(`${op}: mask_mod is not supported`, `${op} mask_mod`);
  const [b, hq, sq, d] = qT.shape as [number, number, number, number];
  const [kb, hkv, skv, kd] = kT.shape as [number, number, number, number];
  const dv = vT.shape[3]!;
  if (kb !== b || vT.shape[0] !== b || vT.shape[1] !== hkv || vT.shape[2] !== skv || kd !== d) {
    throw new EvalError(`${op}: Q [${qT.shape.join(",")}], K [${kT.shape.join(",")}] and V [${vT.shape.join(",")}] do not agree`);
  }
  if (hq % hkv !== 0) throw new EvalError(`${op}: ${hq} query heads are not a multiple of ${hkv} key/value heads`);
  const group = hq / hkv;
  const scale = ctx.attrs.optFloat("scale") ?? 1 / Math.sqrt(d);
  const q = qT.numbers();
  const k = kT.numbers();
  const v = vT.numbers();
  const scores = new Float64Array(b * hq * sq * skv);
  for (let bh = 0; bh < b * hq; bh++) {
    const kvBase = (Math.floor(bh / hq) * hkv + Math.floor((bh % hq) / group)) * skv;
    for (let i = 0; i < sq; i++)
      for (let j = 0; j < skv; j++) {
        let dot = 0;
        for (let x = 0; x < d; x++) dot += q[(bh * sq + i) * d + x]! * k[(kvBase + j) * d + x]!;
        scores[(bh * sq + i) * skv + j] = dot * scale;
      }
  }
  const shape = [b, hq, sq, skv];
  // The mod subgraphs see tensors of the input dtype, as a framework running them would.
  const applyMod = (name: string, vals: Float64Array): Float64Array => {
    const g = ctx.attrs.optGraph(name);
    if (g === undefined) return vals;
    const res = ctx.runSubgraph(g, [Tensor.fromNumbers(qT.dtype, shape, vals)])[0];
    if (res === undefined || res.shape.join(",") !== shape.join(",")) throw new EvalError(`${op}: ${name} must return a [${shape.join(",")}] tensor`);
    return res.numbers();
  };
  const modded = applyMod("score_mod", scores);
  const probs = new Float64Array(modded.length);
  for (let r = 0; r < b * hq * sq; r++) {
    const row = modded.slice(r * skv, (r + 1) * skv);
    softmaxRow(row);
    probs.set(row, r * skv);
  }
  const p = applyMod("prob_mod", probs);
  const y = new Float64Array(b * hq * sq * dv);
  for (let bh = 0; bh < b * hq; bh++) {
    const kvBase = (Math.floor(bh / hq) * hkv + Math.floor((bh % hq) / group)) * skv;
    for (let i = 0; i < sq; i++)
      for (let j = 0; j < skv; j++) {
        const pj = p[(bh * sq + i) * skv + j]!;
        for (let x = 0; x < dv; x++) y[(bh * sq + i) * dv + x] = y[(bh * sq + i) * dv + x]! + pj * v[(kvBase + j) * dv + x]!;
      }
  }
  return [Tensor.fromNumbers(qT.dtype, [b, hq, sq, dv], y)];
}

const flexAttention: OpDef = {
  name: "ai.onnx.preview:FlexAttention",
  pattern: "opaque",
  attrs: {
    scale: { type: "float" },
    score_mod: { type: "graph" },
    mask_mod: { type: "graph" },
    prob_mod: { type: "graph" },
  },
  infer: (ctx) => {
    const q = inputType(ctx, 0);
    const v = inputType(ctx, 2);
    return [{ dtype: q.dtype, shape: q.shape && v.shape ? [q.shape[0]!, q.shape[1]!, q.shape[2]!, v.shape[3]!] : null }];
  },
  evaluate: flexEval,
};

export const ops: OpDef[] = [attention, rotaryEmbedding, swiglu, causalConvWithState, linearAttention, flexAttention];
