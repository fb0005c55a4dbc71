/**
 * 1-D convolutions rewritten as 2-D ones over a height of 1: the same outputs as the 1-D Conv
 * on random shapes, strides, pads (explicit and auto_pad), dilations, groups and biases, and
 * compiled on wasm and js with no fallback.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import type { Model } from "../../src/ir/graph.js";
import { rng } from "../../src/ir/random.js";
import type { Tensor } from "../../src/ir/tensor.js";
import { expandPass } from "../../src/passes/expand.js";
import { assertCompiledMatchesReference } from "../lower/differential.js";
import { assertSameOutputs, opsOf, rand, typed } from "./graph-helpers.js";

function randomConv(seed: number): { model: Model; feeds: Map<string, Tensor>; what: string } {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const group = [1, 2, 3][int(0, 2)]!;
  const [n, c, m, k, s, d, len] = [int(1, 2), group * int(1, 3), group * int(1, 3), int(1, 5), int(1, 3), int(1, 2), int(8, 20)];
  const autoPad = ["NOTSET", "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"][int(0, 4)]!;
  const pads = [int(0, 2), int(0, 2)];
  const b = new GraphBuilder("conv1d", { "": 17 });
  const x = b.input("x", "float32", [n, c, len]);
  const attrs = { group, strides: [s], dilations: autoPad === "NOTSET" ? [d] : [1], kernel_shape: [k], auto_pad: autoPad, ...(autoPad === "NOTSET" ? { pads } : {}) };
  const inputs = [x, b.weight("w", rand([m, c / group, k], seed, -0.5, 0.5)), ...(r() < 0.5 ? [b.weight("b", rand([m], seed + 1))] : [])];
  b.output(b.node("Relu", [b.node("Conv", inputs, attrs)]));
  return { model: typed(b.build()), feeds: new Map([["x", rand([n, c, len], seed + 2)]]), what: `seed ${seed}: ${JSON.stringify({ n, c, m, len, ...attrs })}` };
}

describe("conv-1d-as-2d", () => {
  it("computes what the 1-D Conv computes", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const c = randomConv(seed);
      const out = expandPass.run(c.model);
      const conv = out.graph.nodes.find((nd) => nd.op === "Conv")!;
      assert.equal(out.graph.valueTypes.get(conv.inputs[0]!)?.shape?.length, 4, c.what);
      assertSameOutputs(c.model, out, c.feeds);
    }
  });

  it("runs compiled on wasm and js with no fallback", async () => {
    for (const seed of [2, 5, 9, 14]) {
      const c = randomConv(seed);
      assert.ok(opsOf(c.model).includes("Conv"));
      await assertCompiledMatchesReference(c.model, Object.fromEntries(c.feeds), c.what);
    }
  });
});
