/**
 * `kiln:Fused`: a fused function made by the operator-fusion pass. Its `body` subgraph holds the
 * member nodes; its inputs are the values the members read from outside (weights included),
 * its outputs the values read outside. Reference evaluation runs the body.
 */
import { InternalError } from "../ir/errors.js";
import type { OpDef } from "./registry.js";

const fused: OpDef = {
  name: "kiln:Fused",
  pattern: "opaque",
  attrs: {
    body: { type: "graph", required: true },
    /** The pattern kind of the group's anchor (the op that decides how the kernel is scheduled). */
    kind: { type: "string", required: true },
  },
  infer: (ctx) => ctx.inferSubgraph(ctx.attrs.graph("body"), ctx.inputs),
  evaluate: (ctx) => ctx.runSubgraph(ctx.attrs.graph("body"), ctx.inputs.map((t, i) => {
    if (!t) throw new InternalError(`kiln:Fused: input ${i} is missing`);
    return t;
  })),
};

export const ops: OpDef[] = [fused];
