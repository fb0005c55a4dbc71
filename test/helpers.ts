/** Test helpers: hand-built ONNX protos, and paths to ../shared. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { detectFeatures, tuneNodeEngine } from "../src/codegen/wasm/features.js";
import type { WasmFeatures } from "../src/codegen/wasm/opcodes.js";
import { onnx, type OnnxTypes } from "../src/frontend/onnx/proto.js";
import type { Tensor } from "../src/ir/tensor.js";

/** The repository root (tests run from dist/test/...). */
export const ROOT = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, "package.json"))) d = dirname(d);
  return d;
})();

export const SHARED = join(ROOT, "..", "shared");
export const NODE_TESTS = join(SHARED, "onnx", "node");
export const LIGHT = join(SHARED, "onnx", "light");

export function vinfo(name: string, elemType = 1, dims: (number | string)[] = [2, 3]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } },
  };
}

export function modelBytes(graph: OnnxTypes.IGraphProto, opsets: OnnxTypes.IOperatorSetIdProto[] = [{ domain: "", version: 17 }]): Uint8Array {
  return onnx.ModelProto.encode({ irVersion: 8, opsetImport: opsets, graph }).finish();
}

/** y = Identity(x) over float32 [2,3]. */
export function identityModel(): Uint8Array {
  return modelBytes({
    name: "id",
    input: [vinfo("x")],
    output: [vinfo("y")],
    node: [{ opType: "Identity", input: ["x"], output: ["y"], name: "the_identity" }],
  });
}

/**
 * Largest relative error over all elements, relative to |want| but never to less than 1% of the
 * tensor's largest magnitude: f32 sums in another order differ by rounding that cancellation
 * near zero would otherwise blow up.
 */
export function worst(got: Tensor, want: Tensor): number {
  assert.deepEqual(got.shape, want.shape);
  const a = got.numbers(), b = want.numbers();
  const floor = 0.01 * b.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1e-30;
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Object.is(a[i], b[i]) ? 0 : Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), floor));
  return w;
}

/** The engine's features as kiln's CLI configures it (relaxed SIMD on Node 20 too), so codegen tests reach every instruction. */
export async function tunedFeatures(): Promise<WasmFeatures> {
  await tuneNodeEngine();
  return detectFeatures();
}
