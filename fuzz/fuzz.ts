/**
 * The fuzzer as a library (fuzz/main.ts is its CLI, test/fuzz/fuzz.test.ts its CI run): cases
 * from (seed, index) over a pool of children, kiln's and optionally onnxruntime-node's outcome
 * for each, and every failing case saved to disk as `<n>-<class>.onnx` plus `<n>-<class>.json`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../src/api.js";
import { toWire, type ErrorInfo, type KilnOptions, type KilnResult } from "./case.js";
import type { Source } from "./corpus.js";
import { makeCase, type FuzzCase } from "./cases.js";
import type { Job } from "./child.js";
import type { OrtResult } from "./ort.js";
import { Worker, type Outcome } from "./pool.js";

export type KilnOutcome = "ok" | "typed" | "untyped" | "mismatch" | "hang" | "crash";
export type OrtOutcome = "ok" | "error" | "hang" | "crash";
export const FAILING: readonly KilnOutcome[] = ["untyped", "mismatch", "hang", "crash"];

export interface FuzzOptions {
  readonly seed: number;
  readonly seconds: number;
  readonly cases?: number;
  /** Start at this case index (a CI run covers one window, a later one the next). */
  readonly from?: number;
  readonly backend: Backend;
  readonly threads: number;
  readonly workers: number;
  readonly ort: boolean;
  /** Where failing cases are saved; none when undefined. */
  readonly out?: string;
  readonly memoryCapMb: number;
  readonly onCase?: (r: CaseRecord, done: number) => void;
}

/** A case's identity (what makes it reproducible) and how it ended. */
export interface CaseRecord extends Omit<FuzzCase, "bytes" | "sample"> {
  readonly kiln: KilnOutcome;
  readonly stage?: string;
  readonly error?: ErrorInfo;
  readonly ort?: OrtOutcome;
  readonly ortError?: ErrorInfo;
  /** The saved .onnx file of a failing case. */
  readonly saved?: string;
}

export interface FuzzSummary {
  readonly seed: number;
  readonly backend: Backend;
  readonly cases: number;
  readonly seconds: number;
  readonly records: readonly CaseRecord[];
}

/**
 * Limits and time cap by source: node tests are small, the heavy models legitimately need more
 * (a VGG-19 case, compiled and run four times on wasm and on the reference interpreter, takes
 * 67 s alone on a Zen 4 core and twice that beside another case).
 */
function limits(source: Source, backend: Backend, threads: number): { options: KilnOptions; timeoutMs: number } {
  const heavy = source !== "node";
  return {
    options: { backend, threads, maxTensorBytes: heavy ? 2 ** 29 : 64 * 2 ** 20, maxElements: heavy ? 2 ** 27 : 2 ** 24 },
    timeoutMs: heavy ? 300_000 : 15_000,
  };
}

const fromOutcome = <R extends { class: string }>(o: Outcome<R>): R["class"] | "hang" | "crash" => (o.kind === "done" ? o.result.class : o.kind);

/** Run one case on kiln (and ORT) in the given workers. */
export async function runCase(c: FuzzCase, o: Pick<FuzzOptions, "backend" | "threads" | "ort">, kiln: Worker, peer: Worker | null): Promise<CaseRecord> {
  const { options, timeoutMs } = limits(c.source, o.backend, o.threads);
  const inputs = c.sample.inputs.map(toWire);
  const k = await kiln.run<KilnResult>({ engine: "kiln", bytes: c.bytes, inputs, seed: c.seed, options } satisfies Job, timeoutMs);
  const base = { index: c.index, seed: c.seed, source: c.source, model: c.model, kind: c.kind, description: c.description, kiln: fromOutcome(k) };
  const detail = k.kind === "done"
    ? { stage: k.result.stage, ...(k.result.error ? { error: k.result.error } : {}) }
    : k.kind === "crash" ? { error: { name: "Crash", message: k.reason, frames: [] } } : { error: { name: "Hang", message: `no answer after ${timeoutMs} ms`, frames: [] } };
  if (!peer) return { ...base, ...detail };
  const feeds = k.kind === "done" ? k.result.feeds : [];
  const p = await peer.run<OrtResult>({ engine: "ort", bytes: c.bytes, inputs, feeds } satisfies Job, timeoutMs);
  return { ...base, ...detail, ort: fromOutcome(p), ...(p.kind === "done" && p.result.error ? { ortError: p.result.error } : {}) };
}

/** Save a failing case: the mutated model and what is needed to run it again (see replay in main.ts). */
function save(out: string, n: number, c: FuzzCase, r: CaseRecord, o: FuzzOptions): string {
  mkdirSync(out, { recursive: true });
  const stem = `${n}-${r.kiln}`;
  writeFileSync(join(out, `${stem}.onnx`), c.bytes);
  // Feeds are regenerated from the seed model's inputs (source, model) and the case seed.
  const json = { ...r, saved: `${stem}.onnx`, runSeed: o.seed, backend: o.backend, threads: o.threads };
  writeFileSync(join(out, `${stem}.json`), JSON.stringify(json, null, 2) + "\n");
  return `${stem}.onnx`;
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzSummary> {
  const t0 = performance.now();
  const deadline = t0 + o.seconds * 1000;
  const records: CaseRecord[] = [];
  const first = o.from ?? 0;
  let next = first;
  let failures = 0;
  const take = () => (performance.now() < deadline && (o.cases === undefined || next < first + o.cases) ? next++ : null);
  const memoryCap = o.memoryCapMb * 2 ** 20;
  const lane = async () => {
    const kiln = new Worker(memoryCap);
    const peer = o.ort ? new Worker(memoryCap) : null;
    try {
      for (let i = take(); i !== null; i = take()) {
        const c = makeCase(o.seed, i);
        let r = await runCase(c, o, kiln, peer);
        if (FAILING.includes(r.kiln) && o.out) r = { ...r, saved: save(o.out, ++failures, c, r, o) };
        records.push(r);
        o.onCase?.(r, records.length);
      }
    } finally {
      kiln.close();
      peer?.close();
    }
  };
  await Promise.all(Array.from({ length: o.workers }, lane));
  records.sort((a, b) => a.index - b.index);
  return { seed: o.seed, backend: o.backend, cases: records.length, seconds: (performance.now() - t0) / 1000, records };
}
