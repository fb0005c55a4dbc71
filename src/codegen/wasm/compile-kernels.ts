/**
 * Lowered loop IR functions to one wasm KernelModule: export `k<i>` runs `funcs[i]` as
 * `(share, shares, slot) -> ()` over the shared memory imported as `env.memory`. See
 * kernel-emitter.ts for the code of one kernel, parallel-plan.ts for how work is shared,
 * vector-plan.ts for when a loop becomes f32x4 code and math.ts for the math helpers.
 */
import { shapeSize } from "../../ir/tensor.js";
import type { Func } from "../../loopir/stmt.js";
import type { KernelModule } from "../kernel-module.js";
import { type DispatchEntry, type DispatchLayout, emitDispatch } from "./dispatch.js";
import { InternalError } from "../../ir/errors.js";
import type { FunctionBuilder } from "./function.js";
import { type Placement, emitKernel, kernelParams } from "./kernel-emitter.js";
import { MathHelpers } from "./math.js";
import { ModuleBuilder } from "./module.js";
import { wasmPages } from "../../runtime/program.js";
import type { WasmFeatures } from "./opcodes.js";
import { elementBytes, layoutScratch } from "./scratch-layout.js";

export type { Placement } from "./kernel-emitter.js";

const PAGE = 65536;

/**
 * Rammer launches appended after the kernels: each exported as k<kernels + i>, called as
 * `(veu, veus)` by every worker (dispatch.ts).
 */
export interface Launch { readonly lists: readonly (readonly DispatchEntry[])[]; readonly layout: DispatchLayout }

/** The module as a builder, before encoding (for the WAT printer). */
export function buildKernels(funcs: readonly Func[], placement: Placement, features: WasmFeatures, launches: readonly Launch[] = []): ModuleBuilder {
  const m = new ModuleBuilder(features);
  // The memory grows at run time, so the import asks only for what the buffers placed here need.
  const buffers = funcs.flatMap((f) => [...f.inputs, ...f.outputs]).map((b) => ({ name: b.name, shape: b.shape, end: (placement.buffers.get(b.name) ?? 0) + shapeSize(b.shape) * elementBytes(b.type) }));
  const last = buffers.reduce((a, b) => (b.end > a.end ? b : a), { name: "", shape: [] as readonly number[], end: 0 });
  const min = wasmPages(last.end, `the kernels' buffers (up to "${last.name}" of shape [${last.shape.join(",")}])`);
  m.importMemory({ min, max: PAGE, shared: features.threads });
  // A traced launch calls the host's clock (dispatch.ts); imports come before every function.
  const clock = launches.some((l) => l.layout.trace) ? m.importFunction("env", "now", [], ["f64"]) : undefined;
  const math = new MathHelpers(m);
  const kernels = emitKernels(m, math, funcs, placement);
  kernels.forEach((k) => m.export(k));
  launches.forEach((l, i) => m.export(emitDispatch(m, kernels, l.lists, l.layout, `k${funcs.length + i}`, clock)));
  return m;
}

/**
 * Every kernel as `k<i>(share, shares, slot)`. Models repeat kernels that differ only in where
 * their buffers are (the steps of an unrolled RNN, the layers of a stack): such kernels run one
 * shared body `b<j>` that takes the buffers' addresses as parameters, behind a k<i> that passes
 * its constants, so the module holds each distinct code once. Unrolled, LSTM-TC's thousands of
 * kernels would be megabytes of machine code run once each per inference, fetched from beyond
 * the core's caches (and compiled by V8 one by one). A kernel whose code is unique keeps its
 * addresses constant (one add fewer per access). Bodies are compared by their encoded bytes.
 */
function emitKernels(m: ModuleBuilder, math: MathHelpers, funcs: readonly Func[], placement: Placement): FunctionBuilder[] {
  const layouts = funcs.map((f) => layoutScratch(f, placement.scratch.bytesPerWorker));
  const drafts = funcs.map((f, i) => {
    const fb = m.draft(`b${i}`, kernelParams(f, true), []);
    emitKernel(fb, math, f, placement, layouts[i]!, true);
    return fb;
  });
  const keys = drafts.map(codeKey);
  const uses = new Map<string, number>();
  for (const k of keys) uses.set(k, (uses.get(k) ?? 0) + 1);
  const bodies = new Map<string, FunctionBuilder>();
  return funcs.map((f, i) => {
    const fb = m.function(`k${i}`, kernelParams(f, false), []);
    const key = keys[i]!;
    if (uses.get(key) === 1) {
      emitKernel(fb, math, f, placement, layouts[i]!, false);
      return fb;
    }
    let body = bodies.get(key);
    if (!body) {
      body = drafts[i]!;
      m.adopt(body);
      bodies.set(key, body);
    }
    for (const p of fb.params) fb.localGet(p);
    for (const b of [...f.inputs, ...f.outputs]) {
      const offset = placement.buffers.get(b.name);
      if (offset === undefined) throw new InternalError(`kernel ${f.name}: buffer ${b.name} has no placement`);
      fb.i32Const(offset);
    }
    fb.call(body);
    fb.finish();
    return fb;
  });
}

/** A function's identity for sharing: its parameter count and encoded code entry. */
function codeKey(fb: FunctionBuilder): string {
  const bytes = fb.encode();
  let key = `${fb.paramTypes.length}:`;
  for (let i = 0; i < bytes.length; i += 4096) key += String.fromCharCode(...bytes.slice(i, i + 4096));
  return key;
}

export function compileKernels(funcs: readonly Func[], placement: Placement, features: WasmFeatures, launches: readonly Launch[] = []): KernelModule {
  return { kind: "wasm", bytes: buildKernels(funcs, placement, features, launches).finish(), count: funcs.length + launches.length };
}
