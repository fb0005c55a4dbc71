/** Attention family: expected values are worked out by hand from the ONNX definitions. */
import { test } from "node:test";
import assert from "node:assert/strict";
import "../../src/ops/index.js";
import type { Attr, Graph, Node } from "../../src/ir/graph.js";
import { Tensor } from "../../src/ir/tensor.js";
import { ops } from "../../src/ops/attention.js";
import { evaluateNode } from "../../src/ops/interpreter.js";
import { Attrs } from "../../src/ops/registry.js";

type A = Record<string, Attr>;
const int = (value: number): Attr => ({ type: "int", value });
const float = (value: number): Attr => ({ type: "float", value });
const str = (value: string): Attr => ({ type: "string", value });
const EMPTY_GRAPH: Graph = { name: "g", inputs: [], outputs: [], initializers: new Map(), nodes: [], valueTypes: new Map() };
const graph = (): Attr => ({ type: "graph", value: EMPTY_GRAPH });

function node(op: string, inputs: (Tensor | null)[], nOut: number, attrs: A): Node {
  return {
    op, name: "", attrs,
    inputs: inputs.map((t, i) => (t === null ? "" : `i${i}`)),
    outputs: Array.from({ length: nOut }, (_, i) => `o${i}`),
  };
}

function run(op: string, inputs: (Tensor | null)[], attrs: A = {}, nOut = 1, opset = 24,
  sub?: (t: Tensor) => Tensor): Tensor[] {
  const opsets = { "": opset, "ai.onnx.preview": 1 };
  const runSub = sub ? (_g: Graph, xs: readonly Tensor[]) => [sub(xs[0]!)] : undefined;
  return evaluateNode(node(op, inputs, nOut, attrs), inputs, opsets, runSub) as Tensor[];
}

const f32 = (shape: number[], v: number[]) => Tensor.fromNumbers("float32", shape, v);

function close(actual: Tensor, shape: number[], values: number[]): void {
  assert.deepEqual(actual.shape, shape);
  const got = Array.from(actual.numbers());
  assert.equal(got.length, values.length);
  got.forEach((g, i) => assert.ok(Math.abs(g - values[i]!) < 1e-5, `element ${i}: got ${g}, want ${values[i]}`));
}

// q = [1,0], keys [1,0] and [0,1], values [1,2] and [3,4]; scale 1/sqrt(2) gives scores
// [0.70711, 0], softmax [0.66976, 0.33024], so Y = [1,2] + 2*0.33024.
const Q = f32([1, 1, 1, 2], [1, 0]);
const K = f32([1, 1, 2, 2], [1, 0, 0, 1]);
const V = f32([1, 1, 2, 2], [1, 2, 3, 4]);
const P1 = 0.3302385;

test("Attention: plain 4-D, causal (top-left aligned), bool mask, fully masked row", () => {
  close(run("Attention", [Q, K, V])[0]!, [1, 1, 1, 2], [1 + 2 * P1, 2 + 2 * P1]);
  close(run("Attention", [Q, K, V], { is_causal: int(1) })[0]!, [1, 1, 1, 2], [1, 2]);
  const keep1 = Tensor.fromNumbers("bool", [1, 2], [0, 1]);
  close(run("Attention", [Q, K, V, keep1])[0]!, [1, 1, 1, 2], [3, 4]);
  const none = Tensor.fromNumbers("bool", [1, 2], [0, 0]);
  close(run("Attention", [Q, K, V, none])[0]!, [1, 1, 1, 2], [0, 0]);
  // A mask shorter than the key sequence is padded with -inf.
  close(run("Attention", [Q, K, V, f32([1, 1], [0])])[0]!, [1, 1, 1, 2], [1, 2]);
});

test("Attention: past key/value, present outputs and qk_matmul_output modes", () => {
  const k1 = f32([1, 1, 1, 2], [0, 1]);
  const v1 = f32([1, 1, 1, 2], [3, 4]);
  const pk = f32([1, 1, 1, 2], [1, 0]);
  const pv = f32([1, 1, 1, 2], [1, 2]);
  const [y, presentK, presentV, qk] = run("Attention", [Q, k1, v1, null, pk, pv], {}, 4);
  close(y!, [1, 1, 1, 2], [1 + 2 * P1, 2 + 2 * P1]);
  close(presentK!, [1, 1, 2, 2], [1, 0, 0, 1]);
  close(presentV!, [1, 1, 2, 2], [1, 2, 3, 4]);
  close(qk!, [1, 1, 1, 2], [Math.SQRT1_2, 0]);
  // Causal with one past key: query 0 sees keys 0 and 1.
  close(run("Attention", [Q, k1, v1, null, pk, pv], { is_causal: int(1) })[0]!, [1, 1, 1, 2], [1 + 2 * P1, 2 + 2 * P1]);
  // Mode 1 is after softcap: 0.5 * tanh(0.70711 / 0.5) = 0.444193.
  const capped = run("Attention", [Q, K, V], { softcap: float(0.5), qk_matmul_output_mode: int(1) }, 4)[3]!;
  close(capped, [1, 1, 1, 2], [0.4441926, 0]);
  const probs = run("Attention", [Q, K, V], { qk_matmul_output_mode: int(3) }, 4)[3]!;
  close(probs, [1, 1, 1, 2], [1 - P1, P1]);
});

