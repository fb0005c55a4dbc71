/**
 * A GPT-2-class decoder with a KV cache, as an opset-17 export of Hugging Face's GPT2LMHeadModel
 * with use_cache writes it: position ids from the past length (Shape, Gather, Range), a causal
 * mask from Range and Less broadcast by Expand and applied by a Where in each layer, the past
 * keys and values as inputs and their Concat with the new ones as `present` outputs, pre-norm
 * layers of Conv1D (Gemm) projections with LayerNormalization and tanh GELU, and the LM head
 * tied to the token embedding (a MatMul with its Transpose).
 */
import { GraphBuilder } from "../frontend/builder/builder.js";
import type { Model } from "../ir/graph.js";
import { FLOAT32_MIN, type KvCache, Transformer } from "./transformer.js";
import { Weights } from "./weights.js";

export interface Gpt2Options {
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly intermediate: number;
  readonly vocab: number;
  /** Rows of the position embedding: past plus new tokens may not exceed it. */
  readonly context: number;
}

export const GPT2_DEFAULTS: Gpt2Options = { layers: 12, hidden: 768, heads: 12, intermediate: 3072, vocab: 50257, context: 1024 };

/**
 * Inputs `input_ids` int64 [batch, sequence] and, per layer l, `past_key_values.l.key` and
 * `past_key_values.l.value` [batch, heads, past_sequence, headDim] (past_sequence may be 0);
 * outputs `logits` [batch, sequence, vocab] and `present.l.key`, `present.l.value`
 * [batch, heads, past_sequence + sequence, headDim].
 */
export function gpt2(options: Partial<Gpt2Options> = {}): Model {
  const o = { ...GPT2_DEFAULTS, ...options };
  const b = new GraphBuilder("gpt2", { "": 17 });
  const w = new Weights(b);
  const t = new Transformer(b, w, {
    norm: "op", eps: 1e-5, gelu: "tanh", linear: "gemm", preNorm: true, fusedQkv: true, keyBias: true, scaleQuery: false,
  }, o);
  const ids = b.input("input_ids", "int64", ["batch", "sequence"]);
  const pastShape = ["batch", o.heads, "past_sequence", o.hidden / o.heads];
  const past: KvCache[] = Array.from({ length: o.layers }, (_, l) => ({
    key: b.input(`past_key_values.${l}.key`, "float32", pastShape),
    value: b.input(`past_key_values.${l}.value`, "float32", pastShape),
  }));

  // position_ids = arange(past_length, past_length + seq): the new tokens' positions.
  const pastLength = t.dim(past[0]!.key, 2);
  const total = b.node("Add", [pastLength, t.dim(ids, 1)]);
  const one = w.scalar(1, "int64");
  const queryPositions = b.node("Range", [pastLength, total, one]);
  const wte = w.param("wte", [o.vocab, o.hidden], o.hidden);
  let h = b.node("Add", [
    b.node("Gather", [wte, ids], { axis: 0 }),
    b.node("Gather", [w.param("wpe", [o.context, o.hidden], o.hidden), b.node("Unsqueeze", [queryPositions, w.ints([0])])], { axis: 0 }),
  ]);

  // A key after its query is the future: Less(query position [seq, 1], key position [total]), as [batch, 1, seq, total].
  const future = b.node("Less", [b.node("Unsqueeze", [queryPositions, w.ints([1])]), b.node("Range", [w.scalar(0, "int64"), total, one])]);
  const causal = b.node("Expand", [b.node("Unsqueeze", [future, w.ints([0, 1])]), t.shape([t.dim(ids, 0), 1, t.dim(ids, 1), total])]);
  const mask = (scores: string) => b.node("Where", [causal, w.scalar(FLOAT32_MIN), scores]);

  const presents: KvCache[] = [];
  for (let l = 0; l < o.layers; l++) {
    const { hidden, present } = t.layer(`h${l}`, h, { mask, past: past[l]! });
    h = hidden;
    presents.push(present);
  }
  b.output(b.node("MatMul", [t.layerNorm("ln_f", h), b.node("Transpose", [wte], { perm: [1, 0] })]), "float32", "logits");
  presents.forEach(({ key, value }, l) => {
    b.output(key, "float32", `present.${l}.key`);
    b.output(value, "float32", `present.${l}.value`);
  });
  return b.build();
}
