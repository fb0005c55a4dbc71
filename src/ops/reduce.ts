/** Reductions: Reduce*, ArgMax, ArgMin. */
import type { OpDef } from "./registry.js";

export const ops: OpDef[] = [];
