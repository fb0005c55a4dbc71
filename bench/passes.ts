/**
 * How long the graph optimizer takes on a model (default light_resnet50): median of N runs
 * after one warm-up, each pass timed. Usage: npm run bench:passes -- [model.onnx] [--runs N] [--json]
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { positiveInt } from "./args.js";
import { importOnnx } from "../src/frontend/onnx/import.js";
import { optimize } from "../src/passes/pipeline.js";
import { median } from "./stats.js";

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: "string", default: "5" },
    json: { type: "boolean", default: false },
  },
});
const runs = positiveInt("--runs", opts.runs);
const model = positionals[0] ?? join("..", "shared", "onnx", "light", "light_resnet50.onnx");

const imported = importOnnx(readFileSync(model));
optimize(imported); // warm-up: JIT tier-up
const totals: number[] = [];
const perPass = new Map<string, number[]>();
for (let r = 0; r < runs; r++) {
  const t0 = performance.now();
  const { stats } = optimize(imported, { verify: false });
  totals.push(performance.now() - t0);
  stats.forEach((s, i) => {
    const key = `${i}:${s.pass}`;
    perPass.set(key, [...(perPass.get(key) ?? []), s.ms]);
  });
}
const result = {
  model, runs, medianMs: median(totals),
  passes: [...perPass].map(([k, v]) => ({ pass: k.split(":")[1], medianMs: median(v) })),
};
if (opts.json) console.log(JSON.stringify(result));
else {
  console.log(`${model}: optimizer median ${result.medianMs.toFixed(1)} ms over ${runs} runs`);
  for (const p of result.passes) console.log(`  ${p.pass!.padEnd(16)} ${p.medianMs.toFixed(1)} ms`);
}
