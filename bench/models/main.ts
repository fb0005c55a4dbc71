/**
 * The model benchmark (issue 6): kiln against onnxruntime-node, onnxruntime-web (wasm) and
 * TensorFlow.js (wasm) on the suite (suite.ts). Every runtime runs each model in a child process
 * of its own, onnxruntime-node first so the others' outputs can be checked against it. Prints a
 * table of kiln's ratios and writes latest.md and latest.svg to the output folder.
 *
 *   npm run bench -- [--models REGEX] [--runs N] [--json FILE] [--out DIR] [--timeout S]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { positiveInt } from "../args.js";
import cliProgress from "cli-progress";
import { exportOnnx } from "../../src/frontend/onnx/export.js";
import { importOnnx } from "../../src/frontend/onnx/import.js";
import { ZOO } from "../../src/zoo/index.js";
import { ROOT } from "../../test/helpers.js";
import type { WireTensor } from "./child.js";
import { type InputSpec, inputSpecs } from "./inputs.js";
import { machine } from "./machine.js";
import { markdownReport, textReport } from "./report.js";
import { type ModelResult, type Results, type RuntimeResult, geomeans } from "./results.js";
import { RUNTIMES, type RuntimeName } from "./runtimes.js";
import { runJob } from "./spawn.js";
import { type SuiteModel, suite } from "./suite.js";
import { svgChart } from "./svg.js";

const THREADS = 2;

const { values: opts } = parseArgs({
  options: {
    models: { type: "string", default: "." },
    runs: { type: "string", default: "20" },
    json: { type: "string" },
    out: { type: "string", default: join(ROOT, "bench", "results") },
    timeout: { type: "string", default: "600" },
  },
});
const runs = positiveInt("--runs", opts.runs), timeoutS = Number(opts.timeout);
if (!(timeoutS > 0)) throw new Error(`--timeout must be a positive number of seconds, got ${opts.timeout}`);
const only = new RegExp(opts.models);
const models = suite().filter((m) => only.test(m.name));
if (models.length === 0) throw new Error(`no model matches /${opts.models}/; the suite: ${suite().map((m) => m.name).join(", ")}`);

const started = machine();
const tmp = mkdtempSync(join(tmpdir(), "kiln-bench-"));

/** The model file a child reads, and its inputs. Zoo models are exported here, once. */
function prepare(m: SuiteModel): { path: string; inputs: InputSpec[] } {
  if ("zoo" in m.source) {
    const model = ZOO[m.source.zoo].build();
    const path = join(tmp, `${m.name}.onnx`);
    writeFileSync(path, exportOnnx(model));
    return { path, inputs: inputSpecs(model, m.inputs) };
  }
  return { path: m.source.path, inputs: inputSpecs(importOnnx(new Uint8Array(readFileSync(m.source.path))), m.inputs) };
}

const bar = new cliProgress.SingleBar({
  format: "{bar} {value}/{total} | {duration_formatted} | {model} {runtime}",
  noTTYOutput: true, notTTYSchedule: 10_000, hideCursor: true,
}, cliProgress.Presets.shades_classic);
bar.start(models.length * RUNTIMES.length, 0, { model: "", runtime: "" });

async function benchModel(m: SuiteModel): Promise<ModelResult> {
  const runtimes = {} as Record<RuntimeName, RuntimeResult>;
  let prepared: ReturnType<typeof prepare>;
  try {
    prepared = prepare(m);
  } catch (e) {
    for (const name of RUNTIMES) runtimes[name] = { error: `cannot prepare the model: ${(e as Error).message}` };
    bar.increment(RUNTIMES.length);
    return { name: m.name, inputs: [], runtimes };
  }
  let reference: Record<string, WireTensor> | undefined;
  for (const runtime of RUNTIMES) {
    bar.update({ model: m.name, runtime });
    if (runtime === "tfjs" && !reference) {
      // tfjs's translation is only trusted (and timed) when it agrees with onnxruntime-node.
      runtimes[runtime] = { error: "not verified: onnxruntime-node gave no reference outputs" };
    } else {
      const reply = await runJob({
        // onnxruntime-node runs first, before there is a reference.
        runtime, modelPath: prepared.path, inputs: prepared.inputs, runs, threads: THREADS, reference,
        strict: runtime === "tfjs", returnOutputs: runtime === "ort-node",
      }, timeoutS * 1000);
      if ("ok" in reply) {
        const { outputs, ...r } = reply.ok;
        if (runtime === "ort-node") reference = outputs;
        runtimes[runtime] = r;
      } else runtimes[runtime] = reply;
    }
    bar.increment();
  }
  return { name: m.name, inputs: prepared.inputs.map(({ name, dtype, shape }) => ({ name, dtype, shape })), runtimes };
}

const done: ModelResult[] = [];
try {
  for (const m of models) done.push(await benchModel(m));
} finally {
  bar.stop();
  rmSync(tmp, { recursive: true, force: true });
}

const results: Results = { machine: started, settings: { runs, threads: THREADS, timeoutS }, models: done, geomean: geomeans(done) };
console.log(textReport(results));
mkdirSync(opts.out, { recursive: true });
writeFileSync(join(opts.out, "latest.md"), markdownReport(results));
writeFileSync(join(opts.out, "latest.svg"), svgChart(results));
// Four significant digits are more than the timings can carry.
if (opts.json) writeFileSync(opts.json, JSON.stringify(results, (_, v: unknown) => (typeof v === "number" && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v), 2) + "\n");
