/**
 * The Rammer executor against op-by-op execution: the same kernels, so bit-identical outputs,
 * on every zoo model (small sizes) and the tiny CNN; one launch per run of kernels; and a stress
 * test that runs each model many times with 1 to 4 vEUs and checks every output, so that a
 * missing Wait or a memory-ordering bug shows. Runs alternate between two sets of inputs, so a
 * kernel that skipped its work would leave the other set's outputs behind, not the right ones.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { join } from "node:path";
import { InferenceSession, type SessionOptions } from "../../src/api.js";
import { runConformance } from "../../src/cli/conformance.js";
import { clustersOf, planClusters } from "../../src/rammer/clustered.js";
import { dynamicOps } from "../../src/rammer/launch.js";
import { type Policy, opByOp } from "../../src/rammer/policies.js";
import type { Model } from "../../src/ir/graph.js";
import { rng } from "../../src/ir/random.js";
import type { Tensor } from "../../src/ir/tensor.js";
import { ZOO } from "../../src/zoo/index.js";
import { tinyCnn } from "../../src/zoo/tiny-cnn.js";
import { NODE_TESTS } from "../helpers.js";
import { SMALL, feedsFor } from "../zoo/cases.js";

const MODELS: Record<string, () => Model> = { "tiny-cnn": tinyCnn, ...Object.fromEntries(Object.entries(SMALL).map(([k, c]) => [k, c.build])) };
/** Runs per model in the stress test, each on a session of 1 to 4 vEUs picked at random. */
const STRESS_RUNS = 1000;

/** The model with its first input's batch dimension bound to `n` (for the inputs only: shapes stay symbolic in the model). */
const withBatch = (model: Model, n: number): Model =>
  ({ ...model, graph: { ...model.graph, inputs: model.graph.inputs.map((v) => ({ ...v, type: { ...v.type, shape: [n, ...(v.type.shape ?? []).slice(1)] } })) } });

function assertSame(got: Record<string, Tensor>, want: Record<string, Tensor>, what: string): void {
  for (const [name, t] of Object.entries(want)) {
    const a = got[name]!.numbers(), b = t.numbers();
    const bad = a.findIndex((x, i) => !Object.is(x, b[i]));
    assert.equal(bad, -1, `${what}: ${name}[${bad}] = ${a[bad]}, op-by-op gives ${b[bad]}`);
  }
}

type Compiled = Awaited<ReturnType<InferenceSession["compiledFor"]>>;

/**
 * `model` on Rammer sessions of 2, 3 and 4 vEUs (`options` added) against op-by-op: `check` sees
 * each session's program (and op-by-op's), then 300 runs, each on a session picked at random,
 * alternate the two input sets and compare every output.
 */
async function stressTwoToFourVeus(model: Model, feedSets: readonly Record<string, Tensor>[], options: SessionOptions, seed: number,
  check: (c: Compiled, byOp: Compiled) => void): Promise<void> {
  const ref = await InferenceSession.create(model, { threads: 2, executor: "op-by-op" });
  const sessions = await Promise.all([2, 3, 4].map((veus) => InferenceSession.create(model, { ...options, threads: veus, executor: "rammer" })));
  try {
    const wants = [await ref.run(feedSets[0]!), await ref.run(feedSets[1]!)];
    const byOp = await ref.compiledFor(new Map(Object.entries(feedSets[0]!)));
    for (const s of sessions) check(await s.compiledFor(new Map(Object.entries(feedSets[0]!))), byOp);
    const r = rng(seed);
    for (let run = 0; run < 300; run++) {
      const k = Math.floor(r() * sessions.length);
      assertSame(await sessions[k]!.run(feedSets[run % 2]!), wants[run % 2]!, `${k + 2} vEUs, run ${run}`);
    }
  } finally {
    await Promise.all([ref.release(), ...sessions.map((s) => s.release())]);
  }
}

