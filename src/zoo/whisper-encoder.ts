/**
 * A Whisper-tiny-class audio encoder, as an opset-17 export of Hugging Face's WhisperEncoder
 * writes it: two Conv1d of kernel 3 (the second of stride 2, halving the frames) each followed by
 * Erf GELU, fixed sinusoidal positions added, pre-norm layers with LayerNormalization, Q scaled
 * after its projection and K without a bias.
 */
import { GraphBuilder } from "../frontend/builder/builder.js";
import type { Model } from "../ir/graph.js";
import { Tensor } from "../ir/tensor.js";
import { Transformer } from "./transformer.js";
import { Weights } from "./weights.js";

export interface WhisperEncoderOptions {
  readonly mels: number;
  /** Input frames; the encoder's positions are half as many. */
  readonly frames: number;
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly intermediate: number;
}

export const WHISPER_ENCODER_DEFAULTS: WhisperEncoderOptions = { mels: 80, frames: 3000, layers: 4, hidden: 384, heads: 6, intermediate: 1536 };

/** Input `input_features` [batch, mels, frames] (log-mel); output `last_hidden_state` [batch, frames/2, hidden]. */
export function whisperEncoder(options: Partial<WhisperEncoderOptions> = {}): Model {
  const o = { ...WHISPER_ENCODER_DEFAULTS, ...options };
  if (o.frames % 2 !== 0) throw new Error(`whisper-tiny-encoder: frames must be even, got ${o.frames}`);
  const b = new GraphBuilder("whisper_tiny_encoder", { "": 17 });
  const w = new Weights(b);
  const t = new Transformer(b, w, {
    norm: "op", eps: 1e-5, gelu: "erf", linear: "matmul", preNorm: true, fusedQkv: false, keyBias: false, scaleQuery: true,
  }, o);
  const conv = (name: string, x: string, channels: number, stride: number) => {
    const fanIn = channels * 3;
    return t.gelu(b.node("Conv", [x, w.param(`${name}.weight`, [o.hidden, channels, 3], fanIn, Math.SQRT2), w.param(`${name}.bias`, [o.hidden], fanIn)],
      { kernel_shape: [3], pads: [1, 1], strides: [stride] }));
  };
  const features = b.input("input_features", "float32", ["batch", o.mels, o.frames]);
  const convolved = conv("conv2", conv("conv1", features, o.mels, 1), o.hidden, 2);
  let h = b.node("Add", [b.node("Transpose", [convolved], { perm: [0, 2, 1] }), b.weight("embed_positions", sinusoids(o.frames / 2, o.hidden))]);
  for (let l = 0; l < o.layers; l++) h = t.layer(`layer${l}`, h).hidden;
  b.output(t.layerNorm("ln_post", h), "float32", "last_hidden_state");
  return b.build();
}

/** Whisper's positions [length, channels]: sines then cosines of geometrically spaced timescales up to 10000. */
function sinusoids(length: number, channels: number): Tensor {
  const half = channels / 2;
  const increment = Math.log(10000) / (half - 1);
  const data = new Float32Array(length * channels);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * Math.exp(-increment * i);
      data[p * channels + i] = Math.sin(angle);
      data[p * channels + half + i] = Math.cos(angle);
    }
  }
  return new Tensor("float32", [length, channels], data);
}
