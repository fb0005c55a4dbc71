/** Matrix products: MatMul, Gemm, Det. */
import { EvalError, ModelError } from "../ir/errors.js";
import { Tensor, shapeSize } from "../ir/tensor.js";
import type { Dim, TensorType } from "../ir/types.js";
import type { OpDef } from "./registry.js";
import { broadcastDims, broadcastIndex, broadcastShapes, inputType, req } from "./util.js";

/** Two dims that must agree: keep a number over a symbol; throw when two numbers differ. */
function agree(op: string, a: Dim, b: Dim): void {
  if (typeof a === "number" && typeof b === "number" && a !== b) throw new ModelError(`${op}: inner dimensions ${a} and ${b} do not match`);
}

/**
 * out[oOff + i*N + j] = sum_k a[aOff + i*K + k] * b[bOff + k*N + j] (row-major M x K times K x N),
 * in 4 x 4 blocks so sixteen accumulators share each load.
 */
export function matmulInto(
  out: Float64Array, oOff: number, a: Float64Array, aOff: number, b: Float64Array, bOff: number,
  M: number, K: number, N: number,
): void {
  const M4 = M - (M % 4), N4 = N - (N % 4);
  for (let i = 0; i < M4; i += 4) {
    const r0 = aOff + i * K, r1 = r0 + K, r2 = r1 + K, r3 = r2 + K;
    for (let j = 0; j < N4; j += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let k = 0, bk = bOff + j; k < K; k++, bk += N) {
        const b0 = b[bk]!, b1 = b[bk + 1]!, b2 = b[bk + 2]!, b3 = b[bk + 3]!;
        let v = a[r0 + k]!;
        c00 += v * b0; c01 += v * b1; c02 += v * b2; c03 += v * b3;
        v = a[r1 + k]!;
        c10 += v * b0; c11 += v * b1; c12 += v * b2; c13 += v * b3;
        v = a[r2 + k]!;
        c20 += v * b0; c21 += v * b1; c22 += v * b2; c23 += v * b3;
        v = a[r3 + k]!;
        c30 += v * b0; c31 += v * b1; c32 += v * b2; c33 += v * b3;
      }
      let o = oOff + i * N + j;
      out[o] = c00; out[o + 1] = c01; out[o + 2] = c02; out[o + 3] = c03;
      o += N;
      out[o] = c10; out[o + 1] = c11; out[o + 2] = c12; out[o + 3] = c13;
      o += N;
      out[o] = c20; out[o + 1] = c21; out[o + 2] = c22; out[o + 3] = c23;
      o += N;
      out[o] = c30; out[o + 1] = c31; out[o + 2] = c32; out[o + 3] = c33;
    }
  }
  // Edges: the last M % 4 rows (all columns) and the last N % 4 columns of the blocked rows.
  const dot = (i: number, j: number): void => {
    let s = 0;
    for (let k = 0; k < K; k++) s += a[aOff + i * K + k]! * b[bOff + k * N + j]!;
    out[oOff + i * N + j] = s;
  };
  for (let i = 0; i < M4; i++) for (let j = N4; j < N; j++) dot(i, j);
  for (let i = M4; i < M; i++) for (let j = 0; j < N; j++) dot(i, j);
}

const matMul: OpDef = {
  name: "MatMul",
  pattern: "out-elementwise-fusable",
  attrs: {},
  infer: (ctx) => {
    const a = inputType(ctx, 0), b = inputType(ctx, 1);
    if (a.shape === null || b.shape === null) return [{ dtype: a.dtype, shape: null }];
    if (a.shape.length === 0 || b.shape.length === 0) throw new ModelError("MatMul: operands must have rank >= 1");
    // Numpy: a 1-D left operand gets a leading 1, a 1-D right operand a trailing 1, both dropped after.
    const as = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape;
    const bs = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape;
    agree("MatMul", as[as.length - 1]!, bs[bs.length - 2]!);
    const batch = broadcastDims([as.slice(0, -2), bs.slice(0, -2)])!;
    const shape: Dim[] = [...batch];
    if (a.shape.length > 1) shape.push(as[as.length - 2]!);
    if (b.shape.length > 1) shape.push(bs[bs.length - 1]!);
    return [{ dtype: a.dtype, shape }];
  },
  evaluate: (ctx) => {
    const A = req(ctx.inputs[0], "MatMul", 0), B = req(ctx.inputs[1], "MatMul", 1);
    if (A.rank === 0 || B.rank === 0) throw new EvalError("MatMul: operands must have rank >= 1");
    const as = A.rank === 1 ? [1, A.shape[0]!] : [...A.shape];
    const bs = B.rank === 1 ? [B.shape[0]!, 1] : [...B.shape];
    const M = as[as.length - 2]!, K = as[as.length - 1]!, N = bs[bs.length - 1]!;
    if (bs[bs.length - 2] !== K) throw new EvalError(`MatMul: shapes [${A.shape.join(",")}] and [${B.shape.join(",")}] do not align`);
    const aBatch = as.slice(0, -2), bBatch = bs.slice(0, -2);
    const batch = broadcastShapes([aBatch, bBatch]);
    const aIdx = broadcastIndex(aBatch, batch), bIdx = broadcastIndex(bBatch, batch);
    const a = A.numbers(), b = B.numbers();
    const nb = shapeSize(batch);
    const out = new Float64Array(nb * M * N);
    for (let t = 0; t < nb; t++) matmulInto(out, t * M * N, a, aIdx[t]! * M * K, b, bIdx[t]! * K * N, M, K, N);
    const shape = [...batch];
    if (A.rank > 1) shape.push(M);
    if (B.rank > 1) shape.push(N);
    return [Tensor.fromNumbers(A.dtype, shape, out)];
  },
};

