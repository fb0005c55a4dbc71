/**
 * `npm run fuzz -- [--seconds N] [--seed S] ...`: mutate the light models, the npm models and the
 * node tests, run each case in a capped child process, classify, save failing cases, print the
 * counts (beside onnxruntime-node's with --ort). Exit code 1 on any untyped error, mismatch, hang or crash.
 * `--replay FILE|DIR` reruns saved cases (their .json) instead.
 */
import { Command, InvalidArgumentError } from "commander";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { BACKENDS, type Backend } from "../src/api.js";
import { loadSample } from "./corpus.js";
import { FAILING, runCase, runFuzz, type CaseRecord, type FuzzSummary } from "./fuzz.js";
import { Worker } from "./pool.js";
import { formatSummary, signature } from "./report.js";

const integer = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("not a non-negative integer");
  return n;
};

const program = new Command("fuzz")
  .option("--seconds <n>", "time budget", integer, 60)
  .option("--seed <s>", "run seed (case i of a seed is always the same case)", integer, 1)
  .option("--cases <n>", "stop after this many cases", integer)
  .option("--from <i>", "first case index", integer, 0)
  .option("--backend <b>", `kiln backend (${BACKENDS.join(", ")})`, "wasm")
  .option("--threads <n>", "kiln threads per session", integer, 2)
  .option("--workers <n>", "cases run at once (each in its own child)", integer, 2)
  // VGG-19 compiled (1.7 GB resident) beside its reference check (1.9 GB) needs 3.6 GB: the cap
  // is there to catch runaway allocations, not models of that size.
  .option("--memory <mb>", "resident memory cap per child, MiB", integer, 6144)
  .option("--out <dir>", "where failing cases are saved", "fuzz/cases")
  .option("--ort", "also run every case on onnxruntime-node", false)
  .option("--json <file>", "write every case's record as JSON")
  .option("--replay <path>", "rerun saved cases: a .json/.onnx file or a directory of them")
  .parse();

const opts = program.opts<{
  seconds: number; seed: number; cases?: number; from: number; backend: string; threads: number; workers: number;
  memory: number; out: string; ort: boolean; json?: string; replay?: string;
}>();
if (!BACKENDS.includes(opts.backend as Backend)) program.error(`--backend must be one of ${BACKENDS.join(", ")}`);
const backend = opts.backend as Backend;

async function replay(path: string): Promise<FuzzSummary> {
  const files = statSync(path).isDirectory()
    ? readdirSync(path).filter((f) => f.endsWith(".json")).sort((a, b) => parseInt(a, 10) - parseInt(b, 10)).map((f) => join(path, f))
    : [path.replace(/\.onnx$/, ".json")];
  const kiln = new Worker(opts.memory * 2 ** 20);
  const peer = opts.ort ? new Worker(opts.memory * 2 ** 20) : null;
  const t0 = performance.now();
  const records: CaseRecord[] = [];
  try {
    for (const f of files) {
      const saved = JSON.parse(readFileSync(f, "utf8")) as CaseRecord & { saved: string };
      const bytes = new Uint8Array(readFileSync(join(dirname(f), saved.saved)));
      const c = { ...saved, bytes, sample: loadSample(saved.source, saved.model) };
      const r = await runCase(c, { backend, threads: opts.threads, ort: opts.ort }, kiln, peer);
      records.push({ ...r, saved: basename(f) });
      console.log(`${basename(f)}: was ${saved.kiln}, now ${signature(r)}`);
    }
  } finally {
    kiln.close();
    peer?.close();
  }
  return { seed: -1, backend, cases: records.length, seconds: (performance.now() - t0) / 1000, records };
}

let lastProgress = performance.now();
const summary = opts.replay ? await replay(opts.replay) : await runFuzz({
  seed: opts.seed, seconds: opts.seconds, ...(opts.cases === undefined ? {} : { cases: opts.cases }), from: opts.from,
  backend, threads: opts.threads, workers: opts.workers, ort: opts.ort, out: opts.out, memoryCapMb: opts.memory,
  onCase: (r, done) => {
    if (FAILING.includes(r.kiln)) console.log(`  ${r.kiln} ${r.saved ?? ""}: ${r.description}: ${r.error?.name}: ${r.error?.message.slice(0, 160)}`);
    if (performance.now() - lastProgress > 10_000) {
      lastProgress = performance.now();
      console.log(`fuzz: ${done} cases`);
    }
  },
});
console.log(formatSummary(summary));
if (summary.records.some((r) => FAILING.includes(r.kiln)) && opts.out && !opts.replay) console.log(`\nfailing cases saved in ${opts.out}/ (rerun: npm run fuzz -- --replay ${opts.out})`);
if (opts.json) writeFileSync(opts.json, JSON.stringify(summary, null, 2) + "\n");
process.exitCode = summary.records.some((r) => FAILING.includes(r.kiln)) ? 1 : 0;
