/**
 * A BERT-class sentence encoder at the sizes of MiniLM-L6 (all-MiniLM-L6-v2), as an opset-14
 * export of Hugging Face's BertModel writes it: token, position and token-type embeddings
 * (Gather), the int64 attention mask made additive by Unsqueeze, Cast, Sub and Mul, post-norm
 * layers with LayerNorm decomposed, Erf GELU.
 */
import { GraphBuilder } from "../frontend/builder/builder.js";
import { dtypeToOnnx } from "../ir/dtype.js";
import type { Model } from "../ir/graph.js";
import { Tensor } from "../ir/tensor.js";
import { FLOAT32_MIN, Transformer } from "./transformer.js";
import { Weights } from "./weights.js";

export interface MiniLmOptions {
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly intermediate: number;
  readonly vocab: number;
  /** Rows of the position embedding: the longest sequence. */
  readonly positions: number;
  readonly types: number;
}

export const MINILM_DEFAULTS: MiniLmOptions = { layers: 6, hidden: 384, heads: 12, intermediate: 1536, vocab: 30522, positions: 512, types: 2 };

/**
 * Inputs `input_ids`, `attention_mask` (1 attends, 0 is padding) and `token_type_ids`, int64
 * [batch, sequence]; output `last_hidden_state` [batch, sequence, hidden].
 */
export function miniLm(options: Partial<MiniLmOptions> = {}): Model {
  const o = { ...MINILM_DEFAULTS, ...options };
  const b = new GraphBuilder("minilm", { "": 14 });
  const w = new Weights(b);
  const t = new Transformer(b, w, {
    norm: "decomposed", eps: 1e-12, gelu: "erf", linear: "matmul", preNorm: false, fusedQkv: false, keyBias: true, scaleQuery: false,
  }, o);
  const ids = b.input("input_ids", "int64", ["batch", "sequence"]);
  const mask = b.input("attention_mask", "int64", ["batch", "sequence"]);
  const types = b.input("token_type_ids", "int64", ["batch", "sequence"]);

  // position_ids is a buffer [1, positions] sliced to the sequence: position_ids[:, :seq].
  const positionIds = b.weight("position_ids", Tensor.fromBigInts("int64", [1, o.positions], Array.from({ length: o.positions }, (_, i) => BigInt(i))));
  const sequence = b.node("Unsqueeze", [t.dim(ids, 1), w.ints([0])]);
  const positions = b.node("Slice", [positionIds, w.ints([0]), sequence, w.ints([1]), w.ints([1])]);
  const embed = (name: string, rows: number, indices: string) => b.node("Gather", [w.param(name, [rows, o.hidden], o.hidden), indices], { axis: 0 });
  const embeddings = b.node("Add", [
    b.node("Add", [embed("embeddings.word", o.vocab, ids), embed("embeddings.token_type", o.types, types)]),
    embed("embeddings.position", o.positions, positions),
  ]);
  let h = t.layerNorm("embeddings.ln", embeddings);

  // attention_mask[:, None, None, :], then (1.0 - mask) * finfo.min: 0 where attended.
  const extended = b.node("Cast", [b.node("Unsqueeze", [b.node("Unsqueeze", [mask, w.ints([1])]), w.ints([2])])], { to: dtypeToOnnx("float32") });
  const additive = b.node("Mul", [b.node("Sub", [w.scalar(1), extended]), w.scalar(FLOAT32_MIN)]);
  for (let l = 0; l < o.layers; l++) h = t.layer(`layer${l}`, h, { mask: (scores) => b.node("Add", [scores, additive]) }).hidden;
  b.output(h, "float32", "last_hidden_state");
  return b.build();
}