test("Attention: 3-D inputs with grouped-query heads", () => {
  // Two query heads [1,0] and [0,1] share one kv head.
  const q = f32([1, 1, 4], [1, 0, 0, 1]);
  const k = f32([1, 2, 2], [1, 0, 0, 1]);
  const v = f32([1, 2, 2], [1, 2, 3, 4]);
  const y = run("Attention", [q, k, v], { q_num_heads: int(2), kv_num_heads: int(1) })[0]!;
  close(y, [1, 1, 4], [1 + 2 * P1, 2 + 2 * P1, 3 - 2 * P1, 4 - 2 * P1]);
});

test("Attention: nonpad_kv_seqlen masks padded keys", () => {
  const y = run("Attention", [Q, K, V, null, null, null, Tensor.fromNumbers("int64", [1], [1])])[0]!;
  close(y, [1, 1, 1, 2], [1, 2]);
});

test("Attention: infer keeps symbolic batch", () => {
  const def = ops.find((d) => d.name === "Attention")!;
  const n = node("Attention", [Q, K, V], 1, {});
  const out = def.infer({
    node: n, opset: 23, attrs: new Attrs(n, def.attrs, 23), outputCount: 1,
    inputs: [
      { dtype: "float32", shape: ["N", 3, 4, 8] },
      { dtype: "float32", shape: ["N", 3, 6, 8] },
      { dtype: "float32", shape: ["N", 3, 6, 10] },
    ],
    constants: [], fresh: () => "s", inferSubgraph: () => [],
  });
  assert.deepEqual(out[0], { dtype: "float32", shape: ["N", 3, 4, 10] });
});

test("RotaryEmbedding: half-split and interleaved rotation", () => {
  // Pair 0 rotates by 90 degrees (cos 0, sin 1), pair 1 by 0 degrees.
  const x = f32([1, 1, 1, 4], [1, 2, 3, 4]);
  const cos = f32([1, 2], [0, 1]);
  const sin = f32([1, 2], [1, 0]);
  const pos = Tensor.fromNumbers("int64", [1, 1], [0]);
  close(run("RotaryEmbedding", [x, cos, sin, pos], {}, 1, 23)[0]!, [1, 1, 1, 4], [-3, 2, 1, 4]);
  close(run("RotaryEmbedding", [x, cos, sin, pos], { interleaved: int(1) }, 1, 23)[0]!, [1, 1, 1, 4], [-2, 1, 3, 4]);
});

test("SwiGLU: a * sigmoid(alpha a) * b", () => {
  close(run("SwiGLU", [f32([2], [0, 2]), f32([2], [5, 3])], {}, 1, 28)[0]!, [2], [0, 6 / (1 + Math.exp(-2))]);
  close(run("SwiGLU", [f32([1], [2]), f32([1], [1])], { alpha: float(0.5) }, 1, 28)[0]!, [1], [1.4621172]);
});

test("CausalConvWithState: past state, bias, zero padding and silu", () => {
  const x = f32([1, 1, 3], [1, 2, 3]);
  const w = f32([1, 1, 2], [1, 10]);
  const [y, state] = run("CausalConvWithState", [x, w, f32([1], [1]), f32([1, 1, 1], [5])], {}, 2, 27);
  close(y!, [1, 1, 3], [16, 22, 33]);
  close(state!, [1, 1, 1], [3]);
  close(run("CausalConvWithState", [x, w], {}, 2, 27)[0]!, [1, 1, 3], [10, 21, 32]);
  const silu = run("CausalConvWithState", [f32([1, 1, 1], [0]), f32([1, 1, 1], [2])], { activation: str("silu") }, 2, 27);
  close(silu[0]!, [1, 1, 1], [0]);
  close(silu[1]!, [1, 1, 0], []);
});

test("LinearAttention: linear, gated and delta update rules", () => {
  const q = f32([1, 2, 1], [1, 1]);
  const k = f32([1, 2, 1], [1, 2]);
  const v = f32([1, 2, 1], [3, 4]);
  const heads = { q_num_heads: int(1), kv_num_heads: int(1), scale: float(1) };
  const [y, s] = run("LinearAttention", [q, k, v], { ...heads, update_rule: str("linear") }, 2, 27);
  close(y!, [1, 2, 1], [3, 11]);
  close(s!, [1, 1, 1, 1], [11]);
  const decay = f32([1, 2, 1], [Math.log(0.5), Math.log(0.5)]);
  close(run("LinearAttention", [q, k, v, null, decay], { ...heads, update_rule: str("gated") }, 2, 27)[0]!, [1, 2, 1], [3, 9.5]);
  const beta = f32([1, 2, 1], [1, 1]);
  close(run("LinearAttention", [q, k, v, null, null, beta], { ...heads, update_rule: str("delta") }, 2, 27)[0]!, [1, 2, 1], [3, -1]);
});

test("FlexAttention: score_mod and prob_mod subgraphs", () => {
  const op = "ai.onnx.preview:FlexAttention";
  close(run(op, [Q, K, V])[0]!, [1, 1, 1, 2], [1 + 2 * P1, 2 + 2 * P1]);
  const double = (t: Tensor) => Tensor.fromNumbers(t.dtype, t.shape, Array.from(t.numbers(), (x) => 2 * x));
  close(run(op, [Q, K, V], { prob_mod: graph() }, 1, 24, double)[0]!, [1, 1, 1, 2], [2 + 4 * P1, 4 + 4 * P1]);
  const maskKey1 = (t: Tensor) => Tensor.fromNumbers(t.dtype, t.shape, [t.numbers()[0]!, -Infinity]);
  close(run(op, [Q, K, V], { score_mod: graph() }, 1, 24, maskKey1)[0]!, [1, 1, 1, 2], [1, 2]);
});
