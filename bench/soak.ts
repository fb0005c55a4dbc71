/**
 * Soak: many runs of one real-weight model on one session, checking that nothing accumulates:
 * RSS (and heap, external memory) and the process's thread count after warm-up and at the end.
 * Exits 1 if RSS grew by 5% or more or the thread count changed.
 *
 *   npm run soak -- [--runs N] [--model NAME] [--json]
 *
 * NAME is a file-backed model of bench/models/suite.ts (default silero-vad-v5).
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { InferenceSession } from "../src/api.js";
import { tuneNodeEngine } from "../src/codegen/wasm/features.js";
import { positiveInt } from "./args.js";
import { inputSpecs, makeFeeds } from "./models/inputs.js";
import { suite } from "./models/suite.js";

const { values: opts } = parseArgs({
  options: {
    runs: { type: "string", default: "10000" },
    model: { type: "string", default: "silero-vad-v5" },
    json: { type: "boolean", default: false },
  },
});
const runs = positiveInt("--runs", opts.runs), name = opts.model, json = opts.json;
const WARMUP = 50;

const entry = suite().find((m) => m.name === name);
if (!entry || !("path" in entry.source)) {
  throw new Error(`--model: no file-backed model "${name}" (${suite().filter((m) => "path" in m.source).map((m) => m.name).join(", ")})`);
}

/** The process's thread count (Linux; null elsewhere). */
function threads(): number | null {
  try {
    const m = /^Threads:\s+(\d+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

const sample = () => {
  const m = process.memoryUsage();
  return { rssMB: m.rss / 2 ** 20, heapUsedMB: m.heapUsed / 2 ** 20, externalMB: m.external / 2 ** 20, threads: threads() };
};

await tuneNodeEngine();
const session = await InferenceSession.create(entry.source.path);
const feeds = makeFeeds(inputSpecs(session.model, entry.inputs));
for (let i = 0; i < WARMUP; i++) await session.run(feeds);
// With --expose-gc (npm run soak) the samples see live memory, not garbage yet to be collected.
global.gc?.();
const start = sample();
const t0 = performance.now();
for (let i = 0; i < runs; i++) await session.run(feeds);
const seconds = (performance.now() - t0) / 1000;
global.gc?.();
const end = sample();
await session.release();

const growth = (a: number, b: number) => (100 * (b - a)) / a;
const result = {
  model: name, runs, cpu: cpus()[0]?.model ?? "unknown", executor: session.executor, threads: session.threads,
  msPerRun: (1000 * seconds) / runs, start, end,
  growthPercent: { rss: growth(start.rssMB, end.rssMB), heapUsed: growth(start.heapUsedMB, end.heapUsedMB), external: growth(start.externalMB, end.externalMB) },
};
const failed = result.growthPercent.rss >= 5 || start.threads !== end.threads;
if (json) console.log(JSON.stringify(result));
else {
  const row = (label: string, s: typeof start) =>
    `${label.padEnd(6)} rss ${s.rssMB.toFixed(1)} MB  heap ${s.heapUsedMB.toFixed(1)} MB  external ${s.externalMB.toFixed(1)} MB  threads ${s.threads ?? "?"}`;
  console.log(`${name}: ${runs} runs on ${result.cpu} (${result.executor}, ${result.threads} threads), ${result.msPerRun.toFixed(3)} ms per run`);
  console.log(row("start", start));
  console.log(row("end", end));
  const g = result.growthPercent;
  console.log(`growth rss ${g.rss.toFixed(2)}%  heap ${g.heapUsed.toFixed(2)}%  external ${g.external.toFixed(2)}%  threads ${start.threads} -> ${end.threads}`);
  console.log(failed ? "FAIL: RSS grew by 5% or more, or the thread count changed" : "ok");
}
process.exit(failed ? 1 : 0);
