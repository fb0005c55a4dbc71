/** Convolutions: Conv, ConvTranspose, DeformConv, Col2Im. */
import type { OpDef } from "./registry.js";

export const ops: OpDef[] = [];
