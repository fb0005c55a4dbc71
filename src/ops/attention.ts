/** Attention and transformer blocks: Attention, RotaryEmbedding, and the newer LinearAttention, CausalConvWithState, SwiGLU. */
import type { OpDef } from "./registry.js";

export const ops: OpDef[] = [];
