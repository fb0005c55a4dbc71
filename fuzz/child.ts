/**
 * A fuzz child: runs the cases its parent sends, one at a time, and answers each. The parent
 * (fuzz/pool.ts) kills it on a hang or over the memory cap and replaces it after any death.
 */
import { fromWire, runKilnCase, type Feeds, type KilnOptions, type WireTensor } from "./case.js";
import { runOrtCase } from "./ort.js";
import { tuneNodeEngine } from "../src/codegen/wasm/features.js";

// The engine settings kiln's CLI and benchmarks run with.
await tuneNodeEngine();

export type Job =
  | { readonly engine: "kiln"; readonly bytes: Uint8Array; readonly inputs: readonly WireTensor[]; readonly seed: number; readonly options: KilnOptions }
  | { readonly engine: "ort"; readonly bytes: Uint8Array; readonly inputs: readonly WireTensor[]; readonly feeds: readonly Feeds[] };

process.on("message", (job: Job) => {
  const answer = job.engine === "kiln"
    ? runKilnCase(job.bytes, job.inputs.map(fromWire), job.seed, job.options)
    : runOrtCase(job.bytes, job.feeds, job.inputs);
  answer.then((r) => process.send!(r), (e: unknown) => {
    // The fuzzer's own bug, not kiln's: say so loudly and die, so the parent sees a crash with this reason.
    process.stderr.write(`fuzz child failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(70);
  });
});
