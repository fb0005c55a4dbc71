/**
 * Run-time feature detection: which of SIMD128, relaxed SIMD and threads the engine accepts,
 * decided by `wasm.validate` on tiny modules built with kiln's own emitter. Detection never
 * changes the engine: V8's flags are process-wide, so switching them is the program's choice,
 * made by calling `tuneNodeEngine` (kiln's CLI, benchmarks and tests do). The module loads in
 * browsers too: node:v8 is imported only when running under Node.
 */
import { wasm } from "./engine.js";
import type { FunctionBuilder } from "./function.js";
import { ModuleBuilder } from "./module.js";
import type { WasmFeatures } from "./opcodes.js";

const ALL: WasmFeatures = { simd128: true, relaxedSimd: true, threads: true };

let detected: Promise<WasmFeatures> | undefined;

/** The engine's features as it is configured now. */
export function detectFeatures(): Promise<WasmFeatures> {
  return (detected ??= Promise.resolve(detect()));
}

function detect(): WasmFeatures {
  return { simd128: wasm.validate(simdProbe()), relaxedSimd: wasm.validate(relaxedProbe()), threads: wasm.validate(threadsProbe()) && canShareMemory() };
}

/**
 * Opt-in, process-wide V8 settings that suit kiln, for a program to call once at its start
 * (before creating sessions; a no-op outside Node):
 * - the optimizing tier compiles every wasm function when a module is compiled. Kernels run
 *   once per inference each, so under V8's default dynamic tiering a model's thousands of
 *   kernels stay in the baseline compiler (Liftoff, about 3x slower here) for many inferences,
 *   and a worker that tiers up mid-inference makes the others wait for it;
 * - relaxed SIMD on Node 20, where it sits behind a flag (fused multiply-add kernels).
 * These flags reach every isolate of the process, the program's own wasm included; that is
 * why kiln never sets them by itself.
 */
export async function tuneNodeEngine(): Promise<void> {
  const v8 = await nodeV8();
  if (!v8) return;
  v8.setFlagsFromString("--no-liftoff");
  v8.setFlagsFromString("--no-wasm-lazy-compilation");
  if (!wasm.validate(relaxedProbe())) v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
  detected = undefined;
}

/** node:v8 when running under Node. */
async function nodeV8(): Promise<typeof import("node:v8") | undefined> {
  if (typeof process === "undefined" || !process.versions?.node) return undefined;
  // A computed specifier keeps browser bundlers from trying to resolve node:v8.
  const specifier = "node:v8";
  return (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as typeof import("node:v8");
}

function simdProbe(): Uint8Array {
  return probe((f) => {
    f.f32Const(1);
    f.op("f32x4.splat");
    f.drop();
  });
}

function relaxedProbe(): Uint8Array {
  return probe((f) => {
    for (let i = 0; i < 3; i++) {
      f.f32Const(1);
      f.op("f32x4.splat");
    }
    f.op("f32x4.relaxed_madd");
    f.drop();
  });
}

function threadsProbe(): Uint8Array {
  return probe((f) => {
    f.i32Const(0);
    f.i32Const(1);
    f.mem("i32.atomic.rmw.add");
    f.drop();
  }, true);
}

function probe(body: (f: FunctionBuilder) => void, sharedMemory = false): Uint8Array {
  const m = new ModuleBuilder(ALL);
  if (sharedMemory) m.importMemory({ min: 1, max: 1, shared: true });
  const f = m.function("probe", [], []);
  body(f);
  f.finish();
  return m.finish();
}

/** Browsers refuse shared memories unless the page is cross-origin isolated. */
function canShareMemory(): boolean {
  try {
    return new wasm.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}
