/**
 * The blocks the zoo's transformers share (minilm, gpt2, whisper-tiny-encoder, vit-b16), written
 * as PyTorch's ONNX exporter writes them: nn.Linear as MatMul and Add (GPT-2's Conv1D as
 * Reshape, Gemm, Reshape), every `x.size(i)` as Shape -> Gather -> Unsqueeze so the head
 * split's Reshape takes a Concat-ed runtime shape and batch and sequence stay symbolic,
 * LayerNorm as the opset-17 op or the chain opset < 17 exports decompose it into, GELU in its
 * Erf and tanh forms.
 */
import type { GraphBuilder } from "../frontend/builder/builder.js";
import type { Weights } from "./weights.js";

/** torch.finfo(torch.float32).min: what Hugging Face's models put in masked attention scores. */
export const FLOAT32_MIN = -3.4028234663852886e38;

export interface TransformerStyle {
  /** LayerNormalization (opset 17), or ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add (opset < 17, axes as attributes). */
  readonly norm: "op" | "decomposed";
  readonly eps: number;
  /** x/2·(1 + erf(x/√2)) (nn.GELU), or GPT-2's x/2·(1 + tanh(√(2/π)·(x + 0.044715x³))). */
  readonly gelu: "erf" | "tanh";
  /** nn.Linear (MatMul, Add), or GPT-2's Conv1D (addmm over the flattened rows: Reshape, Gemm, Reshape). */
  readonly linear: "matmul" | "gemm";
  /** LayerNorm before each sublayer (GPT-2, ViT, Whisper), or after each residual Add (BERT). */
  readonly preNorm: boolean;
  /** One projection to Q, K and V then Split (GPT-2's c_attn), or three. */
  readonly fusedQkv: boolean;
  /** Whisper's k_proj has no bias. */
  readonly keyBias: boolean;
  /** Scale Q after its projection (Whisper), or the scores QKᵀ (BERT, GPT-2, ViT). */
  readonly scaleQuery: boolean;
}

export interface TransformerSize {
  readonly hidden: number;
  readonly heads: number;
  readonly intermediate: number;
}

/** Keys and values [batch, heads, positions, headDim]. */
export interface KvCache {
  readonly key: string;
  readonly value: string;
}

export interface LayerOptions {
  /** Applied to the scaled scores [batch, heads, query, key] before Softmax: an additive mask or a Where. */
  readonly mask?: (scores: string) => string;
  /** The cached keys and values the layer's new ones are appended to (Concat on the positions axis). */
  readonly past?: KvCache;
}

export interface LayerResult {
  readonly hidden: string;
  /** The past with this step's keys and values appended (or just this step's, without a past). */
  readonly present: KvCache;
}

export class Transformer {
  private readonly headDim: number;

  constructor(
    private readonly b: GraphBuilder,
    private readonly w: Weights,
    private readonly style: TransformerStyle,
    private readonly size: TransformerSize,
  ) {
    if (size.hidden % size.heads !== 0) throw new Error(`hidden ${size.hidden} is not a multiple of ${size.heads} heads`);
    this.headDim = size.hidden / size.heads;
  }

  /** `x.size(axis)` as the exporter writes it: a rank-0 int64 from Shape -> Gather. */
  dim(x: string, axis: number): string {
    return this.b.node("Gather", [this.b.node("Shape", [x]), this.w.scalar(axis, "int64")], { axis: 0 });
  }

  /** A runtime shape from rank-0 dims (Unsqueeze-d, as a traced list of sizes is) and constant extents. */
  shape(parts: readonly (string | number)[]): string {
    const vectors = parts.map((p) => (typeof p === "number" ? this.w.ints([p]) : this.b.node("Unsqueeze", [p, this.w.ints([0])])));
    return this.b.node("Concat", vectors, { axis: 0 });
  }

  layerNorm(name: string, x: string): string {
    const { b, w, style } = this;
    const n = this.size.hidden;
    // Scale and shift near their initial 1 and 0, not at them, so a wrong broadcast shows.
    const gamma = w.uniform(`${name}.weight`, [n], 0.8, 1.2), beta = w.uniform(`${name}.bias`, [n], -0.1, 0.1);
    if (style.norm === "op") return b.node("LayerNormalization", [x, gamma, beta], { axis: -1, epsilon: style.eps });
    const centered = b.node("Sub", [x, b.node("ReduceMean", [x], { axes: [-1], keepdims: 1 })]);
    const variance = b.node("ReduceMean", [b.node("Pow", [centered, w.scalar(2)])], { axes: [-1], keepdims: 1 });
    const normed = b.node("Div", [centered, b.node("Sqrt", [b.node("Add", [variance, w.scalar(style.eps)])])]);
    return b.node("Add", [b.node("Mul", [normed, gamma]), beta]);
  }

