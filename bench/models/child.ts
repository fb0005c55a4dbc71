/**
 * One runtime on one model, in a process of its own (forked by spawn.ts): load, a first run,
 * warm-up by time, N timed runs and the process's peak RSS. It gets one Job over IPC, replies
 * once and exits.
 */
import { readFileSync } from "node:fs";
import { Tensor } from "../../src/ir/tensor.js";
import { type InputSpec, makeFeeds } from "./inputs.js";
import { type Numerics, compareOutputs } from "./numerics.js";
import { LOADERS, type RuntimeName } from "./runtimes.js";
import { median, p90 } from "../stats.js";

/** A tensor as structured clone delivers it: its fields, without the class. */
export type WireTensor = Pick<Tensor, "dtype" | "shape" | "data">;

export interface Job {
  readonly runtime: RuntimeName;
  readonly modelPath: string;
  readonly inputs: readonly InputSpec[];
  readonly runs: number;
  readonly threads: number;
  /** onnxruntime-node's outputs on the same inputs, to compare with. */
  readonly reference?: Readonly<Record<string, WireTensor>>;
  /** Outputs that disagree with the reference fail the job before any timing. */
  readonly strict: boolean;
  readonly returnOutputs: boolean;
}

export interface Measured {
  readonly loadMs: number;
  readonly firstRunMs: number;
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly peakRssMb: number;
  readonly warmupRuns: number;
  readonly runs: number;
  readonly numerics?: Numerics;
  readonly notes?: Record<string, unknown>;
  readonly outputs?: Record<string, WireTensor>;
}

export type Reply = { readonly ok: Measured } | { readonly error: string };

/**
 * Warm up for at least a second and 20 runs (onnxruntime-web keeps speeding up for hundreds of
 * runs on small models), but no longer than 10 s on slow ones.
 */
const WARMUP = { minRuns: 20, minMs: 1000, capMs: 10_000 };

async function measure(job: Job): Promise<Measured> {
  const bytes = new Uint8Array(readFileSync(job.modelPath));
  const feeds = makeFeeds(job.inputs);
  const reference = job.reference && Object.fromEntries(Object.entries(job.reference).map(([k, t]) => [k, new Tensor(t.dtype, t.shape, t.data)]));
  let t = performance.now();
  const runner = await LOADERS[job.runtime](bytes, feeds, job.threads);
  const loadMs = performance.now() - t;
  t = performance.now();
  let outputs = await runner.run();
  const firstRunMs = performance.now() - t;
  if (job.strict && reference) {
    const n = compareOutputs(outputs, reference);
    if (!n.ok) throw new Error(`disagrees with onnxruntime-node: ${n.detail ?? `max relative error ${n.maxRel.toExponential(2)}, max abs ${n.maxAbs.toExponential(2)}`}`);
  }
  const warmStart = performance.now();
  let warmupRuns = 0;
  for (let e = 0; (warmupRuns < WARMUP.minRuns || e < WARMUP.minMs) && e < WARMUP.capMs; e = performance.now() - warmStart) {
    await runner.run();
    warmupRuns++;
  }
  const times: number[] = [];
  for (let i = 0; i < job.runs; i++) {
    t = performance.now();
    outputs = await runner.run();
    times.push(performance.now() - t);
  }
  return {
    loadMs, firstRunMs, medianMs: median(times), p90Ms: p90(times),
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    warmupRuns, runs: job.runs,
    // The last timed run's outputs: a program that drifts between runs shows here.
    ...(reference ? { numerics: compareOutputs(outputs, reference) } : {}),
    ...(runner.notes ? { notes: await runner.notes() } : {}),
    ...(job.returnOutputs ? { outputs } : {}),
  };
}

const describe = (e: unknown) => (e instanceof Error ? e.message : typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e));

process.once("message", (job: Job) => {
  void measure(job)
    .then((ok): Reply => ({ ok }), (e: unknown): Reply => ({ error: describe(e) }))
    .then((reply) => process.send!(reply, () => process.exit(0)));
});
