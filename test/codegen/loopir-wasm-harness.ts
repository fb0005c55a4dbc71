/**
 * Runs lowered loop IR through the wasm code generator and the worker pool on one shared memory:
 * the pool's control block at 0, then every input and output, then the workers' scratch.
 */
import { compileKernels, type Placement } from "../../src/codegen/wasm/compile-kernels.js";
import type { WasmFeatures } from "../../src/codegen/wasm/opcodes.js";
import { layoutScratch } from "../../src/codegen/wasm/scratch-layout.js";
import { shapeSize } from "../../src/ir/tensor.js";
import type { Buffer } from "../../src/loopir/interpret.js";
import type { BufferDecl, Func } from "../../src/loopir/stmt.js";
import { CONTROL_BYTES } from "../../src/runtime/control.js";
import { WorkerPool } from "../../src/runtime/worker-pool.js";

const PAGE = 65536;
const align = (n: number) => Math.ceil(n / 64) * 64;

/** Places every buffer of `funcs` one after another; scratch gets what the largest kernel needs. */
export function placeAll(funcs: readonly Func[], workers: number): { placement: Placement; bytes: number; decls: Map<string, BufferDecl> } {
  const decls = new Map(funcs.flatMap((f) => [...f.inputs, ...f.outputs].map((b) => [b.name, b] as const)));
  const buffers = new Map<string, number>();
  let top = align(CONTROL_BYTES);
  for (const b of decls.values()) {
    buffers.set(b.name, top);
    top = align(top + shapeSize(b.shape) * (b.type === "f32" ? 4 : 8));
  }
  const bytesPerWorker = align(Math.max(16, ...funcs.map((f) => layoutScratch(f, Infinity).bytes)));
  return { placement: { buffers, scratch: { offset: top, bytesPerWorker } }, bytes: top + workers * bytesPerWorker, decls };
}

/** Runs kernels 0..n-1 in order with `threads` threads; outputs start as NaN so a missed element shows. */
export async function runWasm(funcs: readonly Func[], inputs: Readonly<Record<string, Buffer>>, threads: number, features: WasmFeatures): Promise<Record<string, Buffer>> {
  const { placement, bytes, decls } = placeAll(funcs, threads);
  const pages = Math.ceil(bytes / PAGE);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const view = (name: string): Buffer => {
    const b = decls.get(name)!, at = placement.buffers.get(name)!;
    return b.type === "f32" ? new Float32Array(memory.buffer, at, shapeSize(b.shape)) : new Float64Array(memory.buffer, at, shapeSize(b.shape));
  };
  for (const [name, data] of Object.entries(inputs)) if (decls.has(name)) view(name).set(data);
  const outputs = [...new Set(funcs.flatMap((f) => f.outputs.map((o) => o.name)))];
  for (const o of outputs) view(o).fill(NaN);
  const pool = await WorkerPool.create(memory, compileKernels(funcs, placement, features), threads, 0);
  try {
    funcs.forEach((_, k) => pool.run(k));
  } finally {
    await pool.close();
  }
  return Object.fromEntries(outputs.map((o) => [o, view(o).slice()]));
}
