/** Unary math, binary arithmetic, comparison, logical and bitwise ops, Cast, Where, Clip, variadic Sum/Mean/Max/Min. */
import type { OpDef } from "./registry.js";

export const ops: OpDef[] = [];
