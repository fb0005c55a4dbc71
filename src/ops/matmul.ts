/** Matrix products: MatMul, Gemm, Det. */
import type { OpDef } from "./registry.js";

export const ops: OpDef[] = [];
