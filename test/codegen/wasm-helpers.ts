/** Test helpers for the wasm emitter: instantiate a builder, read lanes, track covered ops. */
import { wasm, type WasmMemory } from "../../src/codegen/wasm/engine.js";
import type { ModuleBuilder } from "../../src/codegen/wasm/module.js";
import type { OpName } from "../../src/codegen/wasm/opcodes.js";

/** Ops that appeared in a module that was instantiated (so the coverage test can check). */
export const covered = new Set<OpName>();

// Exports are called with JS numbers/bigints; the signatures are the test's own business.
type Exports = Record<string, (...args: (number | bigint)[]) => any>;

export async function instantiate(m: ModuleBuilder, memory?: WasmMemory): Promise<Exports> {
  const module = await wasm.compile(m.finish());
  const instance = await wasm.instantiate(module, memory ? { env: { memory } } : {});
  for (const f of m.functions) for (const i of f.instructions) covered.add(i.op);
  return instance.exports as Exports;
}

export function memory(pages = 1, shared = false): WasmMemory {
  return new wasm.Memory({ initial: pages, maximum: pages, shared });
}

export const f32x4 = (...lanes: number[]): Uint8Array => new Uint8Array(new Float32Array(lanes).buffer);
export const i32x4 = (...lanes: number[]): Uint8Array => new Uint8Array(new Int32Array(lanes).buffer);
