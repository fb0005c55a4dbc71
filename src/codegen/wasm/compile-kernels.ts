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
import { type Placement, emitKernel } from "./kernel-emitter.js";
import { MathHelpers } from "./math.js";
import { ModuleBuilder } from "./module.js";
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
  const ends = funcs.flatMap((f) => [...f.inputs, ...f.outputs].map((b) => (placement.buffers.get(b.name) ?? 0) + shapeSize(b.shape) * elementBytes(b.type)));
  m.importMemory({ min: Math.max(1, Math.ceil(Math.max(0, ...ends) / PAGE)), max: PAGE, shared: features.threads });
  // A traced launch calls the host's clock (dispatch.ts); imports come before every function.
  const clock = launches.some((l) => l.layout.trace) ? m.importFunction("env", "now", [], ["f64"]) : undefined;
  const math = new MathHelpers(m);
  const kernels = funcs.map((f, i) => emitKernel(m, math, i, f, placement, layoutScratch(f, placement.scratch.bytesPerWorker)));
  kernels.forEach((k) => m.export(k));
  launches.forEach((l, i) => m.export(emitDispatch(m, kernels, l.lists, l.layout, `k${funcs.length + i}`, clock)));
  return m;
}

export function compileKernels(funcs: readonly Func[], placement: Placement, features: WasmFeatures, launches: readonly Launch[] = []): KernelModule {
  return { kind: "wasm", bytes: buildKernels(funcs, placement, features, launches).finish(), count: funcs.length + launches.length };
}
