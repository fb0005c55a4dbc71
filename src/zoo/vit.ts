/**
 * A ViT-B/16-class image encoder, as an opset-17 export of Hugging Face's ViTModel writes it:
 * 16x16 patches embedded by a Conv of stride 16, flattened (a Reshape to a runtime shape) and
 * transposed to a sequence, the class token Expand-ed to the batch and Concat-ed in front, learnt
 * positions added, pre-norm layers with LayerNormalization and Erf GELU.
 */
import { GraphBuilder } from "../frontend/builder/builder.js";
import type { Model } from "../ir/graph.js";
import { Transformer } from "./transformer.js";
import { Weights } from "./weights.js";

export interface VitOptions {
  readonly size: number;
  readonly patch: number;
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly intermediate: number;
}

export const VIT_DEFAULTS: VitOptions = { size: 224, patch: 16, layers: 12, hidden: 768, heads: 12, intermediate: 3072 };

/** Input `pixel_values` [batch, 3, size, size]; output `last_hidden_state` [batch, 1 + (size/patch)², hidden]. */
export function vit(options: Partial<VitOptions> = {}): Model {
  const o = { ...VIT_DEFAULTS, ...options };
  if (o.size % o.patch !== 0) throw new Error(`vit-b16: size ${o.size} is not a multiple of patch ${o.patch}`);
  const b = new GraphBuilder("vit_b16", { "": 17 });
  const w = new Weights(b);
  const t = new Transformer(b, w, {
    norm: "op", eps: 1e-12, gelu: "erf", linear: "matmul", preNorm: true, fusedQkv: false, keyBias: true, scaleQuery: false,
  }, o);
  const pixels = b.input("pixel_values", "float32", ["batch", 3, o.size, o.size]);
  const fanIn = 3 * o.patch * o.patch;
  const patches = b.node("Conv", [pixels, w.param("patch.weight", [o.hidden, 3, o.patch, o.patch], fanIn), w.param("patch.bias", [o.hidden], fanIn)],
    { kernel_shape: [o.patch, o.patch], strides: [o.patch, o.patch] });
  // embeddings.flatten(2).transpose(1, 2): [batch, hidden, rows, cols] -> [batch, rows*cols, hidden].
  const sequence = b.node("Transpose", [b.node("Reshape", [patches, t.shape([t.dim(patches, 0), t.dim(patches, 1), -1])])], { perm: [0, 2, 1] });
  // cls_token.expand(batch, -1, -1).
  const cls = b.node("Expand", [w.param("cls_token", [1, 1, o.hidden], 1), t.shape([t.dim(pixels, 0), 1, 1])]);
  const positions = (o.size / o.patch) ** 2 + 1;
  let h = b.node("Add", [b.node("Concat", [cls, sequence], { axis: 1 }), w.param("position_embeddings", [1, positions, o.hidden], 1)]);
  for (let l = 0; l < o.layers; l++) h = t.layer(`layer${l}`, h).hidden;
  b.output(t.layerNorm("layernorm", h), "float32", "last_hidden_state");
  return b.build();
}
