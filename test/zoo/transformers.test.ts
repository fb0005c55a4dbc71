/**
 * The zoo's transformers at small sizes, each at two bindings of its symbolic dims: kiln's
 * compiled wasm (one session across the bindings) and onnxruntime-node on the exported ONNX
 * against the reference interpreter, the exported ONNX read back computing the same outputs,
 * and what the models must mean: GPT-2's KV cache, positions and causal mask (a prompt run at
 * once equals it run in two steps), MiniLM's attention mask (padding hides a token). At the real
 * sizes, parameter counts and output shapes (inference only).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as ort from "onnxruntime-node";
import { InferenceSession, type Backend } from "../../src/api.js";
import { exportOnnx } from "../../src/frontend/onnx/export.js";
import { importOnnx } from "../../src/frontend/onnx/import.js";
import type { Model } from "../../src/ir/graph.js";
import { randomTensor } from "../../src/ir/random.js";
import { Tensor } from "../../src/ir/tensor.js";
import { verifyGraph } from "../../src/ir/verify.js";
import { inferModel } from "../../src/ops/inference.js";
import { TRANSFORMER_ZOO, type TransformerZooName } from "../../src/zoo/index.js";
import { worst } from "../helpers.js";

type Binding = Readonly<Record<string, number>>;

interface Case {
  readonly build: () => Model;
  /** Values of the symbolic dims to run at. */
  readonly bindings: readonly Binding[];
  /** Exclusive upper bounds of each int64 input's values (token ids below the vocabulary). */
  readonly ints: Readonly<Record<string, number>>;
  /** The first output's shape at a binding. */
  readonly shape: (d: Binding) => number[];
}

const VOCAB = 50;
const CASES: Record<TransformerZooName, Case> = {
  "minilm": {
    build: () => TRANSFORMER_ZOO["minilm"].build({ layers: 2, hidden: 16, heads: 2, intermediate: 32, vocab: VOCAB, positions: 16 }),
    bindings: [{ batch: 1, sequence: 5 }, { batch: 2, sequence: 9 }],
    ints: { input_ids: VOCAB, attention_mask: 2, token_type_ids: 2 },
    shape: (d) => [d.batch!, d.sequence!, 16],
  },
  "gpt2": {
    build: () => TRANSFORMER_ZOO["gpt2"].build({ layers: 2, hidden: 16, heads: 2, intermediate: 64, vocab: VOCAB, context: 16 }),
    bindings: [{ batch: 1, sequence: 4, past_sequence: 0 }, { batch: 2, sequence: 2, past_sequence: 3 }],
    ints: { input_ids: VOCAB },
    shape: (d) => [d.batch!, d.sequence!, VOCAB],
  },
  "whisper-tiny-encoder": {
    build: () => TRANSFORMER_ZOO["whisper-tiny-encoder"].build({ mels: 8, frames: 16, layers: 2, hidden: 16, heads: 2, intermediate: 32 }),
    bindings: [{ batch: 1 }, { batch: 2 }],
    ints: {},
    shape: (d) => [d.batch!, 8, 16],
  },
  "vit-b16": {
    build: () => TRANSFORMER_ZOO["vit-b16"].build({ size: 32, patch: 8, layers: 2, hidden: 16, heads: 2, intermediate: 32 }),
    bindings: [{ batch: 1 }, { batch: 2 }],
    ints: {},
    shape: (d) => [d.batch!, 17, 16],
  },
};

/** Seeded inputs at a binding: int64 inputs uniform below their bound, floats in [-1, 1). */
function feedsAt(model: Model, c: Case, d: Binding, seed = 3): Record<string, Tensor> {
  return Object.fromEntries(model.graph.inputs.map((v, i) => {
    const shape = v.type.shape!.map((dim) => {
      const n = typeof dim === "number" ? dim : d[dim];
      if (n === undefined) throw new Error(`the binding has no value for ${v.name}'s dim ${dim}`);
      return n;
    });
    if (v.type.dtype !== "int64") return [v.name, randomTensor(v.type.dtype, shape, seed + i)];
    const hi = c.ints[v.name];
    if (hi === undefined) throw new Error(`no value bound for the int64 input ${v.name}`);
    return [v.name, randomTensor("int64", shape, seed + i, 0, hi)];
  }));
}

