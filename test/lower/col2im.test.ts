/**
 * Col2Im lowered in gather form against the reference interpreter's scatter, on random images
 * over 1 to 3 spatial axes with block shapes, strides, dilations and pads, on wasm and js.
 */
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import { randomTensor, rng } from "../../src/ir/random.js";
import { Tensor } from "../../src/ir/tensor.js";
import { assertCompiledMatchesReference } from "./differential.js";

describe("Col2Im lowering", () => {
  it("matches the reference on random geometries", async () => {
    for (let seed = 1; seed <= 16; seed++) {
      const r = rng(seed);
      const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
      const dims = int(1, 3);
      const image = Array.from({ length: dims }, () => int(3, dims === 3 ? 5 : 9));
      const block = image.map((d) => int(1, Math.min(3, d)));
      // A dilated block still fits in the image, so there is at least one block per axis.
      const strides = image.map(() => int(1, 3)), dilations = image.map((d, i) => (r() < 0.3 && 2 * block[i]! - 1 <= d ? 2 : 1));
      const pads = [...image.map(() => int(0, 2)), ...image.map(() => int(0, 2))];
      const blocks = image.map((d, i) => Math.floor((d + pads[i]! + pads[i + dims]! - dilations[i]! * (block[i]! - 1) - 1) / strides[i]!) + 1);
      const [n, c] = [int(1, 2), int(1, 3)];
      const shape = [n, c * block.reduce((p, k) => p * k, 1), blocks.reduce((p, b) => p * b, 1)];
      const b = new GraphBuilder("col2im", { "": 18 });
      const x = b.input("x", "float32", shape);
      const ints = (name: string, v: number[]) => b.weight(name, Tensor.fromNumbers("int64", [v.length], v));
      b.output(b.node("Col2Im", [x, ints("image", image), ints("block", block)], { strides, dilations, pads }));
      await assertCompiledMatchesReference(b.build(), { x: randomTensor("float32", shape, seed) }, `seed ${seed}: image [${image}] block [${block}] strides [${strides}] dilations [${dilations}] pads [${pads}]`);
    }
  });
});
