/** Element types. Every dtype has a storage array type; arithmetic in the reference interpreter goes through numbers. */
import { LimitError, ModelError, UnsupportedError } from "./errors.js";

export const DTYPES = [
  "float32", "float64", "float16", "int8", "uint8", "int16", "uint16",
  "int32", "uint32", "int64", "uint64", "bool",
] as const;
export type DType = (typeof DTYPES)[number];

export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

interface DTypeInfo {
  readonly onnx: number;
  readonly bytes: number;
  readonly short: string;
  readonly isFloat: boolean;
  readonly isInt: boolean;
  readonly isSigned: boolean;
  make(n: number): TypedArray;
  view(buf: ArrayBuffer, byteOffset: number, length: number): TypedArray;
}

function info(onnx: number, bytes: number, short: string, kind: "f" | "i" | "u" | "b",
  ctor: { new (n: number): TypedArray; new (b: ArrayBuffer, o: number, n: number): TypedArray }): DTypeInfo {
  return {
    onnx, bytes, short,
    isFloat: kind === "f", isInt: kind === "i" || kind === "u", isSigned: kind === "i" || kind === "f",
    make: (n) => {
      // Limits can be raised past what the engine can allocate (a 100 GB initializer): that is a limit too.
      try {
        return new ctor(n);
      } catch (e) {
        if (e instanceof RangeError) throw new LimitError(`cannot allocate ${n} elements of ${bytes} bytes: over this JavaScript engine's array limit`);
        throw e;
      }
    },
    view: (b, o, n) => new ctor(b, o, n),
  };
}

/** float16 is stored as raw bits in a Uint16Array and converted on access. */
export const DTYPE_INFO: { readonly [D in DType]: DTypeInfo } = {
  float32: info(1, 4, "f32", "f", Float32Array),
  float64: info(11, 8, "f64", "f", Float64Array),
  float16: info(10, 2, "f16", "f", Uint16Array),
  int8: info(3, 1, "i8", "i", Int8Array),
  uint8: info(2, 1, "u8", "u", Uint8Array),
  int16: info(5, 2, "i16", "i", Int16Array),
  uint16: info(4, 2, "u16", "u", Uint16Array),
  int32: info(6, 4, "i32", "i", Int32Array),
  uint32: info(12, 4, "u32", "u", Uint32Array),
  int64: info(7, 8, "i64", "i", BigInt64Array),
  uint64: info(13, 8, "u64", "u", BigUint64Array),
  bool: info(9, 1, "bool", "b", Uint8Array),
};

const ONNX_NAMES: Record<number, string> = {
  8: "string", 14: "complex64", 15: "complex128", 16: "bfloat16",
  17: "float8e4m3fn", 18: "float8e4m3fnuz", 19: "float8e5m2", 20: "float8e5m2fnuz",
  21: "uint4", 22: "int4", 23: "float4e2m1", 24: "float8e8m0", 25: "uint2", 26: "int2",
};

const BY_ONNX = new Map<number, DType>(DTYPES.map((d) => [DTYPE_INFO[d].onnx, d]));
const BY_SHORT = new Map<string, DType>(DTYPES.map((d) => [DTYPE_INFO[d].short, d]));

/**
 * Map an ONNX TensorProto.DataType code to a kiln dtype. A code that names no type (0 is UNDEFINED)
 * is a ModelError; a real type kiln lacks is an UnsupportedError. `what` names the holder in messages.
 */
export function dtypeFromOnnx(code: number, what?: string): DType {
  const d = BY_ONNX.get(code);
  if (d !== undefined) return d;
  const where = what ? `${what}: ` : "";
  if (!Number.isInteger(code) || code <= 0) throw new ModelError(`${where}invalid data type code ${code}`);
  const name = ONNX_NAMES[code] ?? `code ${code}`;
  throw new UnsupportedError(`${where}dtype ${name} is not supported`, `dtype ${name}`);
}

export function dtypeToOnnx(d: DType): number {
  return DTYPE_INFO[d].onnx;
}

export function dtypeFromShort(s: string): DType | undefined {
  return BY_SHORT.get(s);
}

export const isFloat = (d: DType): boolean => DTYPE_INFO[d].isFloat;
export const isInt = (d: DType): boolean => DTYPE_INFO[d].isInt;
export const isBigInt = (d: DType): boolean => d === "int64" || d === "uint64";
