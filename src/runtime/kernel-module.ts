/** Turning a code generator's KernelModule into callable kernels on this thread. */
import type { KernelModule } from "../codegen/kernel-module.js";

/**
 * Runs share `share` of `shares` of a kernel, with the scratch of slot `slot`; or, when `counter`
 * is the nonzero address of an i32 that was 0 when the first caller started, takes chunks of its
 * parallel loop from that counter as one of `shares` callers (kernel-emitter.ts). A Rammer
 * launch (dispatch.ts) runs vEU `share`'s list from entry `from - 1` and returns 0 when done, or
 * a nonzero `from` to call again with when a wait took too long; other kernels return nothing.
 */
export type Kernel = (share: number, shares: number, slot: number, counter: number, from?: number) => number | undefined;

export async function instantiateKernels(module: KernelModule, memory: WebAssembly.Memory): Promise<Kernel[]> {
  if (module.kind === "js") {
    const make = new Function("memory", `return (${module.source})(memory);`) as (m: WebAssembly.Memory) => Kernel[];
    return make(memory);
  }
  const compiled = await WebAssembly.compile(new Uint8Array(module.bytes));
  // `now` is the clock of traced Rammer launches, in ms since the epoch, comparable across workers.
  const instance = await WebAssembly.instantiate(compiled, { env: { memory, now: () => performance.timeOrigin + performance.now() } });
  return Array.from({ length: module.count }, (_, i) => instance.exports[`k${i}`] as Kernel);
}
