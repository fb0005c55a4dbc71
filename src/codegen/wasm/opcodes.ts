/**
 * The instruction table, as data. Each row gives the opcode (with its prefix byte for the
 * 0xFC/0xFD/0xFE spaces), the immediate kind, the natural alignment of memory accesses, the
 * lane count of lane immediates, and the operand signature `"pops -> pushes"`. The function
 * builder type-checks every row with a signature generically; rows without one (control,
 * locals, drop, select) have polymorphic typing rules and their own builder methods.
 */
import { InternalError } from "../../ir/errors.js";
import { u32 } from "./encoding.js";

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128";

export const VALTYPE_CODE: Readonly<Record<ValType, number>> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Engine features an instruction may need; a module's target says which are allowed. */
export type Feature = "simd128" | "relaxedSimd" | "threads";
export type WasmFeatures = Readonly<Record<Feature, boolean>>;

/** The default target: what Node 20 has without flags (browsers need cross-origin isolation for threads). */
export const BASELINE: WasmFeatures = { simd128: true, relaxedSimd: false, threads: true };

export type ImmKind =
  | "memarg" | "lane" | "shuffle" | "i32" | "i64" | "f32" | "f64" | "v128"
  | "local" | "label" | "block" | "func";

interface Row {
  readonly code: number;
  readonly prefix?: number;
  readonly sig?: string;
  readonly imm?: ImmKind;
  /** Natural alignment in bytes, for memarg rows. */
  readonly align?: number;
  /** Lane count, for lane rows (shuffle lanes index both operands: 32). */
  readonly lanes?: number;
}

const FC = 0xfc, SIMD = 0xfd, ATOMIC = 0xfe;

