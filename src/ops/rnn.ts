/** Recurrent layers: RNN, LSTM, GRU. */
import type { OpDef } from "./registry.js";

export const ops: OpDef[] = [];
