/** The Rammer zoo models at small sizes, for tests that run them (the paper sizes take seconds to compile). */
import type { Model } from "../../src/ir/graph.js";
import { randomTensor } from "../../src/ir/random.js";
import type { Tensor } from "../../src/ir/tensor.js";
import { RAMMER_ZOO, type RammerZooName } from "../../src/zoo/index.js";

export interface Case {
  readonly build: () => Model;
  readonly shape: readonly number[];
}

export const SMALL: Record<RammerZooName, Case> = {
  "lstm-tc": { build: () => RAMMER_ZOO["lstm-tc"].build({ layers: 2, hidden: 8, steps: 3, input: 4 }), shape: [1, 8] },
  "seq2seq": { build: () => RAMMER_ZOO["seq2seq"].build({ layers: 2, hidden: 8, embedding: 4, encoderSteps: 3, decoderSteps: 2 }), shape: [2, 4] },
  "nasnet-a": { build: () => RAMMER_ZOO["nasnet-a"].build({ cells: 2, channels: 8, size: 8, classes: 5 }), shape: [1, 5] },
  "resnext": { build: () => RAMMER_ZOO["resnext"].build({ blocks: [1, 1], cardinality: 4, groupWidth: 2, stem: 8, size: 32, classes: 5 }), shape: [1, 5] },
  "alexnet": { build: () => RAMMER_ZOO["alexnet"].build({ size: 63, widthScale: 1 / 16, hidden: 32, classes: 5 }), shape: [1, 5] },
  "deepspeech2": { build: () => RAMMER_ZOO["deepspeech2"].build({ frames: 8, frequencies: 41, channels: 4, layers: 2, hidden: 8, classes: 5 }), shape: [4, 5] },
};

/** Seeded random data in [-1, 1) for every input (another `seed`, other data). */
export function feedsFor(model: Model, seed = 7): Record<string, Tensor> {
  return Object.fromEntries(model.graph.inputs.map((v, i) => [v.name, randomTensor("float32", v.type.shape as number[], i + seed)]));
}

