/**
 * The model zoo, built with seeded random weights: the evaluation models of the Rammer paper
 * (OSDI 2020) at batch 1, and transformers as PyTorch's ONNX exporter writes them, with
 * symbolic batch and sequence dims and int64 token inputs.
 */
import type { Model } from "../ir/graph.js";
import { alexNet } from "./alexnet.js";
import { deepSpeech2 } from "./deepspeech2.js";
import { gpt2 } from "./gpt2.js";
import { lstmTc } from "./lstm-tc.js";
import { miniLm } from "./minilm.js";
import { nasNetA } from "./nasnet-a.js";
import { resNeXt } from "./resnext.js";
import { seq2seq } from "./seq2seq.js";
import { vit } from "./vit.js";
import { whisperEncoder } from "./whisper-encoder.js";

export interface ZooEntry {
  readonly description: string;
  /** Build at the real sizes, or with some of them overridden (each builder has its own options). */
  readonly build: (options?: never) => Model;
}

/** Static shapes and float inputs: what bench:rammer and the generic zoo tests feed with random floats. */
export const RAMMER_ZOO = {
  "lstm-tc": { description: "LSTM-TC: 10 stacked LSTM layers, hidden 256, 100 steps, unrolled", build: lstmTc },
  "seq2seq": { description: "Seq2Seq: 2-layer LSTM encoder (100 steps) and decoder (30 steps, fed its projected output), hidden 128, unrolled", build: seq2seq },
  "nasnet-a": { description: "NASNet-A: 6 normal cells of separable convolutions and pooling, 64 channels, on 32x32 images", build: nasNetA },
  "resnext": { description: "ResNeXt-50 32x4d: grouped-convolution bottleneck blocks, on 224x224 images", build: resNeXt },
  "alexnet": { description: "AlexNet: 5 convolutions with LRN and max pooling, 3 dense layers, on 224x224 images", build: alexNet },
  "deepspeech2": { description: "DeepSpeech2: 2 convolutions over a 161x100 spectrogram, 3 unrolled LSTM layers of 256, 29 classes", build: deepSpeech2 },
} as const satisfies Record<string, ZooEntry>;

/** Symbolic dims and int64 ids: their inputs need concrete shapes and valid token ids. */
export const TRANSFORMER_ZOO = {
  "minilm": { description: "MiniLM-L6: BERT-class encoder, 6 layers of 384, 12 heads, vocab 30522, attention mask, decomposed LayerNorm", build: miniLm },
  "gpt2": { description: "GPT-2: decoder with a KV cache, 12 layers of 768, 12 heads, vocab 50257, context 1024, tied LM head", build: gpt2 },
  "whisper-tiny-encoder": { description: "Whisper-tiny encoder: two Conv1d over 80x3000 log-mel, 4 layers of 384, 6 heads", build: whisperEncoder },
  "vit-b16": { description: "ViT-B/16: 16x16 patches of 224x224 images, class token, 12 layers of 768, 12 heads", build: vit },
} as const satisfies Record<string, ZooEntry>;

export const ZOO = { ...RAMMER_ZOO, ...TRANSFORMER_ZOO } as const satisfies Record<string, ZooEntry>;

export type ZooName = keyof typeof ZOO;
export type RammerZooName = keyof typeof RAMMER_ZOO;
export type TransformerZooName = keyof typeof TRANSFORMER_ZOO;

export function isZooName(name: string): name is ZooName {
  return Object.hasOwn(ZOO, name);
}
