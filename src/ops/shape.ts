/** Ops that only compute or change shapes: Reshape, Shape, Size, Flatten, Squeeze, Unsqueeze, Expand, ConstantOfShape, Range, EyeLike. */
import type { OpDef } from "./registry.js";

export const ops: OpDef[] = [];
