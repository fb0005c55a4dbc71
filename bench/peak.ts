/**
 * This machine's wasm SIMD multiply-add ceiling on one thread, measured with kiln's own emitter:
 * a loop of register-resident f32x4 multiply-adds (acc = acc * a + b) over independent
 * accumulators, using the instruction the kernels use (relaxed madd where kiln enables it,
 * mul + add otherwise). Each accumulator's chain depends on itself, so the engine cannot fold
 * the arithmetic away; with 12 chains both vector pipes stay busy despite the latency.
 */
import { wasm } from "../src/codegen/wasm/engine.js";
import { ModuleBuilder } from "../src/codegen/wasm/module.js";
import type { WasmFeatures } from "../src/codegen/wasm/opcodes.js";
import { median } from "./stats.js";

const CHAINS = 12;

function peakModule(features: WasmFeatures): Uint8Array {
  const m = new ModuleBuilder(features);
  const f = m.function("peak", ["i32"], ["f32"]);
  const [n] = f.params;
  const a = f.local("v128", "a"), b = f.local("v128", "b");
  const acc = Array.from({ length: CHAINS }, (_, i) => f.local("v128", `acc${i}`));
  f.f32Const(0.5); f.op("f32x4.splat"); f.localSet(a);
  f.f32Const(0.25); f.op("f32x4.splat"); f.localSet(b);
  const top = f.loop();
  for (const x of acc) {
    f.localGet(x); f.localGet(a); f.localGet(b);
    f.f32x4Madd();
    f.localSet(x);
  }
  f.localGet(n!); f.i32Const(1); f.op("i32.sub"); f.localTee(n!);
  f.brIf(top);
  f.end();
  // Sum the chains so none is dead.
  f.localGet(acc[0]!);
  for (const x of acc.slice(1)) { f.localGet(x); f.op("f32x4.add"); }
  f.lane("f32x4.extract_lane", 0);
  f.finish();
  m.export(f);
  return m.finish();
}

/** Median GFLOP/s of `rounds` timed calls after warm-up (so the optimizing tier runs). */
export async function measurePeak(features: WasmFeatures, rounds = 7): Promise<number> {
  const instance = await wasm.instantiate(await wasm.compile(peakModule(features)));
  const peak = instance.exports.peak as (n: number) => number;
  const iterations = 4_000_000;
  for (let i = 0; i < 3; i++) peak(iterations);
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    peak(iterations);
    const s = (performance.now() - t0) / 1000;
    rates.push((iterations * CHAINS * 8) / s / 1e9);
  }
  return median(rates);
}

