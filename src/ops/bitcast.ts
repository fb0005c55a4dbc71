/** Bit-level reinterpretation: BitCast. */
import { DTYPE_INFO, dtypeFromOnnx } from "../ir/dtype.js";
import { UnsupportedError } from "../ir/errors.js";
import { Tensor } from "../ir/tensor.js";
import type { OpDef } from "./registry.js";
import { inputType, req } from "./util.js";

const bitcast: OpDef = {
  name: "BitCast",
  pattern: "elementwise",
  attrs: { to: { type: "int", required: true } },
  infer: (ctx) => {
    const t = inputType(ctx, 0);
    const to = dtypeFromOnnx(ctx.attrs.int("to"));
    if (DTYPE_INFO[to].bytes !== DTYPE_INFO[t.dtype].bytes) {
      throw new UnsupportedError(`BitCast between types of different sizes (${t.dtype} to ${to}) is not supported`, "BitCast size change");
    }
    return [{ dtype: to, shape: t.shape }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "BitCast", 0);
    const to = dtypeFromOnnx(ctx.attrs.int("to"));
    if (DTYPE_INFO[to].bytes !== DTYPE_INFO[x.dtype].bytes) {
      throw new UnsupportedError(`BitCast between types of different sizes (${x.dtype} to ${to}) is not supported`, "BitCast size change");
    }
    const bytes = new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength).slice();
    return [new Tensor(to, x.shape, DTYPE_INFO[to].view(bytes.buffer, 0, x.size))];
  },
};

export const ops: OpDef[] = [bitcast];
