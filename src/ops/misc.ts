/** Everything else the conformance suite needs: TfIdfVectorizer, ai.onnx.ml ops, Bernoulli and the random ops. */
import type { OpDef } from "./registry.js";

export const ops: OpDef[] = [];
