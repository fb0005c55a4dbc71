/** Pooling: MaxPool, AveragePool, LpPool, GlobalMaxPool, GlobalAveragePool, GlobalLpPool, MaxUnpool. */
import type { OpDef } from "./registry.js";

export const ops: OpDef[] = [];
