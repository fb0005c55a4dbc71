/** Value types in the graph IR: a dtype and a shape whose dimensions are numbers or symbols. */
import type { DType } from "./dtype.js";

/**
 * A dimension: a known size, or a symbol (`N`, `seq`) or a symbolic expression over symbols
 * (`(N*2)`), written exactly as the textual IR prints it.
 */
export type Dim = number | string;

export interface TensorType {
  readonly dtype: DType;
  /** null when even the rank is unknown. */
  readonly shape: readonly Dim[] | null;
}

export function isStaticShape(shape: readonly Dim[] | null): shape is readonly number[] {
  return shape !== null && shape.every((d) => typeof d === "number");
}
