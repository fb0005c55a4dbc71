/** Sampling and detection: Resize, Upsample, GridSample, AffineGrid, RoiAlign, NonMaxSuppression. */
import type { OpDef } from "./registry.js";

export const ops: OpDef[] = [];
