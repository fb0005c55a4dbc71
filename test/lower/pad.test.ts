/**
 * Pad lowered in every mode (constant, edge, reflect, wrap) against the reference interpreter on
 * random shapes, pads (negative ones crop; reflect and wrap pads larger than the axis repeat),
 * with and without the axes input, on wasm and js.
 */
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import { randomTensor, rng } from "../../src/ir/random.js";
import { Tensor } from "../../src/ir/tensor.js";
import { assertCompiledMatchesReference } from "./differential.js";

describe("Pad lowering", () => {
  it("matches the reference in every mode", async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const r = rng(seed);
      const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
      const mode = ["constant", "edge", "reflect", "wrap"][seed % 4]!;
      const shape = Array.from({ length: int(1, 4) }, () => int(1, 5));
      const useAxes = r() < 0.5;
      const axes = useAxes ? shape.map((_, d) => d).filter(() => r() < 0.6) : shape.map((_, d) => d);
      // Crops stay inside the axis; reflect and wrap may pad past it (the pattern repeats).
      const pads = [0, 1].flatMap(() => axes.map((a) => int(-Math.floor((shape[a]! - 1) / 2), mode === "edge" || mode === "constant" ? 3 : 2 * shape[a]!)));
      const b = new GraphBuilder("pad", { "": 19 });
      const x = b.input("x", "float32", shape);
      const inputs = [x, b.weight("pads", Tensor.fromNumbers("int64", [pads.length], pads)), mode === "constant" ? b.weight("value", Tensor.scalar("float32", 0.25)) : ""];
      if (useAxes) inputs.push(b.weight("axes", Tensor.fromNumbers("int64", [axes.length], axes)));
      b.output(b.node("Exp", [b.node("Pad", inputs, { mode })]));
      await assertCompiledMatchesReference(b.build(), { x: randomTensor("float32", shape, seed) }, `seed ${seed}: ${mode} [${shape}] axes [${axes}] pads [${pads}]`);
    }
  });
});
