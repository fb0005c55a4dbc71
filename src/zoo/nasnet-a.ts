/**
 * NASNet-A-style network: a stem convolution, then a stack of NASNet-A normal cells (five
 * branch pairs over the current and previous hidden states: separable 3x3 and 5x5 convolutions,
 * 3x3 average pooling and identities, each pair added, the five sums concatenated and brought
 * back to the cell width by a 1x1 convolution), global average pooling and a classifier.
 * Batch normalization is left out (it folds into the convolutions at inference).
 */
import { GraphBuilder } from "../frontend/builder/builder.js";
import type { Model } from "../ir/graph.js";
import { Weights } from "./weights.js";

export interface NasNetAOptions {
  readonly cells: number;
  readonly channels: number;
  readonly size: number;
  readonly classes: number;
}

export const NASNET_A_DEFAULTS: NasNetAOptions = { cells: 6, channels: 64, size: 32, classes: 10 };

/** Input `image` [1, 3, size, size]; output class probabilities [1, classes]. */
export function nasNetA(options: Partial<NasNetAOptions> = {}): Model {
  const o = { ...NASNET_A_DEFAULTS, ...options };
  const C = o.channels;
  const b = new GraphBuilder("nasnet_a", { "": 17 });
  const w = new Weights(b);
  let id = 0;
  const conv = (x: string, cin: number, k: number, group: number, gain: number) => {
    const name = `conv${id++}`;
    const fanIn = (cin / group) * k * k;
    return b.node("Conv", [x, w.param(`${name}.w`, [C, cin / group, k, k], fanIn, gain), w.param(`${name}.b`, [C], fanIn)],
      { pads: Array(4).fill(k >> 1), group });
  };
  /** Relu, depthwise k x k, pointwise 1x1. */
  const separable = (x: string, k: number) => conv(conv(b.node("Relu", [x]), C, k, C, 1), C, 1, 1, 1);
  const pool = (x: string) => b.node("AveragePool", [x], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
  const add = (x: string, y: string) => b.node("Add", [x, y]);

  const image = b.input("image", "float32", [1, 3, o.size, o.size]);
  let prev = conv(image, 3, 3, 1, 1);
  let cur = prev;
  for (let i = 0; i < o.cells; i++) {
    const sums = [
      add(separable(cur, 3), cur),
      add(separable(prev, 3), separable(cur, 5)),
      add(pool(cur), prev),
      add(pool(prev), pool(prev)),
      add(separable(prev, 5), separable(prev, 3)),
    ];
    // Each sum adds two terms of about unit variance: gain 1/√2 brings the cell output back to one.
    [prev, cur] = [cur, conv(b.node("Concat", sums, { axis: 1 }), 5 * C, 1, 1, Math.SQRT1_2)];
  }
  const features = b.node("Flatten", [b.node("GlobalAveragePool", [b.node("Relu", [cur])])]);
  const logits = b.node("Gemm", [features, w.param("fc.w", [C, o.classes], C), w.param("fc.b", [o.classes], C)]);
  b.output(b.node("Softmax", [logits], { axis: 1 }));
  return b.build();
}
