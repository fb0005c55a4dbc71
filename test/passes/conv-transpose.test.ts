/**
 * ConvTranspose compiled as a MatMul into Col2Im, against the reference interpreter's scatter on
 * random shapes over 1, 2 and 3 spatial axes: strides, dilations, pads, output_padding,
 * output_shape, auto_pad, groups, with and without a bias, weights constant or fed; on wasm and js.
 */
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import type { Tensor } from "../../src/ir/tensor.js";
import { randomTensor, rng } from "../../src/ir/random.js";
import { assertCompiledMatchesReference } from "../lower/differential.js";

describe("ConvTranspose as MatMul and Col2Im", () => {
  it("matches the reference on random shapes and attributes", async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const r = rng(seed);
      const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
      const dims = [1, 2, 2, 2, 3][int(0, 4)]!;
      const group = int(1, 2);
      const [n, c, m] = [int(1, 2), group * int(1, 3), group * int(1, 3)];
      const spatial = Array.from({ length: dims }, () => int(1, dims === 3 ? 4 : 7));
      const kernel = spatial.map(() => int(1, 4));
      const strides = spatial.map(() => int(1, 3));
      const dilations = spatial.map(() => (r() < 0.7 ? 1 : 2));
      const how = ["pads", "pads", "output_shape", "SAME_UPPER", "SAME_LOWER", "VALID"][int(0, 5)]!;
      const attrs: Record<string, number | string | number[]> = { group, kernel_shape: kernel, strides, dilations };
      if (how === "pads") {
        attrs["pads"] = [...kernel.map((k) => int(0, k - 1)), ...kernel.map((k) => int(0, k - 1))];
        attrs["output_padding"] = strides.map((s, i) => (dilations[i] === 1 ? int(0, s - 1) : 0));
      } else if (how === "output_shape") {
        attrs["output_shape"] = spatial.map((x, i) => (x - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - int(0, 1));
      } else attrs["auto_pad"] = how;
      const b = new GraphBuilder("convt", { "": 17 });
      const feeds: Record<string, Tensor> = { x: randomTensor("float32", [n, c, ...spatial], seed) };
      const x = b.input("x", "float32", [n, c, ...spatial]);
      const wShape = [c, m / group, ...kernel];
      const fedWeights = r() < 0.3;
      if (fedWeights) feeds["w"] = randomTensor("float32", wShape, seed + 1);
      const w = fedWeights ? b.input("w", "float32", wShape) : b.weight("w", randomTensor("float32", wShape, seed + 1));
      const inputs = [x, w, ...(r() < 0.5 ? [b.weight("bias", randomTensor("float32", [m], seed + 2))] : [])];
      b.output(b.node("Relu", [b.node("ConvTranspose", inputs, attrs)]));
      await assertCompiledMatchesReference(b.build(), feeds, `seed ${seed}: [${n},${c},${spatial}] -> ${m} ${JSON.stringify(attrs)}${fedWeights ? ", weights fed" : ""}`);
    }
  });
});
