/** Indexing, scatter, sort and scan ops: Gather*, Scatter*, OneHot, Compress, NonZero, TopK, Unique, CumSum, CumProd. */
import type { OpDef } from "./registry.js";

export const ops: OpDef[] = [];