export const OPS = {
  // Control and variables: typed by dedicated builder methods.
  "unreachable": { code: 0x00 },
  "block": { code: 0x02, imm: "block" },
  "loop": { code: 0x03, imm: "block" },
  "if": { code: 0x04, imm: "block" },
  "else": { code: 0x05 },
  "end": { code: 0x0b },
  "br": { code: 0x0c, imm: "label" },
  "br_if": { code: 0x0d, imm: "label" },
  "return": { code: 0x0f },
  "call": { code: 0x10, imm: "func" },
  "drop": { code: 0x1a },
  "select": { code: 0x1b },
  "local.get": { code: 0x20, imm: "local" },
  "local.set": { code: 0x21, imm: "local" },
  "local.tee": { code: 0x22, imm: "local" },

  // Constants.
  "i32.const": { code: 0x41, imm: "i32", sig: "-> i32" },
  "i64.const": { code: 0x42, imm: "i64", sig: "-> i64" },
  "f32.const": { code: 0x43, imm: "f32", sig: "-> f32" },
  "f64.const": { code: 0x44, imm: "f64", sig: "-> f64" },
  "v128.const": { prefix: SIMD, code: 0x0c, imm: "v128", sig: "-> v128" },

  // Memory.
  "i32.load": { code: 0x28, imm: "memarg", align: 4, sig: "i32 -> i32" },
  "i64.load": { code: 0x29, imm: "memarg", align: 8, sig: "i32 -> i64" },
  "f32.load": { code: 0x2a, imm: "memarg", align: 4, sig: "i32 -> f32" },
  "f64.load": { code: 0x2b, imm: "memarg", align: 8, sig: "i32 -> f64" },
  "i32.load8_u": { code: 0x2d, imm: "memarg", align: 1, sig: "i32 -> i32" },
  "i32.store": { code: 0x36, imm: "memarg", align: 4, sig: "i32 i32 ->" },
  "i64.store": { code: 0x37, imm: "memarg", align: 8, sig: "i32 i64 ->" },
  "f32.store": { code: 0x38, imm: "memarg", align: 4, sig: "i32 f32 ->" },
  "f64.store": { code: 0x39, imm: "memarg", align: 8, sig: "i32 f64 ->" },
  "i32.store8": { code: 0x3a, imm: "memarg", align: 1, sig: "i32 i32 ->" },
  "v128.load": { prefix: SIMD, code: 0x00, imm: "memarg", align: 16, sig: "i32 -> v128" },
  "v128.load32_splat": { prefix: SIMD, code: 0x09, imm: "memarg", align: 4, sig: "i32 -> v128" },
  "v128.store": { prefix: SIMD, code: 0x0b, imm: "memarg", align: 16, sig: "i32 v128 ->" },

  // Atomics (threads): alignment must be exactly natural.
  "memory.atomic.notify": { prefix: ATOMIC, code: 0x00, imm: "memarg", align: 4, sig: "i32 i32 -> i32" },
  "memory.atomic.wait32": { prefix: ATOMIC, code: 0x01, imm: "memarg", align: 4, sig: "i32 i32 i64 -> i32" },
  "i32.atomic.load": { prefix: ATOMIC, code: 0x10, imm: "memarg", align: 4, sig: "i32 -> i32" },
  "i32.atomic.store": { prefix: ATOMIC, code: 0x17, imm: "memarg", align: 4, sig: "i32 i32 ->" },
  "i32.atomic.rmw.add": { prefix: ATOMIC, code: 0x1e, imm: "memarg", align: 4, sig: "i32 i32 -> i32" },
  "i32.atomic.rmw.sub": { prefix: ATOMIC, code: 0x25, imm: "memarg", align: 4, sig: "i32 i32 -> i32" },
  "i32.atomic.rmw.xchg": { prefix: ATOMIC, code: 0x41, imm: "memarg", align: 4, sig: "i32 i32 -> i32" },
  "i32.atomic.rmw.cmpxchg": { prefix: ATOMIC, code: 0x48, imm: "memarg", align: 4, sig: "i32 i32 i32 -> i32" },

  // i32.
  "i32.eqz": { code: 0x45, sig: "i32 -> i32" },
  "i32.eq": { code: 0x46, sig: "i32 i32 -> i32" },
  "i32.ne": { code: 0x47, sig: "i32 i32 -> i32" },
  "i32.lt_s": { code: 0x48, sig: "i32 i32 -> i32" },
  "i32.lt_u": { code: 0x49, sig: "i32 i32 -> i32" },
  "i32.gt_s": { code: 0x4a, sig: "i32 i32 -> i32" },
  "i32.gt_u": { code: 0x4b, sig: "i32 i32 -> i32" },
  "i32.le_s": { code: 0x4c, sig: "i32 i32 -> i32" },
  "i32.le_u": { code: 0x4d, sig: "i32 i32 -> i32" },
  "i32.ge_s": { code: 0x4e, sig: "i32 i32 -> i32" },
  "i32.ge_u": { code: 0x4f, sig: "i32 i32 -> i32" },
  "i32.clz": { code: 0x67, sig: "i32 -> i32" },
  "i32.ctz": { code: 0x68, sig: "i32 -> i32" },
  "i32.popcnt": { code: 0x69, sig: "i32 -> i32" },
  "i32.add": { code: 0x6a, sig: "i32 i32 -> i32" },
  "i32.sub": { code: 0x6b, sig: "i32 i32 -> i32" },
  "i32.mul": { code: 0x6c, sig: "i32 i32 -> i32" },
  "i32.div_s": { code: 0x6d, sig: "i32 i32 -> i32" },
  "i32.div_u": { code: 0x6e, sig: "i32 i32 -> i32" },
  "i32.rem_s": { code: 0x6f, sig: "i32 i32 -> i32" },
  "i32.rem_u": { code: 0x70, sig: "i32 i32 -> i32" },
  "i32.and": { code: 0x71, sig: "i32 i32 -> i32" },
  "i32.or": { code: 0x72, sig: "i32 i32 -> i32" },
  "i32.xor": { code: 0x73, sig: "i32 i32 -> i32" },
  "i32.shl": { code: 0x74, sig: "i32 i32 -> i32" },
  "i32.shr_s": { code: 0x75, sig: "i32 i32 -> i32" },
  "i32.shr_u": { code: 0x76, sig: "i32 i32 -> i32" },
  "i32.rotl": { code: 0x77, sig: "i32 i32 -> i32" },
  "i32.rotr": { code: 0x78, sig: "i32 i32 -> i32" },

  // i64.
  "i64.eqz": { code: 0x50, sig: "i64 -> i32" },
  "i64.eq": { code: 0x51, sig: "i64 i64 -> i32" },
  "i64.ne": { code: 0x52, sig: "i64 i64 -> i32" },
  "i64.lt_s": { code: 0x53, sig: "i64 i64 -> i32" },
  "i64.lt_u": { code: 0x54, sig: "i64 i64 -> i32" },
  "i64.gt_s": { code: 0x55, sig: "i64 i64 -> i32" },
  "i64.gt_u": { code: 0x56, sig: "i64 i64 -> i32" },
  "i64.le_s": { code: 0x57, sig: "i64 i64 -> i32" },
  "i64.le_u": { code: 0x58, sig: "i64 i64 -> i32" },
  "i64.ge_s": { code: 0x59, sig: "i64 i64 -> i32" },
  "i64.ge_u": { code: 0x5a, sig: "i64 i64 -> i32" },
  "i64.clz": { code: 0x79, sig: "i64 -> i64" },
  "i64.ctz": { code: 0x7a, sig: "i64 -> i64" },
  "i64.popcnt": { code: 0x7b, sig: "i64 -> i64" },
  "i64.add": { code: 0x7c, sig: "i64 i64 -> i64" },
  "i64.sub": { code: 0x7d, sig: "i64 i64 -> i64" },
  "i64.mul": { code: 0x7e, sig: "i64 i64 -> i64" },
  "i64.div_s": { code: 0x7f, sig: "i64 i64 -> i64" },
  "i64.div_u": { code: 0x80, sig: "i64 i64 -> i64" },
  "i64.rem_s": { code: 0x81, sig: "i64 i64 -> i64" },
  "i64.rem_u": { code: 0x82, sig: "i64 i64 -> i64" },
  "i64.and": { code: 0x83, sig: "i64 i64 -> i64" },
  "i64.or": { code: 0x84, sig: "i64 i64 -> i64" },
  "i64.xor": { code: 0x85, sig: "i64 i64 -> i64" },
  "i64.shl": { code: 0x86, sig: "i64 i64 -> i64" },
  "i64.shr_s": { code: 0x87, sig: "i64 i64 -> i64" },
  "i64.shr_u": { code: 0x88, sig: "i64 i64 -> i64" },
  "i64.rotl": { code: 0x89, sig: "i64 i64 -> i64" },
  "i64.rotr": { code: 0x8a, sig: "i64 i64 -> i64" },

  // f32.
  "f32.eq": { code: 0x5b, sig: "f32 f32 -> i32" },
  "f32.ne": { code: 0x5c, sig: "f32 f32 -> i32" },
  "f32.lt": { code: 0x5d, sig: "f32 f32 -> i32" },
  "f32.gt": { code: 0x5e, sig: "f32 f32 -> i32" },
  "f32.le": { code: 0x5f, sig: "f32 f32 -> i32" },
  "f32.ge": { code: 0x60, sig: "f32 f32 -> i32" },
  "f32.abs": { code: 0x8b, sig: "f32 -> f32" },
  "f32.neg": { code: 0x8c, sig: "f32 -> f32" },
  "f32.ceil": { code: 0x8d, sig: "f32 -> f32" },
  "f32.floor": { code: 0x8e, sig: "f32 -> f32" },
  "f32.trunc": { code: 0x8f, sig: "f32 -> f32" },
  "f32.nearest": { code: 0x90, sig: "f32 -> f32" },
  "f32.sqrt": { code: 0x91, sig: "f32 -> f32" },
  "f32.add": { code: 0x92, sig: "f32 f32 -> f32" },
  "f32.sub": { code: 0x93, sig: "f32 f32 -> f32" },
  "f32.mul": { code: 0x94, sig: "f32 f32 -> f32" },
  "f32.div": { code: 0x95, sig: "f32 f32 -> f32" },
  "f32.min": { code: 0x96, sig: "f32 f32 -> f32" },
  "f32.max": { code: 0x97, sig: "f32 f32 -> f32" },
  "f32.copysign": { code: 0x98, sig: "f32 f32 -> f32" },

  // f64.
  "f64.eq": { code: 0x61, sig: "f64 f64 -> i32" },
  "f64.ne": { code: 0x62, sig: "f64 f64 -> i32" },
  "f64.lt": { code: 0x63, sig: "f64 f64 -> i32" },
  "f64.gt": { code: 0x64, sig: "f64 f64 -> i32" },
  "f64.le": { code: 0x65, sig: "f64 f64 -> i32" },
  "f64.ge": { code: 0x66, sig: "f64 f64 -> i32" },
  "f64.abs": { code: 0x99, sig: "f64 -> f64" },
  "f64.neg": { code: 0x9a, sig: "f64 -> f64" },
  "f64.ceil": { code: 0x9b, sig: "f64 -> f64" },
  "f64.floor": { code: 0x9c, sig: "f64 -> f64" },
  "f64.trunc": { code: 0x9d, sig: "f64 -> f64" },
  "f64.nearest": { code: 0x9e, sig: "f64 -> f64" },
  "f64.sqrt": { code: 0x9f, sig: "f64 -> f64" },
  "f64.add": { code: 0xa0, sig: "f64 f64 -> f64" },
  "f64.sub": { code: 0xa1, sig: "f64 f64 -> f64" },
  "f64.mul": { code: 0xa2, sig: "f64 f64 -> f64" },
  "f64.div": { code: 0xa3, sig: "f64 f64 -> f64" },
  "f64.min": { code: 0xa4, sig: "f64 f64 -> f64" },
  "f64.max": { code: 0xa5, sig: "f64 f64 -> f64" },
  "f64.copysign": { code: 0xa6, sig: "f64 f64 -> f64" },

  // Conversions.
  "i32.wrap_i64": { code: 0xa7, sig: "i64 -> i32" },
  "i64.extend_i32_s": { code: 0xac, sig: "i32 -> i64" },
  "i64.extend_i32_u": { code: 0xad, sig: "i32 -> i64" },
  "f32.convert_i32_s": { code: 0xb2, sig: "i32 -> f32" },
  "f32.convert_i32_u": { code: 0xb3, sig: "i32 -> f32" },
  "f32.demote_f64": { code: 0xb6, sig: "f64 -> f32" },
  "f64.convert_i32_s": { code: 0xb7, sig: "i32 -> f64" },
  "f64.promote_f32": { code: 0xbb, sig: "f32 -> f64" },
  "i64.reinterpret_f64": { code: 0xbd, sig: "f64 -> i64" },
  "f64.reinterpret_i64": { code: 0xbf, sig: "i64 -> f64" },
  "i32.reinterpret_f32": { code: 0xbc, sig: "f32 -> i32" },
  "f32.reinterpret_i32": { code: 0xbe, sig: "i32 -> f32" },
  "i32.trunc_sat_f32_s": { prefix: FC, code: 0x00, sig: "f32 -> i32" },
  "i32.trunc_sat_f32_u": { prefix: FC, code: 0x01, sig: "f32 -> i32" },
  "i32.trunc_sat_f64_s": { prefix: FC, code: 0x02, sig: "f64 -> i32" },
  "i64.trunc_sat_f64_s": { prefix: FC, code: 0x06, sig: "f64 -> i64" },

  // SIMD128: lanes.
  "i8x16.shuffle": { prefix: SIMD, code: 0x0d, imm: "shuffle", lanes: 32, sig: "v128 v128 -> v128" },
  "i32x4.splat": { prefix: SIMD, code: 0x11, sig: "i32 -> v128" },
  "f32x4.splat": { prefix: SIMD, code: 0x13, sig: "f32 -> v128" },
  "i32x4.extract_lane": { prefix: SIMD, code: 0x1b, imm: "lane", lanes: 4, sig: "v128 -> i32" },
  "i32x4.replace_lane": { prefix: SIMD, code: 0x1c, imm: "lane", lanes: 4, sig: "v128 i32 -> v128" },
  "f32x4.extract_lane": { prefix: SIMD, code: 0x1f, imm: "lane", lanes: 4, sig: "v128 -> f32" },
  "f32x4.replace_lane": { prefix: SIMD, code: 0x20, imm: "lane", lanes: 4, sig: "v128 f32 -> v128" },

  // SIMD128: comparisons produce all-ones / all-zeros lane masks.
  "f32x4.eq": { prefix: SIMD, code: 0x41, sig: "v128 v128 -> v128" },
  "f32x4.ne": { prefix: SIMD, code: 0x42, sig: "v128 v128 -> v128" },
  "f32x4.lt": { prefix: SIMD, code: 0x43, sig: "v128 v128 -> v128" },
  "f32x4.gt": { prefix: SIMD, code: 0x44, sig: "v128 v128 -> v128" },
  "f32x4.le": { prefix: SIMD, code: 0x45, sig: "v128 v128 -> v128" },
  "f32x4.ge": { prefix: SIMD, code: 0x46, sig: "v128 v128 -> v128" },

  // SIMD128: bitwise.
  "v128.not": { prefix: SIMD, code: 0x4d, sig: "v128 -> v128" },
  "v128.and": { prefix: SIMD, code: 0x4e, sig: "v128 v128 -> v128" },
  "v128.andnot": { prefix: SIMD, code: 0x4f, sig: "v128 v128 -> v128" },
  "v128.or": { prefix: SIMD, code: 0x50, sig: "v128 v128 -> v128" },
  "v128.xor": { prefix: SIMD, code: 0x51, sig: "v128 v128 -> v128" },
  "v128.bitselect": { prefix: SIMD, code: 0x52, sig: "v128 v128 v128 -> v128" },
  "v128.any_true": { prefix: SIMD, code: 0x53, sig: "v128 -> i32" },

  // SIMD128: i32x4 integer lanes (exponent-bit tricks for exp/log).
  "i32x4.shl": { prefix: SIMD, code: 0xab, sig: "v128 i32 -> v128" },
  "i32x4.shr_s": { prefix: SIMD, code: 0xac, sig: "v128 i32 -> v128" },
  "i32x4.shr_u": { prefix: SIMD, code: 0xad, sig: "v128 i32 -> v128" },
  "i32x4.add": { prefix: SIMD, code: 0xae, sig: "v128 v128 -> v128" },
  "i32x4.sub": { prefix: SIMD, code: 0xb1, sig: "v128 v128 -> v128" },
  "i32x4.mul": { prefix: SIMD, code: 0xb5, sig: "v128 v128 -> v128" },
  "i32x4.min_s": { prefix: SIMD, code: 0xb6, sig: "v128 v128 -> v128" },
  "i32x4.max_s": { prefix: SIMD, code: 0xb8, sig: "v128 v128 -> v128" },
  "i32x4.trunc_sat_f32x4_s": { prefix: SIMD, code: 0xf8, sig: "v128 -> v128" },
  "f32x4.convert_i32x4_s": { prefix: SIMD, code: 0xfa, sig: "v128 -> v128" },

  // SIMD128: f32x4 arithmetic.
  "f32x4.ceil": { prefix: SIMD, code: 0x67, sig: "v128 -> v128" },
  "f32x4.floor": { prefix: SIMD, code: 0x68, sig: "v128 -> v128" },
  "f32x4.trunc": { prefix: SIMD, code: 0x69, sig: "v128 -> v128" },
  "f32x4.nearest": { prefix: SIMD, code: 0x6a, sig: "v128 -> v128" },
  "f32x4.abs": { prefix: SIMD, code: 0xe0, sig: "v128 -> v128" },
  "f32x4.neg": { prefix: SIMD, code: 0xe1, sig: "v128 -> v128" },
  "f32x4.sqrt": { prefix: SIMD, code: 0xe3, sig: "v128 -> v128" },
  "f32x4.add": { prefix: SIMD, code: 0xe4, sig: "v128 v128 -> v128" },
  "f32x4.sub": { prefix: SIMD, code: 0xe5, sig: "v128 v128 -> v128" },
  "f32x4.mul": { prefix: SIMD, code: 0xe6, sig: "v128 v128 -> v128" },
  "f32x4.div": { prefix: SIMD, code: 0xe7, sig: "v128 v128 -> v128" },
  "f32x4.min": { prefix: SIMD, code: 0xe8, sig: "v128 v128 -> v128" },
  "f32x4.max": { prefix: SIMD, code: 0xe9, sig: "v128 v128 -> v128" },
  "f32x4.pmin": { prefix: SIMD, code: 0xea, sig: "v128 v128 -> v128" },
  "f32x4.pmax": { prefix: SIMD, code: 0xeb, sig: "v128 v128 -> v128" },

  // Relaxed SIMD: a*b+c and -(a*b)+c, fused or not as the hardware prefers.
  "f32x4.relaxed_madd": { prefix: SIMD, code: 0x105, sig: "v128 v128 v128 -> v128" },
  "f32x4.relaxed_nmadd": { prefix: SIMD, code: 0x106, sig: "v128 v128 v128 -> v128" },
} as const satisfies Record<string, Row>;

