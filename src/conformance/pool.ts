/**
 * Runs conformance tests on a pool of worker threads. Each test has a time limit; a test that
 * exceeds it, or kills its worker (out of memory, say), is reported as an error and the worker
 * is replaced, so one bad test never stops the run.
 */
import { Worker } from "node:worker_threads";
import type { TestResult } from "./testcase.js";
import type { TestJob } from "./worker.js";

export interface PoolOptions {
  readonly workers: number;
  readonly timeoutMs: number;
  /** Heap limit of each worker, in MiB. */
  readonly heapMb?: number;
  readonly onResult?: (r: TestResult) => void;
}

export async function runPool(jobs: readonly TestJob[], opts: PoolOptions): Promise<TestResult[]> {
  const results = new Array<TestResult>(jobs.length);
  let next = 0;
  const spawn = () => new Worker(new URL("./worker.js", import.meta.url), {
    resourceLimits: { maxOldGenerationSizeMb: opts.heapMb ?? 4096 },
    stdout: true, stderr: true,
  });

  async function lane(): Promise<void> {
    let worker = spawn();
    try {
      while (next < jobs.length) {
        const i = next++;
        const job = jobs[i]!;
        const r = await runOne(worker, job, opts.timeoutMs);
        if (r.replaceWorker) {
          void worker.terminate();
          worker = spawn();
        }
        results[i] = r.result;
        opts.onResult?.(r.result);
      }
    } finally {
      await worker.terminate();
    }
  }

  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.workers, jobs.length)) }, lane));
  return results;
}

function runOne(worker: Worker, job: TestJob, timeoutMs: number): Promise<{ result: TestResult; replaceWorker: boolean }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const finish = (result: TestResult, replaceWorker: boolean) => {
      clearTimeout(timer);
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
      resolve({ result, replaceWorker });
    };
    const fail = (reason: string) => finish({ name: job.name, status: "error", reason, ms: performance.now() - t0 }, true);
    const onMessage = (r: TestResult) => finish(r, false);
    const onError = (e: Error) => fail(`worker crashed: ${e.message}`);
    const onExit = (code: number) => fail(`worker exited with code ${code}`);
    const timer = setTimeout(() => fail(`timed out after ${timeoutMs / 1000} s`), timeoutMs);
    worker.on("message", onMessage);
    worker.on("error", onError);
    worker.on("exit", onExit);
    worker.postMessage(job);
  });
}
