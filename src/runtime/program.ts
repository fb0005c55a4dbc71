/**
 * What the compiler hands the runtime: the kernels, where every buffer lives in the one shared
 * memory, and the steps of an inference in order. Memory layout, low to high: the worker pool's
 * control block, the graph inputs, the weights the kernels read, the activation arena of the
 * static memory plan, and last each worker's scratch (so that the layout does not depend on the
 * thread count).
 */
import type { DType } from "../ir/dtype.js";
import { LimitError } from "../ir/errors.js";
import type { Node } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";
import type { KernelModule } from "../codegen/kernel-module.js";

/** A value in the shared memory, or a constant held by the compiler. */
export type ValueRef =
  | { readonly kind: "memory"; readonly offset: number; readonly dtype: DType; readonly shape: readonly number[] }
  | { readonly kind: "constant"; readonly tensor: Tensor };

export interface ByteRange { readonly offset: number; readonly bytes: number }

/** The memory a kernel reads and writes (its scratch aside). */
export interface KernelAccess { readonly reads: readonly ByteRange[]; readonly writes: readonly ByteRange[] }

export type ProgramStep =
  /** Run kernel `kernel` of the module across the workers. */
  | { readonly kind: "kernel"; readonly kernel: number }
  /**
   * Run a Rammer launch: zero `counters` (the vEUs' progress counters and the count of blocked
   * waits at `blocked`), then every worker runs its vEU's list in `kernel` (dispatch.ts). A
   * traced launch leaves vEU v's `stamps[v]` clock readings (f64 ms) at trace.offset + v * trace.stride.
   */
  | {
    readonly kind: "launch"; readonly kernel: number; readonly counters: ByteRange; readonly blocked: number;
    readonly trace?: { readonly offset: number; readonly stride: number; readonly stamps: readonly number[] };
  }
  /**
   * Evaluate `node` with the reference interpreter: its inputs and every outer value its
   * subgraphs read come from `reads`, its outputs go to `writes`.
   */
  | { readonly kind: "reference"; readonly node: Node; readonly reads: ReadonlyMap<string, ValueRef>; readonly writes: readonly (ValueRef | null)[] };

export interface Program {
  readonly module: KernelModule;
  readonly steps: readonly ProgramStep[];
  readonly opsets: Readonly<Record<string, number>>;
  readonly inputs: readonly { readonly name: string; readonly ref: Extract<ValueRef, { kind: "memory" }> }[];
  readonly outputs: readonly { readonly name: string; readonly ref: ValueRef }[];
  /** Weights copied into the memory once, at load. */
  readonly constants: readonly { readonly offset: number; readonly tensor: Tensor }[];
  /** Where the workers' scratch starts, and each worker's share. */
  readonly scratch: { readonly offset: number; readonly bytesPerWorker: number };
  /** What each kernel of the module reads and writes, by kernel index. */
  readonly access: readonly KernelAccess[];
}

const PAGE = 65536;
const MAX_PAGES = 65536;

/**
 * The wasm pages `bytes` of memory take; over WebAssembly's 4 GiB (a limit like maxElements) a
 * LimitError naming `what` needs them.
 */
export function wasmPages(bytes: number, what: string): number {
  const pages = Math.max(1, Math.ceil(bytes / PAGE));
  if (pages > MAX_PAGES) throw new LimitError(`${what} needs ${bytes} bytes of memory, over WebAssembly's limit of 4 GiB (${MAX_PAGES * PAGE} bytes)`);
  return pages;
}

/** A shared memory laid out for `program` with scratch for `slots` workers, its weights copied in. */
export function programMemory(program: Program, slots: number): WebAssembly.Memory {
  const bytes = program.scratch.offset + slots * program.scratch.bytesPerWorker;
  const pages = wasmPages(bytes, `the compiled program (inputs, weights, activations and ${slots} workers' scratch)`);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  for (const c of program.constants) {
    new Uint8Array(memory.buffer, c.offset, c.tensor.data.byteLength).set(new Uint8Array(c.tensor.data.buffer, c.tensor.data.byteOffset, c.tensor.data.byteLength));
  }
  return memory;
}
