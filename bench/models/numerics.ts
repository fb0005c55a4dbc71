/**
 * Output agreement with the reference runtime (onnxruntime-node), by the CI test's measure
 * (test/helpers.ts `worst`: relative to max(|expected|, 1% of the largest |expected|)): float
 * outputs agree within 1e-3, integer and bool outputs exactly.
 */
import { DTYPE_INFO } from "../../src/ir/dtype.js";
import type { Tensor } from "../../src/ir/tensor.js";
import { worst } from "../../test/helpers.js";

export const REL_TOLERANCE = 1e-3;

export interface Numerics {
  readonly maxAbs: number;
  readonly maxRel: number;
  readonly ok: boolean;
  /** Why the outputs cannot be compared element by element (a missing output, another shape). */
  readonly detail?: string;
}

export function compareOutputs(got: Readonly<Record<string, Tensor>>, want: Readonly<Record<string, Tensor>>): Numerics {
  let maxAbs = 0, maxRel = 0, ok = true;
  for (const [name, w] of Object.entries(want)) {
    const g = got[name];
    if (g === undefined) return { maxAbs: NaN, maxRel: NaN, ok: false, detail: `no output "${name}"` };
    if (g.shape.join() !== w.shape.join()) {
      return { maxAbs: NaN, maxRel: NaN, ok: false, detail: `output "${name}" has shape [${g.shape}], expected [${w.shape}]` };
    }
    const a = g.numbers(), b = w.numbers();
    let abs = 0;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) abs = Math.max(abs, Math.abs(a[i]! - b[i]!));
    const rel = worst(g, w);
    maxAbs = Math.max(maxAbs, abs);
    maxRel = Math.max(maxRel, rel);
    // NaN where the reference has a number fails both comparisons below.
    ok &&= DTYPE_INFO[w.dtype].isFloat ? rel <= REL_TOLERANCE : abs === 0;
  }
  return { maxAbs, maxRel, ok };
}
