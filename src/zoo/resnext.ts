/**
 * ResNeXt (Xie et al. 2017), by default ResNeXt-50 32x4d: bottleneck blocks whose 3x3
 * convolution is grouped (cardinality 32), residual adds, projection shortcuts where the shape
 * changes. Batch normalization is left out (it folds into the convolutions' biases at inference).
 */
import { GraphBuilder } from "../frontend/builder/builder.js";
import type { Model } from "../ir/graph.js";
import { Weights } from "./weights.js";

export interface ResNeXtOptions {
  /** Blocks per stage; each stage after the first halves the resolution and doubles the width. */
  readonly blocks: readonly number[];
  readonly cardinality: number;
  /** Channels per group of the first stage's grouped convolution (the "4d"). */
  readonly groupWidth: number;
  readonly stem: number;
  readonly size: number;
  readonly classes: number;
}

export const RESNEXT_DEFAULTS: ResNeXtOptions = { blocks: [3, 4, 6, 3], cardinality: 32, groupWidth: 4, stem: 64, size: 224, classes: 1000 };

/** Input `image` [1, 3, size, size]; output class probabilities [1, classes]. */
export function resNeXt(options: Partial<ResNeXtOptions> = {}): Model {
  const o = { ...RESNEXT_DEFAULTS, ...options };
  const b = new GraphBuilder("resnext", { "": 17 });
  const w = new Weights(b);
  let id = 0;
  const conv = (x: string, cin: number, cout: number, k: number, opts: { stride?: number; group?: number; gain?: number } = {}) => {
    const { stride = 1, group = 1, gain = Math.SQRT2 } = opts;
    const name = `conv${id++}`;
    const fanIn = (cin / group) * k * k;
    return b.node("Conv", [x, w.param(`${name}.w`, [cout, cin / group, k, k], fanIn, gain), w.param(`${name}.b`, [cout], fanIn)],
      { pads: Array(4).fill(k >> 1), strides: [stride, stride], group });
  };
  const relu = (x: string) => b.node("Relu", [x]);

  const image = b.input("image", "float32", [1, 3, o.size, o.size]);
  let h = b.node("MaxPool", [relu(conv(image, 3, o.stem, 7, { stride: 2 }))], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  let c = o.stem;
  o.blocks.forEach((count, stage) => {
    const width = (o.cardinality * o.groupWidth) << stage;
    const out = 2 * width;
    for (let i = 0; i < count; i++) {
      const stride = stage > 0 && i === 0 ? 2 : 1;
      const y = relu(conv(relu(conv(h, c, width, 1)), width, width, 3, { stride, group: o.cardinality }));
      // The residual branch's last convolution starts small, so the trunk grows slowly without normalization.
      const branch = conv(y, width, out, 1, { gain: 0.5 });
      const shortcut = stride !== 1 || c !== out ? conv(h, c, out, 1, { stride, gain: 1 }) : h;
      h = relu(b.node("Add", [branch, shortcut]));
      c = out;
    }
  });
  const features = b.node("Flatten", [b.node("GlobalAveragePool", [h])]);
  const logits = b.node("Gemm", [features, w.param("fc.w", [c, o.classes], c), w.param("fc.b", [o.classes], c)]);
  b.output(b.node("Softmax", [logits], { axis: 1 }));
  return b.build();
}