/** The transpose of a row-major rows x cols matrix. */
function transpose(v: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(v.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = v[i * cols + j]!;
  return t;
}

const gemm: OpDef = {
  name: "Gemm",
  pattern: "out-elementwise-fusable",
  attrs: {
    alpha: { type: "float", default: 1.0 },
    beta: { type: "float", default: 1.0 },
    broadcast: { type: "int", default: 0, until: 7 },
    transA: { type: "int", default: 0 },
    transB: { type: "int", default: 0 },
  },
  infer: (ctx) => {
    const a = inputType(ctx, 0), b = inputType(ctx, 1);
    if (a.shape === null || b.shape === null) return [{ dtype: a.dtype, shape: [ctx.fresh(), ctx.fresh()] }];
    if (a.shape.length !== 2 || b.shape.length !== 2) throw new ModelError(`Gemm: A and B must be 2-D, got [${a.shape.join(",")}] and [${b.shape.join(",")}]`);
    const tA = ctx.attrs.int("transA") !== 0, tB = ctx.attrs.int("transB") !== 0;
    const m = a.shape[tA ? 1 : 0]!, ka = a.shape[tA ? 0 : 1]!;
    const kb = b.shape[tB ? 1 : 0]!, n = b.shape[tB ? 0 : 1]!;
    agree("Gemm", ka, kb);
    const t: TensorType = { dtype: a.dtype, shape: [m, n] };
    // C broadcasts to [M, N] one way: it may not widen the product.
    const c = ctx.inputs[2]?.shape;
    if (c && (c.length > 2 || broadcastDims([t.shape, c])!.some((d, i) => typeof d === "number" && typeof t.shape![i] === "number" && d !== t.shape![i]))) {
      throw new ModelError(`Gemm: C of shape [${c.join(",")}] does not broadcast to [${t.shape!.join(",")}]`);
    }
    return [t];
  },
  evaluate: (ctx) => {
    const A = req(ctx.inputs[0], "Gemm", 0), B = req(ctx.inputs[1], "Gemm", 1), C = ctx.inputs[2] ?? null;
    if (A.rank !== 2 || B.rank !== 2) throw new EvalError(`Gemm: A and B must be 2-D, got [${A.shape.join(",")}] and [${B.shape.join(",")}]`);
    const tA = ctx.attrs.int("transA") !== 0, tB = ctx.attrs.int("transB") !== 0;
    const alpha = ctx.attrs.float("alpha"), beta = ctx.attrs.float("beta");
    const M = A.shape[tA ? 1 : 0]!, K = A.shape[tA ? 0 : 1]!;
    const K2 = B.shape[tB ? 1 : 0]!, N = B.shape[tB ? 0 : 1]!;
    if (K !== K2) throw new EvalError(`Gemm: inner dimensions ${K} and ${K2} do not match`);
    const a = tA ? transpose(A.numbers(), K, M) : A.numbers();
    const b = tB ? transpose(B.numbers(), N, K) : B.numbers();
    const out = new Float64Array(M * N);
    matmulInto(out, 0, a, 0, b, 0, M, K, N);
    if (alpha !== 1) for (let i = 0; i < M * N; i++) out[i]! *= alpha;
    if (C) {
      const c = C.numbers();
      const cIdx = broadcastIndex(C.shape, broadcastShapes([C.shape, [M, N]]));
      if (cIdx.length !== M * N) throw new EvalError(`Gemm: C of shape [${C.shape.join(",")}] does not broadcast to [${M},${N}]`);
      for (let i = 0; i < M * N; i++) out[i]! += beta * c[cIdx[i]!]!;
    }
    return [Tensor.fromNumbers(A.dtype, [M, N], out)];
  },
};

/** Determinant of the n x n matrix at m[base..] by LU decomposition with partial pivoting. */
function determinant(m: Float64Array, base: number, n: number): number {
  const a = m.slice(base, base + n * n);
  let det = 1;
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]!) > Math.abs(a[piv * n + c]!)) piv = r;
    if (a[piv * n + c] === 0) return 0;
    if (piv !== c) {
      for (let k = 0; k < n; k++) {
        const t = a[c * n + k]!;
        a[c * n + k] = a[piv * n + k]!;
        a[piv * n + k] = t;
      }
      det = -det;
    }
    const d = a[c * n + c]!;
    det *= d;
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c]! / d;
      if (f !== 0) for (let k = c; k < n; k++) a[r * n + k]! -= f * a[c * n + k]!;
    }
  }
  return det;
}

const det: OpDef = {
  name: "Det",
  pattern: "opaque",
  attrs: {},
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    if (x.shape === null) return [{ dtype: x.dtype, shape: null }];
    if (x.shape.length < 2) throw new ModelError(`Det: input must have rank >= 2, got [${x.shape.join(",")}]`);
    agree("Det", x.shape[x.shape.length - 1]!, x.shape[x.shape.length - 2]!);
    return [{ dtype: x.dtype, shape: x.shape.slice(0, -2) }];
  },
  evaluate: (ctx) => {
    const X = req(ctx.inputs[0], "Det", 0);
    const r = X.rank;
    if (r < 2 || X.shape[r - 1] !== X.shape[r - 2]) throw new EvalError(`Det: input must be [..., M, M], got [${X.shape.join(",")}]`);
    const n = X.shape[r - 1]!;
    const batch = X.shape.slice(0, -2);
    const x = X.numbers();
    const out = new Float64Array(shapeSize(batch));
    for (let t = 0; t < out.length; t++) out[t] = determinant(x, t * n * n, n);
    return [Tensor.fromNumbers(X.dtype, batch, out)];
  },
};

export const ops: OpDef[] = [matMul, gemm, det];
