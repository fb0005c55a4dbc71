/**
 * Runs lowered loop IR through the wasm code generator and the worker pool on one shared memory:
 * the pool's control block at 0, then every input and output, then the workers' scratch; and
 * checks it against the loop IR interpreter.
 */
import assert from "node:assert/strict";
import { compileKernels, type Placement } from "../../src/codegen/wasm/compile-kernels.js";
import type { WasmFeatures } from "../../src/codegen/wasm/opcodes.js";
import { layoutScratch } from "../../src/codegen/wasm/scratch-layout.js";
import { shapeSize } from "../../src/ir/tensor.js";
import type { Tensor } from "../../src/loopir/compute.js";
import { type Buffer, interpret } from "../../src/loopir/interpret.js";
import { lower } from "../../src/loopir/lower.js";
import { printFunc } from "../../src/loopir/print.js";
import { type Step, replay } from "../../src/loopir/schedule.js";
import type { BufferDecl, Func, Stmt } from "../../src/loopir/stmt.js";
import { inputsFor, mismatch } from "../loopir/harness.js";
import { CONTROL_BYTES } from "../../src/runtime/control.js";
import { WorkerPool } from "../../src/runtime/worker-pool.js";
import { tunedFeatures } from "../helpers.js";

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
  // The pool's control block is at 0 (its NEXT cell hands out parallel iterations).
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

export function interpretAll(f: Func, inputs: Record<string, Buffer>): Record<string, Buffer> {
  const outs = Object.fromEntries(f.outputs.map((o) => [o.name, o.type === "f32" ? new Float32Array(shapeSize(o.shape)) : new Float64Array(shapeSize(o.shape))]));
  interpret(f, { ...inputs, ...outs });
  return outs;
}

const anyStmt = (s: Stmt, p: (s: Stmt) => boolean): boolean =>
  p(s) || (s.kind === "seq" ? s.body.some((b) => anyStmt(b, p)) : s.kind === "for" || s.kind === "alloc" ? anyStmt(s.body, p) : s.kind === "if" ? anyStmt(s.then, p) : false);
const usesMath = (f: Func) => /\b(exp|log|tanh|erf|sigmoid)\(/.test(printFunc(f));

/** rtol 0 for index-only code; 1e-5 where math calls or a fused multiply-add may round differently. */
function tolerance(f: Func, features: WasmFeatures): number {
  const vectorLoops = anyStmt(f.body, (s) => s.kind === "for" && s.loop === "vectorized");
  return usesMath(f) || (features.relaxedSimd && vectorLoops) ? 1e-5 : 0;
}

/** Lowers `outputs` under `steps` and checks the wasm kernel on 1 and 2 threads against the interpreter. */
export async function check(outputs: readonly Tensor[], steps: readonly Step[], seed: number): Promise<void> {
  const features = await tunedFeatures();
  const f = lower(replay(outputs, steps));
  const inputs = inputsFor(outputs, seed);
  const want = interpretAll(f, inputs);
  const rtol = tolerance(f, features);
  for (const threads of [1, 2]) {
    const got = await runWasm([f], inputs, threads, features);
    for (const o of f.outputs) {
      const bad = mismatch(got[o.name]!, want[o.name]!, rtol, rtol ? 1e-7 : 0);
      assert.equal(bad, -1, `${threads} thread(s), ${o.name}[${bad}] = ${got[o.name]![bad]}, want ${want[o.name]![bad]}`);
    }
  }
}