export type OpName = keyof typeof OPS;
type RowOf<N extends OpName> = (typeof OPS)[N];

/** Ops whose immediate is of kind `K`. */
export type OpsWith<K extends ImmKind> = { [N in OpName]: RowOf<N> extends { imm: K } ? N : never }[OpName];
/** Ops with a fixed signature and no immediate: emitted with `FunctionBuilder.op`. */
export type PlainOp = {
  [N in OpName]: RowOf<N> extends { imm: ImmKind } ? never : RowOf<N> extends { sig: string } ? N : never;
}[OpName];

/** A row with its signature parsed and its bytes and required feature derived. */
export interface OpInfo {
  readonly name: OpName;
  readonly bytes: readonly number[];
  readonly imm?: ImmKind;
  readonly pops?: readonly ValType[];
  readonly pushes?: readonly ValType[];
  readonly align?: number;
  readonly lanes?: number;
  readonly feature?: Feature;
}

const INFO = new Map<OpName, OpInfo>(
  (Object.entries(OPS) as [OpName, Row][]).map(([name, row]) => [name, describe(name, row)]),
);

export function opInfo(name: OpName): OpInfo {
  return INFO.get(name)!;
}

function describe(name: OpName, row: Row): OpInfo {
  // Prefixed opcodes encode the sub-opcode as a u32 LEB128.
  const bytes = row.prefix === undefined ? [row.code] : [row.prefix, ...u32(row.code)];
  const feature: Feature | undefined =
    row.prefix === SIMD ? (row.code >= 0x100 ? "relaxedSimd" : "simd128") : row.prefix === ATOMIC ? "threads" : undefined;
  const sig = row.sig === undefined ? {} : parseSig(name, row.sig);
  return { name, bytes, imm: row.imm, align: row.align, lanes: row.lanes, feature, ...sig };
}

function parseSig(name: string, sig: string): { pops: ValType[]; pushes: ValType[] } {
  const [pops, pushes] = sig.split("->").map((side) => side.trim().split(/\s+/).filter(Boolean));
  const all = [...(pops ?? []), ...(pushes ?? [])];
  if (pushes === undefined || !all.every((t) => t in VALTYPE_CODE)) {
    throw new InternalError(`opcode table: bad signature for ${name}: "${sig}"`);
  }
  return { pops: pops as ValType[], pushes: pushes as ValType[] };
}
