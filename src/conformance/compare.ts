/** Compares an output with ONNX's expected value, with the ONNX backend tests' tolerance. */
import { isFloat } from "../ir/dtype.js";
import type { Tensor } from "../ir/tensor.js";

export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

export const ONNX_TOLERANCE: Tolerance = { rtol: 1e-3, atol: 1e-7 };

/** null when they match; otherwise what differs (for the worst element, its index and both values). */
export function compareTensors(expected: Tensor, actual: Tensor, tol: Tolerance = ONNX_TOLERANCE): string | null {
  if (expected.dtype !== actual.dtype) return `dtype ${actual.dtype}, expected ${expected.dtype}`;
  const es = expected.shape.join(","), as = actual.shape.join(",");
  if (es !== as) return `shape [${as}], expected [${es}]`;
  if (!isFloat(expected.dtype)) {
    const e = expected.bigints(), a = actual.bigints();
    const i = e.findIndex((v, k) => v !== a[k]);
    return i < 0 ? null : `element ${i} is ${a[i]}, expected ${e[i]}`;
  }
  const e = expected.numbers(), a = actual.numbers();
  let worst = -1, worstExcess = 0, bad = 0;
  for (let i = 0; i < e.length; i++) {
    const x = e[i]!, y = a[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (Number.isNaN(x) !== Number.isNaN(y)) { bad++; if (worstExcess < Infinity) { worst = i; worstExcess = Infinity; } }
      continue;
    }
    if (x === y) continue; // also equal infinities
    const excess = Math.abs(x - y) - (tol.atol + tol.rtol * Math.abs(x));
    if (excess > 0 || Number.isNaN(excess)) {
      bad++;
      if (!(excess <= worstExcess)) { worst = i; worstExcess = excess; }
    }
  }
  if (bad === 0) return null;
  return `${bad} of ${e.length} elements differ; worst at ${worst}: ${a[worst]}, expected ${e[worst]}`;
}
