/**
 * The compiling backends against the reference interpreter: the core ONNX conformance tests
 * (the same tests must pass), small conv nets with random weights covering every anchor and
 * default-schedule path (strides, padding, groups, depthwise, channel counts that do not fill a
 * block, residual epilogues, pooling, Gemm, Softmax, Concat) at 1 and 2 threads, and the nine
 * light models (whose constant weights check plumbing and shapes).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { InferenceSession, type Backend } from "../../src/api.js";
import { runConformance } from "../../src/cli/conformance.js";
import { compileModel } from "../../src/compile.js";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import type { Model } from "../../src/ir/graph.js";
import { randomTensor } from "../../src/ir/random.js";
import { Tensor } from "../../src/ir/tensor.js";
import { LIGHT, ROOT, SHARED, worst } from "../helpers.js";

const NODE = join(SHARED, "onnx", "node");
const CORE = join(SHARED, "onnx", "core-tests.txt");
const FALLBACKS = join(ROOT, "docs", "reference-fallbacks.md");

async function differential(model: Model, backend: Backend, threads: number, inputShape: number[]): Promise<void> {
  const x = randomTensor("float32", inputShape, 7, -1, 1);
  const want = await (await InferenceSession.create(model, { backend: "reference" })).run({ x });
  const session = await InferenceSession.create(model, { backend, threads });
  try {
    assert.deepEqual(await session.fallbacks(), []);
    for (let run = 0; run < 2; run++) {
      const got = await session.run({ x });
      for (const [name, t] of Object.entries(want)) {
        const err = worst(got[name]!, t);
        assert.ok(err < 1e-4, `${backend}, ${threads} thread(s), run ${run}: ${name} differs by ${err}`);
      }
    }
    assert.deepEqual(await session.fallbacks(), [], "every node ran as a kernel");
  } finally {
    await session.release();
  }
}

/** A conv net with random weights: `spec` lists its convolutions. */
function convNet(channels: number, convs: readonly { out: number; k: number; stride?: number; pad?: number; group?: number; dilation?: number }[], seed: number): Model {
  const b = new GraphBuilder("net", { "": 17 });
  const w = (shape: number[]) => b.weight(`w${seed++}`, randomTensor("float32", shape, seed, -0.5, 0.5));
  let h = b.input("x", "float32", [1, channels, 13, 11]);
  let c = channels;
  for (const s of convs) {
    const group = s.group ?? 1;
    const y = b.node("Conv", [h, w([s.out, c / group, s.k, s.k]), w([s.out])], {
      pads: Array(4).fill(s.pad ?? 0), strides: [s.stride ?? 1, s.stride ?? 1], group, dilations: [s.dilation ?? 1, s.dilation ?? 1],
    });
    // A residual when the shapes allow it, so the epilogue reads a second tensor.
    h = b.node("Relu", [s.out === c && (s.stride ?? 1) === 1 && s.k === 2 * (s.pad ?? 0) + 1 ? b.node("Add", [y, h]) : y]);
    c = s.out;
  }
  b.output(h);
  return b.build();
}

const NETS: Record<string, Model> = {
  "3x3 pad 1, residual": convNet(8, [{ out: 8, k: 3, pad: 1 }, { out: 8, k: 3, pad: 1 }], 1),
  "stride 2, 7x7, channels not a multiple of 4": convNet(3, [{ out: 6, k: 7, stride: 2, pad: 3 }, { out: 5, k: 1 }], 2),
  "1x1, grouped, depthwise, dilated": convNet(8, [{ out: 16, k: 1 }, { out: 16, k: 3, pad: 1, group: 4 }, { out: 16, k: 3, pad: 2, group: 16, dilation: 2 }], 3),
  // Groups whose channels do not fill blocks of 4: dense with a block-diagonal weight (3 and 2
  // groups), and lane by lane (9 groups).
  "groups not filling channel blocks": convNet(6, [{ out: 9, k: 3, pad: 1, group: 3 }, { out: 18, k: 1, group: 9 }, { out: 12, k: 1, group: 2 }], 4),
};

