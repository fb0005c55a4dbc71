/**
 * The benchmarked kernels: SGEMM 1024^3 and the 3x3 and 1x1 convolutions of ResNet-50 at batch 1,
 * each as a kiln kernel (with its inputs in kiln's layouts) and as a one-node ONNX model.
 */
import { GraphBuilder } from "../src/frontend/builder/builder.js";
import { exportOnnx } from "../src/frontend/onnx/export.js";
import { rng } from "../src/ir/random.js";
import { Tensor } from "../src/ir/tensor.js";
import { placeholder } from "../src/loopir/compute.js";
import { conv2dKernel, packConvWeight, packedConvWeightShape } from "../src/lower/schedule-conv.js";
import { type Kernel, gemmKernel } from "../src/lower/schedule-gemm.js";

export interface BenchCase {
  readonly name: string;
  readonly flops: number;
  kiln(): { kernel: Kernel; inputs: Record<string, Float32Array> };
  onnx(): { model: Uint8Array; feeds: Record<string, { data: Float32Array; dims: number[] }> };
}

const random = (n: number, seed: number) => { const r = rng(seed); return Float32Array.from({ length: n }, () => 2 * r() - 1); };

function sgemm(size: number): BenchCase {
  const a = random(size * size, 1), b = random(size * size, 2);
  return {
    name: `sgemm ${size}x${size}x${size}`,
    flops: 2 * size ** 3,
    kiln: () => ({ kernel: gemmKernel({ name: "C", a: placeholder("A", [size, size]), b: placeholder("B", [size, size]) }), inputs: { A: a, B: b } }),
    onnx: () => {
      const g = new GraphBuilder("sgemm", { "": 17 });
      g.output(g.node("MatMul", [g.input("A", "float32", [size, size]), g.input("B", "float32", [size, size])]));
      return { model: exportOnnx(g.build()), feeds: { A: { data: a, dims: [size, size] }, B: { data: b, dims: [size, size] } } };
    },
  };
}

/** A stride-1 "same" convolution at batch 1, as in ResNet-50's bottleneck blocks. */
function conv(ic: number, oc: number, k: number, hw: number): BenchCase {
  const pad = (k - 1) / 2;
  const shape = { inChannels: ic, outChannels: oc, kernel: [k, k] as [number, number], group: 1 };
  const x = random(ic * hw * hw, 3), w = random(oc * ic * k * k, 4);
  return {
    name: `conv ${ic}->${oc} ${k}x${k} ${hw}x${hw}`,
    flops: 2 * oc * ic * k * k * hw * hw,
    kiln: () => {
      const blocked = new Float32Array(x.length);
      for (let c = 0; c < ic; c++) for (let i = 0; i < hw * hw; i++) blocked[((c >> 2) * hw * hw + i) * 4 + (c & 3)] = x[c * hw * hw + i]!;
      const kernel = conv2dKernel({
        name: "Y", x: placeholder("X", [1, Math.ceil(ic / 4), hw, hw, 4]), w: placeholder("W", packedConvWeightShape(shape)), ...shape,
        strides: [1, 1], pads: [pad, pad, pad, pad], dilations: [1, 1],
      });
      return { kernel, inputs: { X: blocked, W: packConvWeight(w, shape) } };
    },
    onnx: () => {
      const g = new GraphBuilder("conv", { "": 17 });
      const weight = g.weight("W", Tensor.fromNumbers("float32", [oc, ic, k, k], w));
      g.output(g.node("Conv", [g.input("X", "float32", [1, ic, hw, hw]), weight], { kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [1, 1] }));
      return { model: exportOnnx(g.build()), feeds: { X: { data: x, dims: [1, ic, hw, hw] } } };
    },
  };
}

export const CASES: readonly BenchCase[] = [
  sgemm(1024),
  conv(64, 64, 3, 56), conv(256, 64, 1, 56), conv(512, 128, 1, 28), conv(128, 128, 3, 28),
  conv(256, 256, 3, 14), conv(1024, 256, 1, 14), conv(512, 512, 3, 7), conv(2048, 512, 1, 7),
];
