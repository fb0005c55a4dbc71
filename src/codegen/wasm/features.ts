/**
 * Run-time feature detection: which of SIMD128, relaxed SIMD and threads the engine accepts,
 * decided by `wasm.validate` on tiny modules built with kiln's own emitter. Under Node 20
 * relaxed SIMD sits behind a V8 flag; when the first probe fails it is switched on here and the
 * probe repeated (on Node 20.20 / V8 11.3 the flag took effect even after earlier compiles, but
 * call this before compiling kernels all the same). The module loads in browsers too: node:v8
 * is imported only when running under Node.
 */
import { wasm } from "./engine.js";
import type { FunctionBuilder } from "./function.js";
import { ModuleBuilder } from "./module.js";
import type { WasmFeatures } from "./opcodes.js";

const ALL: WasmFeatures = { simd128: true, relaxedSimd: true, threads: true };

let detected: Promise<WasmFeatures> | undefined;

/** The engine's features; the first call also enables relaxed SIMD in Node if needed. */
export function detectFeatures(): Promise<WasmFeatures> {
  return (detected ??= detect());
}

async function detect(): Promise<WasmFeatures> {
  const v8 = await nodeV8();
  // Kernels run once per inference each, so under V8's default dynamic tiering a model's
  // thousands of kernels stay in the baseline compiler (Liftoff, about 3x slower here) for many
  // inferences. Instead the optimizing tier compiles every function when the module is
  // compiled (on background threads; LSTM-TC's 4,000 kernels take ~1.5 s), so no worker stops
  // to compile in the middle of an inference while the others wait for it.
  v8?.setFlagsFromString("--no-liftoff");
  v8?.setFlagsFromString("--no-wasm-lazy-compilation");
  let relaxedSimd = wasm.validate(relaxedProbe());
  if (!relaxedSimd && v8) {
    v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
    relaxedSimd = wasm.validate(relaxedProbe());
  }
  return { simd128: wasm.validate(simdProbe()), relaxedSimd, threads: wasm.validate(threadsProbe()) && canShareMemory() };
}

/** node:v8 when running under Node (its flags are process-wide: they reach the workers too). */
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
