/** Dense tensors: a dtype, a concrete shape and a row-major storage array. */
import { Float16Array } from "@petamoriken/float16";
import { DTYPE_INFO, type DType, type TypedArray, isBigInt } from "./dtype.js";
import { EvalError, LimitError } from "./errors.js";

/** Largest element count a single tensor may have unless the caller raises it (1 Gi elements). */
export const DEFAULT_MAX_ELEMENTS = 2 ** 30;

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

let activeLimit = DEFAULT_MAX_ELEMENTS;

/** The element limit in force, for bounding work or temporaries that are not one tensor shape. */
export function elementLimit(): number {
  return activeLimit;
}

/**
 * Run `f` with `limit` as the element count `checkShape` (and so `Tensor.zeros`/`fromNumbers`) enforces
 * by default: the interpreter's configured limit then stops an op before it allocates, not after.
 */
export function withElementLimit<T>(limit: number, f: () => T): T {
  const saved = activeLimit;
  activeLimit = limit;
  try {
    return f();
  } finally {
    activeLimit = saved;
  }
}

export function checkShape(shape: readonly number[], what: string, maxElements = activeLimit): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new EvalError(`${what}: invalid dimension ${d} in shape [${shape.join(",")}]`);
  }
  const n = shapeSize(shape);
  if (n > maxElements) throw new LimitError(`${what}: shape [${shape.join(",")}] has ${n} elements, over the limit of ${maxElements}`);
}

export class Tensor {
  /** A frozen copy of the shape given: a caller changing its array later cannot change the tensor (kiln sizes buffers by it). */
  readonly shape: readonly number[];

  constructor(
    readonly dtype: DType,
    shape: readonly number[],
    /** Storage; float16 holds raw bits, bool holds 0/1 bytes, int64/uint64 hold bigints. */
    readonly data: TypedArray,
  ) {
    this.shape = Object.freeze([...shape]);
    // Dims like -1 or 1.5 can still multiply out to data.length; nothing downstream expects them.
    for (const d of shape) {
      if (!Number.isSafeInteger(d) || d < 0) throw new EvalError(`tensor of shape [${shape.join(",")}]: invalid dimension ${d}`);
    }
    if (data.length !== shapeSize(shape)) {
      throw new EvalError(`tensor of shape [${shape.join(",")}] needs ${shapeSize(shape)} elements, got ${data.length}`);
    }
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  static zeros(dtype: DType, shape: readonly number[]): Tensor {
    checkShape(shape, "tensor");
    return new Tensor(dtype, [...shape], DTYPE_INFO[dtype].make(shapeSize(shape)));
  }

  /** Build a tensor from numbers, converting to the dtype's storage (ints truncate toward zero, bool is x != 0). */
  static fromNumbers(dtype: DType, shape: readonly number[], values: ArrayLike<number>): Tensor {
    checkShape(shape, "tensor");
    const n = shapeSize(shape);
    if (values.length !== n) throw new EvalError(`tensor of shape [${shape.join(",")}] needs ${n} values, got ${values.length}`);
    const data = DTYPE_INFO[dtype].make(n);
    if (dtype === "float16") {
      const f = new Float16Array(data.buffer, 0, n);
      for (let i = 0; i < n; i++) f[i] = values[i]!;
    } else if (dtype === "bool") {
      for (let i = 0; i < n; i++) data[i] = values[i] !== 0 ? 1 : 0;
    } else if (isBigInt(dtype)) {
      const big = data as BigInt64Array | BigUint64Array;
      for (let i = 0; i < n; i++) big[i] = toBigInt(values[i]!);
    } else if (DTYPE_INFO[dtype].isInt) {
      const int = data as Int32Array;
      for (let i = 0; i < n; i++) {
        const v = values[i]!;
        int[i] = Number.isFinite(v) ? Math.trunc(v) : 0;
      }
    } else {
      (data as Float32Array).set(values);
    }
    return new Tensor(dtype, [...shape], data);
  }

  static fromBigInts(dtype: "int64" | "uint64", shape: readonly number[], values: ArrayLike<bigint>): Tensor {
    const data = dtype === "int64" ? BigInt64Array.from(values as bigint[]) : BigUint64Array.from(values as bigint[]);
    return new Tensor(dtype, [...shape], data);
  }

  static scalar(dtype: DType, value: number): Tensor {
    return Tensor.fromNumbers(dtype, [], [value]);
  }

  /** Every element as a JS number (int64 beyond 2^53 loses precision; use `bigints()` where that matters). */
  numbers(): Float64Array {
    const n = this.size;
    const out = new Float64Array(n);
    if (this.dtype === "float16") {
      const f = new Float16Array(this.data.buffer, this.data.byteOffset, n);
      for (let i = 0; i < n; i++) out[i] = f[i]!;
    } else if (isBigInt(this.dtype)) {
      const big = this.data as BigInt64Array;
      for (let i = 0; i < n; i++) out[i] = Number(big[i]!);
    } else {
      out.set(this.data as Float32Array);
    }
    return out;
  }

  /** Elements as bigints (integer dtypes only). */
  bigints(): bigint[] {
    if (isBigInt(this.dtype)) return Array.from(this.data as BigInt64Array);
    return Array.from(this.numbers(), (v) => BigInt(Math.trunc(v)));
  }

  /** Elements as plain integers, e.g. a shape or axes input. */
  ints(): number[] {
    return Array.from(this.numbers());
  }

  reshape(shape: readonly number[]): Tensor {
    return new Tensor(this.dtype, [...shape], this.data);
  }

  toString(): string {
    return `Tensor<${this.dtype}>[${this.shape.join(",")}]`;
  }
}

function toBigInt(v: number): bigint {
  if (!Number.isFinite(v)) return 0n;
  return BigInt(Math.trunc(v));
}