const show = (d: Binding) => Object.entries(d).map(([k, v]) => `${k} ${v}`).join(", ");

async function run(model: Model | Uint8Array, feeds: Record<string, Tensor>, backend: Backend = "reference"): Promise<Record<string, Tensor>> {
  const session = await InferenceSession.create(model, { backend, threads: 2 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function assertClose(got: Record<string, Tensor>, want: Record<string, Tensor>, tolerance: number, what: string): void {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${what}: output names`);
  for (const [name, t] of Object.entries(want)) {
    const err = worst(got[name]!, t);
    assert.ok(err < tolerance, `${what}: ${name} differs by ${err}`);
  }
}

async function runOrt(bytes: Uint8Array, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const peer = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const out = await peer.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data, [...t.shape])])));
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, new Tensor("float32", v.dims as number[], v.data as Float32Array)]));
  } finally {
    await peer.release();
  }
}

describe("zoo transformers at small sizes", { timeout: 600_000 }, () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: compiled wasm within 1e-4 of the reference at ${c.bindings.map(show).join("; ")}, on one session`, async (t) => {
      const model = c.build();
      verifyGraph(model.graph);
      const session = await InferenceSession.create(model, { backend: "wasm", threads: 2 });
      try {
        // Back to the first binding at the end: a session keeps one program per binding.
        for (const d of [...c.bindings, c.bindings[0]!]) {
          const feeds = feedsAt(model, c, d);
          const want = await run(model, feeds);
          assert.deepEqual(want[model.graph.outputs[0]!.name]!.shape, c.shape(d));
          assertClose(await session.run(feeds), want, 1e-4, show(d));
        }
        // Nodes left to the reference interpreter are another task's (issue 18); shown, not asserted.
        t.diagnostic(`fallbacks: ${[...new Set(await session.fallbacks())].join("; ") || "none"}`);
      } finally {
        await session.release();
      }
    });

    it(`${name}: onnxruntime-node runs the exported ONNX within 1e-4 of the reference`, async () => {
      const model = c.build();
      const bytes = exportOnnx(model);
      for (const d of c.bindings) {
        const feeds = feedsAt(model, c, d);
        assertClose(await runOrt(bytes, feeds), await run(model, feeds), 1e-4, show(d));
      }
    });

    it(`${name}: exported to ONNX and imported back, keeps its symbolic inputs and computes the same outputs`, async () => {
      const model = c.build();
      const back = importOnnx(exportOnnx(model));
      assert.deepEqual(back.graph.inputs, model.graph.inputs);
      assert.deepEqual(back.graph.outputs.map((o) => o.name), model.graph.outputs.map((o) => o.name));
      const feeds = feedsAt(model, c, c.bindings[1]!);
      const [want, got] = [await run(model, feeds), await run(back, feeds)];
      for (const [out, v] of Object.entries(want)) assert.deepEqual(got[out]!.numbers(), v.numbers(), out);
    });
  }
});

/** GPT-2's feeds for tokens `ids` [batch, n] after the `present` outputs of an earlier run (none: an empty cache). */
function decoderFeeds(model: Model, ids: Tensor, past?: Record<string, Tensor>): Record<string, Tensor> {
  const [batch] = ids.shape as [number, number];
  const feeds: Record<string, Tensor> = { input_ids: ids };
  for (const v of model.graph.inputs.slice(1)) {
    const shape = v.type.shape!.map((dim) => (dim === "batch" ? batch : dim === "past_sequence" ? 0 : dim)) as number[];
    feeds[v.name] = past?.[v.name.replace("past_key_values", "present")] ?? new Tensor("float32", shape, new Float32Array(0));
  }
  return feeds;
}

/** Positions [from, to) of axis `axis`. */
function slice(t: Tensor, axis: number, from: number, to: number): Tensor {
  const shape = [...t.shape];
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1), inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const src = t.data as Float32Array, out = new Float32Array(outer * (to - from) * inner);
  for (let o = 0; o < outer; o++) out.set(src.subarray((o * shape[axis]! + from) * inner, (o * shape[axis]! + to) * inner), o * (to - from) * inner);
  shape[axis] = to - from;
  return new Tensor("float32", shape, out);
}

