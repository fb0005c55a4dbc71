/**
 * Profiling for the Rammer scheduler: every kernel of a program timed on this thread as one
 * task at each granularity (share 0 of `shares`), after warm-up so the optimizing tier has taken
 * over. The memory holds the program's weights; activations are zeros, which kernels take the
 * same time over.
 */
import type { Program } from "./program.js";
import { instantiateKernels } from "./kernel-module.js";

const PAGE = 65536;
const WARMUP = 2;
const RUNS = 3;

/** `ms[k][i]`: one task of kernel k split into `granularities[i]` tasks, median milliseconds. */
export async function profileKernels(program: Program, kernels: number, granularities: readonly number[]): Promise<number[][]> {
  const bytes = program.scratch.offset + program.scratch.bytesPerWorker;
  const pages = Math.max(1, Math.ceil(bytes / PAGE));
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  for (const c of program.constants) new Uint8Array(memory.buffer, c.offset, c.tensor.data.byteLength).set(new Uint8Array(c.tensor.data.buffer, c.tensor.data.byteOffset, c.tensor.data.byteLength));
  const fns = await instantiateKernels(program.module, memory);
  return Array.from({ length: kernels }, (_, k) => granularities.map((shares) => {
    const run = () => fns[k]!(0, shares, 0);
    for (let i = 0; i < WARMUP; i++) run();
    const times = Array.from({ length: RUNS }, () => {
      const t = performance.now();
      run();
      return performance.now() - t;
    });
    return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
  }));
}
