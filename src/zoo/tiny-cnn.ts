/** The default model of `kiln run`: a small image classifier with seeded random weights. */
import { GraphBuilder } from "../frontend/builder/builder.js";
import type { Model } from "../ir/graph.js";
import { randomTensor } from "../ir/random.js";
import { Tensor } from "../ir/tensor.js";

export function tinyCnn(): Model {
  const b = new GraphBuilder("tiny_cnn", { "": 17 });
  const x = b.input("image", "float32", ["N", 3, 32, 32]);
  const w = (name: string, shape: number[], seed: number, scale: number) => b.weight(name, randomTensor("float32", shape, seed, -scale, scale));
  let h = b.node("Conv", [x, w("conv1.w", [16, 3, 3, 3], 1, 0.3), w("conv1.b", [16], 2, 0.1)], { pads: [1, 1, 1, 1] });
  h = b.node("Relu", [h]);
  h = b.node("MaxPool", [h], { kernel_shape: [2, 2], strides: [2, 2] });
  h = b.node("Conv", [h, w("conv2.w", [32, 16, 3, 3], 3, 0.1), w("conv2.b", [32], 4, 0.1)], { pads: [1, 1, 1, 1] });
  h = b.node("Relu", [h]);
  h = b.node("GlobalAveragePool", [h]);
  h = b.node("Flatten", [h]);
  h = b.node("Gemm", [h, w("fc.w", [10, 32], 5, 0.3), b.weight("fc.b", Tensor.fromNumbers("float32", [10], new Array(10).fill(0)))], { transB: 1 });
  b.output(b.node("Softmax", [h], { axis: 1 }));
  return b.build();
}