/** Tokens [from, to) of int64 ids [batch, n]. */
function slice64(ids: Tensor, from: number, to: number): Tensor {
  const [batch, n] = ids.shape as [number, number];
  const v = ids.numbers();
  return Tensor.fromNumbers("int64", [batch, to - from], Array.from({ length: batch * (to - from) }, (_, i) => v[Math.floor(i / (to - from)) * n + from + (i % (to - from))]!));
}

describe("zoo transformers mean what they model", { timeout: 600_000 }, () => {
  for (const backend of ["reference", "wasm"] as const) {
    it(`gpt2 on ${backend}: a 5-token prompt at once equals its first 3 tokens, then 2 more fed the cache`, async () => {
      const model = CASES["gpt2"].build();
      const ids = randomTensor("int64", [2, 5], 11, 0, VOCAB);
      const whole = await run(model, decoderFeeds(model, ids), backend);
      const first = await run(model, decoderFeeds(model, slice64(ids, 0, 3)), backend);
      const rest = await run(model, decoderFeeds(model, slice64(ids, 3, 5), first), backend);
      const err = worst(rest["logits"]!, slice(whole["logits"]!, 1, 3, 5));
      assert.ok(err < 1e-5, `the cached step's logits differ by ${err}`);
      for (const [out, v] of Object.entries(rest)) if (out !== "logits") assert.ok(worst(v, whole[out]!) < 1e-5, `${out} differs`);
      // Causal: the first 3 tokens' logits do not see the 2 after them.
      assert.ok(worst(first["logits"]!, slice(whole["logits"]!, 1, 0, 3)) < 1e-5);
    });
  }

  it("minilm: a padded token changes nothing at the others, an attended one does", async () => {
    const model = CASES["minilm"].build();
    const ids = randomTensor("int64", [1, 6], 5, 0, VOCAB);
    const mask = Tensor.fromNumbers("int64", [1, 6], [1, 1, 1, 1, 0, 0]);
    const types = Tensor.fromNumbers("int64", [1, 6], [0, 0, 0, 1, 1, 1]);
    const hidden = async (tokens: readonly number[]) =>
      slice((await run(model, { input_ids: Tensor.fromNumbers("int64", [1, 6], tokens), attention_mask: mask, token_type_ids: types }))["last_hidden_state"]!, 1, 0, 4);
    const base = [...ids.numbers()];
    const want = await hidden(base);
    assert.deepEqual((await hidden([...base.slice(0, 5), (base[5]! + 1) % VOCAB])).data, want.data, "a padded token changed the attended ones");
    assert.ok(worst(await hidden([(base[0]! + 1) % VOCAB, ...base.slice(1)]), want) > 1e-3, "an attended token changed nothing");
  });
});

/** Parameters (Hugging Face's counts without the poolers) and the first output's static dims (symbolic as null) at the real sizes. */
const REAL: Record<TransformerZooName, { readonly params: number; readonly shape: readonly (number | null)[] }> = {
  "minilm": { params: 22_565_376, shape: [null, null, 384] },
  "gpt2": { params: 124_439_808, shape: [null, null, 50257] },
  "whisper-tiny-encoder": { params: 8_208_384, shape: [null, 1500, 384] },
  "vit-b16": { params: 85_798_656, shape: [null, 197, 768] },
};

describe("zoo transformers at real sizes", { timeout: 120_000 }, () => {
  for (const [name, want] of Object.entries(REAL)) {
    it(`${name}: ${want.params.toLocaleString("en")} parameters, output [${want.shape.map((d) => d ?? "?").join(", ")}]`, () => {
      const model = TRANSFORMER_ZOO[name as TransformerZooName].build();
      const params = [...model.graph.initializers.values()].filter((t) => t.dtype === "float32" && t.shape.length > 0).reduce((s, t) => s + t.data.length, 0);
      assert.equal(params, want.params);
      const shape = inferModel(model).graph.outputs[0]!.type.shape!;
      assert.deepEqual(shape.map((d) => (typeof d === "number" ? d : null)), want.shape);
    });
  }
});
