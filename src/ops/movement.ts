/** Data movement: Transpose, Concat, Split, Slice, Pad, Tile, DepthToSpace, SpaceToDepth, ReverseSequence, Trilu, CenterCropPad. */
import type { OpDef } from "./registry.js";

export const ops: OpDef[] = [];
