/**
 * Rammer against op-by-op execution (same kernels, same 2 threads) and against onnxruntime-web's
 * wasm backend (SIMD, 2 threads) on the identical model exported to ONNX, in one process: median
 * of interleaved runs after warm-up, each timed once the other runtimes' threads are quiet
 * (timing.ts). Synchronisations per inference: op-by-op pays one barrier per
 * kernel; Rammer one per launch plus the waits that actually blocked.
 *
 *   npm run bench:rammer -- [--models REGEX] [--runs N] [--json]
 */
import { join } from "node:path";
import { InferenceSession } from "../src/api.js";
import { tuneNodeEngine } from "../src/codegen/wasm/features.js";
import { exportOnnx } from "../src/frontend/onnx/export.js";
import { importOnnx } from "../src/frontend/onnx/import.js";
import type { Model } from "../src/ir/graph.js";
import { randomTensor } from "../src/ir/random.js";
import type { Tensor } from "../src/ir/tensor.js";
import { RAMMER_ZOO, type RammerZooName } from "../src/zoo/index.js";
import { OrtRunner } from "./ort-runner.js";
import { median } from "./stats.js";
import { settledRun } from "./timing.js";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { positiveInt } from "./args.js";

const THREADS = 2;
const { values: opts } = parseArgs({
  options: {
    models: { type: "string", default: "." },
    runs: { type: "string", default: "10" },
    json: { type: "boolean", default: false },
  },
});
const runs = positiveInt("--runs", opts.runs);
const only = new RegExp(opts.models);
const json = opts.json;
await tuneNodeEngine();

const MODELS: Record<string, () => Model> = {
  ...Object.fromEntries((Object.keys(RAMMER_ZOO) as RammerZooName[]).map((n) => [n, () => RAMMER_ZOO[n].build()])),
  light_resnet50: () => importOnnx(readFileSync(join("..", "shared", "onnx", "light", "light_resnet50.onnx"))),
};

interface Row {
  name: string; rammerMs: number; opByOpMs: number; speedup: number;
  syncsRammer: number; syncsOpByOp: number; ortWebMs: number | null; vsOrtWeb: number | null;
}

async function measure(name: string, model: Model): Promise<Row> {
  const feeds: Record<string, Tensor> = Object.fromEntries(model.graph.inputs.map((v, i) => [v.name, randomTensor("float32", v.type.shape as number[], i + 1, -1, 1)]));
  const [opByOp, rammer] = [
    await InferenceSession.create(model, { threads: THREADS, executor: "op-by-op" }),
    await InferenceSession.create(model, { threads: THREADS, executor: "rammer" }),
  ];
  let ort: OrtRunner | null = null;
  try {
    ort = await OrtRunner.create(exportOnnx(model), Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, { data: t.data as Float32Array, dims: [...t.shape] }])), THREADS);
  } catch (e) {
    if (!json) console.error(`${name}: onnxruntime-web cannot run it: ${(e as Error).message}`);
  }
  const bound = new Map(Object.entries(feeds));
  const [a, b] = [await opByOp.compiledFor(bound), await rammer.compiledFor(bound)];
  if (a.kind !== "compiled" || b.kind !== "compiled") throw new Error(`${name} does not compile`);
  for (let i = 0; i < 3; i++) { await opByOp.run(feeds); await rammer.run(feeds); await ort?.run(); }
  // Synchronisations per inference, counted over runs of their own (settledRun's untimed runs vary in number).
  const syncs = async (s: InferenceSession, e: typeof a.executor, blocked: boolean) => {
    const before = e.stats;
    for (let i = 0; i < runs; i++) await s.run(feeds);
    const after = e.stats;
    return (after.poolSteps - before.poolSteps + (blocked ? after.blockedWaits - before.blockedWaits : 0)) / runs;
  };
  const syncsOpByOp = await syncs(opByOp, a.executor, false);
  const syncsRammer = await syncs(rammer, b.executor, true);
  const t: number[][] = [[], [], []];
  for (let i = 0; i < runs; i++) {
    t[0]!.push(await settledRun(() => opByOp.run(feeds)));
    t[1]!.push(await settledRun(() => rammer.run(feeds)));
    if (ort) t[2]!.push(await settledRun(() => ort!.run()));
  }
  await Promise.all([opByOp.release(), rammer.release(), ort?.close()]);
  const [opByOpMs, rammerMs] = [median(t[0]!), median(t[1]!)];
  const ortWebMs = ort ? median(t[2]!) : null;
  return { name, rammerMs, opByOpMs, speedup: opByOpMs / rammerMs, syncsRammer, syncsOpByOp, ortWebMs, vsOrtWeb: ortWebMs === null ? null : ortWebMs / rammerMs };
}

const rows: Row[] = [];
for (const [name, build] of Object.entries(MODELS)) {
  if (!only.test(name)) continue;
  if (!json) process.stderr.write(`${name}...\n`);
  rows.push(await measure(name, build()));
}
if (json) console.log(JSON.stringify({ threads: THREADS, runs, models: rows }));
else {
  const f = (x: number | null, d = 2) => (x === null ? "n/a" : x.toFixed(d));
  console.log(`median of ${runs} interleaved runs, ${THREADS} threads`);
  console.log("model            rammer ms  op-by-op ms  speedup  syncs rammer  syncs op-by-op  ort-web ms  vs ort-web");
  for (const r of rows) {
    console.log(`${r.name.padEnd(16)} ${f(r.rammerMs).padStart(9)}  ${f(r.opByOpMs).padStart(11)}  ${f(r.speedup).padStart(7)}  ${f(r.syncsRammer, 0).padStart(12)}  ${f(r.syncsOpByOp, 0).padStart(14)}  ${f(r.ortWebMs).padStart(10)}  ${f(r.vsOrtWeb).padStart(10)}`);
  }
}
