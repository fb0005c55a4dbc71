/**
 * The LSTM expansion against the reference interpreter's LSTM (src/ops/rnn.ts) on random
 * shapes and attributes: directions, layouts, biases, initial states, peepholes, clip,
 * input_forget, activation functions with their alphas and betas, weights as constants or as
 * graph inputs, and opsets whose Slice and Clip take attributes. The expanded graph must hold no
 * LSTM and compute the same outputs; a few cases also run compiled on wasm and js.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import type { Attr, Model } from "../../src/ir/graph.js";
import { rng } from "../../src/ir/random.js";
import { Tensor } from "../../src/ir/tensor.js";
import { expandPass } from "../../src/passes/expand.js";
import { assertCompiledMatchesReference } from "../lower/differential.js";
import { assertSameOutputs, opsOf, rand, typed } from "./graph-helpers.js";

const ACTIVATIONS = ["Sigmoid", "Tanh", "Relu", "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh", "HardSigmoid", "Elu", "Softsign", "Softplus"];

interface Case {
  readonly model: Model;
  readonly feeds: Map<string, Tensor>;
  readonly what: string;
}

function randomCase(seed: number): Case {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const opset = pick([7, 14, 22]);
  const [S, N, I, H] = [int(1, 4), int(1, 3), int(1, 5), int(1, 5)];
  const direction = pick(["forward", "reverse", "bidirectional"]);
  const dirs = direction === "bidirectional" ? 2 : 1;
  const layout = opset >= 14 ? int(0, 1) : 0;
  const has = () => r() < 0.6;
  const [bias, initH, initC, peep] = [has(), has(), has(), has()];
  const constantWeights = r() < 0.7;
  const attrs: Record<string, Attr> = {
    direction: { type: "string", value: direction },
    hidden_size: { type: "int", value: H },
  };
  if (layout) attrs["layout"] = { type: "int", value: 1 };
  if (r() < 0.3) attrs["clip"] = { type: "float", value: 0.5 + 2 * r() };
  if (r() < 0.2) attrs["input_forget"] = { type: "int", value: 1 };
  if (r() < 0.4) {
    attrs["activations"] = { type: "strings", value: Array.from({ length: 3 * dirs }, () => pick(ACTIVATIONS)) };
    attrs["activation_alpha"] = { type: "floats", value: Array.from({ length: 6 }, () => 0.2 + r()) };
    attrs["activation_beta"] = { type: "floats", value: Array.from({ length: 6 }, () => r() - 0.5) };
  }
  const b = new GraphBuilder("lstm", { "": opset });
  const feeds = new Map<string, Tensor>();
  let s = seed * 16;
  const value = (name: string, shape: number[], constant: boolean) => {
    const t = rand(shape, s++, -0.8, 0.8);
    if (constant) return b.weight(name, t);
    feeds.set(name, t);
    return b.input(name, "float32", shape);
  };
  const state = layout ? [N, dirs, H] : [dirs, N, H];
  const inputs = [
    value("X", layout ? [N, S, I] : [S, N, I], false),
    value("W", [dirs, 4 * H, I], constantWeights),
    value("R", [dirs, 4 * H, H], constantWeights),
    bias ? value("B", [dirs, 8 * H], constantWeights) : "",
    "",
    initH ? value("initial_h", state, false) : "",
    initC ? value("initial_c", state, false) : "",
    peep ? value("P", [dirs, 3 * H], constantWeights) : "",
  ];
  while (inputs.at(-1) === "") inputs.pop();
  const [y, yh, yc] = b.nodeN("LSTM", inputs, 3, attrs);
  // Every output sometimes, so that Y, Y_h and Y_c each get checked alone too.
  const wanted = [y!, yh!, yc!].filter(() => r() < 0.7);
  for (const o of wanted.length > 0 ? wanted : [y!]) b.output(o);
  const what = `seed ${seed}: opset ${opset}, S${S} N${N} I${I} H${H}, ${direction}, layout ${layout}, ${JSON.stringify(Object.fromEntries(Object.entries(attrs).map(([k, a]) => [k, a.value])))}` +
    `, bias ${bias} h0 ${initH} c0 ${initC} peepholes ${peep}, constant weights ${constantWeights}`;
  return { model: typed(b.build()), feeds, what };
}

describe("expand-lstm", () => {
  it("computes what the LSTM op computes, on random shapes and attributes", () => {
    for (let seed = 1; seed <= 60; seed++) {
      const c = randomCase(seed);
      const expanded = expandPass.run(c.model);
      assert.ok(!opsOf(expanded).includes("LSTM"), c.what);
      assertSameOutputs(c.model, expanded, c.feeds, 1e-5);
    }
  });

  it("leaves an LSTM with sequence lengths shorter than the sequence to the interpreter", () => {
    const b = new GraphBuilder("lstm", { "": 14 });
    const x = b.input("X", "float32", [3, 2, 4]);
    const lens = b.weight("lens", Tensor.fromNumbers("int32", [2], [3, 1]));
    b.output(b.node("LSTM", [x, b.weight("W", rand([1, 8, 4], 1)), b.weight("R", rand([1, 8, 2], 2)), "", lens], { hidden_size: 2 }));
    const m = typed(b.build());
    assert.deepEqual(opsOf(expandPass.run(m)), ["LSTM"]);
  });

  it("runs compiled on wasm and js with no fallback", async () => {
    for (const seed of [3, 8, 21, 34]) {
      const c = randomCase(seed);
      await assertCompiledMatchesReference(c.model, Object.fromEntries(c.feeds), c.what);
    }
  });
});
