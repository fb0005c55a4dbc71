/**
 * Timing one runtime in a process shared with another. onnxruntime-web's pool threads keep
 * spinning for ~20 ms after a run (kiln's workers for ~50 µs): timed right after the other
 * runtime, a 2-thread run shares a core with that spin (seen: kiln's 2-thread SGEMM took 39 ms
 * in the first run after onnxruntime-web and 28 ms from the second on). So a timed run follows
 * untimed runs of the same runtime for at least SETTLE_MS, as in an application that runs one
 * model in a loop; every runtime is timed the same way.
 */
export const SETTLE_MS = 40;

/** Run `run` untimed for at least SETTLE_MS (at least once), then return one timed run's milliseconds. */
export async function settledRun(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  do await run(); while (performance.now() - start < SETTLE_MS);
  const t0 = performance.now();
  await run();
  return performance.now() - t0;
}
