/**
 * AlexNet (Krizhevsky et al. 2012) in the single-tower form torchvision uses, with the original
 * local response normalization after the first two convolutions.
 */
import { GraphBuilder } from "../frontend/builder/builder.js";
import type { Model } from "../ir/graph.js";
import { Weights } from "./weights.js";

export interface AlexNetOptions {
  readonly size: number;
  /** Multiplies every convolution's channel count (small test instances). */
  readonly widthScale: number;
  readonly hidden: number;
  readonly classes: number;
}

export const ALEXNET_DEFAULTS: AlexNetOptions = { size: 224, widthScale: 1, hidden: 4096, classes: 1000 };

interface ConvSpec {
  readonly out: number;
  readonly k: number;
  readonly stride: number;
  readonly pad: number;
  readonly lrn: boolean;
  readonly pool: boolean;
}

const CONVS: readonly ConvSpec[] = [
  { out: 64, k: 11, stride: 4, pad: 2, lrn: true, pool: true },
  { out: 192, k: 5, stride: 1, pad: 2, lrn: true, pool: true },
  { out: 384, k: 3, stride: 1, pad: 1, lrn: false, pool: false },
  { out: 256, k: 3, stride: 1, pad: 1, lrn: false, pool: false },
  { out: 256, k: 3, stride: 1, pad: 1, lrn: false, pool: true },
];

/** Input `image` [1, 3, size, size]; output class probabilities [1, classes]. */
export function alexNet(options: Partial<AlexNetOptions> = {}): Model {
  const o = { ...ALEXNET_DEFAULTS, ...options };
  const b = new GraphBuilder("alexnet", { "": 17 });
  const w = new Weights(b);
  let h = b.input("image", "float32", [1, 3, o.size, o.size]);
  let [c, s] = [3, o.size];
  CONVS.forEach((spec, i) => {
    const out = Math.max(1, Math.round(spec.out * o.widthScale));
    const fanIn = c * spec.k * spec.k;
    h = b.node("Relu", [b.node("Conv", [h, w.param(`conv${i}.w`, [out, c, spec.k, spec.k], fanIn, Math.SQRT2), w.param(`conv${i}.b`, [out], fanIn)],
      { pads: Array(4).fill(spec.pad), strides: [spec.stride, spec.stride] })]);
    s = Math.floor((s + 2 * spec.pad - spec.k) / spec.stride) + 1;
    // The builder takes integral numbers for int attributes; LRN's bias is a float.
    if (spec.lrn) h = b.node("LRN", [h], { size: 5, alpha: 1e-4, beta: 0.75, bias: { type: "float", value: 2 } });
    if (spec.pool) {
      h = b.node("MaxPool", [h], { kernel_shape: [3, 3], strides: [2, 2] });
      s = Math.floor((s - 3) / 2) + 1;
    }
    c = out;
  });
  h = b.node("Flatten", [h]);
  const dense = [c * s * s, o.hidden, o.hidden, o.classes];
  for (let i = 0; i + 1 < dense.length; i++) {
    const [fin, fout] = [dense[i]!, dense[i + 1]!];
    const last = i + 2 === dense.length;
    h = b.node("Gemm", [h, w.param(`fc${i}.w`, [fin, fout], fin, last ? 1 : Math.SQRT2), w.param(`fc${i}.b`, [fout], fin)]);
    if (!last) h = b.node("Relu", [h]);
  }
  b.output(b.node("Softmax", [h], { axis: 1 }));
  return b.build();
}