function classifier(): Model {
  const b = new GraphBuilder("classifier", { "": 17 });
  const w = (name: string, shape: number[], seed: number) => b.weight(name, randomTensor("float32", shape, seed, -0.5, 0.5));
  const x = b.input("x", "float32", [1, 4, 12, 12]);
  const c1 = b.node("Relu", [b.node("Conv", [x, w("w1", [8, 4, 3, 3], 1), w("b1", [8], 2)], { pads: [1, 1, 1, 1] })]);
  const p1 = b.node("MaxPool", [c1], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  const p2 = b.node("AveragePool", [c1], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  const cat = b.node("Concat", [p1, p2], { axis: 1 });
  const g = b.node("Flatten", [b.node("GlobalAveragePool", [cat])]);
  const fc = b.node("Gemm", [g, w("fc", [10, 16], 3), w("fcb", [10], 4)], { transB: 1 });
  b.output(b.node("Softmax", [b.node("Tanh", [fc])], { axis: 1 }));
  const m = b.node("MatMul", [b.node("Reshape", [cat, b.weight("shape", Tensor.fromBigInts("int64", [2], [16n, 36n]))]), w("mm", [36, 12], 5)]);
  b.output(b.node("ReduceMean", [b.node("Sigmoid", [m])], { axes: [1], keepdims: 0 }));
  return b.build();
}

/** Normalizations, Gather with constant indices, Split, Tile and DepthToSpace over an image input. */
function normalizer(): Model {
  const b = new GraphBuilder("normalizer", { "": 17 });
  const w = (name: string, shape: number[], seed: number, lo = -0.5) => b.weight(name, randomTensor("float32", shape, seed, lo, 0.5));
  const x = b.input("x", "float32", [1, 4, 12, 12]);
  const bn = b.node("BatchNormalization", [x, w("s", [4], 1), w("b", [4], 2), w("m", [4], 3), w("v", [4], 4, 0.1)]);
  const inorm = b.node("InstanceNormalization", [bn, w("is", [4], 5), w("ib", [4], 6)]);
  const [top, bottom] = b.nodeN("Split", [inorm, b.weight("sizes", Tensor.fromBigInts("int64", [2], [5n, 7n]))], 2, { axis: 2 });
  const picked = b.node("Gather", [top!, b.weight("rows", Tensor.fromBigInts("int64", [3], [4n, -1n, 0n]))], { axis: 2 });
  const d2s = b.node("DepthToSpace", [b.node("Tile", [bottom!, b.weight("reps", Tensor.fromBigInts("int64", [4], [1n, 1n, 2n, 1n]))])], { blocksize: 2, mode: "CRD" });
  b.output(b.node("LayerNormalization", [picked, w("ls", [12], 7), w("lb", [12], 8)], { axis: -1 }));
  b.output(b.node("Sigmoid", [d2s]));
  // LRN's short windows are summed inline, long ones in a stage; beta 0.75 takes square roots.
  b.output(b.node("LRN", [bn], { size: 3, alpha: 0.5, beta: 0.75, bias: 1.5 }));
  b.output(b.node("LRN", [inorm], { size: 17, alpha: 0.3, beta: 0.6, bias: 2.5 }));
  return b.build();
}

for (const backend of ["wasm", "js"] as const) {
  describe(`${backend} backend`, { timeout: 300_000 }, () => {
    for (const [name, model] of Object.entries(NETS)) {
      for (const threads of [1, 2]) it(`conv net (${name}), ${threads} thread(s)`, () => differential(model, backend, threads, [1, model.graph.inputs[0]!.type.shape![1] as number, 13, 11]));
    }
    it("a classifier (pooling, concat, global pooling, Gemm, Softmax, MatMul, ReduceMean), 2 threads", () => differential(classifier(), backend, 2, [1, 4, 12, 12]));
    it("normalizations, LRN, constant Gather, Split, Tile, DepthToSpace, 2 threads", () => differential(normalizer(), backend, 2, [1, 4, 12, 12]));

    it("passes the same core conformance tests as the reference interpreter", async () => {
      const opts = { list: CORE, json: true, timeout: 120 };
      const [ref, got] = [await runConformance(NODE, { ...opts, backend: "reference" }), await runConformance(NODE, { ...opts, backend })];
      const passed = (s: typeof ref) => s.tests.filter((t) => t.status === "passed").map((t) => t.name);
      assert.deepEqual(passed(got), passed(ref));
      assert.equal(got.error, 0);
      // The table lists exactly the ops that fall back to the reference interpreter, with their counts.
      const listed = Object.fromEntries([...readFileSync(FALLBACKS, "utf8").matchAll(/^\| (\S+) \| (\d+) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
      const counted = Object.fromEntries(Object.entries(got.fallbackOps).map(([op, n]) => [op === "model" ? "(model)" : op, n]));
      assert.deepEqual(listed, counted, `${FALLBACKS} must list every op that falls back, with its test count`);
    });
  });
}

describe("weights in kernel layouts", () => {
  it("are packed and placed once when several MatMuls and Gemms share them (an unrolled RNN's steps)", async () => {
    const b = new GraphBuilder("shared", { "": 17 });
    const w = b.weight("w", randomTensor("float32", [16, 16], 3, -0.5, 0.5));
    let h = b.input("x", "float32", [1, 16]);
    for (let step = 0; step < 4; step++) h = b.node("Tanh", [b.node(step % 2 ? "Gemm" : "MatMul", [h, w])]);
    b.output(h);
    const model = b.build();
    const compiled = await compileModel(model, "wasm");
    // The 16x16 weights once (as 16 x 16 panels), not once per step.
    assert.deepEqual(compiled.program.constants.map((c) => c.tensor.data.length), [256]);
    await differential(model, "wasm", 1, [1, 16]);
  });
});

describe("light models on the wasm backend", { timeout: 900_000 }, () => {
  for (const file of readdirSync(LIGHT).filter((f) => f.endsWith(".onnx")).sort()) {
    it(`${file} runs fully compiled, matches the reference backend within 1e-4, and Rammer matches op-by-op`, async () => {
      const path = join(LIGHT, file);
      const session = await InferenceSession.create(path, { backend: "wasm", threads: 2, executor: "op-by-op" });
      const ref = await InferenceSession.create(path, { backend: "reference" });
      try {
        const feeds = Object.fromEntries(session.inputMetadata.map((m, i) => [m.name, randomTensor("float32", m.type.shape as number[], i + 3, 0, 1)]));
        const [got, want] = [await session.run(feeds), await ref.run(feeds)];
        for (const [name, t] of Object.entries(want)) assert.ok(worst(got[name]!, t) < 1e-4, name);
        assert.deepEqual(await session.fallbacks(), []);
        // The Rammer executor runs the same kernels: the same outputs, bit for bit.
        const rammer = await InferenceSession.create(path, { backend: "wasm", threads: 2, executor: "rammer" });
        try {
          const r = await rammer.run(feeds);
          for (const [name, t] of Object.entries(got)) assert.deepEqual(r[name]!.data, t.data, `${name} under the Rammer executor`);
        } finally {
          await rammer.release();
        }
      } finally {
        await session.release();
      }
    });
  }
});
