/**
 * Kernel throughput: this machine's wasm SIMD peak (measured first, in the same run), then
 * SGEMM 1024^3 and ResNet-50's convolutions on 1 and 2 threads, kiln's kernels (src/lower/)
 * against onnxruntime-web's wasm backend running the same op as a one-node ONNX model. Each
 * figure is the median of interleaved kiln / onnxruntime-web rounds after a warm-up (each timed
 * run after the other runtime's threads have gone quiet: timing.ts).
 * onnxruntime-web fixes its thread count when its wasm starts, so each thread count runs in a
 * child process of its own (kiln and onnxruntime-web side by side in it).
 *
 * Usage: npm run bench:kernels -- [--json] [--rounds N] [--only <name prefix>]
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { positiveInt } from "./args.js";
import { detectFeatures, tuneNodeEngine } from "../src/codegen/wasm/features.js";
import { CASES } from "./kernel-cases.js";
import { KilnRunner } from "./kiln-runner.js";
import { OrtRunner } from "./ort-runner.js";
import { measurePeak } from "./peak.js";
import { median } from "./stats.js";
import { settledRun } from "./timing.js";

interface Row { name: string; threads: number; kilnMs: number; ortWebMs: number; flops: number }

const { values: opts } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    rounds: { type: "string", default: "9" },
    only: { type: "string" },
    child: { type: "string" },
  },
});
const rounds = positiveInt("--rounds", opts.rounds);
const only = opts.only;
await tuneNodeEngine();
const cases = CASES.filter((c) => only === undefined || c.name.startsWith(only));
const WARMUP = 4;

async function measure(threads: number): Promise<Row[]> {
  const features = await detectFeatures();
  const rows: Row[] = [];
  for (const c of cases) {
    const k = c.kiln(), o = c.onnx();
    const kiln = await KilnRunner.create(k.kernel, k.inputs, threads, features);
    const ortWeb = await OrtRunner.create(o.model, o.feeds, threads);
    for (let i = 0; i < WARMUP; i++) { await kiln.run(); await ortWeb.run(); }
    const kilnMs: number[] = [], ortMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      kilnMs.push(await settledRun(() => kiln.run()));
      ortMs.push(await settledRun(() => ortWeb.run()));
    }
    await kiln.close();
    await ortWeb.close();
    rows.push({ name: c.name, threads, kilnMs: median(kilnMs), ortWebMs: median(ortMs), flops: c.flops });
  }
  return rows;
}

const child = opts.child;
if (child !== undefined) {
  console.log(JSON.stringify(await measure(Number(child))));
  process.exit(0);
}

const features = await detectFeatures();
const peakGflops = await measurePeak(features);
const script = fileURLToPath(import.meta.url);
const rows = [1, 2].flatMap((threads): Row[] => {
  const out = execFileSync(process.execPath, [script, "--child", String(threads), "--rounds", String(rounds), ...(only ? ["--only", only] : [])], { encoding: "utf8", maxBuffer: 1 << 24 });
  return JSON.parse(out.trim().split("\n").pop()!) as Row[];
});
const kernels = rows.map((r) => {
  const gflops = r.flops / r.kilnMs / 1e6;
  return { name: r.name, threads: r.threads, gflops, fractionOfPeak: gflops / peakGflops, ortWebMs: r.ortWebMs, kilnMs: r.kilnMs, vsOrtWeb: r.ortWebMs / r.kilnMs };
});
if (opts.json) console.log(JSON.stringify({ peakGflops, kernels }));
else {
  console.log(`wasm SIMD peak (1 thread, ${features.relaxedSimd ? "relaxed madd" : "mul+add"}): ${peakGflops.toFixed(1)} GFLOP/s; medians of ${rounds} interleaved rounds`);
  console.log(`${"kernel".padEnd(28)} thr   kiln ms  GFLOP/s  of peak   ort-web ms  vs ort-web`);
  for (const k of kernels) {
    console.log(`${k.name.padEnd(28)} ${String(k.threads).padStart(3)} ${k.kilnMs.toFixed(2).padStart(9)} ${k.gflops.toFixed(1).padStart(8)} ${(100 * k.fractionOfPeak).toFixed(0).padStart(7)}% ${k.ortWebMs.toFixed(2).padStart(12)} ${k.vsOrtWeb.toFixed(2).padStart(10)}x`);
  }
}
