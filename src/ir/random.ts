/** Seeded pseudo-random tensors (mulberry32), so test inputs and built-in weights are reproducible. */
import type { DType } from "./dtype.js";
import { Tensor, shapeSize } from "./tensor.js";

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Floats uniform in [lo, hi); integers uniform in [lo, hi) truncated; bools fair coins. */
export function randomTensor(dtype: DType, shape: readonly number[], seed: number, lo = -1, hi = 1): Tensor {
  const r = rng(seed);
  const n = shapeSize(shape);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = dtype === "bool" ? (r() < 0.5 ? 0 : 1) : lo + (hi - lo) * r();
  return Tensor.fromNumbers(dtype, shape, v);
}
