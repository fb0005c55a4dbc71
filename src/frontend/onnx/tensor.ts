/** ONNX TensorProto <-> kiln Tensor. */
import { DTYPE_INFO, dtypeFromOnnx, dtypeToOnnx, type DType, isBigInt } from "../../ir/dtype.js";
import { LimitError, ModelError, UnsupportedError } from "../../ir/errors.js";
import { Tensor, shapeSize } from "../../ir/tensor.js";
import { longToBigInt, longToNumber, onnx, type OnnxTypes } from "./proto.js";

export interface TensorLimits {
  /** Largest tensor, in bytes, the importer accepts (default 4 GiB). */
  readonly maxTensorBytes?: number;
}

export const DEFAULT_MAX_TENSOR_BYTES = 4 * 2 ** 30;

/** `what` names a tensor that has no name of its own (an attribute value) in messages. */
export function tensorFromProto(t: OnnxTypes.ITensorProto, limits: TensorLimits = {}, what = "tensor"): Tensor {
  const name = t.name ? `tensor "${t.name}"` : what;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData?.length ?? 0) > 0) {
    throw new UnsupportedError(`${name} stores its data in an external file, which kiln does not load yet`, "external data");
  }
  const dtype = dtypeFromOnnx(t.dataType ?? 0, name);
  const shape = (t.dims ?? []).map(longToNumber);
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new ModelError(`${name} has an invalid dimension ${d}`);
  }
  const n = shapeSize(shape);
  const bytes = n * DTYPE_INFO[dtype].bytes;
  const max = limits.maxTensorBytes ?? DEFAULT_MAX_TENSOR_BYTES;
  if (bytes > max) throw new LimitError(`${name} of shape [${shape.join(",")}] needs ${bytes} bytes, over the limit of ${max}`);
  const data = DTYPE_INFO[dtype].make(n);
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    if (raw.length !== bytes) throw new ModelError(`${name}: raw_data has ${raw.length} bytes, shape [${shape.join(",")}] of ${dtype} needs ${bytes}`);
    new Uint8Array(data.buffer).set(raw);
    return new Tensor(dtype, shape, data);
  }
  const fields = typedField(t, dtype);
  if (fields.length !== n) {
    throw new ModelError(`${name}: holds ${fields.length} values, shape [${shape.join(",")}] needs ${n}`);
  }
  if (isBigInt(dtype)) {
    const big = data as BigInt64Array | BigUint64Array;
    for (let i = 0; i < n; i++) big[i] = longToBigInt(fields[i] as number);
  } else {
    // float16 values arrive as their bit patterns in int32_data, which is exactly the storage form.
    for (let i = 0; i < n; i++) data[i] = longToNumber(fields[i] as number);
  }
  return new Tensor(dtype, shape, data);
}

function typedField(t: OnnxTypes.ITensorProto, dtype: DType): readonly unknown[] {
  switch (dtype) {
    case "float32": return t.floatData ?? [];
    case "float64": return t.doubleData ?? [];
    case "int64": return t.int64Data ?? [];
    case "uint32": case "uint64": return t.uint64Data ?? [];
    default: return t.int32Data ?? [];
  }
}

export function tensorToProto(t: Tensor, name = ""): OnnxTypes.ITensorProto {
  return {
    name,
    dims: [...t.shape],
    dataType: dtypeToOnnx(t.dtype),
    rawData: new Uint8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength)),
  };
}

/** Decode a serialized TensorProto (the `.pb` files of the ONNX backend tests). */
export function decodeTensor(bytes: Uint8Array, limits: TensorLimits = {}): Tensor {
  let proto: OnnxTypes.TensorProto;
  try {
    proto = onnx.TensorProto.decode(bytes);
  } catch (e) {
    throw new ModelError(`not a valid TensorProto: ${(e as Error).message}`);
  }
  return tensorFromProto(proto, limits);
}

export function encodeTensor(t: Tensor, name = ""): Uint8Array {
  return onnx.TensorProto.encode(tensorToProto(t, name)).finish();
}