  /** x·W + bias over the last axis of a [batch, positions, inputs] value. */
  linear(name: string, x: string, inputs: number, outputs: number, bias = true): string {
    const { b, w } = this;
    const weight = w.param(`${name}.weight`, [inputs, outputs], inputs);
    const biasName = bias ? w.param(`${name}.bias`, [outputs], inputs) : undefined;
    if (this.style.linear === "matmul") {
      const y = b.node("MatMul", [x, weight]);
      return biasName ? b.node("Add", [y, biasName]) : y;
    }
    if (!biasName) throw new Error("a Conv1D linear always has a bias");
    const rows = b.node("Gemm", [b.node("Reshape", [x, w.ints([-1, inputs])]), weight, biasName]);
    return b.node("Reshape", [rows, this.shape([this.dim(x, 0), this.dim(x, 1), outputs])]);
  }

  gelu(x: string): string {
    const { b, w } = this;
    const half = b.node("Mul", [x, w.scalar(0.5)]);
    if (this.style.gelu === "erf") return b.node("Mul", [half, b.node("Add", [b.node("Erf", [b.node("Div", [x, w.scalar(Math.SQRT2)])]), w.scalar(1)])]);
    const cubic = b.node("Add", [x, b.node("Mul", [b.node("Pow", [x, w.scalar(3)]), w.scalar(0.044715)])]);
    return b.node("Mul", [half, b.node("Add", [b.node("Tanh", [b.node("Mul", [cubic, w.scalar(Math.sqrt(2 / Math.PI))])]), w.scalar(1)])]);
  }

  /** The encoder or decoder layer: self-attention and MLP, each with a residual Add. */
  layer(name: string, x: string, options: LayerOptions = {}): LayerResult {
    const { b } = this;
    if (this.style.preNorm) {
      const attention = this.attention(`${name}.attn`, this.layerNorm(`${name}.ln1`, x), options);
      const h = b.node("Add", [x, attention.out]);
      return { hidden: b.node("Add", [h, this.mlp(`${name}.mlp`, this.layerNorm(`${name}.ln2`, h))]), present: attention.present };
    }
    const attention = this.attention(`${name}.attn`, x, options);
    const h = this.layerNorm(`${name}.ln1`, b.node("Add", [attention.out, x]));
    return { hidden: this.layerNorm(`${name}.ln2`, b.node("Add", [this.mlp(`${name}.mlp`, h), h])), present: attention.present };
  }

  private mlp(name: string, x: string): string {
    const { hidden, intermediate } = this.size;
    return this.linear(`${name}.fc2`, this.gelu(this.linear(`${name}.fc1`, x, hidden, intermediate)), intermediate, hidden);
  }

  /** Multi-head self-attention over x [batch, positions, hidden]. */
  private attention(name: string, x: string, { mask, past }: LayerOptions): { out: string; present: KvCache } {
    const { b, w, style, headDim } = this;
    const { hidden } = this.size;
    let q: string, k: string, v: string;
    if (style.fusedQkv) {
      [q, k, v] = b.nodeN("Split", [this.linear(`${name}.qkv`, x, hidden, 3 * hidden), w.ints([hidden, hidden, hidden])], 3, { axis: 2 }) as [string, string, string];
    } else {
      [q, k, v] = [this.linear(`${name}.q`, x, hidden, hidden), this.linear(`${name}.k`, x, hidden, hidden, style.keyBias), this.linear(`${name}.v`, x, hidden, hidden)];
    }
    if (style.scaleQuery) q = b.node("Mul", [q, w.scalar(1 / Math.sqrt(headDim))]);
    let [kh, vh] = [this.splitHeads(k), this.splitHeads(v)];
    if (past) [kh, vh] = [b.node("Concat", [past.key, kh], { axis: -2 }), b.node("Concat", [past.value, vh], { axis: -2 })];
    let scores = b.node("MatMul", [this.splitHeads(q), b.node("Transpose", [kh], { perm: [0, 1, 3, 2] })]);
    if (!style.scaleQuery) scores = b.node("Div", [scores, w.scalar(Math.sqrt(headDim))]);
    const probs = b.node("Softmax", [mask ? mask(scores) : scores], { axis: -1 });
    const context = this.mergeHeads(b.node("MatMul", [probs, vh]));
    return { out: this.linear(`${name}.out`, context, hidden, hidden), present: { key: kh, value: vh } };
  }

  /** [batch, positions, hidden] -> [batch, heads, positions, headDim]: x.view(b, s, heads, d).permute(0, 2, 1, 3). */
  private splitHeads(x: string): string {
    const split = this.b.node("Reshape", [x, this.shape([this.dim(x, 0), this.dim(x, 1), this.size.heads, this.headDim])]);
    return this.b.node("Transpose", [split], { perm: [0, 2, 1, 3] });
  }

  /** The inverse: permute(0, 2, 1, 3) then view(b, s, hidden). */
  private mergeHeads(x: string): string {
    const t = this.b.node("Transpose", [x], { perm: [0, 2, 1, 3] });
    return this.b.node("Reshape", [t, this.shape([this.dim(t, 0), this.dim(t, 1), this.size.hidden])]);
  }
}