describe("Rammer executor", { timeout: 900_000 }, () => {
  it("passes the same core conformance tests as op-by-op execution", async () => {
    const opts = { list: join(NODE_TESTS, "..", "core-tests.txt"), json: true, timeout: 120, backend: "wasm" } as const;
    const [byOp, rammer] = [await runConformance(NODE_TESTS, opts), await runConformance(NODE_TESTS, { ...opts, executor: "rammer" })];
    const passed = (s: typeof byOp) => s.tests.filter((t) => t.status === "passed").map((t) => t.name);
    assert.deepEqual(passed(rammer), passed(byOp));
    assert.equal(rammer.error, 0);
  });

  for (const [name, build] of Object.entries(MODELS)) {
    it(`${name}: the same outputs as op-by-op, one wake-up per launch, over ${STRESS_RUNS} runs on 1-4 vEUs`, async () => {
      const model = build();
      const fed = name === "tiny-cnn" ? withBatch(model, 1) : model;
      const feedSets = [feedsFor(fed), feedsFor(fed, 100)], feeds = feedSets[0]!;
      const ref = await InferenceSession.create(model, { threads: 2, executor: "op-by-op" });
      try {
        const wants = [await ref.run(feedSets[0]!), await ref.run(feedSets[1]!)];
        const sessions = await Promise.all([1, 2, 3, 4].map((veus) => InferenceSession.create(model, { threads: veus, executor: "rammer" })));
        try {
          const compiled = await Promise.all(sessions.map((s) => s.compiledFor(new Map(Object.entries(feeds)))));
          const r = rng(STRESS_RUNS);
          const runs = [0, 0, 0, 0];
          for (let run = 0; run < STRESS_RUNS; run++) {
            const k = Math.floor(r() * 4);
            runs[k]!++;
            assertSame(await sessions[k]!.run(feedSets[run % 2]!), wants[run % 2]!, `${k + 1} vEU(s), run ${run}`);
          }
          compiled.forEach((c, k) => {
            assert.ok(c.kind === "compiled" && c.rammer);
            assert.equal(c.executor.stats.poolSteps, c.rammer.launches.length * runs[k]!, "one pool step (one wake-up per worker) per launch");
          });
        } finally {
          await Promise.all(sessions.map((s) => s.release()));
        }
      } finally {
        await ref.release();
      }
    });
  }

  it("long operators split across every vEU share their loops dynamically: the same outputs as op-by-op over 300 runs on 2-4 vEUs", async () => {
    // The tiny CNN at batch 32: its convolutions' tasks take well over DYNAMIC_MIN_MS.
    const model = tinyCnn();
    await stressTwoToFourVeus(model, [feedsFor(withBatch(model, 32)), feedsFor(withBatch(model, 32), 100)], {}, 7, (c) => {
      assert.ok(c.kind === "compiled" && c.rammer);
      assert.ok(c.rammer.launches.some((l) => dynamicOps(l).length > 0), `${c.rammer.veus} vEUs: no operator runs dynamically`);
    });
  });

  it("the clusters' plan (each recurrent layer on one vEU, memory without reuse): the same outputs as op-by-op over 300 runs on 2-4 vEUs", async () => {
    // Hidden 96: each layer's recurrent weights (147 KB) are big enough to form a cluster; 40 steps:
    // two input projections per layer, so the layer above can start halfway.
    const model = ZOO["lstm-tc"].build({ layers: 4, hidden: 96, steps: 40, input: 16 });
    const clusters: Policy = (ops, veus) => planClusters(ops, veus, clustersOf(ops) ?? assert.fail("no weights recur"));
    await stressTwoToFourVeus(model, [feedsFor(model), feedsFor(model, 100)], { policy: clusters }, 11, (c, byOp) => {
      assert.ok(c.kind === "compiled" && c.rammer && byOp.kind === "compiled");
      const { memory } = c.compiled;
      assert.equal(memory.arenaBytes, memory.buffers.reduce((n, b) => n + b.bytes, 0), "Rammer's buffers are all apart");
      assert.ok(byOp.compiled.memory.arenaBytes < memory.arenaBytes, "op-by-op's buffers are shared");
      // Whatever a cluster runs whole runs on one vEU.
      for (const l of c.rammer.launches) {
        const cluster = clustersOf(l.ops)!;
        const veusOf = new Map<number, Set<number>>();
        l.program.lists.forEach((list, v) => {
          for (const e of list) {
            if (e.kind !== "task" || e.task.shares !== 1) continue;
            const k = cluster[e.task.op]!;
            veusOf.set(k, (veusOf.get(k) ?? new Set()).add(v));
          }
        });
        assert.ok(veusOf.size >= 4 && [...veusOf.values()].every((vs) => vs.size === 1), `${c.rammer.veus} vEUs: clusters on ${[...veusOf.values()].map((vs) => vs.size)} vEUs`);
        assert.ok(new Set([...veusOf.values()].map((vs) => [...vs][0])).size >= 2, "the layers spread over the vEUs");
      }
    });
  });

  it("plans with the policy given in SessionOptions (here the op-by-op ablation: every task split across all vEUs)", async () => {
    const model = SMALL["seq2seq"]!.build(), feeds = feedsFor(model);
    let planned = 0;
    const policy: Policy = (ops, veus) => { planned++; return opByOp(ops, veus); };
    const [ref, s] = [await InferenceSession.create(model, { threads: 2, executor: "op-by-op" }), await InferenceSession.create(model, { threads: 2, executor: "rammer", policy })];
    try {
      assertSame(await s.run(feeds), await ref.run(feeds), "op-by-op policy");
      const c = await s.compiledFor(new Map(Object.entries(feeds)));
      assert.ok(c.kind === "compiled" && c.rammer);
      assert.equal(planned, c.rammer.launches.length);
      const tasks = c.rammer.launches.flatMap((l) => l.program.lists.flat()).filter((e) => e.kind === "task");
      assert.ok(tasks.length > 0 && tasks.every((e) => e.kind === "task" && e.task.shares === 2));
    } finally {
      await Promise.all([ref.release(), s.release()]);
    }
  });
});
