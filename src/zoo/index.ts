/** The model zoo: the evaluation models of the Rammer paper (OSDI 2020), built with seeded random weights at batch 1. */
import type { Model } from "../ir/graph.js";
import { alexNet } from "./alexnet.js";
import { deepSpeech2 } from "./deepspeech2.js";
import { lstmTc } from "./lstm-tc.js";
import { nasNetA } from "./nasnet-a.js";
import { resNeXt } from "./resnext.js";
import { seq2seq } from "./seq2seq.js";

export interface ZooEntry {
  readonly description: string;
  /** Build at the paper's sizes, or with some of them overridden (each builder has its own options). */
  readonly build: (options?: never) => Model;
}

export const ZOO = {
  "lstm-tc": { description: "LSTM-TC: 10 stacked LSTM layers, hidden 256, 100 steps, unrolled", build: lstmTc },
  "seq2seq": { description: "Seq2Seq: 2-layer LSTM encoder (100 steps) and decoder (30 steps, fed its projected output), hidden 128, unrolled", build: seq2seq },
  "nasnet-a": { description: "NASNet-A: 6 normal cells of separable convolutions and pooling, 64 channels, on 32x32 images", build: nasNetA },
  "resnext": { description: "ResNeXt-50 32x4d: grouped-convolution bottleneck blocks, on 224x224 images", build: resNeXt },
  "alexnet": { description: "AlexNet: 5 convolutions with LRN and max pooling, 3 dense layers, on 224x224 images", build: alexNet },
  "deepspeech2": { description: "DeepSpeech2: 2 convolutions over a 161x100 spectrogram, 3 unrolled LSTM layers of 256, 29 classes", build: deepSpeech2 },
} as const satisfies Record<string, ZooEntry>;

export type ZooName = keyof typeof ZOO;

export function isZooName(name: string): name is ZooName {
  return Object.hasOwn(ZOO, name);
}
