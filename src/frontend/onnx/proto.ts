/** The ONNX protobuf schema (from the onnx-proto package) and small conversions of its int64 fields. */
import onnxProto from "onnx-proto";

export const onnx = onnxProto.onnx;
export type { onnx as OnnxTypes } from "onnx-proto";

type LongLike = number | { toString(): string };

/** An int64 protobuf field as a JS number (exact up to 2^53; beyond, the nearest double). */
export function longToNumber(v: LongLike | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === "number" ? v : Number(v.toString());
}

/** An int64 protobuf field as an exact bigint. */
export function longToBigInt(v: LongLike): bigint {
  return typeof v === "number" ? BigInt(v) : BigInt(v.toString());
}
