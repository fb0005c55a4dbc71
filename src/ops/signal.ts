/** Signal processing: DFT, STFT, window functions, MelWeightMatrix. */
import type { OpDef } from "./registry.js";

export const ops: OpDef[] = [];
