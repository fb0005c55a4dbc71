/** Constants, Identity and control flow (If, Loop, Scan). */
import { ModelError } from "../ir/errors.js";
import { Tensor } from "../ir/tensor.js";
import type { EvalContext, OpDef } from "./registry.js";
import { req, sameAsInput } from "./util.js";

/** The tensor a Constant node holds, from whichever of its value attributes is set. */
function constantValue(ctx: Pick<EvalContext, "attrs" | "node">): Tensor {
  const a = ctx.attrs;
  const t = a.optTensor("value");
  if (t) return t;
  const f = a.optFloat("value_float");
  if (f !== undefined) return Tensor.scalar("float32", f);
  const fs = a.optFloats("value_floats");
  if (fs) return Tensor.fromNumbers("float32", [fs.length], fs);
  const i = a.optInt("value_int");
  if (i !== undefined) return Tensor.scalar("int64", i);
  const is = a.optInts("value_ints");
  if (is) return Tensor.fromNumbers("int64", [is.length], is);
  throw new ModelError(`Constant${ctx.node.name ? ` "${ctx.node.name}"` : ""}: no supported value attribute (value, value_float(s), value_int(s))`);
}

const constant: OpDef = {
  name: "Constant",
  pattern: "opaque",
  attrs: {
    value: { type: "tensor" },
    value_float: { type: "float", since: 12 },
    value_floats: { type: "floats", since: 12 },
    value_int: { type: "int", since: 12 },
    value_ints: { type: "ints", since: 12 },
    value_string: { type: "string", since: 12 },
    value_strings: { type: "strings", since: 12 },
    sparse_value: { type: "tensor", since: 11 },
  },
  infer: (ctx) => {
    const t = constantValue(ctx);
    return [{ dtype: t.dtype, shape: t.shape }];
  },
  evaluate: (ctx) => [constantValue(ctx)],
};

const identity: OpDef = {
  name: "Identity",
  pattern: "injective",
  attrs: {},
  infer: sameAsInput(0),
  evaluate: (ctx) => [req(ctx.inputs[0], "Identity", 0)],
};

export const ops: OpDef[] = [constant, identity];
