/**
 * Resize and Upsample lowered, against the reference interpreter on random shapes and
 * attributes: nearest (every nearest_mode), linear and cubic; every coordinate transformation
 * (tf_crop_and_resize with an roi reaching outside the input and an extrapolation value);
 * scales and sizes, with keep_aspect_ratio_policy and the axes attribute; exclude_outside,
 * cubic_coeff_a and antialias; on wasm and js.
 */
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import type { Attr } from "../../src/ir/graph.js";
import { randomTensor, rng } from "../../src/ir/random.js";
import { Tensor } from "../../src/ir/tensor.js";
import { assertCompiledMatchesReference } from "./differential.js";

const CTMS = ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "half_pixel_symmetric", "tf_crop_and_resize"];
const NEAREST = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"];

function randomResize(seed: number) {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const shape = [int(1, 2), int(1, 3), int(1, 7), int(1, 7)];
  const mode = pick(["nearest", "linear", "cubic"]);
  const ctm = pick(CTMS);
  const withAxes = r() < 0.3;
  const axes = withAxes ? pick([[2, 3], [3, 2], [1, 3], [-1]]) : [0, 1, 2, 3];
  const resized = axes.map((a) => (a + 4) % 4);
  const useSizes = r() < 0.4;
  const policy = useSizes && resized.length > 1 ? pick(["stretch", "not_larger", "not_smaller"]) : "stretch";
  const attrs: Record<string, Attr> = {
    mode: { type: "string", value: mode },
    coordinate_transformation_mode: { type: "string", value: ctm },
    nearest_mode: { type: "string", value: pick(NEAREST) },
    cubic_coeff_a: { type: "float", value: pick([-0.75, -0.5]) },
    exclude_outside: { type: "int", value: r() < 0.3 ? 1 : 0 },
    extrapolation_value: { type: "float", value: pick([0, -2.5]) },
    antialias: { type: "int", value: mode !== "nearest" && r() < 0.3 ? 1 : 0 },
    keep_aspect_ratio_policy: { type: "string", value: policy },
  };
  if (withAxes) attrs["axes"] = { type: "ints", value: axes };
  const b = new GraphBuilder("resize", { "": 19 });
  const x = b.input("x", "float32", shape);
  const roi = ctm === "tf_crop_and_resize"
    ? b.weight("roi", Tensor.fromNumbers("float32", [2 * axes.length], [...axes.map(() => r() * 0.4 - 0.1), ...axes.map(() => 0.7 + r() * 0.4)]))
    : "";
  // N and C keep their size unless the axes pick them.
  const scale = (a: number) => (a < 2 ? pick([1, 1, 2]) : pick([0.5, 0.6, 0.75, 1.5, 2, 3]));
  const scales = useSizes ? "" : b.weight("scales", Tensor.fromNumbers("float32", [axes.length], resized.map(scale)));
  const sizes = useSizes ? b.weight("sizes", Tensor.fromNumbers("int64", [axes.length], resized.map((a) => (a < 2 ? shape[a]! : int(1, 12))))) : "";
  b.output(b.node("Resize", [x, roi, scales, ...(useSizes ? [sizes] : [])], attrs));
  const what = `seed ${seed}: [${shape}] ${JSON.stringify(Object.fromEntries(Object.entries(attrs).map(([k, a]) => [k, a.value])))} ${useSizes ? "sizes" : "scales"}`;
  return { model: b.build(), x: randomTensor("float32", shape, seed), what };
}

describe("Resize lowering", () => {
  it("matches the reference on random shapes and attributes", async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const c = randomResize(seed);
      await assertCompiledMatchesReference(c.model, { x: c.x }, c.what);
    }
  });

  it("Upsample (opset 9) in nearest and linear modes", async () => {
    for (const mode of ["nearest", "linear"]) {
      const b = new GraphBuilder("upsample", { "": 9 });
      const x = b.input("x", "float32", [1, 2, 3, 5]);
      b.output(b.node("Upsample", [x, b.weight("scales", Tensor.fromNumbers("float32", [4], [1, 1, 2, 1.5]))], { mode }));
      await assertCompiledMatchesReference(b.build(), { x: randomTensor("float32", [1, 2, 3, 5], 3) }, `Upsample ${mode}`);
    }
  });
});
