/** Activation functions: Relu, Sigmoid, Elu, Selu, Gelu, Mish, HardSwish and friends. */
import type { OpDef } from "./registry.js";

export const ops: OpDef[] = [];
