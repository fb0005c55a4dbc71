/**
 * The code a worker runs: a list of kernels, each called as `kernel(worker, workers)` to do
 * its share of a parallel loop over the one shared WebAssembly.Memory. Wasm modules import the
 * memory as `env.memory` and export `k0`, `k1`, ...; the JS form (the debug backend) is the
 * source of a function `(memory) => kernels[]`, text the compiler generated itself.
 */
export type KernelModule =
  | { readonly kind: "wasm"; readonly bytes: Uint8Array; readonly count: number }
  | { readonly kind: "js"; readonly source: string };

export type Kernel = (worker: number, workers: number) => void;

export async function instantiateKernels(module: KernelModule, memory: WebAssembly.Memory): Promise<Kernel[]> {
  if (module.kind === "js") {
    const make = new Function("memory", `return (${module.source})(memory);`) as (m: WebAssembly.Memory) => Kernel[];
    return make(memory);
  }
  const compiled = await WebAssembly.compile(new Uint8Array(module.bytes));
  const instance = await WebAssembly.instantiate(compiled, { env: { memory } });
  return Array.from({ length: module.count }, (_, i) => instance.exports[`k${i}`] as Kernel);
}
