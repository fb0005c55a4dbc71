/** Softmax family and normalizations: Softmax, LogSoftmax, Hardmax, BatchNormalization, LayerNormalization, RMSNormalization, GroupNormalization, InstanceNormalization, LpNormalization, MeanVarianceNormalization, LRN, Dropout. */
import type { OpDef } from "./registry.js";

export const ops: OpDef[] = [];
