/**
 * What a code generator produces and the runtime runs: a list of kernels, each called as
 * `kernel(share, shares, slot, counter)` to do one share of its parallel loop (with the scratch of `slot`; a
 * nonzero `counter` shares the loop dynamically, see runtime/kernel-module.ts) over the one shared
 * WebAssembly.Memory. Wasm modules import the memory as `env.memory` and export `k0`, `k1`, ...;
 * the JS form (the debug backend) is the source of a function `(memory) => kernels[]`, text the
 * compiler generated itself.
 */
export type KernelModule =
  | { readonly kind: "wasm"; readonly bytes: Uint8Array; readonly count: number }
  | { readonly kind: "js"; readonly source: string };
